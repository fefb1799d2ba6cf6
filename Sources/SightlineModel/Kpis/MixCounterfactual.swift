/// "The change had the mix stayed" for percentiles, which do not split into rate and mix:
/// the current side's percentile with each segment's observations reweighted so that the
/// segment holds its baseline share (docs/kpis.md, "Explaining a change").
public enum MixCounterfactual {
  /// The `q`-quantile (0...1) of the mixture of `segments`, each segment's observations
  /// sharing its `weight` equally; nil when no segment with weight has observations.
  ///
  /// Linear interpolation between closest ranks, generalised to weights: observation i
  /// of weight ωᵢ stands at the centre of its stretch of the cumulative weight, and the
  /// quantile sits at ω₁/2 + q·(W − ω₁/2 − ωₙ/2). With equal weights this is numpy's
  /// default percentile exactly.
  public static func quantile(_ segments: [(distribution: TimeDistribution, weight: Double)], _ q: Double) -> Double? {
    var points: [(seconds: Double, count: Int64, each: Double)] = []
    for (distribution, weight) in segments where weight > 0 && distribution.count > 0 {
      let each = weight / Double(distribution.count)
      points += distribution.valueCounts().map { ($0.seconds, $0.count, each) }
    }
    guard !points.isEmpty else { return nil }
    points.sort { $0.seconds < $1.seconds }
    let total = points.reduce(0) { $0 + Double($1.count) * $1.each }
    let target = points[0].each / 2 + q * (total - points[0].each / 2 - points[points.count - 1].each / 2)
    var start = 0.0
    for (index, point) in points.enumerated() {
      let end = start + Double(point.count) * point.each
      let lastCentre = end - point.each / 2
      if target <= lastCentre { return point.seconds }
      guard index + 1 < points.count else { return point.seconds }
      let next = points[index + 1]
      let nextCentre = end + next.each / 2
      if target < nextCentre {
        return point.seconds + (next.seconds - point.seconds) * (target - lastCentre) / (nextCentre - lastCentre)
      }
      start = end
    }
    return points[points.count - 1].seconds
  }
}
