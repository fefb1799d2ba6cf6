import Foundation

/// What a verification concluded, in the KPI's good direction at 5 %.
public enum VerificationVerdict: String, Sendable, Codable, CaseIterable {
  case improved, worsened, inconclusive
}

/// The verified effect of a case's action at one horizon (复盘; docs/cases.md, "Verified
/// effect"): the KPI in the action's scope against the tenant's untouched units, before
/// against after, or, with no untouched units, the scope before and after against the
/// pre-period's trend (weaker evidence, and it says so).
public struct CaseVerification: Sendable, Equatable, Codable {
  /// Days after the action took effect (14, then 28).
  public var horizonDays: Int
  public var evaluatedMs: Int64
  public var kpi: String
  /// The dimension compared on ("" for the before/after fallback).
  public var dimension: String
  /// The scope's units (values of `dimension`).
  public var treated: [String]
  /// Untouched units compared with (0 for the fallback).
  public var controlUnits: Int
  /// The method: `permutation`, `did`, `cuped`, `welch` (as the experiments engine's `auto`
  /// chose), or `before_after_trend`.
  public var method: String
  public var effect: Double
  public var ciLow: Double
  public var ciHigh: Double
  public var pValue: Double
  public var verdict: VerificationVerdict
  /// True for the before/after comparison, which has no untouched units to rule out what
  /// else changed at the same time.
  public var weakerEvidence: Bool
  /// How it was computed, in a sentence.
  public var note: String

  public init(
    horizonDays: Int, evaluatedMs: Int64, kpi: String, dimension: String, treated: [String], controlUnits: Int, method: String,
    effect: Double, ciLow: Double, ciHigh: Double, pValue: Double, verdict: VerificationVerdict, weakerEvidence: Bool, note: String
  ) {
    self.horizonDays = horizonDays
    self.evaluatedMs = evaluatedMs
    self.kpi = kpi
    self.dimension = dimension
    self.treated = treated
    self.controlUnits = controlUnits
    self.method = method
    self.effect = effect
    self.ciLow = ciLow
    self.ciHigh = ciHigh
    self.pValue = pValue
    self.verdict = verdict
    self.weakerEvidence = weakerEvidence
    self.note = note
  }

  /// The verification as stored (JSON).
  public var document: String { StoredJSON.text(self) }

  /// A stored verification (nil if it cannot be read).
  public init?(document: String) {
    guard let value = StoredJSON.value(Self.self, from: document) else { return nil }
    self = value
  }
}

/// Verifies a case's action with the experiments engine (``MetricAnalysis``).
public enum ActionVerifier {
  /// The horizons, in days after the action took effect: the default follow-up horizon
  /// (an action may set its own: ``CaseAction/verifyAfterDays``), then 28.
  public static let horizonsDays = [14, 28]
  static let alpha = 0.05

  /// The scope's units against the untouched ones, `days` before against `days` after, with
  /// the method the engine's `auto` picks (randomisation inference for few units, else
  /// CUPED or DiD on the pre-period); nil when either side has no unit with data.
  public static func compare(
    kpi: KpiKind, dimension: String, treated: [UnitData], control: [UnitData], days: Double, horizonDays: Int, nowMs: Int64
  ) -> CaseVerification? {
    guard !treated.isEmpty, !control.isEmpty else { return nil }
    let (method, reason) = MetricAnalysis.automatic(
      kpi: kpi, hashAssigned: false, unitsPerArm: min(treated.count, control.count), hasPrePeriod: true)
    guard
      let outcome = try? MetricAnalysis.analyse(
        kpi: kpi, method: method, control: control, treatment: treated, preDays: days, postDays: days)
    else { return nil }
    let estimate = outcome.estimate
    return CaseVerification(
      horizonDays: horizonDays, evaluatedMs: nowMs, kpi: kpi.rawValue, dimension: dimension, treated: treated.map(\.unit),
      controlUnits: outcome.controlUnits, method: outcome.method.rawValue, effect: estimate.effect, ciLow: estimate.ciLow,
      ciHigh: estimate.ciHigh, pValue: estimate.pValue, verdict: verdict(effect: estimate.effect, p: estimate.pValue, kpi: kpi),
      weakerEvidence: false, note: "\(reason); \(outcome.note)")
  }

  /// The scope's daily values after the action against the line of its daily values before
  /// (least squares): the effect is the mean gap between what happened and the trend's
  /// forecast; its standard error adds the forecast's to the days' scatter (t with n − 2
  /// degrees of freedom). Nil with fewer than 3 days before or 1 after.
  public static func beforeAfterTrend(
    kpi: KpiKind, before: [Double], after: [Double], horizonDays: Int, nowMs: Int64
  ) -> CaseVerification? {
    let (n, m) = (Double(before.count), Double(after.count))
    guard before.count >= 3, !after.isEmpty else { return nil }
    let xs = (0..<before.count).map(Double.init)
    let xMean = xs.reduce(0, +) / n
    let yMean = before.reduce(0, +) / n
    let sxx = xs.reduce(0) { $0 + ($1 - xMean) * ($1 - xMean) }
    let slope = zip(xs, before).reduce(0) { $0 + ($1.0 - xMean) * ($1.1 - yMean) } / sxx
    let intercept = yMean - slope * xMean
    let residualVariance = zip(xs, before).reduce(0) { $0 + pow($1.1 - (intercept + slope * $1.0), 2) } / (n - 2)
    let afterXs = (0..<after.count).map { n + Double($0) }
    let gaps = zip(afterXs, after).map { $1 - (intercept + slope * $0) }
    let effect = gaps.reduce(0, +) / m
    let afterXMean = afterXs.reduce(0, +) / m
    let standardError = (residualVariance / m + residualVariance * (1 / n + pow(afterXMean - xMean, 2) / sxx)).squareRoot()
    let degrees = n - 2
    let pValue = standardError > 0 ? Distributions.tTwoSidedP(effect / standardError, df: degrees) : (effect == 0 ? 1 : 0)
    let margin = Distributions.tQuantile(0.975, df: degrees) * standardError
    return CaseVerification(
      horizonDays: horizonDays, evaluatedMs: nowMs, kpi: kpi.rawValue, dimension: "", treated: [], controlUnits: 0,
      method: "before_after_trend", effect: effect, ciLow: effect - margin, ciHigh: effect + margin, pValue: pValue,
      verdict: verdict(effect: effect, p: pValue, kpi: kpi), weakerEvidence: true,
      note:
        "no untouched units to compare with: the scope's \(after.count) days after against the trend of its \(before.count) days before; "
        + "weaker evidence, as anything else that changed at the same time looks like the action's effect")
  }

  /// Improved or worsened when significant at 5 % in the KPI's good direction.
  static func verdict(effect: Double, p: Double, kpi: KpiKind) -> VerificationVerdict {
    guard p < alpha, effect != 0, let higherIsBetter = kpi.higherIsBetter else { return .inconclusive }
    return (effect > 0) == higherIsBetter ? .improved : .worsened
  }
}
