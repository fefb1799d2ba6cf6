import Foundation

/// Hourly arrivals forecast with a weekly profile and a robust level (docs/workload.md,
/// "Forecast").
///
/// Arrivals per hour are modelled as y = ℓ · p[s]: a level ℓ (arrivals per hour on an
/// average hour) times the profile p of the hour of the week s (168 values, mean 1), which
/// carries the daily and the weekly seasonality at once.
///
/// - **Profile**: over the last (up to) eight whole weeks, each hour's arrivals divided by
///   its week's mean; per hour of the week the mean of those ratios, without the highest
///   and lowest once there are four weeks or more (so one holiday or one spike does not
///   bend it).
/// - **Level**: updated day by day (24 hours) from the first week's mean. A day's log
///   ratio g = ln(observed ÷ expected) moves the level by α·g, α = 0.3, with g clipped to
///   ±max(0.15, 3/√expected) (a holiday barely moves it). Three days in a row clipped on
///   the same side are a level shift: the level jumps to their median ratio.
/// - **Intervals**: each hour's forecast plus the empirical 10/90 % (2.5/97.5 %) quantiles
///   of the one-day-ahead residuals of the last weeks, scaled by √ŷ (arrivals are
///   count-like: their spread grows with their mean), widened by √((1 + 1/k)/(1 − 1/k))
///   with k the weeks behind each profile value: the residuals are in-sample for the
///   profile, and a forecast carries the profile's own error too.
public struct ArrivalForecast: Sendable {
  /// Hours in a week.
  public static let week = 168
  /// Weeks of history the profile reads at most.
  public static let profileWeeks = 8
  /// Level smoothing per day.
  static let alpha = 0.3
  /// Days in a row beyond the clip, on one side, that make a level shift.
  static let shiftDays = 3

  /// The profile by hour of the week (``TimeOfWeek/index``), mean 1.
  public let profile: [Double]
  /// Arrivals per hour on an average hour at the end of the history.
  public let level: Double
  /// Standardised residual quantiles: 2.5 %, 10 %, 90 %, 97.5 %.
  let residualQuantiles: [Double]
  /// Whole weeks the profile was read from.
  public let weeks: Int

  /// One forecast hour.
  public struct Hour: Sendable, Equatable {
    /// Expected arrivals.
    public var mean: Double
    /// 80 % prediction interval.
    public var lower80: Double, upper80: Double
    /// 95 % prediction interval.
    public var lower95: Double, upper95: Double
  }

  /// Why no forecast can be made.
  public struct TooShort: Error, CustomStringConvertible {
    public var hours: Int
    public var description: String {
      "a forecast needs two whole weeks of hourly history (\(2 * ArrivalForecast.week) hours); there are \(hours)"
    }
  }

  /// Fits the model to `counts`, hour by hour, whose hours of the week are `slots`
  /// (``TimeOfWeek/index``, one per count).
  public init(counts allCounts: [Double], slots allSlots: [Int]) throws(TooShort) {
    precondition(allCounts.count == allSlots.count)
    // A history that opens with a week or more of silence (before the tenant's first
    // ticket) is read from the day of its first arrival: a level started at zero would take
    // weeks to recover. A shorter silence is the series' own week (a weekend without phone
    // calls) and is kept: skipping it would leave a three-week history starting on a
    // Saturday too short to backtest.
    let firstArrival = allCounts.firstIndex { $0 > 0 } ?? 0
    let first = firstArrival >= Self.week ? firstArrival / 24 * 24 : 0
    let counts = Array(allCounts[first...]), slots = Array(allSlots[first...])
    let n = counts.count
    guard n >= 2 * Self.week else { throw TooShort(hours: n) }
    let weeks = min(Self.profileWeeks, n / Self.week)
    self.weeks = weeks
    profile = Self.profile(counts: counts, slots: slots, weeks: weeks)
    var level = max(counts[0..<Self.week].reduce(0, +) / Double(Self.week), 0)
    var residuals: [Double] = []
    var pending: [Double] = []
    let residualsFrom = max(Self.week, n - weeks * Self.week)
    var day = 0
    while day * 24 < n {
      let hours = (day * 24)..<min(n, day * 24 + 24)
      var expected = 0.0, observed = 0.0
      for t in hours {
        let forecast = level * profile[slots[t]]
        expected += forecast
        observed += counts[t]
        if t >= residualsFrom { residuals.append((counts[t] - forecast) / max(forecast, 1).squareRoot()) }
      }
      level = Self.update(level: level, expected: expected, observed: observed, pending: &pending)
      day += 1
    }
    self.level = level
    residuals.sort()
    // The residuals are in-sample for the profile (each hour helped estimate its own
    // slot), and a forecast also carries the profile's error: with k weeks behind a slot's
    // mean (two fewer once trimmed), out-of-sample variance ≈ in-sample × (1 + 1/k)/(1 − 1/k).
    let behind = Double(max(2, weeks >= 4 ? weeks - 2 : weeks))
    let widen = ((1 + 1 / behind) / (1 - 1 / behind)).squareRoot()
    residualQuantiles = [0.025, 0.1, 0.9, 0.975].map { (Percentile.linear(sorted: residuals, $0) ?? 0) * widen }
  }

  /// Forecasts for hours of the week `slots`, in order.
  public func forecast(slots: [Int]) -> [Hour] {
    slots.map { slot in
      let mean = level * profile[slot]
      let scale = max(mean, 1).squareRoot()
      func bound(_ index: Int) -> Double { max(0, mean + residualQuantiles[index] * scale) }
      return Hour(mean: mean, lower80: bound(1), upper80: bound(2), lower95: bound(0), upper95: bound(3))
    }
  }

  /// Per hour of the week, the trimmed mean of arrivals ÷ their week's mean over the last
  /// `weeks` whole weeks; normalised to mean 1. An hour of the week never seen (a
  /// daylight-saving gap) takes the mean, 1.
  static func profile(counts: [Double], slots: [Int], weeks: Int) -> [Double] {
    let n = counts.count
    var ratios = [[Double]](repeating: [], count: week)
    for w in 0..<weeks {
      let range = (n - (w + 1) * week)..<(n - w * week)
      let mean = counts[range].reduce(0, +) / Double(week)
      guard mean > 0 else { continue }
      for t in range { ratios[slots[t]].append(counts[t] / mean) }
    }
    var profile = ratios.map { values -> Double? in
      guard !values.isEmpty else { return nil }
      let sorted = values.sorted()
      let kept = sorted.count >= 4 ? Array(sorted.dropFirst().dropLast()) : sorted
      return kept.reduce(0, +) / Double(kept.count)
    }.map { $0 ?? 1 }
    let mean = profile.reduce(0, +) / Double(week)
    if mean > 0 { profile = profile.map { $0 / mean } }
    return profile
  }

  /// The level after a day that was expected to bring `expected` arrivals and brought
  /// `observed`.
  static func update(level: Double, expected: Double, observed: Double, pending: inout [Double]) -> Double {
    guard expected > 0 else {
      // No level to scale (a dead start): take the day's own mean.
      return observed > 0 ? observed / 24 : level
    }
    let ratio = log(max(observed, 0.5) / expected)
    let clip = max(0.15, 3 / expected.squareRoot())
    guard abs(ratio) > clip else {
      pending = []
      return level * exp(alpha * ratio)
    }
    if let last = pending.last, (last > 0) != (ratio > 0) { pending = [] }
    pending.append(ratio)
    if pending.count >= shiftDays {
      let shift = pending.sorted()[pending.count / 2]
      pending = []
      return level * exp(shift)
    }
    return level * exp(alpha * (ratio > 0 ? clip : -clip))
  }
}

/// A rolling-origin backtest of ``ArrivalForecast`` against the seasonal naive forecast
/// (the same hour a week earlier): each of the last `folds` weeks is forecast from the
/// history before it (docs/workload.md, "Backtest").
public struct ForecastBacktest: Sendable, Equatable {
  /// Weighted absolute percentage error, Σ|y − ŷ| ÷ Σy, of the model and of seasonal naive.
  public var wape: Double
  public var naiveWape: Double
  /// Share of held-out hours inside the 80 % and the 95 % intervals.
  public var coverage80: Double
  public var coverage95: Double
  /// Held-out hours and their arrivals.
  public var hours: Int
  public var arrivals: Double

  /// Backtests `counts` (hour by hour, hours of the week `slots`) over its last `folds` weeks.
  public init(counts: [Double], slots: [Int], folds: Int = 4) throws(ArrivalForecast.TooShort) {
    let week = ArrivalForecast.week
    let folds = max(1, min(folds, counts.count / week - 2))
    var error = 0.0, naiveError = 0.0, total = 0.0, inside80 = 0, inside95 = 0, hours = 0
    for fold in stride(from: folds, through: 1, by: -1) {
      let origin = counts.count - fold * week
      let model = try ArrivalForecast(counts: Array(counts[..<origin]), slots: Array(slots[..<origin]))
      let held = origin..<(origin + week)
      let forecast = model.forecast(slots: Array(slots[held]))
      for (offset, t) in held.enumerated() {
        let actual = counts[t]
        let hour = forecast[offset]
        error += abs(actual - hour.mean)
        naiveError += abs(actual - counts[t - week])
        total += actual
        if actual >= hour.lower80 && actual <= hour.upper80 { inside80 += 1 }
        if actual >= hour.lower95 && actual <= hour.upper95 { inside95 += 1 }
        hours += 1
      }
    }
    wape = total > 0 ? error / total : 0
    naiveWape = total > 0 ? naiveError / total : 0
    coverage80 = Double(inside80) / Double(max(hours, 1))
    coverage95 = Double(inside95) / Double(max(hours, 1))
    self.hours = hours
    arrivals = total
  }
}
