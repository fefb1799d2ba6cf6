import Dispatch

/// Runs blocking work (SQLite reads and commits with a full fsync, PostgreSQL round trips)
/// on a dispatch thread, not a thread of Swift's cooperative pool: the pool has one thread
/// per core, and a few handlers blocked on the disk or the database would stall every other
/// handler of the process meanwhile.
public enum BlockingWork {
  /// The result of `work`, run on a dispatch thread.
  public static func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
  }

  /// A task executor on dispatch threads, for whole handlers whose synchronous store calls
  /// block (`BlockingHandlersInterceptor`): dispatch adds threads while its threads block,
  /// which the cooperative pool never does.
  public static let executor = DispatchTaskExecutor(label: "sightline.blocking-work")
}

/// A `TaskExecutor` that runs jobs on a concurrent dispatch queue.
public final class DispatchTaskExecutor: TaskExecutor, Sendable {
  private let queue: DispatchQueue

  /// An executor on a new concurrent queue named `label`.
  public init(label: String) {
    queue = DispatchQueue(label: label, attributes: .concurrent)
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}
