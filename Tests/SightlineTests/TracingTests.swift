import Foundation
import GRPCCore
import Logging
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

@testable import SightlineRPC

extension RealProcessSuites {
  /// W3C trace context across the real processes: one experiment evaluation, started with a
  /// caller's `traceparent`, shows its trace id in the logs of the gateway, experiments and
  /// metrics (experiments calls metrics for the unit aggregates).
  @Suite(.serialized) struct TracingTests {
    /// `--otlp-endpoint`, then OpenTelemetry's traces variable, then its general one; a
    /// value without a scheme (the usual slip: HOST:4317) is refused at start-up, named.
    @Test func theCollectorEndpointComesFromTheFlagThenTheVariablesAndNeedsAScheme() throws {
      let both = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4317", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://all:4317"]
      #expect(SpanExport.endpoint(flag: " http://flag:4317 ", environment: both) == "http://flag:4317")
      #expect(SpanExport.endpoint(flag: nil, environment: both) == "http://traces:4317")
      #expect(SpanExport.endpoint(flag: "", environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://all:4317"]) == "http://all:4317")
      #expect(SpanExport.endpoint(flag: nil, environment: [:]) == nil)
      let refused = #expect(throws: SpanExportError.self) {
        _ = try SpanExport.start(component: .gateway, flag: "127.0.0.1:4317", logger: Logger(label: "test"))
      }
      #expect(refused?.description.contains("'127.0.0.1:4317'") == true && SpanExport.tracer == nil)
    }

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
    /// Spans over OTLP (docs/operations.md, "Traces"): a collector on loopback (Python's
    /// opentelemetry-proto with grpcio, Tests/otlp/otlp_receiver.py) receives the spans of
    /// one `sightline experiment evaluate` as one trace, gateway → experiments → metrics,
    /// each hop's parent the hop before it, under the ids the logs carry; no key appears.
    /// Whether the receiver can run; under CI it must (the test fails rather than skips).
    static var receiverAvailable: Bool {
      ProcessInfo.processInfo.environment["CI"] == "true"
        || ChildProcess.succeeds(["python3", "-c", "import grpc, opentelemetry.proto"])
    }

    @Test(.enabled(if: receiverAvailable, "needs python3 with grpcio and opentelemetry-proto (.ci/run installs them)"))
    func theSpansOfOneEvaluationReachAnOTLPCollectorAsOneTrace() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let spansFile = directory + "/spans.jsonl"
      let receiver = Process()
      receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      receiver.arguments = [
        "python3", ConfigurationReferenceTests.root.path + "/Tests/otlp/otlp_receiver.py", "--out", spansFile, "--seconds", "120",
      ]
      let portPipe = Pipe()
      receiver.standardOutput = portPipe
      // Not the test's own stdin and stderr: swift test waits for every holder of those to
      // close them before it reports.
      receiver.standardInput = FileHandle.nullDevice
      receiver.standardError = FileHandle.nullDevice
      try receiver.run()
      // SIGKILL: a child inherits ignored signals, and the test process may ignore SIGTERM
      // (ServiceLifecycle's handling in the in-process suites).
      defer {
        kill(receiver.processIdentifier, SIGKILL)
        receiver.waitUntilExit()
      }
      let portLine = String(decoding: portPipe.fileHandleForReading.availableData, as: UTF8.self)
      let collectorPort = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), "receiver said '\(portLine)'")

      let logFile = directory + "/suite.log"
      #expect(FileManager.default.createFile(atPath: logFile, contents: nil))
      let base = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory + "/data", portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      launcher.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:\(collectorPort)"
      launcher.environment["OTEL_BSP_SCHEDULE_DELAY"] = "200"
      launcher.environment["SIGHTLINE_LOG_LEVEL"] = "debug"
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: logFile))
      let key: String
      do {
        key = try await launcher.createTenant("traced")
        try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
          client in
          _ = try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).createExperiment(
            .with { $0.experiment = ExperimentRPCTests.rolloutExperiment(.init(endMs: todayMidnightMs())) },
            metadata: SuiteMetadata.bearer(key))
        }
        let evaluated = try IngestionEndToEndTests.cli(
          [
            "experiment", "evaluate", "dashboard rollout", "--api-key", key, "--data-dir", directory + "/data", "--gateway",
            "127.0.0.1:\(base)",
          ])
        #expect(evaluated.status == 0, "\(evaluated)")
      } catch {
        await launcher.stop()
        throw error
      }
      // A graceful stop sends what the batch processors still hold.
      await launcher.stop()

      let text = try String(contentsOfFile: spansFile, encoding: .utf8)
      let spans = try text.split(separator: "\n").map { line in
        // Attribute values are all strings here; the status has a code and a message.
        try JSONDecoder().decode(SpanLine.self, from: Data(line.utf8))
      }
      #expect(!text.contains(key), "an API key reached the collector")
      let evaluate = "sightline.experiments.v1.Experiments/Evaluate"
      let atGateway = try #require(spans.first { $0.service == "sightline-gateway" && $0.name == evaluate }, "\(spans.map(\.name))")
      let trace = spans.filter { $0.traceID == atGateway.traceID }
      let atExperiments = try #require(trace.first { $0.service == "sightline-experiments" && $0.name == evaluate }, "\(trace)")
      let atMetrics = trace.filter { $0.service == "sightline-metrics" }
      #expect(atGateway.parentSpanID.isEmpty, "the gateway's span starts the trace")
      #expect(atExperiments.parentSpanID == atGateway.spanID)
      #expect(!atMetrics.isEmpty && atMetrics.allSatisfy { $0.parentSpanID == atExperiments.spanID }, "\(atMetrics)")
      #expect(atMetrics.contains { $0.name == "sightline.metrics.v1.Metrics/GetUnitAggregates" }, "\(atMetrics.map(\.name))")
      for span in [atGateway, atExperiments] + atMetrics {
        #expect(span.kind == 2, "a server span: \(span)")
        #expect(span.attributes["rpc.grpc.status"] == "ok" && span.attributes["rpc.system"] == "grpc", "\(span)")
        #expect(span.attributes["tenant.id"]?.hasPrefix("t_") == true && span.attributes["tenant.id"] == atGateway.attributes["tenant.id"])
      }
      // The logs name the same spans.
      let log = try String(contentsOfFile: logFile, encoding: .utf8)
      #expect(log.contains("span_id=\(atExperiments.spanID)") && log.contains("trace_id=\(atGateway.traceID)"))
      print("TracingTests: \(trace.count) spans in trace \(atGateway.traceID): \(trace.map { "\($0.service ?? "?") \($0.name)" })")
    }

    /// A span as the receiver writes it.
    struct SpanLine: Decodable, CustomStringConvertible {
      var service: String?
      var traceID: String
      var spanID: String
      var parentSpanID: String
      var name: String
      var kind: Int
      /// Every value as text (the receiver writes them so).
      var attributes: [String: String]

      enum CodingKeys: String, CodingKey {
        case service, name, kind, attributes
        case traceID = "trace_id"
        case spanID = "span_id"
        case parentSpanID = "parent_span_id"
      }

      var description: String { "\(service ?? "?") \(name) \(spanID) ← \(parentSpanID) \(attributes)" }
    }
  }
}
