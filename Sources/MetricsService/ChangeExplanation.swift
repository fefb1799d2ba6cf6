import Foundation
import SightlineModel
import Synchronization

/// The two sides of an explained change.
enum ChangeSides: Sendable {
  /// Two periods, each [start, end) in Unix ms.
  case periods(baseline: (Int64, Int64), current: (Int64, Int64))
  /// Two groups of one dimension's values over one period; `baseline` nil = every value
  /// not in `current` ("the rest").
  case groups(dimension: KpiDimension, current: Set<String>, baseline: Set<String>?, range: (Int64, Int64))

  /// The baseline and the current side's range.
  var ranges: (baseline: (Int64, Int64), current: (Int64, Int64)) {
    switch self {
    case .periods(let baseline, let current): (baseline, current)
    case .groups(_, _, _, let range): (range, range)
    }
  }
}

/// One dimension's segments: value → accumulators on the baseline and the current side.
typealias SegmentSides = [String: (baseline: KpiAccumulator, current: KpiAccumulator)]

/// A dimension's explanation with the accumulators behind it.
struct ExplainedDimension {
  var dimension: KpiDimension
  var change: DimensionChange
  var segments: SegmentSides
}

/// Why a KPI moved (the `ExplainChange` RPC): reads each dimension's segments on both
/// sides through ``KpiEngine`` (daily rollups where they serve), splits the change with
/// ``ChangeExplainer``, ranks the dimensions, drills into the top contributor by the next
/// dimension, and gives percentiles' mix counterfactual for time KPIs.
struct ChangeExplanation {
  /// The value standing for tickets without a value of the dimension.
  static let noValue = "(none)"

  let engine: KpiEngine
  let kpi: KpiKind
  let sides: ChangeSides
  let filters: [KpiDimension: [String]]
  let minSample: Double
  let timeZone: String

  /// The dimensions explained by default: every ticket and customer dimension but the
  /// customer itself and, comparing groups, the group's own dimension. Weekday and hour of
  /// day are explained when asked for (they are scanned, never rolled up).
  static func defaultDimensions(for sides: ChangeSides) -> [KpiDimension] {
    KpiDimension.allCases.filter { dimension in
      if dimension == .customer || dimension.isTimeOfWeek { return false }
      if case .groups(let grouped, _, _, _) = sides { return dimension != grouped }
      return true
    }
  }

  /// The explanation of each of `dimensions`, best first (by score; ties keep their order).
  ///
  /// Each side's range splits into its whole local days and the partial days at either
  /// end. The whole days of the dimensions rollups serve (alone, or as a pair with the
  /// filter's or the group's dimension) are read from the rollups one dimension at a time,
  /// two at a time. Everything else, the partial days and every day of the dimensions
  /// rollups cannot serve (the customer), is read in as few scans as can be, grouped by
  /// all of those dimensions at once, and each dimension is summed out of them: with the
  /// default "last 7 days up to now", a scan per dimension would read the partial days 9
  /// times over. Backlog is read per dimension (it is not a sum over the range).
  func rank(dimensions: [KpiDimension]) throws -> [ExplainedDimension] {
    var segments: [KpiDimension: SegmentSides] = Dictionary(uniqueKeysWithValues: dimensions.map { ($0, [:]) })
    let served = kpi == .backlog ? [] : dimensions.filter { rollupsServe($0) }
    let scanned = dimensions.filter { !served.contains($0) }
    if served.isEmpty {
      Self.merge(try read(by: scanned, filters: filters, portion: .all), into: &segments)
    } else {
      Self.merge(try read(by: dimensions, filters: filters, portion: .partialDays), into: &segments)
      if !scanned.isEmpty { Self.merge(try read(by: scanned, filters: filters, portion: .wholeDays), into: &segments) }
      // The reads are independent: two at a time (SQLite's WAL and the PostgreSQL pool let
      // them run side by side).
      let results = Mutex<[Int: Result<[KpiDimension: SegmentSides], any Error>]>([:])
      DispatchQueue.concurrentPerform(iterations: served.count) { index in
        let result = Result { try read(by: [served[index]], filters: filters, portion: .wholeDays) }
        results.withLock { $0[index] = result }
      }
      for index in served.indices { Self.merge(try results.withLock { $0[index]! }.get(), into: &segments) }
    }
    var ranked = dimensions.map { explain(by: $0, segments: segments[$0]!) }
    ranked.sort { $0.change.score != $1.change.score ? $0.change.score > $1.change.score : false }
    return ranked
  }

  /// Whether daily rollups serve `dimension`'s reads (with the request's filters, and
  /// comparing groups, the group's dimension).
  private func rollupsServe(_ dimension: KpiDimension) -> Bool {
    var groupBy = [dimension]
    if case .groups(let grouped, _, _, _) = sides { groupBy.insert(grouped, at: 0) }
    return DailyRollups.plan(filters: filters, groupBy: groupBy) != nil
  }

  /// Adds `more`'s accumulators to `segments`'.
  private static func merge(_ more: [KpiDimension: SegmentSides], into segments: inout [KpiDimension: SegmentSides]) {
    for (dimension, values) in more {
      for (value, sides) in values {
        var entry = segments[dimension]?[value] ?? (KpiAccumulator(), KpiAccumulator())
        entry.baseline.merge(sides.baseline)
        entry.current.merge(sides.current)
        segments[dimension, default: [:]][value] = entry
      }
    }
  }

  /// The explanation of each of `dimensions`, best first; the drill-down; the percentiles.
  func run(
    dimensions: [KpiDimension]
  ) throws -> (
    ranked: [ExplainedDimension], drill: (dimension: KpiDimension, value: String, explained: ExplainedDimension)?,
    percentiles: [(q: Double, baseline: Double, current: Double, atBaselineMix: Double)]
  ) {
    let ranked = try rank(dimensions: dimensions)
    var drill: (KpiDimension, String, ExplainedDimension)?
    if ranked.count >= 2, let top = ranked[0].change.topContributors.first, top.value != ChangeExplainer.otherValue {
      var narrowed = filters
      let value = top.value == Self.noValue ? "" : top.value
      narrowed[ranked[0].dimension] = narrowed[ranked[0].dimension].map { $0.filter { $0 == value } } ?? [value]
      let next = ranked[1].dimension
      let segments = try read(by: [next], filters: narrowed, portion: .all)[next]!
      drill = (ranked[0].dimension, top.value, explain(by: next, segments: segments))
    }
    return (ranked, drill, ranked.first.map(percentiles) ?? [])
  }

  /// The change split by `dimension`, whose segments are `segments`.
  func explain(by dimension: KpiDimension, segments: SegmentSides) -> ExplainedDimension {
    let statistics = segments.keys.sorted().map { value in
      (value, segments[value]!.baseline.sufficientStatistics(kpi), segments[value]!.current.sufficientStatistics(kpi))
    }
    return ExplainedDimension(
      dimension: dimension, change: ChangeExplainer.explain(kpi: kpi, sides: statistics, minSample: minSample),
      segments: segments)
  }

  /// Which part of each side's range a read takes.
  enum Portion {
    case all
    /// The whole local days, as one span (nothing if there is none).
    case wholeDays
    /// The rest: the partial days at either end (everything if there is no whole day).
    case partialDays
  }

  /// Each value of each of `dimensions` with its accumulators on both sides (`portion` of
  /// each side's range), from one read grouped by all of them (each dimension's segments
  /// summed over the others').
  func read(
    by dimensions: [KpiDimension], filters: [KpiDimension: [String]], portion: Portion
  ) throws -> [KpiDimension: SegmentSides] {
    var segments: [KpiDimension: SegmentSides] = Dictionary(uniqueKeysWithValues: dimensions.map { ($0, [:]) })
    func add(_ accumulator: KpiAccumulator, values: ArraySlice<String>, current: Bool) {
      for (dimension, value) in zip(dimensions, values) {
        let key = value.isEmpty ? Self.noValue : value
        var entry = segments[dimension]![key] ?? (KpiAccumulator(), KpiAccumulator())
        if current { entry.current.merge(accumulator) } else { entry.baseline.merge(accumulator) }
        segments[dimension]![key] = entry
      }
    }
    switch sides {
    case .periods(let baseline, let current):
      for (range, isCurrent) in [(baseline, false), (current, true)] {
        for (cell, accumulator) in try compute(range, portion, filters: filters, groupBy: dimensions) {
          add(accumulator, values: cell.group[...], current: isCurrent)
        }
      }
    case .groups(let groupDimension, let current, let baseline, let range):
      for (cell, accumulator) in try compute(range, portion, filters: filters, groupBy: [groupDimension] + dimensions) {
        let group = cell.group[0]
        if current.contains(group) {
          add(accumulator, values: cell.group.dropFirst(), current: true)
        } else if baseline?.contains(group) ?? true {
          add(accumulator, values: cell.group.dropFirst(), current: false)
        }
      }
    }
    return segments
  }

  /// The cells of `portion` of `range` (one bucket each), grouped by `groupBy`.
  private func compute(
    _ range: (Int64, Int64), _ portion: Portion, filters: [KpiDimension: [String]], groupBy: [KpiDimension]
  ) throws -> [(cell: KpiCell, accumulator: KpiAccumulator)] {
    var parts = [range]
    if portion != .all {
      let span = engine.wholeDaySpan(startMs: range.0, endMs: range.1)
      switch (portion, span) {
      case (.wholeDays, let span?): parts = [span]
      case (.wholeDays, nil): parts = []
      case (_, let span?): parts = [(range.0, span.0), (span.1, range.1)].filter { $0.1 > $0.0 }
      default: break
      }
    }
    return try parts.flatMap { part in
      let buckets = try CalendarBuckets(startMs: part.0, endMs: part.1, interval: .all, timeZone: timeZone)
      return try engine.compute(kpis: [kpi], buckets: buckets, filters: filters, groupBy: groupBy)
    }
  }

  /// Median and p90 on both sides, and the current side's had each segment of the top
  /// dimension kept its baseline share (time KPIs only).
  func percentiles(_ top: ExplainedDimension) -> [(q: Double, baseline: Double, current: Double, atBaselineMix: Double)] {
    guard kpi == .firstResponseTime || kpi == .resolutionTime else { return [] }
    var baseline = TimeDistribution()
    var current = TimeDistribution()
    var reweighted: [(distribution: TimeDistribution, weight: Double)] = []
    let shares = Dictionary(top.change.segments.map { ($0.value, $0.baselineShare) }, uniquingKeysWith: { a, _ in a })
    var pooledCurrent = TimeDistribution()
    for (value, sides) in top.segments {
      guard let b = sides.baseline.timeDistribution(kpi), let c = sides.current.timeDistribution(kpi) else { continue }
      baseline.merge(b)
      current.merge(c)
      if let share = shares[value] { reweighted.append((c, share)) } else { pooledCurrent.merge(c) }
    }
    // Pooled small segments share the "(other)" weight.
    if let share = shares[ChangeExplainer.otherValue] { reweighted.append((pooledCurrent, share)) }
    return [0.5, 0.9].compactMap { q in
      guard let b = baseline.percentile(q), let c = current.percentile(q),
        let mixed = MixCounterfactual.quantile(reweighted, q)
      else { return nil }
      return (q, b, c, mixed)
    }
  }
}
