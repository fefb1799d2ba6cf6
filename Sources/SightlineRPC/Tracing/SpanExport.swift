import Foundation
public import Logging
import OTel
public import ServiceLifecycle
public import SightlineModel
import Synchronization
public import Tracing

/// Exports each server hop's span over OTLP (swift-otel) when a collector is configured:
/// `--otlp-endpoint`, or OpenTelemetry's own variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME`,
/// `OTEL_BSP_SCHEDULE_DELAY`, …). Without one, nothing is set up and calls pay nothing.
///
/// The span is the hop's `TraceContext`: its trace and span ids are the ones the logs
/// carry and the next hop names as its parent, so a trace in Jaeger or Tempo and the log
/// lines of the same call are found by the same id. Metrics stay on Prometheus; logs stay
/// on standard error.
public enum SpanExport {
  private static let installed = Mutex<(any Tracer)?>(nil)

  /// The tracer spans go to, when export is on.
  static var tracer: (any Tracer)? { installed.withLock { $0 } }

  /// The collector endpoint from `flag`, else from OpenTelemetry's variables in
  /// `environment`; nil when neither names one (export off).
  static func endpoint(flag: String?, environment: [String: String]) -> String? {
    let candidates = [flag, environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], environment["OTEL_EXPORTER_OTLP_ENDPOINT"]]
    return candidates.compactMap { $0?.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
  }

  /// Starts exporting `component`'s spans to the collector `flag` names, else to the one
  /// OpenTelemetry's variables name (an `http://` or `https://` URL; gRPC unless
  /// `OTEL_EXPORTER_OTLP_PROTOCOL` says `http/protobuf`); nil when neither names one.
  /// Returns the service that batches and sends the spans: run it with the process's
  /// services, so that a graceful shutdown sends what is still queued. Once per process.
  public static func start(component: SuiteComponent, flag: String?, logger: Logger) throws -> (any Service)? {
    guard let endpoint = endpoint(flag: flag, environment: ProcessInfo.processInfo.environment) else { return nil }
    guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
      throw SpanExportError(description: "the OTLP endpoint must be an http:// or https:// URL, got '\(endpoint.prefix(80))'")
    }
    if let flag, !flag.trimmingCharacters(in: .whitespaces).isEmpty {
      // swift-otel reads the endpoint from OpenTelemetry's variables, which override what
      // code sets; the flag is the more explicit choice, so it takes the variables' place
      // (the general one: over OTLP/HTTP, `/v1/traces` is then added as the spec says).
      setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1)
      unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    }
    var configuration = OTel.Configuration.default
    configuration.serviceName = "sightline-\(component.rawValue)"
    configuration.diagnosticLogger = .custom(logger)
    configuration.logs.enabled = false
    configuration.metrics.enabled = false
    configuration.traces.enabled = true
    configuration.traces.exporter = .otlp
    configuration.traces.otlpExporter.protocol = .grpc
    let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
    installed.withLock { $0 = tracer }
    logger.info("exporting traces over OTLP", metadata: ["otlp.endpoint": "\(endpoint)"])
    return service
  }

  /// The span of the call being handled, when spans are exported: the request log adds
  /// the call's outcome and fields to it.
  @TaskLocal static var currentSpan: (any Span)?

  /// Names the tenant on the current call's span, for a hop that learns it by
  /// authenticating the caller (the gateway) rather than from the metadata.
  public static func noteTenant(_ tenant: TenantID) {
    currentSpan?.attributes["tenant.id"] = tenant.rawValue
  }
}

/// A `--otlp-endpoint` that cannot be used.
public struct SpanExportError: Error, CustomStringConvertible {
  public let description: String
}

/// Reads and writes `traceparent` (and any other propagated key) in gRPC-style string
/// dictionaries for swift-otel's propagator.
struct HeaderCarrier: Extractor, Injector {
  func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
  func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

extension SpanExport {
  /// Starts the server span of a hop of `incoming`'s trace (a new trace without one) named
  /// `method`, and the `TraceContext` naming it; nil when spans are not exported.
  static func serverSpan(method: String, incoming: TraceContext?) -> (span: any Span, trace: TraceContext)? {
    guard let tracer else { return nil }
    var parent = InstrumentationContext.topLevel
    if let incoming { tracer.extract([TraceContext.header: incoming.traceparent], into: &parent, using: HeaderCarrier()) }
    let span = tracer.startSpan(method, context: parent, ofKind: .server)
    var headers: [String: String] = [:]
    tracer.inject(span.context, into: &headers, using: HeaderCarrier())
    guard let trace = headers[TraceContext.header].flatMap(TraceContext.init(traceparent:)) else {
      span.end()
      return nil
    }
    span.attributes["rpc.system"] = "grpc"
    let parts = method.split(separator: "/", maxSplits: 1)
    if parts.count == 2 {
      span.attributes["rpc.service"] = String(parts[0])
      span.attributes["rpc.method"] = String(parts[1])
    }
    return (span, trace)
  }
}
