public import SightlineModel
import Synchronization

/// Which tenants' logs moved, for the downstream consumers (`TenantDirectory/WatchChanges`):
/// one feed per consumer, whatever the number of tenants.
///
/// It keeps every tenant's head in memory (a few dozen bytes a tenant) and, per watcher, the
/// set of tenants that moved since the watcher last took its changes, so a busy tenant's
/// many commits coalesce into one entry and a slow watcher costs at most one entry per
/// tenant. The heads of tenants not touched since start come from a scan of the logs at
/// start (``fill(_:)``, then ``completeSnapshot()``); a new watcher first gets every head
/// known, then the snapshot's completion, then the changes.
public final class ChangeFeed: Sendable {
  /// What a watcher takes at once.
  public struct Changes: Sendable, Equatable {
    /// Tenants whose heads moved (or, at first, every tenant known), with their heads.
    public var heads: [TenantID: Int64] = [:]
    /// Tenants whose data was deleted.
    public var deleted: Set<TenantID> = []
    /// The start-up scan is complete, and every tenant with a log has been named.
    public var snapshotComplete = false

    var isEmpty: Bool { heads.isEmpty && deleted.isEmpty && !snapshotComplete }
  }

  private struct Watcher {
    var pending = Changes()
    let wake: AsyncStream<Void>.Continuation
  }

  private struct State {
    var heads: [TenantID: Int64] = [:]
    var snapshotComplete = false
    var watchers: [Int: Watcher] = [:]
    var nextID = 0
  }

  private let state = Mutex(State())

  /// An empty feed (heads arrive through ``fill(_:)`` and ``moved(_:to:)``).
  public init() {}

  /// Tenants known, and whether the start-up scan is complete.
  public var known: (tenants: Int, snapshotComplete: Bool) { state.withLock { ($0.heads.count, $0.snapshotComplete) } }

  /// `tenant`'s log now ends at `head` (a commit, or an import).
  public func moved(_ tenant: TenantID, to head: Int64) {
    change { state in
      guard head > state.heads[tenant] ?? -1 else { return false }
      state.heads[tenant] = head
      return true
    } pending: { pending in
      pending.heads[tenant] = head
      pending.deleted.remove(tenant)
    }
  }

  /// Heads read by the start-up scan; a head already known (a commit raced the scan) wins
  /// when it is newer.
  public func fill(_ heads: [TenantID: Int64]) {
    for (tenant, head) in heads { moved(tenant, to: head) }
  }

  /// The start-up scan is complete.
  public func completeSnapshot() {
    change { state in
      state.snapshotComplete = true
      return true
    } pending: {
      $0.snapshotComplete = true
    }
  }

  /// `tenant`'s data was deleted.
  public func deleted(_ tenant: TenantID) {
    change { state in
      state.heads[tenant] = nil
      return true
    } pending: { pending in
      pending.heads[tenant] = nil
      pending.deleted.insert(tenant)
    }
  }

  /// Applies `update` to the feed and, if it says something changed, `pending` to every
  /// watcher's pending changes; then wakes the watchers.
  private func change(_ update: (inout State) -> Bool, pending: (inout Changes) -> Void) {
    let wakes = state.withLock { state -> [AsyncStream<Void>.Continuation] in
      guard update(&state) else { return [] }
      for id in state.watchers.keys { pending(&state.watchers[id]!.pending) }
      return state.watchers.values.map(\.wake)
    }
    for wake in wakes { wake.yield() }
  }

  /// Follows the feed: `changes` delivers every known head first, then what moved, at most
  /// `limit` tenants at a time; it ends when the task is cancelled.
  public func watch(limit: Int = 1_000, _ deliver: (Changes) async throws -> Void) async throws {
    let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let id = state.withLock { state -> Int in
      let id = state.nextID
      state.nextID += 1
      var watcher = Watcher(wake: wake)
      watcher.pending.heads = state.heads
      watcher.pending.snapshotComplete = state.snapshotComplete
      state.watchers[id] = watcher
      return id
    }
    defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
    var iterator = wakeups.makeAsyncIterator()
    while !Task.isCancelled {
      let changes = take(id, limit: limit)
      if changes.isEmpty {
        guard await iterator.next() != nil else { return }
        continue
      }
      try await deliver(changes)
    }
  }

  /// Takes at most `limit` of watcher `id`'s pending heads (and all its deletions); the
  /// snapshot's completion is delivered only with the last of the heads known before it.
  private func take(_ id: Int, limit: Int) -> Changes {
    state.withLock { state in
      guard var watcher = state.watchers[id] else { return Changes() }
      var taken = Changes()
      if watcher.pending.heads.count <= limit {
        taken.heads = watcher.pending.heads
        watcher.pending.heads = [:]
        taken.snapshotComplete = watcher.pending.snapshotComplete
        watcher.pending.snapshotComplete = false
      } else {
        for (tenant, head) in watcher.pending.heads.prefix(limit) {
          taken.heads[tenant] = head
        }
        for tenant in taken.heads.keys { watcher.pending.heads[tenant] = nil }
      }
      taken.deleted = watcher.pending.deleted
      watcher.pending.deleted = []
      state.watchers[id] = watcher
      return taken
    }
  }
}
