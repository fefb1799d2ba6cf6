import Foundation
public import GRPCCore
public import Logging
import Metrics

/// Logs one line per RPC with its method, status, duration, request id and tenant, using
/// structured metadata with dotted keys (`rpc.method`, `request.id`, `tenant.id`), and
/// records the RPC metrics: calls by method and status code, a latency histogram by method,
/// calls in flight by method (swift-metrics; served by `PrometheusEndpoint`).
public struct RequestLoggingInterceptor: ServerInterceptor {
  private let logger: Logger

  /// Logs through `logger`.
  public init(logger: Logger) { self.logger = logger }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let start = ContinuousClock.now
    let method = context.descriptor.fullyQualifiedMethod
    let inFlight = Meter(label: "sightline_rpc_in_flight", dimensions: [("method", method)])
    inFlight.increment()
    var logger = self.logger
    logger[metadataKey: "rpc.method"] = "\(method)"
    if let id = SuiteMetadata.requestID(request.metadata) { logger[metadataKey: "request.id"] = "\(id)" }
    if let tenant = request.metadata[stringValues: SuiteMetadata.tenantKey].first(where: { _ in true }) {
      logger[metadataKey: "tenant.id"] = "\(tenant)"
    }
    let finalLogger = logger
    @Sendable func log(_ code: String, _ message: String?) {
      let elapsed = ContinuousClock.now - start
      inFlight.decrement()
      Counter(label: "sightline_rpc_total", dimensions: [("method", method), ("code", code)]).increment()
      Timer(label: "sightline_rpc_duration_seconds", dimensions: [("method", method)]).recordNanoseconds(
        Int64(elapsed.components.seconds) * 1_000_000_000 + Int64(elapsed.components.attoseconds / 1_000_000_000))
      let ms = elapsed / .milliseconds(1)
      var line = finalLogger
      line[metadataKey: "rpc.status"] = "\(code)"
      line[metadataKey: "rpc.duration_ms"] = "\(String(format: "%.2f", ms))"
      if let message { line[metadataKey: "rpc.error"] = "\(message)" }
      line.info("rpc finished")
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
          log(Self.status(of: error), Self.message(of: error))
          throw error
        }
      }
      response.accepted = .success(contents)
      return response
    } catch {
      log(Self.status(of: error), Self.message(of: error))
      throw error
    }
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
