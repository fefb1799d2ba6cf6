import SightlineModel
import SightlineWire

/// The p-value and interval a verdict rests on (MetricResult's `decision_*` fields): what
/// every report shows beside a verdict, so that a shown interval excluding zero never
/// stands next to "inconclusive", nor one including zero next to "better" or "worse".
enum VerdictBasis {
  /// Sets `result`'s decision figures. `running` experiments need both the always-valid
  /// and the Holm-adjusted test (ExperimentEvaluator.verdict): the stricter, the larger
  /// p-value, is the basis (usually the always-valid one; a permutation test's p-value on
  /// few units can be larger).
  static func apply(_ result: inout Sightline_Experiments_V1_MetricResult, running: Bool, alpha: Double) {
    if running && result.sequentialPValue >= result.pValueAdjusted {
      set(&result, "always_valid", p: result.sequentialPValue, low: result.sequentialCiLow, high: result.sequentialCiHigh)
      return
    }
    let p = result.pValueAdjusted
    let excludesZero = result.ciLow > 0 || result.ciHigh < 0
    if p == result.pValue && excludesZero == (p < alpha) {
      set(&result, "fixed_horizon", p: p, low: result.ciLow, high: result.ciHigh)
      return
    }
    let implied = impliedInterval(effect: result.effect, p: p, alpha: alpha)
    set(&result, "multiplicity_adjusted", p: p, low: implied.low, high: implied.high)
  }

  /// The (1 − alpha) interval a two-sided p-value implies for `effect` under a normal
  /// test (Altman & Bland, "How to obtain the confidence interval from a P value", BMJ
  /// 2011): the standard error is |effect| / z(1 − p/2), so the interval excludes zero
  /// exactly when p < alpha. p = 1 gives the whole line, p = 0 the effect alone.
  static func impliedInterval(effect: Double, p: Double, alpha: Double) -> (low: Double, high: Double) {
    // −Φ⁻¹(p/2), not Φ⁻¹(1 − p/2): exact for p-values too small to subtract from 1.
    let z = p >= 1 ? 0 : p <= 0 ? .infinity : -Distributions.normalQuantile(p / 2)
    let critical = Distributions.normalQuantile(1 - alpha / 2)
    guard z > 0 else { return (-.infinity, .infinity) }
    let halfWidth = critical * abs(effect) / z
    return (effect - halfWidth, effect + halfWidth)
  }

  private static func set(_ result: inout Sightline_Experiments_V1_MetricResult, _ basis: String, p: Double, low: Double, high: Double) {
    result.decisionBasis = basis
    result.decisionPValue = p
    result.decisionCiLow = low
    result.decisionCiHigh = high
  }
}
