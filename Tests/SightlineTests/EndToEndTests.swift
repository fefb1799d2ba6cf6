import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineSuite
import SightlineWire
import SwiftProtobuf
import Testing

/// Runs the built executables as a user would (`swift build` first), through the gateway over TLS.
@Suite(.serialized) struct EndToEndTests {
  static var binaryDirectory: String {
    // Tests/SightlineTests/EndToEndTests.swift → package root → .build/debug
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug").path
  }

  static func freePortBase() -> Int { 20_000 + Int.random(in: 0..<2_000) * 5 }

  @Test func suiteStartsHealthyServesTheRealPathAndStopsCleanly() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let base = Self.freePortBase()
    var ports: [SuiteComponent: Int] = [:]
    for (offset, component) in SuiteComponent.backends.enumerated() { ports[component] = base + 1 + offset }
    let launcher = SuiteLauncher(dataDirectory: directory, gatewayPort: base, servicePorts: ports, binaryDirectory: Self.binaryDirectory)
    let log = FileHandle(forWritingAtPath: "/dev/null")
    try await launcher.start(timeout: .seconds(60), output: log)
    let pids = launcher.processIdentifiers
    #expect(pids.count == 5)
    let tenantKey: String
    do {
      for component in SuiteComponent.allCases {
        #expect(try await launcher.checkHealth(component) == .serving)
      }
      let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
      let mode = try FileManager.default.attributesOfItem(atPath: launcher.operatorKeyFile)[.posixPermissions] as? Int
      #expect(mode == 0o600)
      tenantKey = try await InProcessSuite.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let tenant = try await gateway.createTenant(.with { $0.name = "e2e" }, metadata: InProcessSuite.bearer(operatorKey))
        let key = InProcessSuite.bearer(tenant.adminSecret)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let reply = try await ingestion.ingest(.with { $0.events = [ticketCreated("x1"), ticketCreated("x2", ticket: "T2")] }, metadata: key)
        #expect(reply.accepted == 2)
        #expect(try await ingestion.getStats(.init(), metadata: key).lastOffset == 2)
        return tenant.adminSecret
      }
    } catch {
      await launcher.stop()
      throw error
    }
    await launcher.stop()
    // SIGTERM drained every process; none is left behind.
    for (component, pid) in pids {
      #expect(kill(pid, 0) != 0, "\(component.executableName) (pid \(pid)) is still running")
    }
    // Data survives the restart: the tenant, its key and both logged events.
    let restarted = SuiteLauncher(dataDirectory: directory, gatewayPort: base, servicePorts: ports, binaryDirectory: Self.binaryDirectory)
    try await restarted.start(timeout: .seconds(60), output: log)
    let operatorKey = try String(contentsOfFile: restarted.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    do {
      try await InProcessSuite.withClient(restarted.gateway, security: SuiteTLS(pki: restarted.pki).clientSecurity(identity: nil)) { client in
        let tenants = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listTenants(
          .init(), metadata: InProcessSuite.bearer(operatorKey))
        #expect(tenants.tenants.map(\.name) == ["e2e"])
        let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(
          .init(), metadata: InProcessSuite.bearer(tenantKey))
        #expect(stats.lastOffset == 2)
        #expect(stats.eventsByKind == ["ticket_event": 2])
      }
    } catch {
      await restarted.stop()
      throw error
    }
    await restarted.stop()
  }
}

/// `sightline up` itself, as README's first command runs it.
@Suite(.serialized) struct UpCommandTests {
  /// Process ids whose command line mentions `text` (read from /proc).
  static func processes(mentioning text: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
      return String(decoding: data, as: UTF8.self).contains(text)
    }
  }

  /// Starts the real `sightline up` and reads its output until the banner says the suite is
  /// up (bounded by a deadline); returns the process and the banner.
  static func startUp(directory: String, base: Int) throws -> (Process, String) {
    let up = Process()
    up.executableURL = URL(fileURLWithPath: EndToEndTests.binaryDirectory + "/sightline")
    up.arguments = ["up", "--data-dir", directory, "--port", "\(base)", "--service-port-base", "\(base + 1)"]
    let output = Pipe()
    up.standardOutput = output
    up.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try up.run()
    var banner = ""
    let deadline = ContinuousClock.now + .seconds(60)
    while !banner.contains("Press Ctrl-C"), ContinuousClock.now < deadline, up.isRunning {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      banner += String(decoding: chunk, as: UTF8.self)
    }
    return (up, banner)
  }

  @Test(arguments: [SIGTERM, SIGINT])
  func upStopsEveryProcessOnASignal(signal: Int32) async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let base = EndToEndTests.freePortBase()
    let (up, banner) = try Self.startUp(directory: directory, base: base)
    defer { if up.isRunning { kill(up.processIdentifier, SIGKILL) } }
    #expect(banner.contains("gateway       127.0.0.1:\(base) (TLS)"))
    let children = Self.processes(mentioning: directory).filter { $0 != up.processIdentifier }
    #expect(children.count == 5, "five suite processes run under \(directory)")

    kill(up.processIdentifier, signal)
    let stopDeadline = ContinuousClock.now + .seconds(30)
    while up.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
    #expect(!up.isRunning, "sightline up exits on the signal")
    #expect(up.terminationReason == .exit && up.terminationStatus == 0)
    #expect(Self.processes(mentioning: directory).isEmpty, "no suite process is left behind")
    for pid in Self.processes(mentioning: directory) { kill(pid, SIGKILL) }
  }

  @Test func childrenStopWhenUpIsKilledOutright() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let base = EndToEndTests.freePortBase()
    let (up, _) = try Self.startUp(directory: directory, base: base)
    #expect(Self.processes(mentioning: directory).count == 6)
    // SIGKILL cannot be trapped: the children notice their parent is gone and drain.
    kill(up.processIdentifier, SIGKILL)
    let stopDeadline = ContinuousClock.now + .seconds(20)
    while !Self.processes(mentioning: directory).isEmpty, ContinuousClock.now < stopDeadline {
      try await Task.sleep(for: .milliseconds(100))
    }
    let left = Self.processes(mentioning: directory)
    #expect(left.isEmpty, "orphans: \(left)")
    for pid in left { kill(pid, SIGKILL) }
  }
}
