public import SightlineModel
import Synchronization

/// Fans values out to the live subscribers of one tenant: ingestion wakes `Subscribe`
/// streams with it after each commit, metrics pushes alert changes to `WatchAlerts`. A
/// subscriber registers first and reads state second, so nothing published in between is
/// missed.
public final class TenantBroadcast<Element: Sendable>: Sendable {
  private struct Subscriber {
    let tenant: TenantID
    let continuation: AsyncStream<Element>.Continuation
  }

  private let subscribers = Mutex<[Int: Subscriber]>([:])
  private let nextID = Atomic<Int>(0)
  private let buffering: AsyncStream<Element>.Continuation.BufferingPolicy

  /// A broadcast whose subscribers buffer values with `buffering` (e.g. newest 1 for a
  /// wake-up signal, unbounded for events that must all arrive).
  public init(buffering: AsyncStream<Element>.Continuation.BufferingPolicy) { self.buffering = buffering }

  /// A stream of the values published for `tenant` after this call, and the handle to stop it.
  public func subscribe(tenant: TenantID) -> (stream: AsyncStream<Element>, cancel: @Sendable () -> Void) {
    let (stream, continuation) = AsyncStream<Element>.makeStream(bufferingPolicy: buffering)
    let id = nextID.add(1, ordering: .relaxed).newValue
    subscribers.withLock { $0[id] = Subscriber(tenant: tenant, continuation: continuation) }
    return (
      stream,
      { [weak self] in
        self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        continuation.finish()
      }
    )
  }

  /// Ends every stream of `tenant` (its data is being deleted).
  public func finish(tenant: TenantID) {
    let targets = subscribers.withLock { subscribers in
      let ids = subscribers.filter { $0.value.tenant == tenant }.map(\.key)
      return ids.compactMap { subscribers.removeValue(forKey: $0)?.continuation }
    }
    for continuation in targets { continuation.finish() }
  }

  /// Delivers `value` to `tenant`'s subscribers.
  public func publish(_ value: Element, tenant: TenantID) {
    let targets = subscribers.withLock { $0.values.filter { $0.tenant == tenant }.map(\.continuation) }
    for continuation in targets { continuation.yield(value) }
  }

  /// Delivers `value` to every subscriber of every tenant.
  public func publishToAll(_ value: Element) {
    let targets = subscribers.withLock { $0.values.map(\.continuation) }
    for continuation in targets { continuation.yield(value) }
  }
}
