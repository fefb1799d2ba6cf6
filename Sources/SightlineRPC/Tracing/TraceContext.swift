import Foundation
public import GRPCCore
public import Logging
import SightlineModel
import Tracing

/// W3C Trace Context (`traceparent`) carried through the suite: the gateway accepts a
/// caller's trace or starts one, every server hop continues it with a span of its own,
/// every outgoing call (forwarding, service to service) passes it on in gRPC metadata, and
/// every log line written while handling the call carries `trace_id` and `span_id`.
///
/// Each server hop is a span; with a collector configured (``SpanExport``) the spans are
/// exported over OTLP under the same ids, so logs and traces name the same spans.
public struct TraceContext: Sendable, Equatable {
  /// 32 lowercase hex digits, not all zero.
  public let traceID: String
  /// This hop's span: 16 lowercase hex digits, not all zero.
  public let spanID: String
  /// The caller's sampled flag, passed on unchanged.
  public let sampled: Bool

  /// The metadata key.
  public static let header = "traceparent"

  /// The context of the call being handled, if any.
  @TaskLocal public static var current: TraceContext?

  /// A context from its parts.
  public init(traceID: String, spanID: String, sampled: Bool) {
    self.traceID = traceID
    self.spanID = spanID
    self.sampled = sampled
  }

  /// Parses a `traceparent` value (version 00): nil when malformed, so a bad header starts
  /// a new trace rather than poisoning the logs.
  public init?(traceparent: String) {
    // On the UTF-8 bytes: it runs on every call of every service, and Foundation's
    // trimming and Character tests were a twentieth of a backend's CPU.
    let parts = Array(traceparent.trimmingWhitespace.utf8).split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
    guard parts.count >= 4, parts[0].count == 2, !parts[0].elementsEqual("ff".utf8), parts[1].count == 32,
      parts[2].count == 16, parts[3].count == 2, parts.allSatisfy({ $0.allSatisfy(Self.isHexDigit) }),
      parts[1].contains(where: { $0 != UInt8(ascii: "0") }), parts[2].contains(where: { $0 != UInt8(ascii: "0") }),
      let flags = UInt8(String(decoding: parts[3], as: UTF8.self), radix: 16)
    else { return nil }
    self.init(
      traceID: String(decoding: parts[1], as: UTF8.self).lowercased(),
      spanID: String(decoding: parts[2], as: UTF8.self).lowercased(), sampled: flags & 1 == 1)
  }

  private static func isHexDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
      || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
  }

  /// A new trace with a new span.
  public static func start() -> TraceContext {
    TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), sampled: true)
  }

  /// The span of a hop that continues this trace (a new span id, same trace).
  public func child() -> TraceContext { TraceContext(traceID: traceID, spanID: Self.randomHex(bytes: 8), sampled: sampled) }

  /// The header value naming this span as the parent of the next hop.
  public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

  /// Adds `trace_id` and `span_id` of the current call to every log line (handlers that
  /// honour metadata providers, such as swift-log's StreamLogHandler, merge it).
  public static let metadataProvider = Logger.MetadataProvider {
    guard let context = current else { return [:] }
    return ["trace_id": .string(context.traceID), "span_id": .string(context.spanID)]
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// `bytes` random bytes as lowercase hex, never all zero (W3C forbids zero ids).
  private static func randomHex(bytes: Int) -> String {
    var digits: [UInt8] = []
    digits.reserveCapacity(2 * bytes)
    var random = SystemRandomNumberGenerator()
    repeat {
      digits.removeAll(keepingCapacity: true)
      var word: UInt64 = 0
      for index in 0..<bytes {
        if index % 8 == 0 { word = random.next() }
        let byte = UInt8(truncatingIfNeeded: word >> (8 * (index % 8)))
        digits.append(hexDigits[Int(byte >> 4)])
        digits.append(hexDigits[Int(byte & 0x0F)])
      }
    } while digits.allSatisfy { $0 == UInt8(ascii: "0") }
    return String(decoding: digits, as: UTF8.self)
  }
}

/// Continues the caller's trace (or starts one) for the whole handling of each call.
/// Installed first on every server, so the request log line carries the trace too.
public struct TracingServerInterceptor: ServerInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let incoming = request.metadata[stringValues: TraceContext.header].first { _ in true }.flatMap(TraceContext.init(traceparent:))
    guard let exported = SpanExport.serverSpan(method: context.descriptor.fullyQualifiedMethod, incoming: incoming) else {
      return try await Self.handle(request, context, trace: incoming?.child() ?? TraceContext.start(), span: nil, next: next)
    }
    return try await Self.handle(request, context, trace: exported.trace, span: exported.span, next: next)
  }

  /// Runs the call with `trace` (and `span`, ended when the response is) current.
  private static func handle<Input: Sendable, Output: Sendable>(
    _ request: StreamingServerRequest<Input>, _ context: ServerContext, trace: TraceContext, span: (any Span)?,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var response: StreamingServerResponse<Output>
    do {
      response = try await TraceContext.$current.withValue(trace) {
        try await SpanExport.$currentSpan.withValue(span) { try await next(request, context) }
      }
    } catch {
      span?.end()
      throw error
    }
    // A streaming response is produced after this returns: keep the trace for it too.
    guard case .success(var contents) = response.accepted else {
      span?.end()
      return response
    }
    let producer = contents.producer
    contents.producer = { writer in
      defer { span?.end() }
      return try await TraceContext.$current.withValue(trace) {
        try await SpanExport.$currentSpan.withValue(span) { try await producer(writer) }
      }
    }
    response.accepted = .success(contents)
    return response
  }
}

/// Passes the current trace on to the next hop (replacing any `traceparent` copied from
/// an incoming call, so each hop names its own span as the parent).
public struct TracingClientInterceptor: ClientInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    guard let trace = TraceContext.current else { return try await next(request, context) }
    var request = request
    request.metadata.replaceOrAddString(trace.traceparent, forKey: TraceContext.header)
    return try await next(request, context)
  }
}
