import ArgumentParser
import Foundation
import GRPCCore
import GRPCProtobuf
import SightlineRPC

/// Turns an RPC failure into what a person reads: the status, the message, and each
/// offending field from a `google.rpc.BadRequest` detail. Exit code 1.
func report(_ error: any Error) -> any Error {
  guard let rpc = error as? RPCError else { return error }
  var text = "error: \(rpc.code): \(rpc.message)"
  // gRPC gives an error that is not an RPC error (a transport's, an interceptor's) code
  // UNKNOWN and an empty message; what went wrong is then only in its cause.
  if rpc.message.isEmpty, let cause = rpc.cause { text += "\(cause)" }
  if let explanation = explainTransportFailure(rpc) { text += "\n  " + explanation }
  if let status = try? rpc.unpackGoogleRPCStatus() {
    for detail in status.details {
      if let badRequest = detail.badRequest {
        for violation in badRequest.violations { text += "\n  \(violation.field): \(violation.violationDescription)" }
      }
    }
  }
  FileHandle.standardError.write(Data((text + "\n").utf8))
  return ExitCode.failure
}

/// What a person should make of a call the transport ended rather than the server:
/// - the gateway closed the connection in mid-call (its process died or was restarted),
///   which is not a network fault and is worth a look at the gateway's log;
/// - a reply larger than a client's message limit (``ClientFactory/maxMessageBytes``, on
///   the CLI or on the gateway's hop to a service), which only a narrower query avoids.
func explainTransportFailure(_ error: RPCError) -> String? {
  if error.code == .unavailable, error.message.hasPrefix("Stream unexpectedly closed") {
    return "the gateway closed the connection in the middle of the call: it may have crashed or been restarted. "
      + "Check the gateway's log (sightline up prints it, with the exit signal of a process that died), then try again."
  }
  if error.message.contains("maximum payload size") {
    return "the reply is larger than \(ClientFactory.maxMessageBytes / 1_048_576) MiB, the most one message may carry. "
      + "Ask for less at once: a shorter --from/--to range, a coarser --interval, fewer --by dimensions, or a --filter."
  }
  return nil
}

/// Prints rows as an aligned table.
func printTable(_ header: [String], _ rows: [[String]]) {
  for line in tableLines(header, rows) { print(line) }
}

/// Rows aligned under `header`, one string per line.
func tableLines(_ header: [String], _ rows: [[String]]) -> [String] {
  let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
  func line(_ cells: [String]) -> String {
    cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
      .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
  }
  return ([header] + rows).map(line)
}
