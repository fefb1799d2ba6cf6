import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Turns unit-level aggregates into an evaluation: arms, one analysis per metric, Holm
/// adjustment across primaries, Bayesian and sequential summaries, verdicts and warnings.
struct ExperimentEvaluator {
  let experiment: Sightline_Experiments_V1_Experiment
  let aggregates: Sightline_Metrics_V1_GetUnitAggregatesResponse
  let method: Sightline_Experiments_V1_Method
  /// Whether the experiment is still running at `as_of` (verdicts then use the sequential test).
  let running: Bool
  let post: (Int64, Int64)
  let pre: (Int64, Int64)?

  static let alpha = 0.05
  static let dayMs = 86_400_000.0

  /// Units of each arm.
  func arms() -> (control: Set<String>, treatment: Set<String>) {
    switch experiment.assignment {
    case .explicit(let explicit): return (Set(explicit.control), Set(explicit.treatment))
    case .hash(let hash):
      let seen = Set(aggregates.aggregates.map(\.unit))
      let treated = seen.filter { HashAssignment.isTreated(unit: $0, salt: hash.salt, treatmentShare: hash.treatmentShare) }
      return (seen.subtracting(treated), treated)
    case nil: return ([], [])
    }
  }

  /// Per unit, the statistics of `kpi` in the post-period (index 0) and pre-period (index 1).
  func units(_ kpi: Sightline_Metrics_V1_Kpi, in arm: Set<String>) -> [UnitData] {
    var post: [String: SufficientStatistics] = [:]
    var pre: [String: SufficientStatistics] = [:]
    for aggregate in aggregates.aggregates where arm.contains(aggregate.unit) {
      guard let stats = aggregate.stats.first(where: { $0.kpi == kpi }) else { continue }
      let value = SufficientStatistics(count: stats.count, sum: stats.sum, sumSquares: stats.sumSquares)
      if aggregate.periodIndex == 0 { post[aggregate.unit] = value } else { pre[aggregate.unit] = value }
    }
    return post.keys.sorted().map { UnitData(unit: $0, pre: pre[$0], post: post[$0]!) }
  }

  func evaluate() throws -> Sightline_Experiments_V1_Evaluation {
    let (control, treatment) = arms()
    let hashAssigned = experiment.isHashAssigned
    let preDays = pre.map { Double($0.1 - $0.0) / Self.dayMs } ?? 0
    let postDays = Double(post.1 - post.0) / Self.dayMs
    var warnings = WarningList()

    var results: [Sightline_Experiments_V1_MetricResult] = []
    for (metric, guardrail) in experiment.primary.map({ ($0, false) }) + experiment.guardrails.map({ ($0, true) }) {
      let kpi = KpiWire.kpis[metric.kpi]!
      let c = units(metric.kpi, in: control)
      let t = units(metric.kpi, in: treatment)
      let (chosen, reason) = choose(kpi: kpi, hashAssigned: hashAssigned, unitsPerArm: min(c.count, t.count), hasPre: pre != nil)
      var result = Sightline_Experiments_V1_MetricResult.with {
        $0.metric = metric
        $0.guardrail = guardrail
        $0.method = MethodWire.wireMethods[chosen]!
        $0.controlUnits = Int64(c.count)
        $0.treatmentUnits = Int64(t.count)
        $0.verdict = .inconclusive
        $0.pValue = 1
        $0.pValueAdjusted = 1
        $0.pValueBh = 1
        $0.sequentialPValue = 1
      }
      do {
        let outcome = try MetricAnalysis.analyse(
          kpi: kpi, method: chosen, control: c, treatment: t, preDays: preDays, postDays: postDays)
        fill(&result, outcome: outcome, metric: metric, kpi: kpi, reason: reason)
        if outcome.smallestPossibleP >= Self.alpha {
          warnings.add(
            "few_units",
            "with \(outcome.controlUnits) control and \(outcome.treatmentUnits) treated units no randomisation test can reach p < 0.05 (smallest possible p \(KpiFormat.fixed(outcome.smallestPossibleP, digits: 3)))"
          )
        }
      } catch {
        result.note = "not analysed: \(error.description)"
        warnings.add("not_analysed", "\(kpi.rawValue): \(error.description)")
      }
      results.append(result)
    }

    // Holm across the primary metrics (guardrails are each judged alone).
    let primaryIndices = results.indices.filter { !results[$0].guardrail && !results[$0].note.hasPrefix("not analysed") }
    let primaryP = primaryIndices.map { results[$0].pValue }
    for (index, p) in zip(primaryIndices, ABStatistics.holm(primaryP)) { results[index].pValueAdjusted = p }
    for (index, p) in zip(primaryIndices, ABStatistics.benjaminiHochberg(primaryP)) { results[index].pValueBh = p }
    for index in results.indices where results[index].guardrail {
      results[index].pValueAdjusted = results[index].pValue
      results[index].pValueBh = results[index].pValue
    }
    for index in results.indices where !results[index].note.hasPrefix("not analysed") {
      results[index].verdict = verdict(results[index])
      VerdictBasis.apply(&results[index], running: running, alpha: Self.alpha)
      if results[index].guardrail && results[index].verdict == .worse {
        warnings.add("guardrail_harmed", "guardrail \(KpiWire.kpis[results[index].metric.kpi]!.rawValue) got worse")
      }
    }

    let minimumArm = min(control.count, treatment.count)
    if minimumArm < 4 {
      warnings.add(
        "few_units", "only \(control.count) control and \(treatment.count) treated units: effects rest on very few independent units")
    }
    var srmP = 1.0
    if case .hash(let hash) = experiment.assignment {
      srmP =
        ABStatistics.sampleRatioMismatch(
          controlCount: Double(control.count), treatmentCount: Double(treatment.count), treatmentShare: hash.treatmentShare
        ).pValue
      if srmP < 0.001 {
        warnings.add(
          "srm",
          "sample ratio mismatch: \(treatment.count) treated vs \(control.count) control units for a \(hash.treatmentShare) split (χ² p = \(KpiFormat.fixed(srmP, digits: 6))); the assignment or the data is broken, do not trust the effects"
        )
      }
    }
    var balance: [Double] = []
    if pre != nil {
      for metric in experiment.primary {
        let kpi = KpiWire.kpis[metric.kpi]!
        let values = { (units: [UnitData]) in units.compactMap { $0.pre.flatMap { MetricAnalysis.unitValue($0, kpi: kpi, days: preDays) } }
        }
        let p =
          ABStatistics.welch(control: values(units(metric.kpi, in: control)), treatment: values(units(metric.kpi, in: treatment)))?.pValue
          ?? 1
        balance.append(p)
        if p < 0.05 {
          warnings.add(
            "pre_period_imbalance",
            "\(kpi.rawValue) already differed between the arms before the rollout (Welch p = \(KpiFormat.fixed(p, digits: 3))); prefer DiD or CUPED, which adjust for it"
          )
        }
      }
    }
    if running { warnings.add("running", "interim look: verdicts use always-valid (mSPRT) intervals, so looking daily is safe") }

    let primaries = results.filter { !$0.guardrail }
    let overall: Sightline_Experiments_V1_Verdict =
      primaries.contains(where: { $0.verdict == .worse }) || warnings.items.contains(where: { $0.code == "guardrail_harmed" })
      ? .worse
      : primaries.contains(where: { $0.verdict == .better }) ? .better : .inconclusive
    return .with {
      $0.name = experiment.name
      $0.results = results
      $0.verdict = overall
      $0.warnings = warnings.items
      $0.srmPValue = srmP
      $0.balancePValues = balance
      $0.running = running
      if let pre {
        $0.prePeriod = .with {
          $0.start = Google_Protobuf_Timestamp(unixMilliseconds: pre.0); $0.end = Google_Protobuf_Timestamp(unixMilliseconds: pre.1)
        }
      }
      $0.postPeriod = .with {
        $0.start = Google_Protobuf_Timestamp(unixMilliseconds: post.0); $0.end = Google_Protobuf_Timestamp(unixMilliseconds: post.1)
      }
    }
  }

  private func choose(kpi: KpiKind, hashAssigned: Bool, unitsPerArm: Int, hasPre: Bool) -> (AnalysisMethod, String) {
    if let requested = MethodWire.methods[method] { return (requested, "requested") }
    return MetricAnalysis.automatic(kpi: kpi, hashAssigned: hashAssigned, unitsPerArm: unitsPerArm, hasPrePeriod: hasPre)
  }

  private func fill(
    _ result: inout Sightline_Experiments_V1_MetricResult, outcome: MetricOutcome, metric: Sightline_Experiments_V1_ExperimentMetric,
    kpi: KpiKind, reason: String
  ) {
    let estimate = outcome.estimate
    result.method = MethodWire.wireMethods[outcome.method]!
    result.control = estimate.control
    result.treatment = estimate.treatment
    result.effect = estimate.effect
    result.ciLow = estimate.ciLow
    result.ciHigh = estimate.ciHigh
    if let relative = estimate.relative {
      result.relativeEffect = relative.effect
      result.relativeCiLow = relative.ciLow
      result.relativeCiHigh = relative.ciHigh
    }
    result.pValue = estimate.pValue
    result.controlUnits = Int64(outcome.controlUnits)
    result.treatmentUnits = Int64(outcome.treatmentUnits)
    let higherIsBetter = metric.goodDirection != .down
    let bayes = ABStatistics.bayes(effect: estimate.effect, standardError: estimate.standardError, higherIsBetter: higherIsBetter)
    result.probabilityBetter = bayes.probabilityBetter
    result.expectedLoss = bayes.expectedLoss
    // Mixing scale: an effect of 10 % of the control level is worth detecting (never below
    // the estimate's own standard error).
    let variance = estimate.standardError * estimate.standardError
    let tau = max(0.1 * abs(estimate.control), estimate.standardError)
    let sequential = ABStatistics.mixtureSPRT(effect: estimate.effect, variance: variance, tauSquared: tau * tau)
    result.sequentialPValue = sequential.pValue
    result.sequentialCiLow = sequential.ciLow
    result.sequentialCiHigh = sequential.ciHigh
    result.note = reason == "requested" ? outcome.note : "\(reason); \(outcome.note)"
    if metric.goodDirection == .unspecified { result.note += "; no good direction given, so no verdict" }
  }

  /// Better or worse when significant at 5 % (Holm-adjusted for primaries; the sequential
  /// p-value while running), in the metric's good direction.
  private func verdict(_ result: Sightline_Experiments_V1_MetricResult) -> Sightline_Experiments_V1_Verdict {
    let p = running ? max(result.sequentialPValue, result.pValueAdjusted) : result.pValueAdjusted
    guard p < Self.alpha, result.metric.goodDirection != .unspecified, result.effect != 0 else { return .inconclusive }
    return (result.effect > 0) == (result.metric.goodDirection == .up) ? .better : .worse
  }
}

/// Minimum detectable effects from the pre-period's unit-level variance.
struct ExperimentPlanner {
  let experiment: Sightline_Experiments_V1_Experiment
  let aggregates: Sightline_Metrics_V1_GetUnitAggregatesResponse
  let days: Double

  func plan(power: Double, alpha: Double) -> Sightline_Experiments_V1_PlanResponse {
    var response = Sightline_Experiments_V1_PlanResponse()
    let observed = Set(aggregates.aggregates.map(\.unit))
    let (nc, nt): (Double, Double) =
      switch experiment.assignment {
      case .explicit(let explicit): (Double(explicit.control.count), Double(explicit.treatment.count))
      case .hash(let hash): (Double(observed.count) * (1 - hash.treatmentShare), Double(observed.count) * hash.treatmentShare)
      case nil: (0, 0)
      }
    for metric in experiment.primary {
      let kpi = KpiWire.kpis[metric.kpi]!
      let values = aggregates.aggregates.compactMap { aggregate -> Double? in
        guard let stats = aggregate.stats.first(where: { $0.kpi == metric.kpi }) else { return nil }
        return MetricAnalysis.unitValue(
          SufficientStatistics(count: stats.count, sum: stats.sum, sumSquares: stats.sumSquares), kpi: kpi, days: days)
      }
      guard values.count >= 2, nc >= 1, nt >= 1 else {
        response.mde.append(0)
        response.mdeRelative.append(0)
        response.warnings.append(
          .with {
            $0.code = "no_data"
            $0.message = "\(kpi.rawValue): fewer than two units with pre-period data; no variance to plan from"
          })
        continue
      }
      let average = MetricAnalysis.average(values)
      let sd = (values.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(values.count - 1)).squareRoot()
      let mde = ABStatistics.minimumDetectableEffect(sd: sd, nControl: nc, nTreatment: nt, alpha: alpha, power: power)
      response.mde.append(mde)
      response.mdeRelative.append(average != 0 ? mde / abs(average) : 0)
    }
    if min(nc, nt) <= Double(MetricAnalysis.fewUnits) {
      response.warnings.append(
        .with {
          $0.code = "few_units"
          $0.message =
            "\(Int(nc)) control and \(Int(nt)) treated units: the analysis will use randomisation inference; pre-period adjustment (DiD/CUPED) usually shrinks these MDEs"
        })
    }
    return response
  }
}

/// Warnings in the order raised, without repeats.
struct WarningList {
  private(set) var items: [Sightline_Experiments_V1_Warning] = []

  mutating func add(_ code: String, _ message: String) {
    guard !items.contains(where: { $0.code == code && $0.message == message }) else { return }
    items.append(
      .with {
        $0.code = code; $0.message = message
      })
  }
}
