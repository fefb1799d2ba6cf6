import SightlineModel
import SightlineStorage

/// Verifies the actions recorded on a tenant's cases at 14 and 28 days after they took
/// effect (复盘; docs/cases.md, "Verified effect"), with the experiments engine over this
/// process's own KPI data, and stores each verdict with its `verification.result` event.
struct CaseVerifier {
  let cases: any CaseStore
  let alerts: any AlertStore
  let store: any MetricsStore
  let settings: KpiSettings
  let buildLock: RollupBuildLock
  let nowMs: Int64
  let fence: LeaseFence

  static let dayMs: Int64 = 86_400_000

  /// Verifies every horizon that is due and not yet verified; returns what was stored and
  /// when the next horizon falls due.
  func run() throws -> (verified: [(ServiceCase, CaseVerification)], nextDueMs: Int64?) {
    var verified: [(ServiceCase, CaseVerification)] = []
    var next: Int64?
    // Two reads however many cases there are: every case with an action, and every horizon
    // verified (runs only when a horizon comes or the cases changed).
    let done = try cases.verifiedHorizons()
    for item in try cases.cases(CaseFilter(withAction: true, limit: .max)) {
      guard let action = item.action else { continue }
      for horizon in action.verificationHorizons
      where !done.contains(VerifiedHorizon(caseID: item.id, actionEffectiveMs: action.effectiveMs, horizonDays: horizon)) {
        let due = action.effectiveMs + Int64(horizon) * Self.dayMs
        guard due <= nowMs else {
          next = min(next ?? due, due)
          continue
        }
        let verification = try verify(item, action: action, horizonDays: horizon)
        if try cases.recordVerification(verification, of: item, fence: fence) { verified.append((item, verification)) }
      }
    }
    return (verified, next)
  }

  /// The KPI a case's action is judged on: its alert's KPI, else CSAT (the headline of
  /// service quality).
  func kpi(of item: ServiceCase) throws -> KpiKind {
    if item.source == .alert, let alert = try alerts.alert(id: item.sourceRef) { return alert.kpi }
    return .csat
  }

  /// One horizon's verification: the action's scope (else the case's) against the untouched
  /// units of its dimension, `horizonDays` before against after; with no such units, the
  /// scope before and after against its trend.
  func verify(_ item: ServiceCase, action: CaseAction, horizonDays: Int) throws -> CaseVerification {
    let kpi = try kpi(of: item)
    let scope = action.scope.isEmpty ? item.scope : action.scope
    let span = Int64(horizonDays) * Self.dayMs
    let (before, after) = ((action.effectiveMs - span, action.effectiveMs), (action.effectiveMs, action.effectiveMs + span))
    let engine = KpiEngine(store: store, settings: settings, nowMs: nowMs, buildLock: buildLock)
    let chosen: (dimension: KpiDimension, values: [String])? =
      !scope.regions.isEmpty ? (.region, scope.regions) : !scope.businessLines.isEmpty ? (.businessLine, scope.businessLines) : nil
    if let chosen {
      func units(_ period: (Int64, Int64)) throws -> [String: SufficientStatistics] {
        let buckets = try CalendarBuckets(startMs: period.0, endMs: period.1, interval: .all, timeZone: settings.timeZone)
        var units: [String: SufficientStatistics] = [:]
        for (cell, accumulator) in try engine.compute(kpis: [kpi], buckets: buckets, filters: [:], groupBy: [chosen.dimension]) {
          units[cell.group[0]] = accumulator.sufficientStatistics(kpi)
        }
        return units
      }
      let (pre, post) = (try units(before), try units(after))
      let data = post.keys.sorted().map { UnitData(unit: $0, pre: pre[$0], post: post[$0]!) }
      let treated = Set(chosen.values)
      if let compared = ActionVerifier.compare(
        kpi: kpi, dimension: chosen.dimension.rawValue, treated: data.filter { treated.contains($0.unit) },
        control: data.filter { !treated.contains($0.unit) }, days: Double(horizonDays), horizonDays: horizonDays, nowMs: nowMs)
      {
        return compared
      }
    }
    // No untouched units (or too little data in them): the scope against its own trend.
    var filters: [KpiDimension: [String]] = [:]
    if let chosen { filters[chosen.dimension] = chosen.values }
    if !scope.customerID.isEmpty { filters[.customer] = [scope.customerID] }
    func daily(_ period: (Int64, Int64)) throws -> [Double] {
      let buckets = try CalendarBuckets(startMs: period.0, endMs: period.1, interval: .day, timeZone: settings.timeZone)
      return try engine.compute(kpis: [kpi], buckets: buckets, filters: filters, groupBy: [])
        .sorted { $0.cell < $1.cell }
        .compactMap { _, accumulator in
          let result = accumulator.result(kpi)
          return result.sampleSize > 0 || kpi == .volume ? result.value : nil
        }
    }
    if let trend = ActionVerifier.beforeAfterTrend(
      kpi: kpi, before: try daily(before), after: try daily(after), horizonDays: horizonDays, nowMs: nowMs)
    {
      return trend
    }
    return CaseVerification(
      horizonDays: horizonDays, evaluatedMs: nowMs, kpi: kpi.rawValue, dimension: "", treated: [], controlUnits: 0, method: "none",
      effect: 0, ciLow: 0, ciHigh: 0, pValue: 1, verdict: .inconclusive, weakerEvidence: true,
      note: "too little \(kpi.rawValue) data in the scope around the action (at least 3 days before and 1 after are needed)")
  }
}
