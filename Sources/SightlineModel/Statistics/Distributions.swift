import Foundation

/// The distributions the tests need, implemented from their standard numerical recipes
/// (continued fractions for the incomplete beta and gamma functions) and checked against
/// scipy to 1e-9 (`Tests/Fixtures/statistics/`).
public enum Distributions {
  /// Standard normal cumulative distribution.
  public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

  /// Standard normal density.
  public static func normalPDF(_ x: Double) -> Double { exp(-0.5 * x * x) / (2 * Double.pi).squareRoot() }

  /// Standard normal quantile (Acklam's approximation refined by one Halley step; about
  /// 1e-15 relative accuracy).
  public static func normalQuantile(_ p: Double) -> Double {
    precondition(p > 0 && p < 1, "normal quantile needs 0 < p < 1")
    let a = [
      -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
      -3.066479806614716e+01, 2.506628277459239e+00,
    ]
    let b = [
      -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01,
    ]
    let c = [
      -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
      4.374664141464968e+00, 2.938163982698783e+00,
    ]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
      let q = (-2 * log(p)).squareRoot()
      x =
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
        / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
      let q = p - 0.5
      let r = q * q
      x =
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
      let q = (-2 * log(1 - p)).squareRoot()
      x =
        -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
        / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    // Halley refinement.
    let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
    let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
    x -= u / (1 + x * u / 2)
    return x
  }

  /// Regularized incomplete beta function I_x(a, b).
  public static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
    let logPowers: Double = a * log(x) + b * log(1 - x)
    let front = exp(logBeta + logPowers)
    if x < (a + 1) / (a + b + 2) {
      return front * betaContinuedFraction(x, a: a, b: b) / a
    }
    return 1 - front * betaContinuedFraction(1 - x, a: b, b: a) / b
  }

  /// P(X ≥ k) for X ~ Binomial(n, p), exactly: I_p(k, n − k + 1).
  public static func binomialUpperTail(_ k: Int64, n: Int64, p: Double) -> Double {
    if k <= 0 { return 1 }
    if k > n { return 0 }
    return incompleteBeta(p, a: Double(k), b: Double(n - k + 1))
  }

  /// P(X ≤ k) for X ~ Binomial(n, p): P(n − X ≥ n − k), n − X being Binomial(n, 1 − p).
  public static func binomialLowerTail(_ k: Int64, n: Int64, p: Double) -> Double {
    binomialUpperTail(n - k, n: n, p: 1 - p)
  }

  /// The continued fraction of the incomplete beta function (modified Lentz).
  private static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0
    var d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...10_000 {
      let m = Double(m)
      let m2 = 2 * m
      var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      h *= d * c
      aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-16 { break }
    }
    return h
  }

  /// Student's t cumulative distribution with `df` degrees of freedom (df may be
  /// fractional, as Welch's is).
  public static func tCDF(_ t: Double, df: Double) -> Double {
    let tail = 0.5 * incompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)
    return t > 0 ? 1 - tail : tail
  }

  /// Two-sided p-value of a t statistic.
  public static func tTwoSidedP(_ t: Double, df: Double) -> Double {
    min(1, incompleteBeta(df / (df + t * t), a: df / 2, b: 0.5))
  }

  /// Student's t quantile: solves tCDF(x) = p by bisection then Newton steps.
  public static func tQuantile(_ p: Double, df: Double) -> Double {
    precondition(p > 0 && p < 1, "t quantile needs 0 < p < 1")
    if p == 0.5 { return 0 }
    var low = -1.0
    var high = 1.0
    while tCDF(low, df: df) > p { low *= 2 }
    while tCDF(high, df: df) < p { high *= 2 }
    for _ in 0..<200 {
      let mid = (low + high) / 2
      if tCDF(mid, df: df) < p { low = mid } else { high = mid }
      if high - low < 1e-15 * max(1, abs(mid)) { break }
    }
    return (low + high) / 2
  }

  /// Regularized incomplete gamma P(a, x) and Q(a, x) = 1 − P, each computed directly on
  /// the side where it is accurate (so small tail probabilities keep their precision).
  private static func incompleteGamma(_ a: Double, x: Double) -> (p: Double, q: Double) {
    if x <= 0 { return (0, 1) }
    if x < a + 1 {
      // Series.
      var term = 1 / a
      var sum = term
      var n = a
      for _ in 0..<10_000 {
        n += 1
        term *= x / n
        sum += term
        if abs(term) < abs(sum) * 1e-16 { break }
      }
      let p = sum * exp(-x + a * log(x) - lgamma(a))
      return (p, 1 - p)
    }
    // Continued fraction for Q, then P = 1 - Q.
    let tiny = 1e-300
    var b = x + 1 - a
    var c = 1 / tiny
    var d = 1 / b
    var h = d
    for i in 1...10_000 {
      let an = -Double(i) * (Double(i) - a)
      b += 2
      d = an * d + b
      if abs(d) < tiny { d = tiny }
      c = b + an / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-16 { break }
    }
    let q = exp(-x + a * log(x) - lgamma(a)) * h
    return (1 - q, q)
  }

  /// Upper tail of the χ² distribution with `df` degrees of freedom.
  public static func chiSquareSurvival(_ x: Double, df: Double) -> Double {
    incompleteGamma(df / 2, x: x / 2).q
  }
}
