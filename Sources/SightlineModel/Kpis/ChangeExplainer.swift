import Foundation

/// A KPI's change split by the segments of one dimension (docs/kpis.md, "Explaining a
/// change").
public struct DimensionChange: Sendable, Equatable {
  /// The segments, small ones pooled into ``ChangeExplainer/otherValue``, largest |effect|
  /// first.
  public var segments: [SegmentEffect]
  /// The change these segments add up to: total(current) − total(baseline).
  public var change: Double
  /// Sums of the segments' rate and mix effects.
  public var rateEffect: Double
  public var mixEffect: Double
  /// The (up to three) largest contributors in the change's direction.
  public var topContributors: [SegmentEffect]
  /// Share of the change those contributors explain (0 when nothing changed).
  public var topShare: Double
  /// How well the dimension localises the change, what dimensions are ranked by: the
  /// credible excess (``SegmentEffect/credibleExcess(over:minSample:)``) of its three largest
  /// contributors in the change's direction, as a share of the change. About 0 for a
  /// change spread in proportion to size and for segments that only wobble; near 1 − w
  /// for one segment of weight w carrying the whole change far beyond its noise.
  public var score: Double
  /// The total moved one way while segments holding most of the weight moved the other.
  public var simpsonsParadox: Bool
}

/// Explains a KPI's change by one dimension: the exact shift-share split, small segments
/// pooled, each segment's rate change tested (Benjamini–Hochberg across the segments),
/// the top contributors, a score to rank dimensions by, and Simpson's paradox flagged.
public enum ChangeExplainer {
  /// The value of pooled small segments.
  public static let otherValue = "(other)"
  /// Default minimum observations for a segment to be shown on its own.
  public static let defaultMinSample = 30.0

  /// The explanation of `kpi`'s change over `sides` (value → statistics on the baseline
  /// and current side). Segments with fewer than `minSample` observations on both sides
  /// are pooled into "(other)" (see ``pool(_:minSample:)``).
  public static func explain(
    kpi: KpiKind, sides: [(value: String, baseline: SufficientStatistics, current: SufficientStatistics)],
    minSample: Double = defaultMinSample
  ) -> DimensionChange {
    let kind = DecompositionKind(kpi)
    let pooled = pool(sides, minSample: minSample)
    var effects = ShiftShare.effects(pooled.sides, kind: kind)
    for index in effects.indices where effects[index].value == otherValue {
      effects[index].pooled = pooled.count
    }
    test(&effects, kpi: kpi)
    effects.sort { abs($0.effect) != abs($1.effect) ? abs($0.effect) > abs($1.effect) : $0.value < $1.value }
    let change =
      (ShiftShare.total(sides.map(\.current), kind: kind) ?? 0) - (ShiftShare.total(sides.map(\.baseline), kind: kind) ?? 0)
    let direction: Double = change > 0 ? 1 : change < 0 ? -1 : 0
    let top = Array(effects.filter { $0.effect * direction > 0 }.sorted { $0.effect * direction > $1.effect * direction }.prefix(3))
    let topShare = direction == 0 ? 0 : top.reduce(0) { $0 + $1.effect } / change
    return DimensionChange(
      segments: effects, change: change, rateEffect: effects.reduce(0) { $0 + $1.rateEffect },
      mixEffect: effects.reduce(0) { $0 + $1.mixEffect }, topContributors: top, topShare: topShare,
      score: score(effects, change: change, minSample: minSample),
      simpsonsParadox: kind == .ratio && isSimpsonsParadox(effects, direction: direction))
  }

  /// See ``DimensionChange/score``.
  static func score(_ effects: [SegmentEffect], change: Double, minSample: Double) -> Double {
    guard change != 0 else { return 0 }
    let excess = effects.map { $0.credibleExcess(over: change, minSample: minSample) / change }.filter { $0 > 0 }
    return excess.sorted(by: >).prefix(3).reduce(0, +)
  }

  /// Pools the segments small on both sides into one "(other)" segment, when there are
  /// two or more of them and at least one segment is large: pooling every segment would
  /// leave nothing to explain by.
  static func pool(
    _ sides: [(value: String, baseline: SufficientStatistics, current: SufficientStatistics)], minSample: Double
  ) -> (sides: [(value: String, baseline: SufficientStatistics, current: SufficientStatistics)], count: Int) {
    let small = sides.filter { max($0.baseline.count, $0.current.count) < minSample }
    guard small.count >= 2, small.count < sides.count else { return (sides, 0) }
    func sum(_ parts: [SufficientStatistics]) -> SufficientStatistics {
      parts.reduce(SufficientStatistics(count: 0, sum: 0, sumSquares: 0)) {
        SufficientStatistics(count: $0.count + $1.count, sum: $0.sum + $1.sum, sumSquares: $0.sumSquares + $1.sumSquares)
      }
    }
    let large = sides.filter { max($0.baseline.count, $0.current.count) >= minSample }
    return (large + [(otherValue, sum(small.map(\.baseline)), sum(small.map(\.current)))], small.count)
  }

  /// Tests each segment's rate change: a two-proportion z-test for shares, Welch's t-test
  /// for means; counts are not tested. Adjusts the p-values (Benjamini–Hochberg) across
  /// the segments tested.
  static func test(_ effects: inout [SegmentEffect], kpi: KpiKind) {
    guard DecompositionKind(kpi) == .ratio else { return }
    for index in effects.indices where effects[index].presence == .both {
      let (b, c) = (effects[index].baseline, effects[index].current)
      let estimate =
        kpi.isRate
        ? ABStatistics.twoProportion(
          controlSuccesses: b.sum, controlTotal: b.count, treatmentSuccesses: c.sum, treatmentTotal: c.count)
        : ABStatistics.welch(control: b, treatment: c)
      effects[index].pValue = estimate?.pValue
      // The noise of Δr: for shares the test's pooled standard error (the Wald one is 0
      // when both rates sit at 0 or 1, as one-ticket segments' do); without an error (too
      // few observations to test) the rate change is not credible.
      if let estimate, kpi.isRate, estimate.statistic != 0 {
        effects[index].rateStandardError = abs(estimate.effect / estimate.statistic)
      } else {
        effects[index].rateStandardError = estimate?.standardError ?? .infinity
      }
    }
    let tested = effects.indices.filter { effects[$0].pValue != nil }
    let adjusted = ABStatistics.benjaminiHochberg(tested.map { effects[$0].pValue! })
    for (index, value) in zip(tested, adjusted) { effects[index].adjustedPValue = value }
  }

  /// Whether the mix, not the segments, moved the total: the segments' rate effects add
  /// up against the total, and segments holding more than half the weight of those seen
  /// on both sides moved their own rate against it. (One segment outweighing the others'
  /// small moves the opposite way is a rate story, not a paradox.)
  static func isSimpsonsParadox(_ effects: [SegmentEffect], direction: Double) -> Bool {
    guard direction != 0, effects.reduce(0, { $0 + $1.rateEffect }) * direction < 0 else { return false }
    let both = effects.filter { $0.presence == .both }
    guard both.count >= 2 else { return false }
    let weight = { (e: SegmentEffect) in (e.baselineShare + e.currentShare) / 2 }
    let against = both.filter { ($0.currentRate! - $0.baselineRate!) * direction < 0 }.reduce(0) { $0 + weight($1) }
    return against > 0.5 * both.reduce(0) { $0 + weight($1) }
  }

  /// The finding in words, e.g. "By region, south explains 82% of the change (-4.1 pts):
  /// its own rate fell (-3.9 pts of it), and its share of tickets rose (-0.2 pts)."
  public static func summary(_ explanation: DimensionChange, kpi: KpiKind, dimension: String) -> String {
    let change = KpiFormat.change(explanation.change, kpi)
    guard explanation.change != 0 else { return "By \(dimension), \(kpi.rawValue) did not change." }
    var text: String
    if let top = explanation.topContributors.first {
      let share = KpiFormat.fixed(100 * top.effect / explanation.change, digits: 0)
      text = "By \(dimension), \(top.value) explains \(share)% of the change (\(change))"
      switch (DecompositionKind(kpi), top.presence) {
      case (.additive, _): text += "."
      case (.ratio, .entering): text += ": it is new on the current side."
      case (.ratio, .leaving): text += ": it is gone from the current side."
      case (.ratio, .both):
        text += ": its own value moved \(KpiFormat.change(top.rateEffect, kpi)) of it, its weight \(KpiFormat.change(top.mixEffect, kpi))."
      }
    } else {
      text = "By \(dimension), no segment moved in the change's direction (\(change))."
    }
    if explanation.simpsonsParadox {
      let way = explanation.change < 0 ? "fell" : "rose"
      let other = explanation.change < 0 ? "rose" : "fell"
      text +=
        " Simpson's paradox: the total \(way) although segments holding most of the weight \(other);"
        + " the mix shifted (mix effect \(KpiFormat.change(explanation.mixEffect, kpi)))."
    }
    return text
  }
}
