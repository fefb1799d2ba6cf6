import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
public import SightlineModel
public import SightlineRPC
public import SightlineStorage
public import SightlineTenantData
public import SightlineWire
import SwiftProtobuf

/// The metrics service: KPIs and unit-level aggregates from the tenant's folded ticket
/// state, KPI settings, alert rules, alerts and their live feed.
public final class MetricsProvider: Sendable {
  /// Default range of a query without one: the 30 days up to now.
  public static let defaultRangeMs: Int64 = 30 * 86_400_000

  /// The per-tenant state.
  public let state: MetricsLogConsumer
  let follower: LogFollower?
  let clock: @Sendable () -> Int64
  private let feed = TenantBroadcast<AlertRecord>(buffering: .unbounded)
  /// When each staffing-gap rule was last evaluated, and on what.
  private let staffingGapCadence = StaffingGapCadence()
  /// The segmentation service's customers at risk, for the case rules (nil without a
  /// segmentation service to ask).
  let atRiskFeed: AtRiskFeed?

  /// A provider over `state`; `follower` (if any) is asked to follow tenants as calls for
  /// them arrive; `clock` gives "now" in Unix ms.
  public init(
    state: MetricsLogConsumer, follower: LogFollower?,
    clock: @escaping @Sendable () -> Int64 = WallClock.unixMilliseconds, segmentation: GRPCClient<HTTP2ClientTransport.Posix>? = nil
  ) {
    self.state = state
    self.follower = follower
    self.clock = clock
    self.atRiskFeed = segmentation.map(AtRiskFeed.init(client:))
  }

  /// This service's part of the tenant data lifecycle; deleting a tenant first stops its log
  /// consumer and ends its `WatchAlerts` streams.
  public func tenantData(logger: Logger) -> TenantDataProvider {
    TenantDataProvider(
      store: state.storage, logger: logger,
      beforeDelete: { tenant in
        self.follower?.stop(tenant)
        self.feed.finish(tenant: tenant)
        self.state.forget(tenant)
      },
      afterImport: { tenant in
        self.state.forget(tenant)
        try? self.state.storage.announce(.rulesChanged(tenant))
      })
  }

  /// Evaluates `tenant`'s alert rules now, writing under `fence`; publishes and returns
  /// what opened or resolved.
  @discardableResult
  public func evaluateAlerts(tenant: TenantID, nowMs: Int64? = nil, fence: LeaseFence = .sole) throws -> [AlertRecord] {
    var evaluator = try alertEvaluator(tenant, nowMs: nowMs, fence: fence)
    let (settings, now) = (evaluator.settings, evaluator.nowMs)
    evaluator.staffingGapDue = { [staffingGapCadence] rule in
      staffingGapCadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: now)
    }
    return publish(try evaluator.evaluate(), tenant: tenant)
  }

  /// Saves, writing under `fence`, the alerts that `tenant`'s history from `fromMs` on
  /// would have raised had it been there when the scheduler judged it (``AlertBackfill``);
  /// publishes and returns them.
  @discardableResult
  public func backfillAlerts(tenant: TenantID, fromMs: Int64, nowMs: Int64? = nil, fence: LeaseFence = .sole) throws -> [AlertRecord] {
    publish(
      try AlertBackfill(evaluator: alertEvaluator(tenant, nowMs: nowMs, fence: fence)).run(fromMs: fromMs), tenant: tenant)
  }

  /// Tells the replica running `tenant`'s case rules (this one, or through the shared
  /// storage another) that its cases or case rules changed.
  func casesChanged(_ tenant: TenantID) {
    if state.storage.sharedByReplicas {
      try? state.storage.announce(.casesChanged(tenant))
    } else {
      heardCasesChanged(tenant)
    }
  }

  /// `tenant`'s cases or case rules changed: its rules and deliveries are looked at next
  /// round, its customers at risk asked for again, its verification horizons reread.
  private func heardCasesChanged(_ tenant: TenantID) {
    state.caseCues.mark(tenant)
    state.deliveryCues.mark(tenant)
    atRiskFeed?.forget(tenant)
    state.forgetVerificationDue(tenant)
  }

  /// Runs `tenant`'s case rules once, writing under `fence` (``CaseAutomation``; with
  /// `atRisk`, the segmentation service's list, customers at risk open cases too), then
  /// verifies the cases' actions whose horizon came (``CaseVerifier``); returns the cases
  /// opened and escalated and the verifications stored.
  @discardableResult
  public func runCaseRules(
    tenant: TenantID, nowMs: Int64? = nil, fence: LeaseFence = .sole, atRisk: [AtRiskCustomer]? = nil
  ) throws -> (opened: [ServiceCase], escalated: [ServiceCase], verified: [(ServiceCase, CaseVerification)]) {
    let now = nowMs ?? clock()
    let store = try state.store(for: tenant)
    let settings = try store.settings()
    let (cases, alerts) = (try state.cases(for: tenant), try state.alerts(for: tenant))
    let outcome = try CaseAutomation(cases: cases, alerts: alerts, settings: settings, nowMs: now, fence: fence, atRisk: atRisk).run()
    // Actions are verified when a horizon comes or the cases changed, not every round.
    var verification: (verified: [(ServiceCase, CaseVerification)], nextDueMs: Int64?) = ([], nil)
    let known = state.knownVerificationDue(tenant)
    if let known, known > now {
      verification.nextDueMs = known
    } else {
      verification = try CaseVerifier(
        cases: cases, alerts: alerts, store: store, settings: settings, buildLock: state.rollupLock(for: tenant), nowMs: now, fence: fence
      ).run()
      state.noteVerificationDue(tenant, verification.nextDueMs)
    }
    let nextDue = [outcome.nextDueMs, verification.nextDueMs].compactMap { $0 }.min()
    state.caseCues.looked(tenant, nextDueMs: nextDue)
    // A full batch may have left more: look again next round.
    if outcome.opened.count >= CaseAutomation.batchLimit || outcome.escalated.count >= CaseAutomation.batchLimit {
      state.caseCues.mark(tenant)
    }
    // Their openings, escalations and verdicts wrote events to the outbox.
    if !outcome.opened.isEmpty || !outcome.escalated.isEmpty || !verification.verified.isEmpty { state.deliveryCues.mark(tenant) }
    return (outcome.opened, outcome.escalated, verification.verified)
  }

  private func alertEvaluator(_ tenant: TenantID, nowMs: Int64?, fence: LeaseFence) throws -> AlertEvaluator {
    let store = try state.store(for: tenant)
    return AlertEvaluator(
      store: store, alerts: try state.alerts(for: tenant), settings: try store.settings(), nowMs: nowMs ?? clock(),
      buildLock: state.rollupLock(for: tenant), fence: fence)
  }

  /// Tells every `WatchAlerts` stream of `changes`: through the database when replicas
  /// share it (each replica's streams, this one's included, hear it there), else directly.
  private func publish(_ changes: [AlertRecord], tenant: TenantID) -> [AlertRecord] {
    if !changes.isEmpty {
      state.caseCues.mark(tenant)
      state.deliveryCues.mark(tenant)
    }
    for alert in changes {
      if state.storage.sharedByReplicas {
        try? state.storage.announce(.alertChanged(tenant, id: alert.id))
      } else {
        feed.publish(alert, tenant: tenant)
      }
    }
    return changes
  }

  /// What another replica (or this one) announced through the shared storage.
  public func hear(_ announcement: AlertAnnouncement) {
    switch announcement {
    case .rulesChanged(let tenant):
      state.rulesChanged(tenant)
    case .alertChanged(let tenant, let id):
      // A case for it may be due (the case rules run where the tenant's lease is).
      state.caseCues.mark(tenant)
      state.deliveryCues.mark(tenant)
      if let alert = try? state.alerts(for: tenant).alert(id: id) { feed.publish(alert, tenant: tenant) }
    case .casesChanged(let tenant):
      heardCasesChanged(tenant)
    }
  }

  /// Waits until the consumer applied `offset` for `tenant` (read-your-writes).
  func waitForOffset(_ offset: Int64, tenant: TenantID, store: any MetricsStore) async throws -> Int64 {
    follower?.follow(tenant)
    return try await ReadYourWrites.wait(for: offset, tenant: tenant, follower: follower) {
      try store.appliedOffset()
    }
  }

  func context(_ metadata: Metadata) throws -> (TenantID, any MetricsStore) {
    let tenant = try SuiteMetadata.requireTenant(metadata)
    follower?.follow(tenant)
    return (tenant, try state.store(for: tenant))
  }
}

extension MetricsProvider: Sightline_Metrics_V1_Metrics.ServiceProtocol {
  public func queryKpis(
    request: ServerRequest<Sightline_Metrics_V1_QueryKpisRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_QueryKpisResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let kpis = try Self.kpis(message.kpis)
    let groupBy = try message.groupBy.enumerated().map { try KpiWire.dimension($1, field: "group_by[\($0)]") }
    let filters = try Self.filters(message.filters)
    let interval: BucketInterval =
      switch message.interval {
      case .day: .day
      case .week: .week
      case .month: .month
      default: .all
      }
    let settings = try store.settings()
    let now = clock()
    let (start, end) = try Self.range(message.hasRange ? message.range : nil, nowMs: now, field: "range")
    let buckets = try Self.buckets(start, end, interval, settings.timeZone, field: "range")
    let cells = try KpiEngine(store: store, settings: settings, nowMs: now, buildLock: state.rollupLock(for: tenant))
      .compute(kpis: Set(kpis), buckets: buckets, filters: filters, groupBy: groupBy)
    // Business time where asked for and the tenant has a calendar; each value says which.
    let hours: DurationHours = message.hours == .business && settings.serviceLevels.hasCalendar ? .business : .calendar
    let rows = cells.map { cell, accumulator in
      Sightline_Metrics_V1_KpiRow.with { row in
        row.bucketStart = Google_Protobuf_Timestamp(unixMilliseconds: buckets.starts[cell.bucket])
        row.groupValues = cell.group
        row.values = kpis.map { kpi in Self.wireValue(kpi, accumulator.result(kpi, hours: hours), hours: hours) }
      }
    }
    return ServerResponse(
      message: .with {
        $0.rows = rows
        $0.appliedOffset = applied
      })
  }

  public func getUnitAggregates(
    request: ServerRequest<Sightline_Metrics_V1_GetUnitAggregatesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_GetUnitAggregatesResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let unit = try KpiWire.dimension(message.unit, field: "unit")
    let kpis = try Self.kpis(message.kpis)
    guard !message.periods.isEmpty else { throw InvalidInput(field: "periods", reason: "give at least one period") }
    let settings = try store.settings()
    let now = clock()
    let engine = KpiEngine(store: store, settings: settings, nowMs: now, buildLock: state.rollupLock(for: tenant))
    var aggregates: [Sightline_Metrics_V1_UnitAggregate] = []
    for (index, period) in message.periods.enumerated() {
      let (start, end) = try Self.range(period, nowMs: now, field: "periods[\(index)]", requireBoth: true)
      let buckets = try Self.buckets(start, end, .all, settings.timeZone, field: "periods[\(index)]")
      let filters: [KpiDimension: [String]] = message.units.isEmpty ? [:] : [unit: message.units]
      for (cell, accumulator) in try engine.compute(kpis: Set(kpis), buckets: buckets, filters: filters, groupBy: [unit]) {
        aggregates.append(
          .with { aggregate in
            aggregate.unit = cell.group[0]
            aggregate.periodIndex = Int32(index)
            aggregate.stats = kpis.map { kpi in
              let stats = accumulator.sufficientStatistics(kpi)
              return .with {
                $0.kpi = KpiWire.wireKpis[kpi]!
                $0.count = stats.count
                $0.sum = stats.sum
                $0.sumSquares = stats.sumSquares
              }
            }
          })
      }
    }
    return ServerResponse(
      message: .with {
        $0.aggregates = aggregates
        $0.appliedOffset = applied
      })
  }

  public func getSettings(
    request: ServerRequest<Sightline_Metrics_V1_GetSettingsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_TenantSettings> {
    let (_, store) = try self.context(request.metadata)
    return ServerResponse(message: Self.wireSettings(try store.settings()))
  }

  public func setSettings(
    request: ServerRequest<Sightline_Metrics_V1_SetSettingsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_TenantSettings> {
    let (_, store) = try self.context(request.metadata)
    let wire = request.message.settings
    var settings = KpiSettings.defaults
    if !wire.timeZone.isEmpty {
      guard TimeZone(identifier: wire.timeZone) != nil else {
        throw InvalidInput(field: "settings.time_zone", reason: "'\(wire.timeZone)' is not an IANA time zone (e.g. Asia/Shanghai)")
      }
      settings.timeZone = wire.timeZone
    }
    let sla: [(TicketPriority, Int64, String)] = [
      (.urgent, wire.sla.urgentSeconds, "urgent_seconds"), (.high, wire.sla.highSeconds, "high_seconds"),
      (.normal, wire.sla.normalSeconds, "normal_seconds"), (.low, wire.sla.lowSeconds, "low_seconds"),
    ]
    for (priority, seconds, name) in sla {
      guard seconds >= 0 else { throw InvalidInput(field: "settings.sla.\(name)", reason: "must not be negative") }
      if seconds > 0 { settings.slaTargetMs[priority] = seconds * 1000 }
    }
    for (value, name) in [(wire.complaintTargetSeconds, "complaint_target_seconds"), (wire.repeatWindowSeconds, "repeat_window_seconds")] {
      guard value >= 0 else { throw InvalidInput(field: "settings.\(name)", reason: "must not be negative") }
    }
    if wire.complaintTargetSeconds > 0 { settings.complaintTargetMs = wire.complaintTargetSeconds * 1000 }
    if wire.repeatWindowSeconds > 0 { settings.repeatWindowMs = wire.repeatWindowSeconds * 1000 }
    for (index, target) in wire.targets.enumerated() {
      let field = "settings.targets[\(index)]"
      let kind = try KpiWire.kpi(target.kpi, field: "\(field).kpi")
      guard settings.targets[kind] == nil else {
        throw InvalidInput(field: "\(field).kpi", reason: "\(kind.rawValue) has a target already")
      }
      let value = KpiTarget(goal: target.goal, tolerance: target.tolerance)
      if let problem = KpiTarget.problem(with: value, for: kind) { throw InvalidInput(field: field, reason: problem) }
      settings.targets[kind] = value
    }
    if wire.hasWorkload { settings.workload = try Self.workloadSettings(wire.workload) }
    // Calendars and SLA policies have RPCs of their own: these settings keep them.
    settings.serviceLevels = try store.settings().serviceLevels
    try store.setSettings(settings)
    return ServerResponse(message: Self.wireSettings(settings))
  }

  public func addAlertRule(
    request: ServerRequest<Sightline_Metrics_V1_AddAlertRuleRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_AlertRule> {
    let (tenant, store) = try self.context(request.metadata)
    let wire = request.message.rule
    let rule: AlertRuleRecord
    switch wire.kind {
    case .kpi: rule = try Self.kpiRule(wire)
    case .staffingGap: rule = try Self.staffingGapRule(wire, roster: try store.settings().workload.roster)
    case .UNRECOGNIZED(let raw): throw InvalidInput(field: "rule.kind", reason: "\(raw) is not a known rule kind")
    }
    try state.alerts(for: tenant).add(rule)
    state.rulesChanged(tenant)
    // The replica that evaluates this tenant may be another.
    try state.storage.announce(.rulesChanged(tenant))
    return ServerResponse(message: Self.wireRule(rule))
  }

  /// A KPI rule from the wire, or INVALID_ARGUMENT naming the field.
  static func kpiRule(_ wire: Sightline_Metrics_V1_AlertRule) throws -> AlertRuleRecord {
    let kpi = try KpiWire.kpi(wire.kpi, field: "rule.kpi")
    let by = wire.by == .unspecified ? nil : try KpiWire.dimension(wire.by, field: "rule.by")
    if kpi == .backlog, let by, by.isTimeOfWeek {
      throw InvalidInput(field: "rule.by", reason: "backlog is not cut by \(by.rawValue) (it counts open tickets at moments)")
    }
    guard wire.windowSeconds >= 0, wire.windowSeconds <= 90 * 86_400 else {
      throw InvalidInput(field: "rule.window_seconds", reason: "must be between 1 second and 90 days (0 = 1 day)")
    }
    guard wire.minSample >= 0 else { throw InvalidInput(field: "rule.min_sample", reason: "must not be negative") }
    let comparison: AlertComparison? =
      switch wire.comparison {
      case .greater: .greater
      case .less: .less
      default: nil
      }
    if wire.anomaly && comparison != nil {
      throw InvalidInput(field: "rule.comparison", reason: "an anomaly rule has no threshold; leave comparison unset")
    }
    if !wire.anomaly && comparison == nil {
      throw InvalidInput(field: "rule.comparison", reason: "a threshold rule needs GREATER or LESS (or set anomaly)")
    }
    guard wire.threshold.isFinite else { throw InvalidInput(field: "rule.threshold", reason: "must be a finite number") }
    let name = wire.name.trimmingCharacters(in: .whitespacesAndNewlines)
    return AlertRuleRecord(
      id: newRuleID(), name: name.isEmpty ? kpi.rawValue : name, kpi: kpi, by: by,
      windowMs: (wire.windowSeconds == 0 ? 86_400 : wire.windowSeconds) * 1000, comparison: comparison,
      threshold: wire.threshold, anomaly: wire.anomaly, minSample: wire.minSample == 0 ? 20 : wire.minSample)
  }

  /// A staffing-gap rule from the wire (docs/workload.md, "Staffing alerts"): it looks
  /// `window_seconds` ahead (default 7 days) for hours short by `threshold` agents (default
  /// 1) against the tenant's stored `roster`, which must exist.
  static func staffingGapRule(_ wire: Sightline_Metrics_V1_AlertRule, roster: [Int: Double]) throws -> AlertRuleRecord {
    guard wire.windowSeconds == 0 || (3_600...Int64(maxForecastDays) * 86_400).contains(wire.windowSeconds) else {
      throw InvalidInput(field: "rule.window_seconds", reason: "looks 1 hour to \(maxForecastDays) days ahead (0 = 7 days)")
    }
    guard wire.threshold >= 0, wire.threshold.isFinite else {
      throw InvalidInput(field: "rule.threshold", reason: "agents short: a number above 0 (0 = 1 agent)")
    }
    guard wire.by == .unspecified else { throw InvalidInput(field: "rule.by", reason: "a staffing-gap rule watches the whole roster") }
    guard !wire.anomaly, wire.comparison != .less else {
      throw InvalidInput(field: "rule.comparison", reason: "a staffing-gap rule fires when the need exceeds the roster; leave it unset")
    }
    guard !roster.isEmpty else {
      throw RPCError(
        code: .failedPrecondition,
        message: "the tenant has no roster to compare with: store one first (settings.workload.roster; sightline workload roster FILE)")
    }
    let name = wire.name.trimmingCharacters(in: .whitespacesAndNewlines)
    return AlertRuleRecord(
      id: newRuleID(), name: name.isEmpty ? "staffing gap" : name, kpi: .volume, by: nil,
      windowMs: (wire.windowSeconds == 0 ? 7 * 86_400 : wire.windowSeconds) * 1000, comparison: .greater,
      threshold: wire.threshold == 0 ? 1 : wire.threshold, anomaly: false, minSample: 0, kind: .staffingGap)
  }

  private static func newRuleID() -> String { "rule_" + UUID().uuidString.lowercased().prefix(8) }

  public func listAlertRules(
    request: ServerRequest<Sightline_Metrics_V1_ListAlertRulesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ListAlertRulesResponse> {
    let (tenant, _) = try self.context(request.metadata)
    let rules = try state.alerts(for: tenant).rules()
    return ServerResponse(message: .with { $0.rules = rules.map(Self.wireRule) })
  }

  public func removeAlertRule(
    request: ServerRequest<Sightline_Metrics_V1_RemoveAlertRuleRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_RemoveAlertRuleResponse> {
    let (tenant, _) = try self.context(request.metadata)
    guard try state.alerts(for: tenant).removeRule(id: request.message.id) else {
      throw RPCError(code: .notFound, message: "no alert rule '\(request.message.id)'")
    }
    return ServerResponse(message: .init())
  }

  public func testAlertRule(
    request: ServerRequest<Sightline_Metrics_V1_TestAlertRuleRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_TestAlertRuleResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    _ = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    guard let rule = try state.alerts(for: tenant).rules().first(where: { $0.id == message.ruleID }) else {
      throw RPCError(code: .notFound, message: "no alert rule '\(message.ruleID)'")
    }
    guard rule.kind == .kpi else {
      throw RPCError(
        code: .failedPrecondition,
        message: "rule '\(rule.id)' watches the staffing gap ahead, which has no history to replay: see PlanStaffing on the forecast basis")
    }
    guard message.overSeconds >= 0, message.overSeconds <= 3_650 * 86_400 else {
      throw InvalidInput(field: "over_seconds", reason: "must be between 0 (90 days) and 10 years")
    }
    guard message.stepSeconds >= 0 else { throw InvalidInput(field: "step_seconds", reason: "must not be negative") }
    let over = (message.overSeconds == 0 ? 90 * 86_400 : message.overSeconds) * 1000
    let step = (message.stepSeconds == 0 ? 3_600 : message.stepSeconds) * 1000
    guard over / step <= Int64(AlertReplay.maxSteps) else {
      throw InvalidInput(
        field: "step_seconds", reason: "\(over / step) steps over the range; at most \(AlertReplay.maxSteps): use a longer step")
    }
    let now = clock()
    // A replay writes nothing, so it needs no lease.
    let evaluator = try alertEvaluator(tenant, nowMs: now, fence: .sole)
    let (episodes, evaluations) = try AlertReplay(evaluator: evaluator).run(rule, fromMs: now - over, toMs: now, stepMs: step)
    return ServerResponse(
      message: .with { response in
        response.rule = Self.wireRule(rule)
        response.range = Self.wireRange((now - over, now))
        response.stepSeconds = step / 1000
        response.evaluations = Int64(evaluations)
        response.episodes = episodes.map { episode in
          .with {
            $0.dimensionValue = episode.group
            $0.openedAt = Google_Protobuf_Timestamp(unixMilliseconds: episode.openedMs)
            if let resolved = episode.resolvedMs { $0.resolvedAt = Google_Protobuf_Timestamp(unixMilliseconds: resolved) }
            $0.value = episode.value
            $0.sampleSize = episode.sampleSize
            $0.expectedLow = episode.expectedLow
            $0.expectedHigh = episode.expectedHigh
            $0.severity = Self.wireSeverity(episode.severity)
            $0.contributors = episode.contributors.map(Self.wireContributor)
          }
        }
      })
  }

  public func listAlerts(
    request: ServerRequest<Sightline_Metrics_V1_ListAlertsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ListAlertsResponse> {
    let (tenant, _) = try self.context(request.metadata)
    let limit = request.message.limit > 0 ? min(Int(request.message.limit), 10_000) : 100
    let alerts = try state.alerts(for: tenant).alerts(openOnly: request.message.openOnly, limit: limit)
    return ServerResponse(message: .with { $0.alerts = alerts.map(Self.wireAlert) })
  }

  public func watchAlerts(
    request: ServerRequest<Sightline_Metrics_V1_WatchAlertsRequest>, context: ServerContext
  ) async throws -> StreamingServerResponse<Sightline_Metrics_V1_WatchAlertsResponse> {
    let (tenant, _) = try self.context(request.metadata)
    let (alerts, cancel) = feed.subscribe(tenant: tenant)
    return StreamingServerResponse { writer in
      defer { cancel() }
      // Live until the caller leaves or the server drains.
      try await runLiveStream {
        for await alert in alerts {
          try await writer.write(.with { $0.alert = Self.wireAlert(alert) })
        }
      }
      return [:]
    }
  }
}

extension MetricsProvider {
  /// The requested KPIs (at least one), or INVALID_ARGUMENT naming the bad one.
  static func kpis(_ wire: [Sightline_Metrics_V1_Kpi]) throws -> [KpiKind] {
    guard !wire.isEmpty else { throw InvalidInput(field: "kpis", reason: "ask for at least one KPI") }
    return try wire.enumerated().map { try KpiWire.kpi($1, field: "kpis[\($0)]") }
  }

  /// The buckets of a range, or INVALID_ARGUMENT naming `field`.
  static func buckets(
    _ start: Int64, _ end: Int64, _ interval: BucketInterval, _ timeZone: String, field: String
  ) throws
    -> CalendarBuckets
  {
    do {
      return try CalendarBuckets(startMs: start, endMs: end, interval: interval, timeZone: timeZone)
    } catch {
      throw InvalidInput(field: field, reason: error.description)
    }
  }

  static func filters(_ wire: [Sightline_Common_V1_DimensionFilter]) throws -> [KpiDimension: [String]] {
    var filters: [KpiDimension: [String]] = [:]
    for (index, filter) in wire.enumerated() {
      let dimension = try KpiWire.dimension(filter.dimension, field: "filters[\(index)].dimension")
      guard !filter.values.isEmpty else {
        throw InvalidInput(field: "filters[\(index)].values", reason: "give at least one value for \(dimension.rawValue)")
      }
      // Two filters on one dimension must both hold: keep the values common to both.
      filters[dimension] = filters[dimension].map { existing in existing.filter(filter.values.contains) } ?? filter.values
    }
    return filters
  }

  /// A query range in Unix ms: unset end = now, unset start = 30 days before the end.
  static func range(
    _ range: Sightline_Common_V1_TimeRange?, nowMs: Int64, field: String, requireBoth: Bool = false
  ) throws
    -> (Int64, Int64)
  {
    if requireBoth && (range?.hasStart != true || range?.hasEnd != true) {
      throw InvalidInput(field: field, reason: "give both start and end")
    }
    let end = range?.hasEnd == true ? range!.end.unixMilliseconds : nowMs
    let start = range?.hasStart == true ? range!.start.unixMilliseconds : end - defaultRangeMs
    guard end > start else { throw InvalidInput(field: field, reason: "the end must be after the start") }
    return (start, end)
  }

  /// A KPI's value on the wire; a time KPI's says which clock it ran on.
  static func wireValue(_ kpi: KpiKind, _ result: KpiResult, hours: DurationHours = .calendar) -> Sightline_Metrics_V1_KpiValue {
    .with {
      $0.kpi = KpiWire.wireKpis[kpi]!
      if kpi == .firstResponseTime || kpi == .resolutionTime { $0.hours = hours == .business ? .business : .calendar }
      $0.value = result.value
      $0.sampleSize = result.sampleSize
      if let median = result.median { $0.median = median }
      if let p90 = result.p90 { $0.p90 = p90 }
      if let secondary = result.secondary { $0.secondary = secondary }
    }
  }

  static func wireSettings(_ settings: KpiSettings) -> Sightline_Metrics_V1_TenantSettings {
    .with {
      $0.timeZone = settings.timeZone
      $0.sla = .with { sla in
        sla.urgentSeconds = settings.slaTarget(.urgent) / 1000
        sla.highSeconds = settings.slaTarget(.high) / 1000
        sla.normalSeconds = settings.slaTarget(.normal) / 1000
        sla.lowSeconds = settings.slaTarget(.low) / 1000
      }
      $0.complaintTargetSeconds = settings.complaintTargetMs / 1000
      $0.repeatWindowSeconds = settings.repeatWindowMs / 1000
      $0.targets = settings.targets.sorted { $0.key.rawValue < $1.key.rawValue }.compactMap { kind, target in
        KpiWire.wireKpis[kind].map { kpi in
          .with {
            $0.kpi = kpi; $0.goal = target.goal; $0.tolerance = target.tolerance
          }
        }
      }
      $0.workload = .with { workload in
        workload.handleSeconds = settings.workload.handleSeconds
        workload.liveChannels = settings.workload.liveChannels.sorted()
        workload.targets = Self.wireTargets(settings.workload.targets)
        workload.roster = KpiWire.rosterHours(settings.workload.roster)
      }
    }
  }

  static func wireRule(_ rule: AlertRuleRecord) -> Sightline_Metrics_V1_AlertRule {
    .with {
      $0.id = rule.id
      $0.name = rule.name
      $0.kpi = KpiWire.wireKpis[rule.kpi]!
      $0.by = rule.by.flatMap { KpiWire.wireDimensions[$0] } ?? .unspecified
      $0.windowSeconds = rule.windowMs / 1000
      $0.comparison =
        switch rule.comparison {
        case .greater?: .greater
        case .less?: .less
        case nil: .unspecified
        }
      $0.threshold = rule.threshold
      $0.anomaly = rule.anomaly
      $0.minSample = rule.minSample
      $0.kind = rule.kind == .staffingGap ? .staffingGap : .kpi
    }
  }

  static func wireAlert(_ alert: AlertRecord) -> Sightline_Metrics_V1_Alert {
    .with {
      $0.id = alert.id
      $0.ruleID = alert.ruleID
      $0.kpi = KpiWire.wireKpis[alert.kpi]!
      $0.dimension = alert.dimension.flatMap { KpiWire.wireDimensions[$0] } ?? .unspecified
      $0.dimensionValue = alert.dimensionValue
      $0.value = alert.value
      $0.sampleSize = alert.sampleSize
      $0.expectedLow = alert.expectedLow
      $0.expectedHigh = alert.expectedHigh
      $0.severity = Self.wireSeverity(alert.severity)
      $0.openedAt = Google_Protobuf_Timestamp(unixMilliseconds: alert.openedMs)
      if let resolved = alert.resolvedMs { $0.resolvedAt = Google_Protobuf_Timestamp(unixMilliseconds: resolved) }
      $0.window = .with { window in
        window.start = Google_Protobuf_Timestamp(unixMilliseconds: alert.windowStartMs)
        window.end = Google_Protobuf_Timestamp(unixMilliseconds: alert.windowEndMs)
      }
      $0.message = alert.message
      $0.contributors = alert.contributors.map(Self.wireContributor)
      $0.ruleKind = alert.isStaffingGap ? .staffingGap : .kpi
    }
  }

  static func wireSeverity(_ severity: AlertSeverity) -> Sightline_Metrics_V1_Severity {
    switch severity {
    case .info: .info
    case .warning: .warning
    case .critical: .critical
    }
  }

  static func wireContributor(_ contributor: AlertContributor) -> Sightline_Metrics_V1_AlertContributor {
    .with {
      $0.dimension = KpiWire.wireDimensions[contributor.dimension] ?? .unspecified
      $0.value = contributor.value
      $0.effect = contributor.effect
      $0.rateEffect = contributor.rateEffect
      $0.mixEffect = contributor.mixEffect
    }
  }
}
