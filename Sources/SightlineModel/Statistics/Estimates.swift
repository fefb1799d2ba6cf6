import Foundation

/// A two-arm effect estimate: treatment − control, with its standard error, a confidence
/// interval and a two-sided p-value.
public struct EffectEstimate: Sendable, Equatable {
  /// Control and treatment estimates (means, ratios, shares, or adjusted means).
  public var control: Double
  public var treatment: Double
  /// treatment − control.
  public var effect: Double
  /// Standard error of the effect.
  public var standardError: Double
  /// The test statistic (t or z).
  public var statistic: Double
  /// Degrees of freedom of a t statistic; nil for a normal (z) statistic.
  public var degreesOfFreedom: Double?
  /// Confidence interval of the effect.
  public var ciLow: Double
  public var ciHigh: Double
  /// Two-sided p-value.
  public var pValue: Double

  /// An estimate from its parts.
  public init(
    control: Double, treatment: Double, effect: Double, standardError: Double, statistic: Double,
    degreesOfFreedom: Double?, ciLow: Double, ciHigh: Double, pValue: Double
  ) {
    self.control = control
    self.treatment = treatment
    self.effect = effect
    self.standardError = standardError
    self.statistic = statistic
    self.degreesOfFreedom = degreesOfFreedom
    self.ciLow = ciLow
    self.ciHigh = ciHigh
    self.pValue = pValue
  }

  /// A normal-theory (z) estimate of `effect` with standard error `se`.
  static func normal(control: Double, treatment: Double, effect: Double, se: Double, confidence: Double) -> EffectEstimate {
    let z = effect / se
    let critical = Distributions.normalQuantile(0.5 + confidence / 2)
    return EffectEstimate(
      control: control, treatment: treatment, effect: effect, standardError: se, statistic: z, degreesOfFreedom: nil,
      ciLow: effect - critical * se, ciHigh: effect + critical * se, pValue: erfc(abs(z) / 2.0.squareRoot()))
  }

  /// The effect relative to control (effect ÷ control) and its interval, treating the
  /// control level as known; nil when control is 0.
  public var relative: (effect: Double, ciLow: Double, ciHigh: Double)? {
    guard control != 0 else { return nil }
    let scale = abs(control)
    return (effect / scale, ciLow / scale, ciHigh / scale)
  }
}

/// Sample moments.
enum Moments {
  static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

  /// Sample variance (n − 1).
  static func variance(_ values: [Double]) -> Double {
    let m = mean(values)
    return values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
  }

  /// Sample covariance (n − 1).
  static func covariance(_ x: [Double], _ y: [Double]) -> Double {
    let mx = mean(x)
    let my = mean(y)
    return zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / Double(x.count - 1)
  }
}
