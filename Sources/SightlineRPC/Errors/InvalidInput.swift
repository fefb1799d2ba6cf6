public import GRPCCore
import GRPCProtobuf

/// The caller's mistake, with the offending fields: converted at the RPC boundary to
/// INVALID_ARGUMENT with a human message and a `google.rpc.BadRequest` detail listing
/// each field and why, so any gRPC client (and the CLI) can print them.
public struct InvalidInput: Error, RPCErrorConvertible, CustomStringConvertible {
  /// One offending field.
  public struct Violation: Sendable, Hashable {
    /// The field path, e.g. `events[3].ticket_event.time`.
    public var field: String
    /// Why it is wrong.
    public var reason: String

    /// A violation of `field`.
    public init(field: String, reason: String) {
      self.field = field
      self.reason = reason
    }
  }

  /// A summary sentence.
  public var message: String
  /// The fields at fault.
  public var violations: [Violation]

  /// An error with a summary and its violations.
  public init(_ message: String, violations: [Violation] = []) {
    self.message = message
    self.violations = violations
  }

  /// A single-field error.
  public init(field: String, reason: String) {
    self.init("\(field): \(reason)", violations: [.init(field: field, reason: reason)])
  }

  public var description: String { message }

  private var status: GoogleRPCStatus {
    GoogleRPCStatus(
      code: .invalidArgument, message: message,
      details: [.badRequest(violations: violations.map { .init(field: $0.field, description: $0.reason) })])
  }

  public var rpcErrorCode: RPCError.Code { .invalidArgument }
  public var rpcErrorMessage: String { message }
  public var rpcErrorMetadata: Metadata { status.rpcErrorMetadata }
}
