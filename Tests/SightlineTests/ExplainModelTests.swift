import Foundation
import SightlineModel
import Testing

/// The shift-share split, its tests and the mix counterfactual against exact references
/// (Fixtures/explain/make_fixtures.py wrote fixtures.json: fractions, scipy and numpy).
@Suite("Explaining a change: the model")
struct ExplainModelTests {
  nonisolated(unsafe) static let fixtures: [String: Any] = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/explain/fixtures.json").path
    return try! JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: path)!) as! [String: Any]
  }()

  typealias Side = (value: String, baseline: SufficientStatistics, current: SufficientStatistics)

  static func ratio(_ count: Double, _ sum: Double) -> SufficientStatistics {
    SufficientStatistics(count: count, sum: sum, sumSquares: sum)
  }

  static func number(_ value: Any?) -> Double { (value as! NSNumber).doubleValue }

  /// The fixture's sides, one per segment value.
  static func sides(_ fixture: [String: Any]) -> [Side] {
    let baseline = fixture["baseline"] as! [String: [NSNumber]]
    let current = fixture["current"] as! [String: [NSNumber]]
    return Set(baseline.keys).union(current.keys).sorted().map { value in
      let b = baseline[value].map { ratio($0[0].doubleValue, $0[1].doubleValue) } ?? ratio(0, 0)
      let c = current[value].map { ratio($0[0].doubleValue, $0[1].doubleValue) } ?? ratio(0, 0)
      return (value, b, c)
    }
  }

  @Test("each hand-worked case splits as the exact reference does, and the terms add up to the change")
  func handWorkedCases() throws {
    for fixture in Self.fixtures["shift_share"] as! [[String: Any]] {
      let name = fixture["name"] as! String
      let effects = ShiftShare.effects(Self.sides(fixture), kind: .ratio)
      let expected = fixture["effects"] as! [String: [String: Any]]
      #expect(effects.count == expected.count, "\(name)")
      for effect in effects {
        let reference = try #require(expected[effect.value], "\(name): \(effect.value)")
        #expect(abs(effect.rateEffect - Self.number(reference["rate"])) < 1e-15, "\(name) \(effect.value) rate")
        #expect(abs(effect.mixEffect - Self.number(reference["mix"])) < 1e-15, "\(name) \(effect.value) mix")
        #expect(effect.presence.rawValue == reference["presence"] as! String, "\(name) \(effect.value)")
      }
      let change = Self.number(fixture["change"])
      #expect(abs(effects.reduce(0) { $0 + $1.effect } - change) <= 1e-15, "\(name) sum")
    }
  }

  @Test("every segment improves while the total falls: pure mix, flagged as Simpson's paradox")
  func pureMixIsSimpsonsParadox() {
    let fixture = (Self.fixtures["shift_share"] as! [[String: Any]]).first { $0["name"] as! String == "pure_mix" }!
    let explanation = ChangeExplainer.explain(kpi: .csat, sides: Self.sides(fixture), minSample: 1)
    #expect(abs(explanation.change - -0.19) < 1e-12)
    #expect(explanation.segments.allSatisfy { $0.rateEffect > 0 })
    #expect(explanation.mixEffect < explanation.change)
    #expect(explanation.simpsonsParadox)
    let words = ChangeExplainer.summary(explanation, kpi: .csat, dimension: "region")
    #expect(words.contains("Simpson's paradox"), "\(words)")
  }

  @Test("one segment that carries the whole change explains all of it, by rate, and ranks by its credible excess")
  func oneSegmentCarriesTheChange() {
    let fixture = (Self.fixtures["shift_share"] as! [[String: Any]]).first { $0["name"] as! String == "one_segment" }!
    let explanation = ChangeExplainer.explain(kpi: .csat, sides: Self.sides(fixture), minSample: 1)
    #expect(explanation.topContributors.map(\.value) == ["B"])
    #expect(abs(explanation.topShare - 1) < 1e-12)
    // B carries −0.1, its size alone −0.05: the excess −0.05 is within 1.96 · 0.5 · SE =
    // 0.068 (the test's pooled SE of 0.5 → 0.3 on 100 answers each: √(0.4 · 0.6 · 2/100)).
    #expect(explanation.score == 0, "within its noise at 100 answers")
    // Ten times the answers: the test's pooled SE = √(0.4 · 0.6 · 2/1000) = 0.021909,
    // noise 0.98 · 0.021909 = 0.021471, credible excess 0.05 − 0.021471 = 0.028529.
    let larger = Self.sides(fixture).map { side in
      (side.value, Self.ratio(side.baseline.count * 10, side.baseline.sum * 10), Self.ratio(side.current.count * 10, side.current.sum * 10))
    }
    let confident = ChangeExplainer.explain(kpi: .csat, sides: larger, minSample: 1)
    #expect(abs(confident.score - 0.28529) < 1e-5, "\(confident.score)")
    #expect(explanation.mixEffect == 0)
    #expect(!explanation.simpsonsParadox)
    #expect(explanation.segments[0].value == "B")
  }

  @Test("entering and leaving segments get their whole effect as mix, without dividing by zero")
  func enteringAndLeaving() {
    for name in ["entering", "leaving"] {
      let fixture = (Self.fixtures["shift_share"] as! [[String: Any]]).first { $0["name"] as! String == name }!
      let explanation = ChangeExplainer.explain(kpi: .csat, sides: Self.sides(fixture), minSample: 1)
      let odd = explanation.segments.filter { $0.presence != .both }
      #expect(odd.count == 1, "\(name)")
      #expect(odd.allSatisfy { $0.rateEffect == 0 && $0.mixEffect.isFinite && $0.pValue == nil }, "\(name)")
      #expect(explanation.segments.allSatisfy { $0.effect.isFinite })
    }
  }

  @Test("on random data rate plus mix equals the change to 1e-12 relative, pooled or not, ratio or count")
  func randomDataAddsUp() {
    var random = SeededRandom(seed: 2026)
    for round in 0..<2_000 {
      let segments = Int.random(in: 1...40, using: &random)
      var sides: [Side] = []
      for index in 0..<segments {
        // Some segments are missing on one side; sizes span five orders of magnitude.
        let presence = Int.random(in: 0..<10, using: &random)
        func side(_ present: Bool) -> SufficientStatistics {
          guard present else { return Self.ratio(0, 0) }
          let count = Double(Int.random(in: 1...100_000, using: &random))
          let sum = (count * Double.random(in: 0...1, using: &random)).rounded()
          return SufficientStatistics(count: count, sum: sum, sumSquares: sum)
        }
        sides.append(("s\(index)", side(presence != 0), side(presence != 1)))
      }
      guard sides.contains(where: { $0.baseline.count > 0 }), sides.contains(where: { $0.current.count > 0 }) else {
        continue
      }
      let kind: DecompositionKind = round % 5 == 0 ? .additive : .ratio
      let r1 = ShiftShare.total(sides.map(\.baseline), kind: kind)!
      let r2 = ShiftShare.total(sides.map(\.current), kind: kind)!
      let minSample = Double([1, 30, 5_000][round % 3])
      let explanation = ChangeExplainer.explain(kpi: kind == .ratio ? .csat : .volume, sides: sides, minSample: minSample)
      let sum = explanation.segments.reduce(0) { $0 + $1.effect }
      let scale = max(abs(r2 - r1), abs(r1), abs(r2))
      #expect(abs(sum - (r2 - r1)) <= 1e-12 * scale, "round \(round): \(sum) vs \(r2 - r1)")
      #expect(abs(explanation.change - (r2 - r1)) <= 1e-12 * scale)
      #expect(abs(explanation.rateEffect + explanation.mixEffect - (r2 - r1)) <= 1e-12 * scale)
    }
  }

  @Test("segments below the minimum sample on both sides are pooled into (other), and the sum still holds")
  func smallSegmentsPool() {
    let sides: [Side] = [
      ("big", Self.ratio(500, 400), Self.ratio(500, 350)),
      ("tiny1", Self.ratio(5, 5), Self.ratio(3, 0)),
      ("tiny2", Self.ratio(0, 0), Self.ratio(10, 2)),
      ("half", Self.ratio(40, 20), Self.ratio(10, 9)),
    ]
    let explanation = ChangeExplainer.explain(kpi: .csat, sides: sides, minSample: 30)
    #expect(Set(explanation.segments.map(\.value)) == ["big", "half", ChangeExplainer.otherValue])
    let other = explanation.segments.first { $0.value == ChangeExplainer.otherValue }!
    #expect(other.pooled == 2 && other.baseline.count == 5 && other.current.count == 13)
    let total = (350.0 + 2 + 9) / 523 - (400.0 + 5 + 20) / 545
    #expect(abs(explanation.segments.reduce(0) { $0 + $1.effect } - total) < 1e-15)
  }

  @Test("Welch from counts, sums and squares matches scipy's ttest_ind_from_stats")
  func welchFromStatistics() throws {
    for fixture in Self.fixtures["welch_from_stats"] as! [[String: Any]] {
      let c = (fixture["control"] as! [NSNumber]).map(\.doubleValue)
      let t = (fixture["treatment"] as! [NSNumber]).map(\.doubleValue)
      let estimate = try #require(
        ABStatistics.welch(
          control: SufficientStatistics(count: c[0], sum: c[1], sumSquares: c[2]),
          treatment: SufficientStatistics(count: t[0], sum: t[1], sumSquares: t[2])))
      #expect(abs(estimate.statistic - Self.number(fixture["t"])) <= 1e-9 * abs(Self.number(fixture["t"])))
      #expect(abs(estimate.pValue - Self.number(fixture["p"])) <= 1e-9 * Self.number(fixture["p"]) + 1e-14)
    }
  }

  @Test("segment p-values are Benjamini–Hochberg adjusted as scipy's false_discovery_control")
  func benjaminiHochberg() {
    for fixture in Self.fixtures["benjamini_hochberg"] as! [[String: Any]] {
      let adjusted = ABStatistics.benjaminiHochberg((fixture["p"] as! [NSNumber]).map(\.doubleValue))
      for (actual, expected) in zip(adjusted, (fixture["adjusted"] as! [NSNumber]).map(\.doubleValue)) {
        #expect(abs(actual - expected) < 1e-12)
      }
    }
  }

  @Test("the mix counterfactual with unchanged weights is numpy's percentile; reweighting moves it")
  func mixCounterfactual() {
    let fixture = Self.fixtures["mixture_same_weights"] as! [String: Any]
    let segments = (fixture["segments_ms"] as! [[NSNumber]]).map { values in
      var distribution = TimeDistribution()
      for value in values { distribution.add(value.int64Value) }
      return distribution
    }
    let total = Double(segments.reduce(0) { $0 + $1.count })
    let sameMix = segments.map { ($0, Double($0.count) / total) }
    #expect(abs(MixCounterfactual.quantile(sameMix, 0.5)! - Self.number(fixture["q50"])) < 1e-9)
    #expect(abs(MixCounterfactual.quantile(sameMix, 0.9)! - Self.number(fixture["q90"])) < 1e-9)

    // Hand-worked: fast (100 s, three answers) and slow (200 s, one answer). At their own
    // mix (3:1) every answer weighs 1/4 and the median is numpy's, 100 s. Had the slow one
    // held three quarters, its centre sits at 0.625 of the weight, the last fast one's at
    // 0.2083, the median's position at 0.3333: 100 + 100 × 0.125 / 0.4167 = 130 s.
    var fast = TimeDistribution()
    for _ in 0..<3 { fast.add(100_000) }
    var slow = TimeDistribution()
    slow.add(200_000)
    #expect(MixCounterfactual.quantile([(fast, 0.75), (slow, 0.25)], 0.5) == 100)
    #expect(abs(MixCounterfactual.quantile([(fast, 0.25), (slow, 0.75)], 0.5)! - 130) < 1e-9)
    #expect(MixCounterfactual.quantile([(fast, 0), (TimeDistribution(), 1)], 0.5) == nil)
  }
}
