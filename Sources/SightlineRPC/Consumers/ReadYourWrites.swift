import Foundation
import GRPCCore
public import SightlineModel

/// Read-your-writes for the log consumers: a query carrying `min_offset` (the offset an
/// ingest returned) waits until the consumer has applied it.
///
/// The wait is woken by the consumer's progress (``LogFollower`` publishes each tenant's
/// applied offset after every batch, its own or, heard through the database, another
/// replica's), with a read of the stored offset once a second besides, and it ends with its
/// caller: at the caller's deadline or cancellation (gRPC signals both through the RPC's
/// cancellation handle, not by cancelling the handler's task), or on graceful shutdown,
/// whichever comes first. An abandoned wait therefore costs nothing after its caller left.
public enum ReadYourWrites {
  /// Longest a query waits before answering UNAVAILABLE (the consumer is behind).
  public static let maxWait: Duration = .seconds(30)

  /// Returns the applied offset once it reaches `offset`, reading it with `applied` when
  /// `follower` says `tenant` moved. Without a follower (no consumer in this process), the
  /// stored offset is read every 10 ms instead. A wait that runs out says why the consumer
  /// is behind, when the follower knows.
  @discardableResult
  public static func wait(
    for offset: Int64, tenant: TenantID, follower: LogFollower?, maxWait: Duration = maxWait,
    applied: @escaping @Sendable () throws -> Int64
  ) async throws -> Int64 {
    let current = try applied()
    if current >= offset { return current }
    let progress = follower?.appliedProgress
    return try await runLiveStream {
      try await withThrowingTaskGroup(of: Int64?.self) { group in
        group.addTask { try await waitForProgress(offset, tenant: tenant, progress: progress, applied: applied) }
        group.addTask {
          try await Task.sleep(for: maxWait)
          return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let reached = first else {
          let now = (try? applied()) ?? current
          let why = follower?.problem(of: tenant).map { " (\($0))" } ?? ""
          throw RPCError(
            code: .unavailable,
            message: "min_offset \(offset) not applied yet (applied \(now)); the consumer is behind\(why), retry later")
        }
        return reached
      }
    }
  }

  /// The offset applied once it reaches `offset`; nil if the wait was cancelled first.
  private static func waitForProgress(
    _ offset: Int64, tenant: TenantID, progress: TenantBroadcast<Int64>?, applied: @escaping @Sendable () throws -> Int64
  ) async throws -> Int64? {
    guard let progress else {
      while !Task.isCancelled {
        let current = try applied()
        if current >= offset { return current }
        try await Task.sleep(for: .milliseconds(10))
      }
      return nil
    }
    // Subscribe first, read second: progress published in between is not missed.
    let (moves, stop) = progress.subscribe(tenant: tenant)
    defer { stop() }
    let current = try applied()
    if current >= offset { return current }
    return try await withThrowingTaskGroup(of: Int64?.self) { group in
      // Ends (nil) when the task is cancelled: the caller left, or the deadline passed.
      // The reads block on the store: off the cooperative pool, or a few waits on a slow
      // database would hold every cooperative thread.
      group.addTask {
        for await _ in moves {
          let current = try await BlockingWork.run { try applied() }
          if current >= offset { return current }
        }
        return nil
      }
      // Another replica's fold is heard through the database, and a notification sent while
      // this replica was not listening is lost: read the offset every second as well.
      group.addTask {
        while !Task.isCancelled {
          try await Task.sleep(for: .seconds(1))
          let current = try await BlockingWork.run { try applied() }
          if current >= offset { return current }
        }
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let reached = first else {
        if Task.isCancelled { throw CancellationError() }
        return nil
      }
      return reached
    }
  }
}
