import Foundation
import SightlineModel

/// One time a replayed rule would have alerted for one group.
struct AlertEpisode: Sendable, Equatable {
  var group: String
  var openedMs: Int64
  /// When it would have resolved; nil if still open at the end of the replay.
  var resolvedMs: Int64?
  /// The window's value, sample and expected range when it opened.
  var value: Double
  var sampleSize: Int64
  var expectedLow: Double
  var expectedHigh: Double
  /// The worst severity while open.
  var severity: AlertSeverity
  var contributors: [AlertContributor]
}

/// Replays an alert rule over a tenant's history (`sightline alerts rule test`): at every
/// step, the judgement the scheduler makes (``AlertEvaluator/judge(_:at:values:)``, the
/// same code), with the same open / still open / resolved logic, but writing nothing.
/// Judged on what is known now, by event time: a reply that arrived after a moment still
/// counts at that moment.
struct AlertReplay {
  /// Evaluations one replay may make, so a tiny step over a long range stays bounded.
  static let maxSteps = 20_000

  let evaluator: AlertEvaluator

  /// The episodes of `rule` judged every `stepMs` (UTC-aligned) in (fromMs, toMs], and how
  /// many moments were judged.
  func run(
    _ rule: AlertRuleRecord, fromMs: Int64, toMs: Int64, stepMs: Int64
  ) throws -> (
    episodes: [AlertEpisode], evaluations: Int
  ) {
    precondition(stepMs > 0 && toMs > fromMs)
    // Each window's values are computed once: an anomaly rule's baseline weeks are the
    // windows of earlier steps.
    var memo: [Int64: [String: KpiResult]] = [:]
    func values(_ endMs: Int64) throws -> [String: KpiResult] {
      if let known = memo[endMs] { return known }
      let computed = try evaluator.values(rule, endMs: endMs)
      memo[endMs] = computed
      return computed
    }
    var open: [String: Int] = [:]
    var episodes: [AlertEpisode] = []
    var moment = (fromMs / stepMs + 1) * stepMs
    var evaluations = 0
    while moment <= toMs && evaluations < Self.maxSteps {
      evaluations += 1
      for judgement in try AlertEvaluator.judge(rule, at: moment, values: values) {
        let verdict = judgement.verdict
        switch (verdict.breach, open[judgement.group]) {
        case (true, nil):
          var atMoment = evaluator
          atMoment.nowMs = moment
          open[judgement.group] = episodes.count
          episodes.append(
            AlertEpisode(
              group: judgement.group, openedMs: moment, resolvedMs: nil, value: judgement.result.value,
              sampleSize: judgement.result.sampleSize, expectedLow: verdict.expected.lowerBound,
              expectedHigh: verdict.expected.upperBound, severity: verdict.severity,
              contributors: atMoment.contributors(rule)))
        case (true, let index?):
          if verdict.severity == .critical { episodes[index].severity = .critical }
        case (false, let index?):
          episodes[index].resolvedMs = moment
          open[judgement.group] = nil
        case (false, nil):
          break
        }
      }
      moment += stepMs
    }
    return (episodes, evaluations)
  }
}
