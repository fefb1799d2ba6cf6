import Foundation
public import GRPCCore
public import Logging
import Metrics
public import SightlineModel
import Synchronization
import Tracing

/// Logs one line per RPC with its method, status, duration, request id and tenant, using
/// structured metadata with dotted keys (`rpc.method`, `request.id`, `tenant.id`), and
/// records the RPC metrics: calls by method and status code, a latency histogram by method,
/// calls in flight by method (swift-metrics; served by `PrometheusEndpoint`).
///
/// A call that fails is logged at `info`; one that succeeds at `debug`
/// (`SIGHTLINE_LOG_LEVEL=debug` shows every call). At thousands of calls a second a line
/// for each was a large share of the gateway's CPU, and the metrics count them anyway.
public struct RequestLoggingInterceptor: ServerInterceptor {
  private let logger: Logger
  private let instruments = RPCInstruments()

  /// Logs through `logger`.
  public init(logger: Logger) { self.logger = logger }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let start = ContinuousClock.now
    let method = context.descriptor.fullyQualifiedMethod
    let instruments = self.instruments.of(method)
    instruments.inFlight.increment()
    let (logger, metadata) = (self.logger, request.metadata)
    let span = SpanExport.currentSpan
    @Sendable func log(_ code: String, _ message: String?) {
      let elapsed = ContinuousClock.now - start
      instruments.inFlight.decrement()
      self.instruments.calls(method, code: code).increment()
      instruments.duration.recordNanoseconds(
        Int64(elapsed.components.seconds) * 1_000_000_000 + Int64(elapsed.components.attoseconds / 1_000_000_000))
      if let span { Self.describe(span, code: code, message: message, metadata: metadata) }
      let level: Logger.Level = message == nil ? .debug : .info
      guard logger.logLevel <= level else { return }
      var line = logger
      line[metadataKey: "rpc.method"] = "\(method)"
      if let id = SuiteMetadata.requestID(metadata) { line[metadataKey: "request.id"] = "\(id)" }
      if let tenant = metadata[stringValues: SuiteMetadata.tenantKey].first(where: { _ in true }) {
        line[metadataKey: "tenant.id"] = "\(tenant)"
      }
      line[metadataKey: "rpc.status"] = "\(code)"
      line[metadataKey: "rpc.duration_ms"] = "\(String(format: "%.2f", elapsed / .milliseconds(1)))"
      if let message { line[metadataKey: "rpc.error"] = "\(message)" }
      line.log(level: level, "rpc finished")
    }
    do {
      var response = try await next(request, context)
      // Log when the response stream finishes, so streaming RPCs report their real outcome.
      guard case .success(var contents) = response.accepted else {
        if case .failure(let error) = response.accepted { log("\(error.code)", error.message) }
        return response
      }
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          log("ok", nil)
          return trailers
        } catch {
          let error = Self.onTheWire(error)
          log(Self.status(of: error), Self.message(of: error))
          throw error
        }
      }
      response.accepted = .success(contents)
      return response
    } catch {
      let error = Self.onTheWire(error)
      log(Self.status(of: error), Self.message(of: error))
      throw error
    }
  }

  /// Puts on the exported span what the log line says: the status, the error's message
  /// (which names records and fields, never their values), the request id and the tenant.
  static func describe(_ span: any Span, code: String, message: String?, metadata: Metadata) {
    span.attributes["rpc.grpc.status"] = code
    if let id = SuiteMetadata.requestID(metadata) { span.attributes["request.id"] = "\(id)" }
    if let tenant = metadata[stringValues: SuiteMetadata.tenantKey].first(where: { _ in true }) {
      span.attributes["tenant.id"] = tenant
    }
    if let message {
      span.setStatus(SpanStatus(code: .error, message: "\(code): \(message)"))
    } else {
      span.setStatus(SpanStatus(code: .ok))
    }
  }

  /// `error` as the caller should see it: a store that is unavailable for a while (its
  /// database restarting) is UNAVAILABLE, which clients retry, not INTERNAL.
  static func onTheWire(_ error: any Error) -> any Error {
    guard let error = error as? any StoreUnavailable else { return error }
    guard let delay = error.retryAfter else { return RPCError(code: .unavailable, message: error.description) }
    // With retry advice, as for an overload.
    return RPCError(
      code: .unavailable, message: error.description,
      metadata: RetryAdvice.metadata(code: .unavailable, message: error.description, retryAfter: delay))
  }

  /// The status code a thrown error becomes on the wire: an `RPCError`'s or an
  /// `RPCErrorConvertible`'s own (`InvalidInput` is INVALID_ARGUMENT), else INTERNAL.
  static func status(of error: any Error) -> String {
    if let error = error as? RPCError { return "\(error.code)" }
    if let error = error as? any RPCErrorConvertible { return "\(error.rpcErrorCode)" }
    return "internal"
  }

  static func message(of error: any Error) -> String {
    if let error = error as? RPCError { return error.message }
    if let error = error as? any RPCErrorConvertible { return error.rpcErrorMessage }
    return "\(error)"
  }
}

/// The RPC metrics' handles, made once per method (and status code) rather than for every
/// call: making one looks it up in the metrics backend's registry.
final class RPCInstruments: Sendable {
  struct PerMethod: Sendable {
    let inFlight: Meter
    let duration: Timer
  }

  private let methods = Mutex<[String: PerMethod]>([:])
  private let counters = Mutex<[String: Counter]>([:])

  func of(_ method: String) -> PerMethod {
    methods.withLock { methods in
      if let known = methods[method] { return known }
      let made = PerMethod(
        inFlight: Meter(label: "sightline_rpc_in_flight", dimensions: [("method", method)]),
        duration: Timer(label: "sightline_rpc_duration_seconds", dimensions: [("method", method)]))
      methods[method] = made
      return made
    }
  }

  func calls(_ method: String, code: String) -> Counter {
    counters.withLock { counters in
      let key = method + " " + code
      if let known = counters[key] { return known }
      let made = Counter(label: "sightline_rpc_total", dimensions: [("method", method), ("code", code)])
      counters[key] = made
      return made
    }
  }
}
