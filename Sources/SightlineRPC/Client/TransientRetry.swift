import Foundation
public import GRPCCore

/// Retries calls that failed for a passing reason: UNAVAILABLE (a restarting service or a
/// channel still connecting), DEADLINE_EXCEEDED, and RESOURCE_EXHAUSTED (after the
/// server's `retry-after-ms`). Exponential backoff from 200 ms, capped at 5 s, with full
/// jitter; at most 8 attempts. Only for idempotent calls: ingest (by event id) and reads.
public enum TransientRetry {
  /// Attempts in all, the first included.
  public static let attempts = 8

  /// Writes a retry's line to standard error (the default report).
  public static func toStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  /// Whether `error` is worth another attempt.
  public static func isTransient(_ error: RPCError) -> Bool {
    [.unavailable, .deadlineExceeded, .resourceExhausted].contains(error.code)
  }

  /// Runs `call`, again after each transient failure, telling `report` about each retry
  /// (standard error by default).
  public static func run<R: Sendable>(
    report: (String) -> Void = TransientRetry.toStandardError, _ call: () async throws -> R
  ) async throws -> R {
    var attempt = 0
    while true {
      do {
        return try await call()
      } catch let error as RPCError where isTransient(error) {
        attempt += 1
        guard attempt < attempts else { throw error }
        let ceiling = min(5_000.0, 200 * pow(2, Double(attempt - 1)))
        var delay = Double.random(in: ceiling / 2...ceiling)
        if let advice = error.metadata[stringValues: "retry-after-ms"].first(where: { _ in true }).flatMap(Double.init) {
          delay = max(delay, advice)
        }
        report("retrying after \(error.code) (attempt \(attempt + 1) of \(attempts)) in \(Int(delay)) ms: \(error.message)")
        try await Task.sleep(for: .milliseconds(Int(delay)))
      }
    }
  }
}
