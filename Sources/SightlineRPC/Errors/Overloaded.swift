public import GRPCCore
import GRPCProtobuf

/// Too much at once: RESOURCE_EXHAUSTED with a human message and a `google.rpc.RetryInfo`
/// detail saying when to try again (also as `retry-after-ms` metadata for simple clients).
public struct Overloaded: Error, RPCErrorConvertible, CustomStringConvertible {
  /// What limit was hit.
  public var message: String
  /// When a retry may succeed.
  public var retryAfter: Duration

  /// An overload error.
  public init(_ message: String, retryAfter: Duration) {
    self.message = message
    self.retryAfter = retryAfter
  }

  public var description: String { message }
  public var rpcErrorCode: RPCError.Code { .resourceExhausted }
  public var rpcErrorMessage: String { message }
  public var rpcErrorMetadata: Metadata { RetryAdvice.metadata(code: .resourceExhausted, message: message, retryAfter: retryAfter) }
}

/// When to try again, as error metadata.
enum RetryAdvice {
  /// A `google.rpc.Status` with a `google.rpc.RetryInfo` detail, and `retry-after-ms` for
  /// simple clients.
  static func metadata(code: RPCError.Code, message: String, retryAfter: Duration) -> Metadata {
    var metadata = GoogleRPCStatus(code: code, message: message, details: [.retryInfo(delay: retryAfter)]).rpcErrorMetadata
    let ms = retryAfter.components.seconds * 1000 + retryAfter.components.attoseconds / 1_000_000_000_000_000
    metadata.addString(String(max(ms, 1)), forKey: "retry-after-ms")
    return metadata
  }
}
