import SightlineModel
import Synchronization

/// Which tenants a round of background work must look at, so that idle tenants cost
/// nothing (docs/architecture.md, "Limits"): a tenant is looked at when something was
/// marked for it, when its earliest due time passes, and once after the process starts.
///
/// The case rules look when survey answers were folded (a detractor may be among them), an
/// alert opened, the case rules or a case changed (here or, on PostgreSQL, on another
/// replica: ``AlertAnnouncement/casesChanged``), or a case falls due. The deliverer looks
/// when an event may have entered the outbox, an endpoint changed, or a retry falls due.
final class TenantCues: Sendable {
  private struct Marks {
    /// Tenants to look at in the next round.
    var pending: Set<TenantID> = []
    /// Tenants looked at since the process started.
    var seen: Set<TenantID> = []
    /// When each tenant's earliest unfinished case falls due.
    var nextDueMs: [TenantID: Int64] = [:]
    /// The tenants this replica had at the last round.
    var assigned: Set<TenantID> = []
  }

  private let marks = Mutex(Marks())

  /// Looks at `tenant` in the next round.
  func mark(_ tenant: TenantID) {
    marks.withLock { _ = $0.pending.insert(tenant) }
  }

  /// The tenants that are this replica's now: those that were not at the last call (a
  /// replica left, or the tenant came back) are looked at whatever their cues say, since
  /// the replica before may have left work that this one's cues do not know of.
  func assigned(_ tenants: Set<TenantID>) {
    marks.withLock { marks in
      marks.pending.formUnion(tenants.subtracting(marks.assigned))
      marks.assigned = tenants
    }
  }

  /// Whether the next round must look at `tenant` at `nowMs`; taking the cue clears it.
  func take(_ tenant: TenantID, nowMs: Int64) -> Bool {
    marks.withLock { marks in
      let due = marks.nextDueMs[tenant].map { $0 <= nowMs } ?? false
      // Each evaluated on its own (not short-circuited): a cue taken now also counts as the
      // look after start.
      let marked = marks.pending.remove(tenant) != nil
      let first = marks.seen.insert(tenant).inserted
      let cued = marked || first || due
      if due { marks.nextDueMs[tenant] = nil }
      return cued
    }
  }

  /// After a look: `tenant`'s next work falls due at `dueMs` (nil: none), e.g. its earliest
  /// unfinished, not yet overdue case, or its earliest retry.
  func looked(_ tenant: TenantID, nextDueMs dueMs: Int64?) {
    marks.withLock { marks in
      if let dueMs { marks.nextDueMs[tenant] = dueMs } else { marks.nextDueMs[tenant] = nil }
    }
  }

  /// A look that failed: try again next round.
  func failed(_ tenant: TenantID) { mark(tenant) }
}
