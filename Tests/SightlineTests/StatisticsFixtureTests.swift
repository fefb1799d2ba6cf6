import Foundation
import SightlineModel
import Testing

/// Every statistic against reference values from scipy/statsmodels
/// (Fixtures/statistics/make_fixtures.py wrote fixtures.json).
@Suite("Statistics against scipy and statsmodels")
struct StatisticsFixtureTests {
  nonisolated(unsafe) static let fixtures: [String: Any] = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/statistics/fixtures.json").path
    let data = FileManager.default.contents(atPath: path)!
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
  }()

  static func cases(_ name: String) -> [[String: Any]] { fixtures[name] as! [[String: Any]] }

  /// Equal to 1e-9 relative, or 1e-12 absolute near zero.
  static func expectClose(
    _ actual: Double, _ expected: Any?, _ label: String, relative: Double = 1e-9,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let expected = (expected as! NSNumber).doubleValue
    let tolerance = max(1e-12, relative * abs(expected))
    #expect(abs(actual - expected) <= tolerance, "\(label): \(actual) vs scipy \(expected)", sourceLocation: sourceLocation)
  }

  static func doubles(_ value: Any?) -> [Double] { (value as! [NSNumber]).map(\.doubleValue) }
  static func pairs(_ value: Any?) -> [(Double, Double)] { (value as! [[NSNumber]]).map { ($0[0].doubleValue, $0[1].doubleValue) } }

  @Test func distributions() {
    for c in Self.cases("normal") {
      let x = (c["x"] as! NSNumber).doubleValue
      Self.expectClose(Distributions.normalCDF(x), c["cdf"], "Φ(\(x))")
      Self.expectClose(Distributions.normalPDF(x), c["pdf"], "φ(\(x))")
    }
    for c in Self.cases("normal_quantile") {
      Self.expectClose(Distributions.normalQuantile((c["p"] as! NSNumber).doubleValue), c["q"], "Φ⁻¹")
    }
    for c in Self.cases("t") {
      let (x, df) = ((c["x"] as! NSNumber).doubleValue, (c["df"] as! NSNumber).doubleValue)
      Self.expectClose(Distributions.tCDF(x, df: df), c["cdf"], "t cdf \(x) df \(df)")
      Self.expectClose(Distributions.tTwoSidedP(x, df: df), c["two_sided_p"], "t p \(x) df \(df)")
    }
    for c in Self.cases("t_quantile") {
      let (p, df) = ((c["p"] as! NSNumber).doubleValue, (c["df"] as! NSNumber).doubleValue)
      Self.expectClose(Distributions.tQuantile(p, df: df), c["q"], "t quantile \(p) df \(df)")
    }
    for c in Self.cases("chi2") {
      let (x, df) = ((c["x"] as! NSNumber).doubleValue, (c["df"] as! NSNumber).doubleValue)
      Self.expectClose(Distributions.chiSquareSurvival(x, df: df), c["sf"], "χ² sf \(x) df \(df)")
    }
    for c in Self.cases("binomial") {
      let (k, n, p) = ((c["k"] as! NSNumber).int64Value, (c["n"] as! NSNumber).int64Value, (c["p"] as! NSNumber).doubleValue)
      Self.expectClose(Distributions.binomialUpperTail(k, n: n, p: p), c["sf"], "P(X ≥ \(k)) n \(n) p \(p)")
      Self.expectClose(Distributions.binomialLowerTail(k, n: n, p: p), c["cdf"], "P(X ≤ \(k)) n \(n) p \(p)")
    }
  }

  @Test func welchTTest() throws {
    for c in Self.cases("welch") {
      let r = try #require(ABStatistics.welch(control: Self.doubles(c["control"]), treatment: Self.doubles(c["treatment"])))
      Self.expectClose(r.statistic, c["t"], "t")
      Self.expectClose(r.pValue, c["p"], "p")
      Self.expectClose(r.degreesOfFreedom!, c["df"], "df")
      let ci = Self.doubles(c["ci"])
      Self.expectClose(r.ciLow, ci[0], "ci low")
      Self.expectClose(r.ciHigh, ci[1], "ci high")
    }
  }

  @Test func twoProportionZTest() throws {
    for c in Self.cases("two_proportion") {
      let n = { (key: String) in (c[key] as! NSNumber).doubleValue }
      let r = try #require(
        ABStatistics.twoProportion(
          controlSuccesses: n("xc"), controlTotal: n("nc"), treatmentSuccesses: n("xt"), treatmentTotal: n("nt")))
      Self.expectClose(r.statistic, c["z"], "z")
      Self.expectClose(r.pValue, c["p"], "p")
      let ci = Self.doubles(c["ci"])
      Self.expectClose(r.ciLow, ci[0], "ci low")
      Self.expectClose(r.ciHigh, ci[1], "ci high")
    }
  }

  @Test func deltaMethodRatio() throws {
    for c in Self.cases("delta_ratio") {
      let r = try #require(
        ABStatistics.deltaRatio(
          control: Self.pairs(c["control"]).map { ($0.0, $0.1) }, treatment: Self.pairs(c["treatment"]).map { ($0.0, $0.1) }))
      Self.expectClose(r.control, c["control_ratio"], "control ratio")
      Self.expectClose(r.treatment, c["treatment_ratio"], "treatment ratio")
      Self.expectClose(r.standardError, c["se"], "se")
      Self.expectClose(r.degreesOfFreedom!, c["df"], "df")
      Self.expectClose(r.pValue, c["p"], "p")
      let ci = Self.doubles(c["ci"])
      Self.expectClose(r.ciLow, ci[0], "ci low")
      Self.expectClose(r.ciHigh, ci[1], "ci high")
    }
  }

  @Test func cupedAndDifferenceInDifferences() throws {
    for c in Self.cases("pre_post") {
      let control = Self.pairs(c["control"]).map { (pre: $0.0, post: $0.1) }
      let treatment = Self.pairs(c["treatment"]).map { (pre: $0.0, post: $0.1) }
      let cuped = try #require(ABStatistics.cuped(control: control, treatment: treatment))
      Self.expectClose(cuped.theta, c["theta"], "θ")
      let expectedCuped = c["cuped"] as! [String: Any]
      Self.expectClose(cuped.estimate.effect, expectedCuped["effect"], "cuped effect")
      Self.expectClose(cuped.estimate.pValue, expectedCuped["p"], "cuped p")
      Self.expectClose(cuped.estimate.ciLow, Self.doubles(expectedCuped["ci"])[0], "cuped ci low")
      Self.expectClose(cuped.estimate.ciHigh, Self.doubles(expectedCuped["ci"])[1], "cuped ci high")
      let did = try #require(ABStatistics.differenceInDifferences(control: control, treatment: treatment))
      let expectedDiD = c["did"] as! [String: Any]
      Self.expectClose(did.effect, expectedDiD["effect"], "did effect")
      Self.expectClose(did.pValue, expectedDiD["p"], "did p")
      Self.expectClose(did.ciLow, Self.doubles(expectedDiD["ci"])[0], "did ci low")
      Self.expectClose(did.ciHigh, Self.doubles(expectedDiD["ci"])[1], "did ci high")
    }
  }

  @Test func exactPermutationTest() throws {
    for c in Self.cases("permutation") {
      let r = try #require(ABStatistics.permutation(control: Self.doubles(c["control"]), treatment: Self.doubles(c["treatment"])))
      #expect(r.exact)
      Self.expectClose(r.effect, c["statistic"], "statistic")
      Self.expectClose(r.pValue, c["p"], "p")
    }
  }

  @Test func sampleRatioMismatch() {
    for c in Self.cases("srm") {
      let n = { (key: String) in (c[key] as! NSNumber).doubleValue }
      let r = ABStatistics.sampleRatioMismatch(controlCount: n("control"), treatmentCount: n("treatment"), treatmentShare: n("share"))
      Self.expectClose(r.chiSquare, c["chi2"], "χ²")
      Self.expectClose(r.pValue, c["p"], "p")
    }
  }

  @Test func multiplicityAdjustments() {
    let c = Self.fixtures["multiplicity"] as! [String: Any]
    let p = Self.doubles(c["p"])
    for (actual, expected) in zip(ABStatistics.holm(p), Self.doubles(c["holm"])) { Self.expectClose(actual, expected, "holm") }
    for (actual, expected) in zip(ABStatistics.benjaminiHochberg(p), Self.doubles(c["bh"])) { Self.expectClose(actual, expected, "bh") }
  }

  @Test func minimumDetectableEffect() {
    for c in Self.cases("mde") {
      let n = { (key: String) in (c[key] as! NSNumber).doubleValue }
      let mde = ABStatistics.minimumDetectableEffect(
        sd: n("sd"), nControl: n("nc"), nTreatment: n("nt"), alpha: n("alpha"), power: n("power"))
      Self.expectClose(mde, c["mde"], "mde")
    }
  }

  @Test func mixtureSPRTAndBayes() {
    for c in Self.cases("msprt") {
      let n = { (key: String) in (c[key] as! NSNumber).doubleValue }
      let r = ABStatistics.mixtureSPRT(effect: n("effect"), variance: n("variance"), tauSquared: n("tau2"))
      Self.expectClose(r.pValue, c["p"], "mSPRT p")
      Self.expectClose(r.ciLow, Self.doubles(c["ci"])[0], "cs low")
      Self.expectClose(r.ciHigh, Self.doubles(c["ci"])[1], "cs high")
    }
    for c in Self.cases("bayes") {
      let n = { (key: String) in (c[key] as! NSNumber).doubleValue }
      let r = ABStatistics.bayes(effect: n("effect"), standardError: n("se"), higherIsBetter: c["higher_is_better"] as! Bool)
      Self.expectClose(r.probabilityBetter, c["probability"], "P(better)")
      Self.expectClose(r.expectedLoss, c["loss"], "expected loss", relative: 1e-8)
    }
  }
}
