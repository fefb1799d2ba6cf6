import Foundation
import SightlineModel
import SightlineStorage

/// Evaluates a tenant's alert rules over the window ending now, opens alerts that breach
/// and resolves those that no longer do. Returns the alerts that opened or resolved.
///
/// - Threshold rules compare the window's value with the threshold.
/// - Anomaly rules need no threshold: the baseline is the same window on the same weekday
///   of each of the last four weeks; the expected range is their median ± 3 robust
///   standard deviations (1.4826 × MAD), never narrower than the current value's sampling
///   error. Only the bad direction alerts (a falling complaint rate is not an incident);
///   volume alerts both ways. At least 3 baseline weeks with enough data are needed.
/// - A window (or baseline week) with fewer than `min_sample` observations is not judged,
///   so a day with three tickets pages no one; an open alert stays open until a judged
///   window is back in range.
struct AlertEvaluator {
  /// Deviation (in robust SDs) outside which a value is anomalous, and critical.
  static let anomalyK = 3.0
  static let criticalK = 5.0
  static let baselineWeeks = 4
  static let weekMs: Int64 = 7 * 86_400_000

  let store: any MetricsStore
  let alerts: any AlertStore
  let settings: KpiSettings
  var nowMs: Int64
  /// The tenant's rollup build lock.
  let buildLock: RollupBuildLock
  /// The tenant's metrics lease, which every alert written must still carry.
  var fence: LeaseFence = .sole
  /// Whether a staffing-gap rule is due now (``StaffingGapCadence``); always, unless the
  /// scheduler says otherwise.
  var staffingGapDue: (AlertRuleRecord) -> Bool = { _ in true }

  func evaluate() throws -> [AlertRecord] {
    var changes: [AlertRecord] = []
    for rule in try alerts.rules() {
      switch rule.kind {
      case .kpi: changes += try evaluate(rule)
      case .staffingGap where staffingGapDue(rule): changes += try StaffingGapAlerts(evaluator: self).evaluate(rule)
      case .staffingGap: continue
      }
    }
    return changes
  }

  /// The rule's KPI per group over its window ending at `endMs`, judged as of then.
  func values(_ rule: AlertRuleRecord, endMs: Int64) throws -> [String: KpiResult] {
    let buckets = try CalendarBuckets(startMs: endMs - rule.windowMs, endMs: endMs, interval: .all, timeZone: "UTC")
    let engine = KpiEngine(store: store, settings: settings, nowMs: min(nowMs, endMs), buildLock: buildLock)
    var results: [String: KpiResult] = [:]
    for (cell, accumulator) in try engine.compute(
      kpis: [rule.kpi], buckets: buckets, filters: [:], groupBy: rule.by.map { [$0] } ?? [])
    {
      results[cell.group.first ?? ""] = accumulator.result(rule.kpi)
    }
    return results
  }

  /// One group's verdict at one moment.
  struct Judgement {
    var group: String
    var result: KpiResult
    var verdict: Verdict
  }

  /// The verdict of every group the rule can judge at `endMs` (enough observations, and
  /// for an anomaly rule enough baseline weeks), from `values(endMs)` (the window ending
  /// at a moment; the replay memoises it).
  static func judge(
    _ rule: AlertRuleRecord, at endMs: Int64, values: (Int64) throws -> [String: KpiResult]
  ) throws -> [Judgement] {
    let current = try values(endMs)
    var history: [String: [KpiResult]] = [:]
    if rule.anomaly {
      for week in 1...baselineWeeks {
        for (group, result) in try values(endMs - Int64(week) * weekMs) where result.sampleSize >= rule.minSample {
          history[group, default: []].append(result)
        }
      }
    }
    return current.sorted(by: { $0.key < $1.key }).compactMap { group, result in
      guard result.sampleSize >= rule.minSample else { return nil }
      let verdict =
        rule.anomaly ? anomalyVerdict(rule, result, history: history[group] ?? []) : thresholdVerdict(rule, result)
      return verdict.map { Judgement(group: group, result: result, verdict: $0) }
    }
  }

  private func evaluate(_ rule: AlertRuleRecord) throws -> [AlertRecord] {
    var changes: [AlertRecord] = []
    var opened: [Int] = []
    for judgement in try Self.judge(rule, at: nowMs, values: { try values(rule, endMs: $0) }) {
      let (group, result, verdict) = (judgement.group, judgement.result, judgement.verdict)
      let open = try alerts.openAlert(ruleID: rule.id, dimensionValue: group)
      switch (verdict.breach, open) {
      case (true, nil):
        let alert = AlertRecord(
          id: UUID().uuidString.lowercased(), ruleID: rule.id, kpi: rule.kpi, dimension: rule.by, dimensionValue: group,
          value: result.value, sampleSize: result.sampleSize, expectedLow: verdict.expected.lowerBound,
          expectedHigh: verdict.expected.upperBound, severity: verdict.severity, openedMs: nowMs, resolvedMs: nil,
          windowStartMs: nowMs - rule.windowMs, windowEndMs: nowMs,
          message: message(rule, group: group, result: result, expected: verdict.expected))
        try alerts.save(alert, fence: fence, announcing: .alertOpened)
        opened.append(changes.count)
        changes.append(alert)
      case (true, var alert?):
        // Still breaching: keep the alert current, without announcing it again.
        alert.value = result.value
        alert.sampleSize = result.sampleSize
        alert.severity = verdict.severity
        alert.windowStartMs = nowMs - rule.windowMs
        alert.windowEndMs = nowMs
        try alerts.save(alert, fence: fence, announcing: nil)
      case (false, var alert?):
        alert.resolvedMs = nowMs
        alert.value = result.value
        alert.sampleSize = result.sampleSize
        try alerts.save(alert, fence: fence, announcing: .alertResolved)
        changes.append(alert)
      case (false, nil):
        break
      }
    }
    // Then what moved the KPI: one explanation per rule (it is the tenant's, the same for
    // every group), after every opening is saved, so a slow explanation never holds an
    // alert back; an alert whose second save is refused stays open without contributors.
    if !opened.isEmpty {
      let found = contributors(rule)
      for index in opened where !found.isEmpty {
        var alert = changes[index]
        alert.contributors = found
        if (try? alerts.save(alert, fence: fence, announcing: nil)) != nil { changes[index] = alert }
      }
    }
    return changes
  }

  /// The three largest contributors to the tenant's change of the rule's KPI, its window
  /// against the same window a week before: by the rule's own dimension when it has one
  /// (how much each region moved the tenant's rate), else by the best-ranked dimension;
  /// none when the week before has nothing to compare with. An explanation that fails
  /// leaves the alert without contributors rather than unopened.
  func contributors(_ rule: AlertRuleRecord) -> [AlertContributor] {
    let engine = KpiEngine(store: store, settings: settings, nowMs: nowMs, buildLock: buildLock)
    let sides = ChangeSides.periods(
      baseline: (nowMs - Self.weekMs - rule.windowMs, nowMs - Self.weekMs), current: (nowMs - rule.windowMs, nowMs))
    let explanation = ChangeExplanation(
      engine: engine, kpi: rule.kpi, sides: sides, filters: [:], minSample: ChangeExplainer.defaultMinSample,
      timeZone: settings.timeZone)
    let dimensions = rule.by.map { [$0] } ?? ChangeExplanation.defaultDimensions(for: sides)
    guard let top = try? explanation.rank(dimensions: dimensions).first,
      DecompositionKind(rule.kpi) == .additive || top.change.segments.contains(where: { $0.baseline.count > 0 })
    else { return [] }
    return top.change.topContributors.map {
      AlertContributor(
        dimension: top.dimension, value: $0.value, effect: $0.effect, rateEffect: $0.rateEffect, mixEffect: $0.mixEffect)
    }
  }

  struct Verdict {
    var breach: Bool
    var expected: ClosedRange<Double>
    var severity: AlertSeverity
  }

  static func thresholdVerdict(_ rule: AlertRuleRecord, _ result: KpiResult) -> Verdict? {
    guard let comparison = rule.comparison else { return nil }
    let bounds = Self.naturalRange(rule.kpi)
    let excess: Double
    let expected: ClosedRange<Double>
    switch comparison {
    case .greater:
      excess = result.value - rule.threshold
      expected = min(bounds.lowerBound, rule.threshold)...rule.threshold
    case .less:
      excess = rule.threshold - result.value
      expected = rule.threshold...max(bounds.upperBound, rule.threshold)
    }
    // Critical when the value is half as far again beyond the threshold.
    let critical = excess > 0.5 * abs(rule.threshold) && rule.threshold != 0
    return Verdict(breach: excess > 0, expected: expected, severity: critical ? .critical : .warning)
  }

  static func anomalyVerdict(_ rule: AlertRuleRecord, _ result: KpiResult, history: [KpiResult]) -> Verdict? {
    let values = history.map(\.value)
    guard let median = Percentile.median(values),
      let baseline = RobustBaseline(
        history: values, floor: Self.samplingError(rule.kpi, median: median, n: result.sampleSize, history: history))
    else { return nil }
    let deviation = baseline.deviation(of: result.value)
    var bad: Bool =
      switch rule.kpi.higherIsBetter {
      case true?: deviation < -Self.anomalyK
      case false?: deviation > Self.anomalyK
      case nil: abs(deviation) > Self.anomalyK
      }
    // The band is a normal approximation, which for a share counted in a small window
    // pages on noise (3 complaints of 40 against weeks that had one or none). A share
    // breaches only if its count is also that improbable, exactly, at the baseline's
    // pooled rate: a binomial tail below the normal's beyond k SDs.
    if bad, rule.kpi.isRate {
      let events = Int64((result.value * Double(result.sampleSize)).rounded())
      let rate = Self.pooledRate(history)
      let tail =
        deviation > 0
        ? Distributions.binomialUpperTail(events, n: result.sampleSize, p: rate)
        : Distributions.binomialLowerTail(events, n: result.sampleSize, p: rate)
      bad = tail < Distributions.normalCDF(-Self.anomalyK)
    }
    // The band, clipped to what the KPI can take (a share is never below 0).
    let band = baseline.band(k: Self.anomalyK).clamped(to: Self.naturalRange(rule.kpi))
    return Verdict(breach: bad, expected: band, severity: abs(deviation) >= Self.criticalK ? .critical : .warning)
  }

  /// The smallest spread a baseline may have: the sampling error of the difference between
  /// a value from `n` observations and the baseline `history` (for shares, binomial at the
  /// history's pooled rate, over both sample sizes), or of a value of about `median` (Poisson
  /// for counts, 10 % of the median for times, where the spread of single observations is
  /// unknown here).
  static func samplingError(_ kpi: KpiKind, median: Double, n: Int64, history: [KpiResult]) -> Double {
    let size = Double(max(n, 1))
    if kpi.isRate {
      let p = pooledRate(history)
      let baselineSize = Double(max(history.reduce(0) { $0 + $1.sampleSize }, 1))
      return (p * (1 - p) * (1 / size + 1 / baselineSize)).squareRoot()
    }
    switch kpi {
    case .nps: return 100 / size.squareRoot()
    case .ces: return 1.5 / size.squareRoot()
    case .volume, .backlog, .unanswered: return max(median, 1).squareRoot()
    default: return max(0.1 * abs(median), 1)
    }
  }

  /// A share's rate over all of `history`'s observations, with two events and two
  /// non-events added (Agresti–Coull): weeks without a single complaint do not make a rate
  /// of 0, against which any complaint would be an anomaly.
  static func pooledRate(_ history: [KpiResult]) -> Double {
    let events = history.reduce(0.0) { $0 + ($1.value * Double($1.sampleSize)).rounded() }
    let size = history.reduce(0.0) { $0 + Double($1.sampleSize) }
    return (events + 2) / (size + 4)
  }

  /// The range a KPI can take (for the open side of a threshold's expected range).
  static func naturalRange(_ kpi: KpiKind) -> ClosedRange<Double> {
    if kpi.isRate { return 0...1 }
    switch kpi {
    case .nps: return -100...100
    case .ces: return 1...7
    default: return 0...Double.greatestFiniteMagnitude
    }
  }

  func message(_ rule: AlertRuleRecord, group: String, result: KpiResult, expected: ClosedRange<Double>) -> String {
    let scope = rule.by.map { "\($0.rawValue)=\(group)" } ?? "all tickets"
    let window = Self.describe(windowMs: rule.windowMs)
    let value = Self.format(result.value, rule.kpi)
    if rule.anomaly {
      return "\(rule.kpi.rawValue) is \(value) for \(scope) over the last \(window) (n=\(result.sampleSize)); "
        + "expected \(Self.format(expected.lowerBound, rule.kpi))–\(Self.format(expected.upperBound, rule.kpi)) "
        + "from the same window of the last \(Self.baselineWeeks) weeks"
    }
    let sign = rule.comparison == .less ? "<" : ">"
    return "\(rule.kpi.rawValue) is \(value) for \(scope) over the last \(window) (n=\(result.sampleSize)), "
      + "\(sign) \(Self.format(rule.threshold, rule.kpi)) (rule \(rule.name))"
  }

  static func format(_ value: Double, _ kpi: KpiKind) -> String {
    kpi.isRate ? String(format: "%.1f%%", value * 100) : String(format: "%.4g", value)
  }

  static func describe(windowMs: Int64) -> String {
    if windowMs % 86_400_000 == 0 { return "\(windowMs / 86_400_000) day\(windowMs == 86_400_000 ? "" : "s")" }
    if windowMs % 3_600_000 == 0 { return "\(windowMs / 3_600_000) h" }
    return "\(windowMs / 1000) s"
  }
}
