// The gateway benchmark (issue 19): h2load (Debian's nghttp2-client, an independent
// HTTP/2 client) drives a unary call through the gateway of the real processes (release
// build), and in the same run a bare grpc-swift-2 echo server over TLS built here for the
// purpose, with the same settings: that is the ceiling of one hop. Prints both rates and
// the ratio; docs/performance.md records the latest run.
//
//   swift build -c release && .build/release/bench-gateway [--requests 100000] [--connections 4] [--streams 32]
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineWire

var requests = 100_000
var connections = 4
var streams = 32
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  guard let value = arguments.next().flatMap(Int.init), value > 0 else {
    FileHandle.standardError.write(Data("usage: bench-gateway [--requests N] [--connections N] [--streams N]\n".utf8))
    exit(2)
  }
  switch flag {
  case "--requests": requests = value
  case "--connections": connections = value
  case "--streams": streams = value
  default:
    FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8))
    exit(2)
  }
}

/// Bytes in, the same bytes out.
struct RawBytes: MessageSerializer, MessageDeserializer {
  typealias Message = [UInt8]
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

/// `bench.Echo/Echo`: answers each request with its own message.
struct EchoService: RegistrableRPCService {
  static let method = MethodDescriptor(fullyQualifiedService: "bench.Echo", method: "Echo")

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    router.registerHandler(forMethod: Self.method, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
      StreamingServerResponse { writer in
        for try await message in request.messages { try await writer.write(message) }
        return [:]
      }
    }
  }
}

/// What h2load reported.
struct H2LoadRun {
  var requestsPerSecond: Double
  var succeeded: Int
  var failed: Int
  var meanLatency: String
  var output: String
}

/// Runs h2load (`settings`: its load options) against `path` on `port` with a gRPC request body holding an empty message.
func h2load(_ settings: [String], port: Int, path: String, key: String?, body: String) throws -> H2LoadRun {
  var command = settings + ["-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body]
  if let key { command += ["-H", "authorization: Bearer \(key)"] }
  command.append("https://127.0.0.1:\(port)\(path)")
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/h2load")
  process.arguments = command
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let output = String(decoding: data, as: UTF8.self)
  func number(after label: String, in line: Substring) -> Double? {
    guard let range = line.range(of: label) else { return nil }
    return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
  }
  var run = H2LoadRun(requestsPerSecond: 0, succeeded: 0, failed: 0, meanLatency: "?", output: output)
  for line in output.split(separator: "\n") {
    if line.hasPrefix("finished in"), let rate = number(after: "s, ", in: line) { run.requestsPerSecond = rate }
    if line.hasPrefix("requests:") {
      run.succeeded = Int(line.split(separator: ",").first { $0.contains("succeeded") }?.split(separator: " ").first ?? "0") ?? 0
      run.failed = Int(line.split(separator: ",").first { $0.contains("failed") }?.split(separator: " ").first ?? "0") ?? 0
    }
    if line.hasPrefix("time for request:") {
      run.meanLatency = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first.map(String.init) ?? "?"
    }
  }
  return run
}

guard FileManager.default.isExecutableFile(atPath: "/usr/bin/h2load") else {
  print("bench-gateway: h2load is not installed (apt-get install nghttp2-client)")
  exit(2)
}
let directory = NSTemporaryDirectory() + "sightline-gateway-bench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
let launcher = SuiteLauncher(dataDirectory: directory, portBase: 27_300, binaryDirectory: SuiteLauncher.currentBinaryDirectory)
// The tenant limits would turn most calls away; this measures the path, not the limiter.
launcher.environment = ["SIGHTLINE_RATE_LIMIT": "1000000000", "SIGHTLINE_BURST": "1000000000", "SIGHTLINE_MAX_IN_FLIGHT": "100000"]
try await launcher.start(output: FileHandle(forWritingAtPath: "/dev/null"))
let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.operatingSystemVersionString)"
print("bench-gateway: h2load -n \(requests) -c \(connections) -m \(streams); \(machine)")
do {
  let key = try await launcher.createTenant("gateway-bench")
  // A gRPC frame holding an empty message: uncompressed, length 0.
  let body = directory + "/empty-message.grpc"
  let settings = ["-n", "\(requests)", "-c", "\(connections)", "-m", "\(streams)"]
  try Data([0, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: body))
  // The call must succeed with this key before its rate means anything.
  let stats = try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
    client in
    try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: SuiteMetadata.bearer(key))
  }
  print("check: Ingestion/GetStats through the gateway answers (last offset \(stats.lastOffset))")

  let echoTransport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: "127.0.0.1", port: 0),
    transportSecurity: SuiteTLS(pki: launcher.pki).serverSecurity(requireClientCertificate: false))
  let echo = GRPCServer(transport: echoTransport, services: [EchoService()])
  try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await echo.serve() }
    guard let address = try await echo.listeningAddress, let echoPort = address.ipv4?.port else {
      throw RPCError(code: .internalError, message: "the echo server is not listening")
    }
    let ceiling = try h2load(settings, port: echoPort, path: "/bench.Echo/Echo", key: nil, body: body)
    echo.beginGracefulShutdown()
    let forwarded = try h2load(
      settings, port: launcher.gateway.port, path: "/sightline.ingestion.v1.Ingestion/GetStats", key: key, body: body)
    for (name, run) in [("echo (grpc-swift-2, TLS, one hop)", ceiling), ("gateway → ingestion GetStats", forwarded)] {
      print(
        String(
          format: "%@: %.0f calls/s, %d succeeded, %d failed, mean latency %@", name, run.requestsPerSecond, run.succeeded,
          run.failed, run.meanLatency))
      if run.succeeded == 0 { print(run.output) }
    }
    print(
      String(format: "forwarded / ceiling: %.0f %% (goal at least 40 %%)", 100 * forwarded.requestsPerSecond / ceiling.requestsPerSecond))
  }
  await launcher.stop()
} catch {
  await launcher.stop()
  throw error
}
