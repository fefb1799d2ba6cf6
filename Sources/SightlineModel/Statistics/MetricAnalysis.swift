/// One unit's data for one metric: its sufficient statistics in the pre- and post-period.
public struct UnitData: Sendable {
  public var unit: String
  public var pre: SufficientStatistics?
  public var post: SufficientStatistics

  public init(unit: String, pre: SufficientStatistics?, post: SufficientStatistics) {
    self.unit = unit
    self.pre = pre
    self.post = post
  }
}

/// Why a metric could not be analysed with the method asked for.
public struct AnalysisError: Error, CustomStringConvertible {
  public var description: String
}

/// The result of one metric's analysis.
public struct MetricOutcome: Sendable {
  public var method: AnalysisMethod
  public var estimate: EffectEstimate
  public var controlUnits: Int
  public var treatmentUnits: Int
  public var note: String
  /// Smallest p-value the design can produce (permutation), else 0.
  public var smallestPossibleP: Double = 0
}

/// Analyses one metric of an experiment from unit-level sufficient statistics: the
/// experiments engine, shared by the experiments service and the verification of a case's
/// action (docs/cases.md, "Verified effect").
public enum MetricAnalysis {
  /// Units per arm at or below which `auto` uses randomisation inference.
  public static let fewUnits = 15

  /// A unit's value of `kpi` in a period of `days`: the mean (or share) for most KPIs,
  /// tickets per day for volume, the count at the period's end for backlog.
  public static func unitValue(_ stats: SufficientStatistics, kpi: KpiKind, days: Double) -> Double? {
    switch kpi {
    case .volume: return days > 0 ? stats.sum / days : nil
    case .backlog: return stats.sum
    default: return stats.count > 0 ? stats.sum / stats.count : nil
    }
  }

  /// The method `auto` picks, and why.
  public static func automatic(kpi: KpiKind, hashAssigned: Bool, unitsPerArm: Int, hasPrePeriod: Bool) -> (AnalysisMethod, String) {
    if hashAssigned && kpi != .volume && kpi != .backlog {
      return (.delta, "hash-assigned units: pooled ratio per arm with the delta method (units as clusters)")
    }
    if unitsPerArm <= fewUnits {
      return (
        .permutation,
        hasPrePeriod
          ? "few units (\(unitsPerArm) per arm): randomisation inference on each unit's pre→post change"
          : "few units (\(unitsPerArm) per arm): randomisation inference on post-period unit values"
      )
    }
    if hasPrePeriod { return (.cuped, "pre-period available: CUPED with θ pooled across arms") }
    return (.welch, "Welch's t-test on unit-level values")
  }

  /// Analyses `kpi` with `method`.
  public static func analyse(
    kpi: KpiKind, method: AnalysisMethod, control: [UnitData], treatment: [UnitData], preDays: Double,
    postDays: Double
  ) throws(AnalysisError) -> MetricOutcome {
    func post(_ units: [UnitData]) -> [Double] { units.compactMap { unitValue($0.post, kpi: kpi, days: postDays) } }
    func prePost(_ units: [UnitData]) -> [(pre: Double, post: Double)] {
      units.compactMap { unit in
        guard let pre = unit.pre.flatMap({ unitValue($0, kpi: kpi, days: preDays) }),
          let post = unitValue(unit.post, kpi: kpi, days: postDays)
        else { return nil }
        return (pre, post)
      }
    }
    func require(_ estimate: EffectEstimate?, _ what: String) throws(AnalysisError) -> EffectEstimate {
      guard let estimate else {
        throw AnalysisError(description: "\(what) needs at least two units with data and some variation in each arm")
      }
      return estimate
    }
    switch method {
    case .welch:
      let (c, t) = (post(control), post(treatment))
      return MetricOutcome(
        method: .welch, estimate: try require(ABStatistics.welch(control: c, treatment: t), "Welch's test"),
        controlUnits: c.count, treatmentUnits: t.count, note: "Welch's t-test on unit-level post-period values")
    case .cuped, .did:
      let (c, t) = (prePost(control), prePost(treatment))
      guard preDays > 0 else { throw AnalysisError(description: "\(method.rawValue) needs a pre-period (pre_period_days > 0)") }
      if method == .cuped {
        guard let result = ABStatistics.cuped(control: c, treatment: t) else {
          throw AnalysisError(description: "CUPED needs units with data in both periods, at least two per arm")
        }
        return MetricOutcome(
          method: .cuped, estimate: result.estimate, controlUnits: c.count, treatmentUnits: t.count,
          note: "CUPED: post values adjusted by the pre-period with θ = \(KpiFormat.fixed(result.theta, digits: 3)), Welch's test")
      }
      return MetricOutcome(
        method: .did, estimate: try require(ABStatistics.differenceInDifferences(control: c, treatment: t), "DiD"),
        controlUnits: c.count, treatmentUnits: t.count, note: "difference-in-differences of unit pre→post changes, Welch's test")
    case .permutation:
      let pairs = (prePost(control), prePost(treatment))
      let usePre = preDays > 0 && pairs.0.count == control.count && pairs.1.count == treatment.count && !pairs.0.isEmpty
      let c = usePre ? pairs.0.map { $0.post - $0.pre } : post(control)
      let t = usePre ? pairs.1.map { $0.post - $0.pre } : post(treatment)
      guard let result = ABStatistics.permutation(control: c, treatment: t), !c.isEmpty, !t.isEmpty else {
        throw AnalysisError(description: "the permutation test needs at least one unit with data per arm")
      }
      let welch = ABStatistics.welch(control: c, treatment: t)
      let estimate = EffectEstimate(
        control: average(post(control)), treatment: average(post(treatment)), effect: result.effect,
        standardError: welch?.standardError ?? 0, statistic: result.effect, degreesOfFreedom: nil,
        ciLow: result.ciLow, ciHigh: result.ciHigh, pValue: result.pValue)
      return MetricOutcome(
        method: .permutation, estimate: estimate, controlUnits: c.count, treatmentUnits: t.count,
        note: "\(result.exact ? "exact" : "sampled") randomisation test over \(result.assignments) assignments"
          + (usePre ? " of unit pre→post changes" : " of post-period unit values"),
        smallestPossibleP: result.smallestPossibleP)
    case .zTest:
      guard kpi.isRate else { throw AnalysisError(description: "the two-proportion z-test applies to share KPIs only") }
      let sum = { (units: [UnitData], key: KeyPath<SufficientStatistics, Double>) in units.reduce(0) { $0 + $1.post[keyPath: key] } }
      guard
        let estimate = ABStatistics.twoProportion(
          controlSuccesses: sum(control, \.sum), controlTotal: sum(control, \.count),
          treatmentSuccesses: sum(treatment, \.sum), treatmentTotal: sum(treatment, \.count))
      else { throw AnalysisError(description: "the z-test needs observations in both arms") }
      return MetricOutcome(
        method: .zTest, estimate: estimate, controlUnits: control.count, treatmentUnits: treatment.count,
        note: "two-proportion z-test on pooled observations (assumes independent observations)")
    case .delta:
      guard kpi != .volume && kpi != .backlog else {
        throw AnalysisError(description: "the delta method needs a ratio or mean KPI, not a count")
      }
      let units = { (list: [UnitData]) in list.filter { $0.post.count > 0 }.map { (numerator: $0.post.sum, denominator: $0.post.count) } }
      let (c, t) = (units(control), units(treatment))
      return MetricOutcome(
        method: .delta, estimate: try require(ABStatistics.deltaRatio(control: c, treatment: t), "the delta method"),
        controlUnits: c.count, treatmentUnits: t.count, note: "ratio of sums per arm, delta-method variance over units")
    }
  }

  /// The mean of `values` (0 when empty).
  public static func average(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
}
