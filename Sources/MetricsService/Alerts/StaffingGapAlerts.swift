import Foundation
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineWire
import Synchronization

/// Staffing-gap alert rules (docs/workload.md, "Staffing alerts"): the forecast need per
/// hour over the rule's window ahead against the tenant's stored roster. Each run of
/// consecutive hours short by at least the rule's threshold opens one alert, keyed by the
/// run's local start ("2026-12-07 09:00"); it is kept current while the run stays short and
/// resolves when the roster or the forecast covers it, or when it begins (a gap being
/// worked is no longer a warning).
struct StaffingGapAlerts {
  let evaluator: AlertEvaluator

  /// A run of hours short by the threshold or more.
  struct Gap: Equatable {
    /// The key: the run's local start.
    var key: String
    var startMs: Int64
    var endMs: Int64
    /// The largest shortfall, and the need and roster in that hour.
    var shortfall: Double
    var needed: Double
    var rostered: Double
  }

  /// The gaps of `plan`'s hours (in time order) short by `threshold` agents or more.
  static func gaps(_ hours: [(startMs: Int64, needed: Double, rostered: Double)], threshold: Double, zone: TimeZone) -> [Gap] {
    var gaps: [Gap] = []
    for hour in hours {
      let shortfall = hour.needed - hour.rostered
      guard shortfall >= threshold else { continue }
      if var last = gaps.last, last.endMs == hour.startMs {
        last.endMs += WorkloadReads.hourMs
        if shortfall > last.shortfall { (last.shortfall, last.needed, last.rostered) = (shortfall, hour.needed, hour.rostered) }
        gaps[gaps.count - 1] = last
        continue
      }
      gaps.append(
        Gap(
          key: LocalTime.minute(milliseconds: hour.startMs, zone: zone), startMs: hour.startMs,
          endMs: hour.startMs + WorkloadReads.hourMs, shortfall: shortfall, needed: hour.needed, rostered: hour.rostered))
    }
    return gaps
  }

  /// Evaluates `rule` now: opens, updates and resolves its alerts; returns those that
  /// opened or resolved.
  func evaluate(_ rule: AlertRuleRecord) throws -> [AlertRecord] {
    let nowMs = evaluator.nowMs
    let engine = KpiEngine(store: evaluator.store, settings: evaluator.settings, nowMs: nowMs, buildLock: evaluator.buildLock)
    let reads = WorkloadReads(engine: engine)
    let hoursAhead = Int(max(1, rule.windowMs / WorkloadReads.hourMs))
    let plan = try reads.forecastPlanAgainstRoster(hoursAhead: hoursAhead)
    // Hours already begun are not warned about.
    let ahead = plan.hours.filter { $0.start.unixMilliseconds > nowMs }.map {
      (startMs: $0.start.unixMilliseconds, needed: $0.needed, rostered: $0.rostered)
    }
    let gaps = evaluator.settings.workload.roster.isEmpty ? [] : Self.gaps(ahead, threshold: rule.threshold, zone: reads.zone)
    let alerts = evaluator.alerts
    var changes: [AlertRecord] = []
    var open = Dictionary(try alerts.openAlerts(ruleID: rule.id).map { ($0.dimensionValue, $0) }, uniquingKeysWith: { a, _ in a })
    for gap in gaps {
      let message = Self.message(gap, rule: rule, zone: reads.zone)
      let severity: AlertSeverity = gap.shortfall >= 2 * rule.threshold ? .critical : .warning
      if var alert = open.removeValue(forKey: gap.key) {
        // Still short: kept current, not announced again.
        (alert.value, alert.sampleSize, alert.severity) = (gap.shortfall, Int64((gap.endMs - gap.startMs) / WorkloadReads.hourMs), severity)
        (alert.windowStartMs, alert.windowEndMs, alert.message) = (gap.startMs, gap.endMs, message)
        try alerts.save(alert, fence: evaluator.fence, announcing: nil)
        continue
      }
      let alert = AlertRecord(
        id: UUID().uuidString.lowercased(), ruleID: rule.id, kpi: rule.kpi, dimension: nil, dimensionValue: gap.key,
        value: gap.shortfall, sampleSize: Int64((gap.endMs - gap.startMs) / WorkloadReads.hourMs), expectedLow: 0,
        expectedHigh: rule.threshold, severity: severity, openedMs: nowMs, resolvedMs: nil, windowStartMs: gap.startMs,
        windowEndMs: gap.endMs, message: message)
      try alerts.save(alert, fence: evaluator.fence, announcing: .alertOpened)
      changes.append(alert)
    }
    // Covered, or begun: resolved.
    for var alert in open.values.sorted(by: { $0.windowStartMs < $1.windowStartMs }) {
      alert.resolvedMs = nowMs
      try alerts.save(alert, fence: evaluator.fence, announcing: .alertResolved)
      changes.append(alert)
    }
    return changes
  }

  /// "Mon 2026-12-07 09:00–11:00 (Asia/Shanghai) needs 4 more agents than the roster has
  /// (9.0 needed, 5 rostered at the worst hour; rule NAME)".
  static func message(_ gap: Gap, rule: AlertRuleRecord, zone: TimeZone) -> String {
    let start = TimeOfWeek(milliseconds: gap.startMs, zone: zone)
    let end = TimeOfWeek(milliseconds: gap.endMs, zone: zone)
    let agents = Int(gap.shortfall.rounded(.up))
    return "\(TimeOfWeek.weekdayNames[start.weekday - 1]) \(gap.key)–\(String(format: "%02d:00", end.hour)) (\(LocalTime.name(zone))) "
      + "needs \(agents) more agent\(agents == 1 ? "" : "s") than the roster has "
      + "(\(String(format: "%.1f", gap.needed)) needed, \(String(format: "%g", gap.rostered)) rostered at the worst hour; rule \(rule.name))"
  }
}

/// When a staffing-gap rule is worth evaluating again: its forecast reads 12 weeks of
/// tickets, so the 15-second alert round re-runs it only when the hour turned, the
/// tenant's workload settings or zone changed, or `interval` passed (new arrivals move the
/// forecast slowly).
final class StaffingGapCadence: Sendable {
  static let interval: Int64 = 15 * 60_000

  private struct Inputs: Equatable {
    var hour: Int64
    var workload: WorkloadSettings
    var timeZone: String
  }

  private let last = Mutex<[String: (inputs: Inputs, atMs: Int64)]>([:])

  /// Whether `rule` of `tenant` is due at `nowMs` under `settings`; records the evaluation
  /// when it is.
  func due(tenant: TenantID, rule: AlertRuleRecord, settings: KpiSettings, nowMs: Int64) -> Bool {
    let inputs = Inputs(hour: nowMs / WorkloadReads.hourMs, workload: settings.workload, timeZone: settings.timeZone)
    // A rule is never edited (only removed and added again, under a new id).
    let key = "\(tenant.rawValue)/\(rule.id)"
    return last.withLock { last in
      if let previous = last[key], previous.inputs == inputs, nowMs - previous.atMs < Self.interval, nowMs >= previous.atMs {
        return false
      }
      last[key] = (inputs, nowMs)
      return true
    }
  }
}
