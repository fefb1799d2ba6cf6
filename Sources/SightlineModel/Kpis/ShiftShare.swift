import Foundation

/// Whether a segment has observations on both sides of a comparison.
public enum SegmentPresence: String, Sendable, Equatable {
  case both
  /// Only on the current side.
  case entering
  /// Only on the baseline side.
  case leaving
}

/// How a KPI's change splits over segments.
public enum DecompositionKind: String, Sendable, Equatable {
  /// R = Σ sum ÷ Σ count (shares, means, NPS): rate and mix effects.
  case ratio
  /// A count (volume, unanswered, backlog): each segment adds its own change.
  case additive

  /// How `kpi` splits: counts are additive, everything else is a ratio of sums.
  public init(_ kpi: KpiKind) {
    self = kpi == .volume || kpi == .unanswered || kpi == .backlog ? .additive : .ratio
  }
}

/// One segment's part of a KPI's change between a baseline side (1) and a current side (2).
public struct SegmentEffect: Sendable, Equatable {
  /// The dimension value ("(other)" for pooled small segments).
  public var value: String
  /// The segment's sufficient statistics on each side (count = the ratio's denominator).
  public var baseline: SufficientStatistics
  public var current: SufficientStatistics
  /// Its share w of the side's count.
  public var baselineShare: Double
  public var currentShare: Double
  /// w̄·Δr for a ratio; the segment's own change for a count.
  public var rateEffect: Double
  /// (r̄ − R̄)·Δw for a ratio (the whole effect of an entering or leaving segment); 0 for
  /// a count.
  public var mixEffect: Double
  public var presence: SegmentPresence
  /// Two-sided p-value of the rate change, its Benjamini–Hochberg adjustment, and the
  /// standard error of the rate change Δr.
  public var pValue: Double?
  public var adjustedPValue: Double?
  public var rateStandardError: Double?
  /// Segments pooled into this one (0 for a real segment).
  public var pooled = 0

  /// Rate plus mix effect.
  public var effect: Double { rateEffect + mixEffect }

  /// Its mean share of the observations, w̄.
  public var meanShare: Double { (baselineShare + currentShare) / 2 }

  /// How much more of `change` the segment carries than its size would (its effect less
  /// w̄ · change), shrunk towards 0 by the noise of its rate effect, 1.96 · w̄ · SE(Δr) (0 when
  /// the noise covers it). A segment with fewer than `minSample` observations on both
  /// sides, or too small to test, has none. Dimensions are ranked by it, so that neither
  /// a large segment carrying its proportional part nor segments that only wobble look
  /// like an explanation.
  public func credibleExcess(over change: Double, minSample: Double) -> Double {
    guard max(baseline.count, current.count) >= minSample else { return 0 }
    let excess = effect - meanShare * change
    guard let error = rateStandardError else { return excess }
    let noise = error.isFinite ? 1.96 * meanShare * error : abs(rateEffect)
    return excess > 0 ? max(0, excess - noise) : min(0, excess + noise)
  }

  /// The segment's own KPI value on each side; nil without observations.
  public var baselineRate: Double? { baseline.mean }
  public var currentRate: Double? { current.mean }
}

/// The symmetric shift-share (Kitagawa / Das Gupta) decomposition of a KPI's change over
/// the segments of one dimension (docs/kpis.md, "Explaining a change").
///
/// For a ratio R = Σₖ wₖ·rₖ, with wₖ = countₖ ÷ Σ count and rₖ = sumₖ ÷ countₖ, the exact
/// identity Δ(w·r) = w̄·Δr + r̄·Δw and Σ Δw = 0 give
/// ΔR = Σ w̄ₖ·Δrₖ (rate) + Σ (r̄ₖ − R̄)·Δwₖ (mix). Centering on R̄ changes no total but makes
/// a segment's mix effect say whether moving weight onto it raised or lowered R. A
/// segment present on one side only has no rate there; its whole term, wₖ·(rₖ − R̄)
/// (entering) or −wₖ·(rₖ − R̄) (leaving), is mix, so the terms still add up to ΔR.
public enum ShiftShare {
  /// The KPI of a side: Σ sum ÷ Σ count for a ratio (nil without observations), Σ sum for
  /// a count.
  public static func total(_ segments: [SufficientStatistics], kind: DecompositionKind) -> Double? {
    let sum = segments.reduce(0) { $0 + $1.sum }
    guard kind == .ratio else { return sum }
    let count = segments.reduce(0) { $0 + $1.count }
    return count > 0 ? sum / count : nil
  }

  /// Each segment's effect. `sides` maps a segment value to its statistics on the
  /// baseline and the current side (a segment without observations on a side has count 0
  /// there). The effects sum to total(current) − total(baseline). For a ratio both sides
  /// need observations (R is undefined otherwise); the caller checks.
  public static func effects(
    _ sides: [(value: String, baseline: SufficientStatistics, current: SufficientStatistics)], kind: DecompositionKind
  ) -> [SegmentEffect] {
    let baselineCount = sides.reduce(0) { $0 + $1.baseline.count }
    let currentCount = sides.reduce(0) { $0 + $1.current.count }
    let r1 = total(sides.map(\.baseline), kind: kind) ?? 0
    let r2 = total(sides.map(\.current), kind: kind) ?? 0
    let meanR = (r1 + r2) / 2
    return sides.map { side in
      let w1 = baselineCount > 0 ? side.baseline.count / baselineCount : 0
      let w2 = currentCount > 0 ? side.current.count / currentCount : 0
      let presence: SegmentPresence =
        side.baseline.count > 0 && side.current.count > 0
        ? .both : side.current.count > 0 ? .entering : .leaving
      var effect = SegmentEffect(
        value: side.value, baseline: side.baseline, current: side.current, baselineShare: w1, currentShare: w2,
        rateEffect: 0, mixEffect: 0, presence: presence)
      switch (kind, presence) {
      case (.additive, _):
        effect.rateEffect = side.current.sum - side.baseline.sum
      case (.ratio, .both):
        let rate1 = side.baseline.sum / side.baseline.count
        let rate2 = side.current.sum / side.current.count
        effect.rateEffect = (w1 + w2) / 2 * (rate2 - rate1)
        effect.mixEffect = ((rate1 + rate2) / 2 - meanR) * (w2 - w1)
      case (.ratio, .entering):
        effect.mixEffect = w2 * (side.current.sum / side.current.count - meanR)
      case (.ratio, .leaving):
        // A segment with no observations on either side has w1 = 0 and adds nothing.
        effect.mixEffect = side.baseline.count > 0 ? -w1 * (side.baseline.sum / side.baseline.count - meanR) : 0
      }
      return effect
    }
  }
}
