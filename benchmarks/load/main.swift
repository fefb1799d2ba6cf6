// The gateway load test and soak (issue 8): starts the suite's real processes, then
// `--concurrency` callers repeat a unary RPC through the gateway for `--seconds`, printing
// throughput, p50/p99 latency and the gateway's and ingestion's resident memory over time.
// A soak is a long run: memory must stay flat after warm-up. docs/reliability.md records
// the latest figures.
//
//   swift build -c release && swift run -c release bench-load [--seconds 30] [--concurrency 32]
//   swift run -c release bench-load --seconds 1800     # the 30-minute soak
import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting

var seconds = 30
var concurrency = 32
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  guard let value = arguments.next().flatMap(Int.init), value > 0 else {
    FileHandle.standardError.write(Data("usage: bench-load [--seconds N] [--concurrency N]\n".utf8))
    exit(2)
  }
  switch flag {
  case "--seconds": seconds = value
  case "--concurrency": concurrency = value
  default:
    FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8))
    exit(2)
  }
}

let directory = NSTemporaryDirectory() + "sightline-load-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
let launcher = SuiteLauncher(dataDirectory: directory, portBase: 27_100, binaryDirectory: SuiteLauncher.currentBinaryDirectory)
// The tenant limits would turn most calls away; this measures the path, not the limiter.
launcher.environment = ["SIGHTLINE_RATE_LIMIT": "1000000000", "SIGHTLINE_BURST": "1000000000", "SIGHTLINE_MAX_IN_FLIGHT": "100000"]
try await launcher.start(output: FileHandle(forWritingAtPath: "/dev/null"))
let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.operatingSystemVersionString)"
print("bench-load: \(concurrency) callers, \(seconds) s, Ingestion/GetStats through the gateway; \(machine)")
do {
  let key = try await launcher.createTenant("load")
  var load = GatewayLoad(concurrency: concurrency, duration: .seconds(seconds))
  load.sampleEvery = .seconds(max(1, seconds / 30))
  let report = try await load.run(against: launcher, key: key)
  print(
    String(
      format: "calls: %d in %.1f s = %.0f calls/s; latency p50 %.2f ms, p99 %.2f ms, max %.1f ms",
      report.calls, Double(report.elapsed.components.seconds), report.throughput, report.p50Ms, report.p99Ms, report.maxMs))
  print("failures: \(report.failures.isEmpty ? "none" : "\(report.failures)")")
  for sample in report.memory {
    let parts = sample.residentKiB.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value / 1024) MiB" }
    print("  t=\(sample.at.components.seconds)s \(parts.joined(separator: ", "))")
  }
  var flat = true
  for component in [SuiteComponent.gateway, .ingestion] {
    guard let growth = report.growthKiB(component) else { continue }
    let ok = growth <= 16 * 1024
    flat = flat && ok
    print("memory \(component.rawValue): \(growth / 1024) MiB growth after warm-up -> \(ok ? "flat" : "GROWING")")
  }
  await launcher.stop()
  exit(report.failures.isEmpty && flat ? 0 : 1)
} catch {
  await launcher.stop()
  throw error
}
