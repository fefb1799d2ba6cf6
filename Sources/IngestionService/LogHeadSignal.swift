import SightlineModel
import Synchronization

/// Wakes `Subscribe` streams when new events are committed to a tenant's log, so that
/// following live needs no polling. A subscriber registers, re-reads the log, and only
/// then waits: a commit between its read and its wait still wakes it.
final class LogHeadSignal: Sendable {
  private struct Waiter {
    let tenant: TenantID
    let continuation: AsyncStream<Void>.Continuation
  }

  private let waiters = Mutex<[Int: Waiter]>([:])
  private let nextID = Atomic<Int>(0)

  /// A stream that yields once per commit to `tenant`'s log after this call, and the
  /// handle to stop it.
  func subscribe(tenant: TenantID) -> (stream: AsyncStream<Void>, cancel: @Sendable () -> Void) {
    let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let id = nextID.add(1, ordering: .relaxed).newValue
    waiters.withLock { $0[id] = Waiter(tenant: tenant, continuation: continuation) }
    return (stream, { [weak self] in
      self?.waiters.withLock { _ = $0.removeValue(forKey: id) }
      continuation.finish()
    })
  }

  /// Called after a commit to `tenant`'s log.
  func notify(tenant: TenantID) {
    let targets = waiters.withLock { $0.values.filter { $0.tenant == tenant }.map(\.continuation) }
    for continuation in targets { continuation.yield() }
  }
}
