/// Exact percentiles with linear interpolation between closest ranks: numpy's default
/// (`method="linear"`), the rule docs/kpis.md fixes for medians and p90s.
public enum Percentile {
  /// The `q`-th quantile (0...1) of `sorted` (ascending); nil when empty.
  public static func linear(sorted: [Double], _ q: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
  }

  /// The median of `values` (in any order); nil when empty.
  public static func median(_ values: [Double]) -> Double? {
    linear(sorted: values.sorted(), 0.5)
  }
}
