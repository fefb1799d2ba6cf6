import Foundation
import SightlineModel
import SightlineStorage

/// Alerts for history that arrives late: an import of months of past tickets, or a
/// backlog replayed after an outage. The scheduler judges only the window ending now, so
/// without this a spike inside imported history would never be an alert. When events older
/// than a step arrive, each rule is replayed (``AlertReplay``, the scheduler's own
/// judgement) from the earliest of them to now, and every episode the rule would have
/// opened is saved as the alert it would have been: opened and resolved at the replayed
/// moments, or still open (the scheduler keeps it current from then on).
struct AlertBackfill {
  let evaluator: AlertEvaluator

  /// A rule's replay step: an eighth of its window (the window moves on by that much
  /// between judgements), between a minute and six hours.
  static func step(for rule: AlertRuleRecord) -> Int64 { min(6 * 3_600_000, max(rule.windowMs / 8, 60_000)) }

  /// Replays every rule over the moments events from `fromMs` on can have changed (a
  /// window holding them, or an anomaly baseline week holding them: every moment after
  /// `fromMs` up to now) and saves each episode that no alert of the rule and group already
  /// covers: one opened live, or by an earlier backfill. Returns the alerts saved.
  /// Saved under the evaluator's fence.
  func run(fromMs: Int64) throws -> [AlertRecord] {
    let nowMs = evaluator.nowMs
    var saved: [AlertRecord] = []
    // A staffing gap looks ahead: history that arrives late changes no past warning.
    for rule in try evaluator.alerts.rules() where rule.kind == .kpi {
      let step = Self.step(for: rule)
      // Events within the last step are the live round's to judge.
      let startMs = max(fromMs, nowMs - Int64(AlertReplay.maxSteps - 1) * step)
      guard startMs < nowMs - step else { continue }
      let episodes = try AlertReplay(evaluator: evaluator).run(rule, fromMs: startMs, toMs: nowMs, stepMs: step).episodes
      guard !episodes.isEmpty else { continue }
      let known = try evaluator.alerts.alerts(ruleID: rule.id, openSinceMs: startMs)
      for episode in episodes where !Self.covered(episode, by: known, step: step) {
        // An episode still open at the end: only if the group has no open alert (the
        // live round, just before, may have opened it now).
        if episode.resolvedMs == nil, try evaluator.alerts.openAlert(ruleID: rule.id, dimensionValue: episode.group) != nil {
          continue
        }
        let alert = AlertRecord(
          id: Self.id(rule: rule.id, group: episode.group, openedMs: episode.openedMs), ruleID: rule.id, kpi: rule.kpi,
          dimension: rule.by, dimensionValue: episode.group, value: episode.value, sampleSize: episode.sampleSize,
          expectedLow: episode.expectedLow, expectedHigh: episode.expectedHigh, severity: episode.severity,
          openedMs: episode.openedMs, resolvedMs: episode.resolvedMs, windowStartMs: episode.openedMs - rule.windowMs,
          windowEndMs: episode.openedMs,
          message: evaluator.message(
            rule, group: episode.group, result: KpiResult(value: episode.value, sampleSize: episode.sampleSize),
            expected: episode.expectedLow...episode.expectedHigh),
          contributors: episode.contributors)
        // History: nobody is told of an alert of the past.
        try evaluator.alerts.save(alert, fence: evaluator.fence, announcing: nil)
        saved.append(alert)
      }
    }
    return saved
  }

  /// Whether a stored alert of the episode's group was open at some moment of it (within a
  /// step, as the scheduler's rounds fall between the replay's moments).
  static func covered(_ episode: AlertEpisode, by known: [AlertRecord], step: Int64) -> Bool {
    let end = episode.resolvedMs.map { $0 + step } ?? .max
    return known.contains { alert in
      alert.dimensionValue == episode.group && alert.openedMs <= end && (alert.resolvedMs ?? .max) >= episode.openedMs - step
    }
  }

  /// A backfilled alert's id: the same for the same episode, so a backfill that runs again
  /// (its round was cut short) rewrites rather than repeats it.
  static func id(rule: String, group: String, openedMs: Int64) -> String {
    // FNV-1a of the group (any text) keeps the id short and free of separators.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in group.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return "backfill-\(rule)-\(openedMs)-\(String(hash, radix: 16))"
  }
}
