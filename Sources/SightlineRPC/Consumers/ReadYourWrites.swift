import Foundation
import GRPCCore

/// Read-your-writes for the log consumers: a query carrying `min_offset` (the offset an
/// ingest returned) waits until the consumer has applied it, polling the stored offset.
public enum ReadYourWrites {
  /// Longest a query waits before answering UNAVAILABLE (the consumer is behind).
  public static let maxWait: Duration = .seconds(30)

  /// Returns the applied offset once it reaches `offset`.
  @discardableResult
  public static func wait(for offset: Int64, applied: () throws -> Int64) async throws -> Int64 {
    let started = ContinuousClock.now
    while true {
      let current = try applied()
      if current >= offset { return current }
      guard ContinuousClock.now - started < maxWait else {
        throw RPCError(
          code: .unavailable,
          message: "min_offset \(offset) not applied yet (applied \(current)); the consumer is behind, retry later")
      }
      try await Task.sleep(for: .milliseconds(10))
    }
  }
}
