public import SightlineModel
public import SightlineRPC
public import SightlineStorage
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// The metrics service's log consumer: folds ingestion's log into each tenant's metrics
/// store, and keeps what the background work needs to know about each tenant (when it last
/// folded, whether it has alert rules, one lock per stripe of tenants for rollup builds).
public final class MetricsLogConsumer: LogConsumer {
  /// Every tenant's metrics state and alerts.
  public let storage: any MetricsStorage
  /// Serialise rollup invalidation and building per tenant (see
  /// ``MetricsStore/invalidateChangedRollups()``): a fixed set of locks, one per stripe of
  /// tenants, so nothing has to be cleaned up when tenants go.
  private let rollupLocks: [RollupBuildLock] = (0..<16).map { _ in RollupBuildLock() }
  /// When each tenant's consumer last applied a batch, and when its rollups were last
  /// warmed (for ``RollupWarmer``).
  private let activity = Mutex<[TenantID: Activity]>([:])
  /// Which tenants are known to have no alert rules (for ``AlertScheduler``), and a count
  /// of rule changes per tenant, so a change racing a check is never lost.
  private let rules = Mutex<RuleMarks>(RuleMarks())
  /// Which tenants the case rules look at next (answers folded, alerts opened, cases changed).
  let caseCues = TenantCues()
  /// Which tenants the deliverer looks at next (events written, endpoints changed, retries due).
  let deliveryCues = TenantCues()
  /// When each tenant's next action verification falls due (absent: look at its cases'
  /// actions in the next round), so the case rules' frequent rounds do not reread them.
  private let verificationDue = Mutex<[TenantID: Int64]>([:])

  /// When `tenant`'s next action verification falls due, if known.
  func knownVerificationDue(_ tenant: TenantID) -> Int64? { verificationDue.withLock { $0[tenant] } }

  /// `tenant`'s next action verification falls due at `dueMs` (nil: none is waiting).
  func noteVerificationDue(_ tenant: TenantID, _ dueMs: Int64?) { verificationDue.withLock { $0[tenant] = dueMs ?? .max } }

  /// `tenant`'s cases changed: look at their actions in the next round.
  func forgetVerificationDue(_ tenant: TenantID) { _ = verificationDue.withLock { $0.removeValue(forKey: tenant) } }

  private struct Activity {
    var applied: ContinuousClock.Instant?
    /// Events applied since the rollups were last warmed.
    var appliedSinceWarming = 0
    /// The earliest time of a ticket event or survey answer applied since the alert
    /// scheduler last looked (for ``AlertBackfill``).
    var earliestArrivalMs: Int64?
  }

  private struct RuleMarks {
    var without: Set<TenantID> = []
    var changes: [TenantID: Int] = [:]
    /// When each tenant's rules last changed here (wall clock, ms).
    var changedAtMs: [TenantID: Int64] = [:]
  }

  /// A consumer folding into `storage`.
  public init(storage: any MetricsStorage) {
    self.storage = storage
  }

  /// A consumer folding into SQLite under `dataDirectory` (`tenants/<tenant>/metrics.sqlite`).
  public convenience init(dataDirectory: String) {
    self.init(storage: SQLiteTenantStores<MetricsSchema>(root: dataDirectory, service: "metrics"))
  }

  /// The KPI state of `tenant`.
  public func store(for tenant: TenantID) throws -> any MetricsStore { try storage.metrics(for: tenant) }

  /// The alert rules and alerts of `tenant`.
  public func alerts(for tenant: TenantID) throws -> any AlertStore { try storage.alerts(for: tenant) }
  /// The cases and case rules of `tenant`.
  public func cases(for tenant: TenantID) throws -> any CaseStore { try storage.cases(for: tenant) }
  /// `tenant`'s endpoints and outbox.
  public func deliveries(for tenant: TenantID) throws -> any DeliveryStore { try storage.deliveries(for: tenant) }

  /// Tenants with metrics state.
  public func tenants() -> [TenantID] { (try? storage.tenants()) ?? [] }

  /// The lock `tenant`'s rollups are invalidated and built under.
  func rollupLock(for tenant: TenantID) -> RollupBuildLock {
    rollupLocks[Int(UInt(bitPattern: tenant.rawValue.hashValue) % UInt(rollupLocks.count))]
  }

  public func appliedOffset(tenant: TenantID) throws -> Int64 { try store(for: tenant).appliedOffset() }

  public func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID, fence: LeaseFence) throws {
    try store(for: tenant).apply(
      entries.map { ($0.offset, LogEntryMapping.metricsEvent($0)) }, throughOffset: throughOffset, fence: fence)
    // Arrivals matter only to a tenant's alert rules, and only those ingested since the
    // rules last changed: a rule added after an import does not backfill it (its history is
    // for `alerts rule test`), even while the consumer is still folding the import.
    let rulesChangedMs: Int64? = rules.withLock { $0.without.contains(tenant) ? nil : $0.changedAtMs[tenant] ?? .min }
    let earliest = rulesChangedMs.flatMap { since in
      entries.lazy.filter { $0.event.isTicketOrSurvey && $0.ingestedMs >= since }.map(\.eventTimeUnixMs).min()
    }
    if entries.contains(where: \.event.isSurvey) { caseCues.mark(tenant) }
    activity.withLock { activity in
      activity[tenant, default: Activity()].applied = .now
      activity[tenant, default: Activity()].appliedSinceWarming += entries.count
      if let earliest { activity[tenant]!.earliestArrivalMs = min(activity[tenant]!.earliestArrivalMs ?? earliest, earliest) }
    }
  }

  /// The earliest event time `tenant` was given since the last call, once its consumer has
  /// been quiet for `quietPeriod` (nil before, or if none), and forgets it: the alert
  /// scheduler's cue that history arrived. Waiting for quiet makes an import that takes many
  /// rounds one backfill, not one per round.
  func takeEarliestArrival(_ tenant: TenantID, quietPeriod: Duration = .zero) -> Int64? {
    let now = ContinuousClock.now
    return activity.withLock { activity in
      guard let earliest = activity[tenant]?.earliestArrivalMs,
        let applied = activity[tenant]?.applied, now - applied >= quietPeriod
      else { return nil }
      activity[tenant]?.earliestArrivalMs = nil
      return earliest
    }
  }

  /// Gives back an arrival the scheduler could not act on (its backfill failed), so the
  /// next round tries again.
  func restoreEarliestArrival(_ tenant: TenantID, _ earliestMs: Int64) {
    activity.withLock { activity in
      activity[tenant, default: Activity()].earliestArrivalMs = min(activity[tenant]?.earliestArrivalMs ?? earliestMs, earliestMs)
    }
  }

  /// Whether `tenant`'s rollups are worth warming now: its consumer has been quiet for
  /// `quietPeriod` after applying at least `minEvents` events since the last warming. A
  /// query builds what it needs itself, which is quick for a small tenant; warming ahead
  /// pays only after a bulk load, and warming every small or idle tenant (a day at a time,
  /// over the whole horizon) would be most of the process's I/O on a many-tenant deployment.
  func needsWarming(_ tenant: TenantID, quietPeriod: Duration, minEvents: Int) -> Bool {
    let now = ContinuousClock.now
    return activity.withLock { activity in
      guard let entry = activity[tenant], let applied = entry.applied else { return false }
      return now - applied >= quietPeriod && entry.appliedSinceWarming >= minEvents
    }
  }

  /// `tenant`'s rollups were warmed with what had been applied by then.
  func warmed(_ tenant: TenantID, applied: Int) {
    activity.withLock { $0[tenant, default: Activity()].appliedSinceWarming -= applied }
  }

  /// Events applied to `tenant` since its rollups were last warmed.
  func appliedSinceWarming(_ tenant: TenantID) -> Int {
    activity.withLock { $0[tenant]?.appliedSinceWarming ?? 0 }
  }

  /// A change count of `tenant`'s rules, to pass to ``markWithoutRules(_:ifUnchangedSince:)``.
  func ruleChanges(_ tenant: TenantID) -> Int { rules.withLock { $0.changes[tenant] ?? 0 } }

  /// Whether `tenant` may have alert rules (it is not known to have none).
  func mayHaveRules(_ tenant: TenantID) -> Bool { rules.withLock { !$0.without.contains(tenant) } }

  /// Notes that `tenant` has no rules, unless they changed since `changes` was read.
  func markWithoutRules(_ tenant: TenantID, ifUnchangedSince changes: Int) {
    rules.withLock { marks in
      if (marks.changes[tenant] ?? 0) == changes { marks.without.insert(tenant) }
    }
  }

  /// `tenant`'s rules changed (added, removed, imported or deleted with the tenant).
  func rulesChanged(_ tenant: TenantID) {
    let now = WallClock.now
    rules.withLock { marks in
      marks.without.remove(tenant)
      marks.changes[tenant, default: 0] += 1
      marks.changedAtMs[tenant] = now
    }
  }

  /// Forgets what is kept in memory about `tenant` (its data was deleted or imported).
  func forget(_ tenant: TenantID) {
    rulesChanged(tenant)
    caseCues.mark(tenant)
    deliveryCues.mark(tenant)
    forgetVerificationDue(tenant)
    activity.withLock { $0[tenant] = nil }
  }
}

extension Sightline_Ingestion_V1_LogEntry {
  /// When ingestion committed the entry (ms; an entry without the time counts as new).
  fileprivate var ingestedMs: Int64 {
    hasIngestedAt ? ingestedAt.unixMilliseconds : .max
  }
}

extension Sightline_Ingestion_V1_Event {
  /// Whether the event is a ticket event or a survey answer (what KPIs count by time).
  fileprivate var isSurvey: Bool {
    if case .surveyResponse = record { true } else { false }
  }

  fileprivate var isTicketOrSurvey: Bool {
    switch record {
    case .ticketEvent, .surveyResponse: true
    default: false
    }
  }
}
