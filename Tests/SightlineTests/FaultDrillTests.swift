import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting
import Testing

extension RealProcessSuites {
  /// The fault-injection drill (docs/reliability.md) at a size that fits CI: real
  /// processes, SIGKILL of ingestion, metrics and the gateway while the CLI streams.
  @Suite(.serialized) struct FaultDrillTests {
    @Test func killedServicesLoseNothingAndKpisMatchAnUninterruptedRun() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let seed = UInt64.random(in: 1...1_000_000)
      var drill = FaultDrill(
        events: 30_000, seed: seed, binaryDirectory: EndToEndTests.binaryDirectory, portBase: EndToEndTests.freePortBase())
      drill.batchSize = 100
      let report = try await drill.run(in: directory)
      let context = "seed \(seed); kills: \(report.kills.map(\.description)); client: \(report.clientSummary)"
      print(
        "FaultDrillTests: \(context); stored \(report.stored); \(report.clientRetries) retries; \(report.cellsCompared) KPI cells compared")
      #expect(report.kills.count == 3, "\(context)")
      #expect(report.kills.first?.duringIngest == true, "ingestion was killed while the client streamed: \(context)")
      #expect(report.clientStatus == 0, "\(context)")
      #expect(report.clientSummary.contains("rejected 0"), "\(context)")
      // Every event stored exactly once: the log holds one entry per event id, no more.
      #expect(report.stored == 30_000, "\(context)")
      #expect(report.storedByKind.values.reduce(0, +) == 30_000, "\(context)")
      // Metrics, killed mid-stream too, ends with the KPIs of a suite that saw no fault.
      #expect(report.cellsCompared > 1_000, "\(context)")
      #expect(report.mismatches.isEmpty, "\(report.mismatches.prefix(5)) \(context)")
    }
  }
}
