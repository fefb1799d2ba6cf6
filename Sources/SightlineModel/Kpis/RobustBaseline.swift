/// A robust expected range for anomaly alerts: the median of comparable past values (e.g.
/// the same weekday over the last four weeks) plus or minus `k` robust standard deviations
/// (1.4826 × MAD). A flat history has MAD 0, so the spread never goes below `floor` (the
/// caller passes the sampling error of the current value): otherwise every wobble of a
/// quiet series would page someone.
public struct RobustBaseline: Sendable, Equatable {
  /// The median of the history.
  public var median: Double
  /// The robust standard deviation used (≥ floor).
  public var scale: Double

  /// Minimum number of past values for a baseline.
  public static let minimumHistory = 3

  /// A baseline from `history`, or nil when it is too short.
  public init?(history: [Double], floor: Double) {
    guard history.count >= Self.minimumHistory, let median = Percentile.median(history) else { return nil }
    let mad = Percentile.median(history.map { abs($0 - median) }) ?? 0
    self.median = median
    self.scale = max(1.4826 * mad, floor)
  }

  /// The band median ± k·scale.
  public func band(k: Double) -> ClosedRange<Double> { (median - k * scale)...(median + k * scale) }

  /// How many scales `value` lies from the median.
  public func deviation(of value: Double) -> Double { (value - median) / scale }
}
