import Foundation

/// Runs blocking work (SQLite reads and commits with a full fsync, PostgreSQL round trips)
/// on threads of its own, not a thread of Swift's cooperative pool: the pool has one thread
/// per core, and a few handlers blocked on the disk or the database would stall every other
/// handler of the process meanwhile.
public enum BlockingWork {
  /// The result of `work`, run on a thread of `executor`.
  public static func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
    try await withTaskExecutorPreference(executor) { try work() }
  }

  /// The threads blocking work runs on, also whole handlers whose synchronous store calls
  /// block (`BlockingHandlersInterceptor`). A fixed set, started at once: dispatch's pool
  /// on Linux adds a thread only after its threads have been blocked for a while (about
  /// a second each, measured by `BlockingHandlersTests`), which a caller would wait out.
  public static let executor = ThreadPoolTaskExecutor(label: "sightline.blocking", threads: 32)
}

/// A `TaskExecutor` of a fixed number of threads taking jobs first come, first served.
public final class ThreadPoolTaskExecutor: TaskExecutor, @unchecked Sendable {
  // @unchecked: `jobs` and `head` are only touched with `condition` locked.
  private let condition = NSCondition()
  private var jobs: [UnownedJob] = []
  private var head = 0

  /// An executor of `threads` threads named `label-N`.
  public init(label: String, threads: Int) {
    for index in 0..<max(1, threads) {
      let thread = Thread { self.work() }  // the threads keep the executor alive, as intended
      thread.name = "\(label)-\(index)"
      thread.start()
    }
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    condition.lock()
    jobs.append(job)
    condition.signal()
    condition.unlock()
  }

  /// A thread's life: the next job, run, forever (the executor lives as long as the process).
  private func work() {
    while true {
      condition.lock()
      while head == jobs.count { condition.wait() }
      let job = jobs[head]
      head += 1
      // Compact now and then, so the array does not grow with every job ever run.
      if head > 1_024 && head * 2 > jobs.count {
        jobs.removeFirst(head)
        head = 0
      }
      condition.unlock()
      job.runSynchronously(on: asUnownedTaskExecutor())
    }
  }
}
