import Dispatch

/// Runs blocking work (SQLite reads and commits with a full fsync) on a dispatch thread,
/// not a thread of Swift's cooperative pool: the pool has one thread per core, and a few
/// handlers blocked on the disk would stall every other handler of the process meanwhile.
public enum BlockingWork {
  /// The result of `work`, run on a dispatch thread.
  public static func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
  }
}
