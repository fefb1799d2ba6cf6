import ArgumentParser
import Foundation
import GRPCCore
import GRPCProtobuf

/// Turns an RPC failure into what a person reads: the status, the message, and each
/// offending field from a `google.rpc.BadRequest` detail. Exit code 1.
func report(_ error: any Error) -> any Error {
  guard let rpc = error as? RPCError else { return error }
  var text = "error: \(rpc.code): \(rpc.message)"
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

/// Prints rows as an aligned table.
func printTable(_ header: [String], _ rows: [[String]]) {
  let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
  func line(_ cells: [String]) -> String {
    cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
      .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
  }
  print(line(header))
  for row in rows { print(line(row)) }
}
