import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting
import Testing

extension RealProcessSuites {
  /// The gateway load test and a short soak (docs/reliability.md has the full-size runs of
  /// `bench-load`): real processes, many callers at once, no failures, memory flat.
  @Suite(.serialized) struct LoadTests {
    @Test func theGatewayServesSustainedLoadWithoutFailuresAndMemoryStaysFlat() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      launcher.environment = ["SIGHTLINE_RATE_LIMIT": "1000000", "SIGHTLINE_BURST": "1000000", "SIGHTLINE_MAX_IN_FLIGHT": "10000"]
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        let key = try await launcher.createTenant("load")
        // Small enough not to starve the tests running beside it; bench-load runs the full size.
        var load = GatewayLoad(concurrency: 4, duration: .seconds(6))
        load.sampleEvery = .milliseconds(500)
        let report = try await load.run(against: launcher, key: key)
        print("LoadTests: \(report.calls) calls, \(Int(report.throughput)) calls/s, p50 \(report.p50Ms) ms, p99 \(report.p99Ms) ms")
        #expect(report.failures.isEmpty, "\(report.failures)")
        // A floor only: a debug build sharing two cores with the rest of the tests is slow.
        #expect(report.calls >= 20, "the gateway answered only \(report.calls) calls in 6 s")
        #expect(report.p50Ms > 0 && report.p50Ms <= report.p99Ms)
        #expect(report.memory.count >= 5, "memory was sampled through the run")
        let growth = try #require(report.growthKiB(.gateway))
        #expect(growth < 32 * 1024, "the gateway grew by \(growth) KiB under steady load")
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
    }
  }
}
