import Foundation
import GRPCCore
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

extension RealProcessSuites {
  /// W3C trace context across the real processes: one experiment evaluation, started with a
  /// caller's `traceparent`, shows its trace id in the logs of the gateway, experiments and
  /// metrics (experiments calls metrics for the unit aggregates).
  @Suite(.serialized) struct TracingTests {
    @Test func traceparentParsing() {
      let parsed = TraceContext(traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
      #expect(parsed == TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", sampled: true))
      #expect(parsed?.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
      for bad in [
        "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
      ] {
        #expect(TraceContext(traceparent: bad) == nil, "\(bad)")
      }
      let child = parsed!.child()
      #expect(child.traceID == parsed!.traceID && child.spanID != parsed!.spanID && child.spanID.count == 16)
      let started = TraceContext.start()
      #expect(started.traceID.count == 32 && TraceContext(traceparent: started.traceparent) == started)
    }

    @Test func oneEvaluationCarriesOneTraceThroughGatewayExperimentsAndMetrics() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let logFile = directory + "/suite.log"
      #expect(FileManager.default.createFile(atPath: logFile, contents: nil))
      let launcher = SuiteLauncher(
        dataDirectory: directory + "/data", portBase: EndToEndTests.freePortBase(), binaryDirectory: EndToEndTests.binaryDirectory)
      // Successful calls are logged at debug (docs/architecture.md, "Observability").
      launcher.environment["SIGHTLINE_LOG_LEVEL"] = "debug"
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: logFile))
      do {
        let key = SuiteMetadata.bearer(try await launcher.createTenant("traced"))
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        var traced = key
        traced.addString("00-\(traceID)-00f067aa0ba902b7-01", forKey: "traceparent")
        try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
          client in
          let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
          _ = try await experiments.createExperiment(
            .with { $0.experiment = ExperimentRPCTests.rolloutExperiment(.init(endMs: todayMidnightMs())) }, metadata: key)
          _ = try? await experiments.evaluate(.with { $0.name = "dashboard rollout" }, metadata: traced)
        }
        await launcher.stop()
        let lines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n").filter { $0.contains(traceID) }
        for process in ["sightline.gateway", "sightline.experiments", "sightline.metrics"] {
          #expect(lines.contains { $0.contains(process) }, "no line of \(process) carries the trace: \(lines)")
        }
        print("TracingTests: \(lines.count) lines carry the trace, e.g. \(lines.first ?? "")")
        // Each hop logs its own span; none reuses the caller's.
        #expect(!lines.contains { $0.contains("span_id=00f067aa0ba902b7") })
      } catch {
        await launcher.stop()
        throw error
      }
    }
  }
}
