import Foundation
import GRPCCore

/// Retries calls that failed for a passing reason: UNAVAILABLE (a restarting service),
/// DEADLINE_EXCEEDED, and RESOURCE_EXHAUSTED (after the server's `retry-after-ms`).
/// Exponential backoff from 200 ms, capped at 5 s, with full jitter; at most 8 attempts.
/// Only for idempotent calls: ingest (by event id) and reads.
enum Retry {
  static let attempts = 8

  static func transient<R: Sendable>(_ call: () async throws -> R) async throws -> R {
    var attempt = 0
    while true {
      do {
        return try await call()
      } catch let error as RPCError where [.unavailable, .deadlineExceeded, .resourceExhausted].contains(error.code) {
        attempt += 1
        guard attempt < attempts else { throw error }
        let ceiling = min(5_000.0, 200 * pow(2, Double(attempt - 1)))
        var delay = Double.random(in: ceiling / 2...ceiling)
        if let advice = error.metadata[stringValues: "retry-after-ms"].first(where: { _ in true }).flatMap(Double.init) {
          delay = max(delay, advice)
        }
        FileHandle.standardError.write(Data("retrying after \(error.code) (attempt \(attempt + 1) of \(attempts)) in \(Int(delay)) ms\n".utf8))
        try await Task.sleep(for: .milliseconds(Int(delay)))
      }
    }
  }
}
