public import SightlineModel
public import SightlineStorage

/// A tenant's metrics state: what the metrics service needs from its storage.
///
/// - The fold applies each batch of log entries with the offset reached in one
///   transaction, so a crash or restart neither loses nor double counts an event.
/// - KPI reads visit the folded tickets, survey answers and status histories of a
///   selection.
/// - Daily rollups are a cache of those reads per local day, invalidated by the hours
///   each batch changed.
public protocol MetricsStore: Sendable {
  // MARK: Fold

  /// The last log offset applied (0 before the first batch).
  func appliedOffset() throws -> Int64
  /// Applies `entries` (offset order) above the stored offset and records `throughOffset`,
  /// atomically, if `fence` is still the tenant's metrics lease (else ``LeaseLost``, and
  /// nothing is written). Returns the offset now applied.
  @discardableResult
  func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64, fence: LeaseFence) throws -> Int64

  // MARK: KPI reads

  /// Calls `body` with each ticket created in the selection that passes its filters, and
  /// the ticket's values of the grouping dimensions.
  func forEachTicket(_ selection: KpiSelection, _ body: (TicketFacts, [String]) throws -> Void) throws
  /// Calls `body` with each survey answer in the selection, its time and its group values.
  func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws
  /// Calls `body` with the time-ordered status history of every ticket passing `filters`,
  /// created before `beforeMs`, that may be open at or after `sinceMs`.
  func forEachStatusHistory(
    filters: [KpiDimension: [String]], groupBy: [KpiDimension], sinceMs: Int64, beforeMs: Int64,
    _ body: ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
  ) throws

  // MARK: Settings

  /// The tenant's KPI settings (defaults until set).
  func settings() throws -> KpiSettings
  /// Replaces the tenant's KPI settings (dropping rollups built under other ones).
  func setSettings(_ settings: KpiSettings) throws

  // MARK: Rollups

  /// Drops the rollups of every day changed since it was built; returns the days that
  /// still have rollups, and the generation to build under. In one process, not concurrent
  /// with ``storeRollups`` of one tenant (``RollupBuildLock``); replicas sharing the store
  /// are kept apart by the generation.
  func invalidateChangedRollups() throws -> BuiltRollups
  /// The days starting in [fromMs, toMs) that have rollups and no hour marked changed
  /// since they were built, by start, read at one moment; nothing is dropped.
  func unchangedRollupDays(fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay]
  /// Stores a day's rollup rows, replacing any, built under `settings` (``DailyRollups/stamp(_:)``) from
  /// what was read after the invalidation that returned `generation`. A store shared by
  /// replicas drops the day instead when another invalidation ran since (what was read may
  /// be older than a change whose mark that invalidation cleared); readers then scan it.
  func storeRollups(dayStartMs: Int64, dayEndMs: Int64, settings: String, rows: [RollupEntry], generation: Int64) throws
  /// The rollup rows of `series` and `part` for days starting in [fromMs, toMs) whose
  /// value starts with `valuePrefix`, with the days built, read at one moment: a day
  /// another caller dropped meanwhile is missing from both, never half there. Without
  /// `timeDistributions` the rows' time distributions are left empty
  /// (``KpiAccumulator/init(encoded:timeDistributions:)``).
  func rollups(
    series: RollupSeries, part: RollupPart, fromMs: Int64, toMs: Int64, valuePrefix: String, timeDistributions: Bool
  ) throws -> RollupRead
}

extension MetricsStore {
  /// Applies `entries` as the store's only writer (no lease to check).
  @discardableResult
  public func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64) throws -> Int64 {
    try apply(entries, throughOffset: throughOffset, fence: .sole)
  }
}

/// Every tenant's metrics state and alerts, and the tenant data lifecycle over them.
public protocol MetricsStorage: TenantDataStore {
  /// The metrics state of `tenant`, created on first use.
  func metrics(for tenant: TenantID) throws -> any MetricsStore
  /// The alert rules and alerts of `tenant`.
  func alerts(for tenant: TenantID) throws -> any AlertStore
  /// The cases and case rules of `tenant`.
  func cases(for tenant: TenantID) throws -> any CaseStore
  /// `tenant`'s endpoints and outbox (docs/delivery.md).
  func deliveries(for tenant: TenantID) throws -> any DeliveryStore
  /// Whether other replicas share this storage (they hear of alert changes through
  /// ``announce(_:)`` rather than from this process).
  var sharedByReplicas: Bool { get }
  /// Tells every replica sharing the storage, this one included, of `announcement`.
  func announce(_ announcement: AlertAnnouncement) throws
}

extension SQLiteTenantStores: MetricsStorage where Schema == MetricsSchema {
  public func metrics(for tenant: TenantID) throws -> any MetricsStore { try store(for: tenant) }
  /// Alerts live in the tenant's metrics database.
  public func alerts(for tenant: TenantID) throws -> any AlertStore {
    try store(for: tenant)
  }
  /// Cases live in the tenant's metrics database too.
  public func cases(for tenant: TenantID) throws -> any CaseStore { try store(for: tenant) }
  public func deliveries(for tenant: TenantID) throws -> any DeliveryStore { try store(for: tenant) }
  /// One process owns the files.
  public var sharedByReplicas: Bool { false }
  /// Nobody else to tell.
  public func announce(_ announcement: AlertAnnouncement) {}
}
