import Foundation
import SightlineModel
import SightlineStorage
import Synchronization

/// Answers the whole local days of a query from the tenant's daily rollups
/// (`SQLiteMetricsStore+Rollups`), building any day that has none or changed since it was built.
///
/// A query can use rollups when it filters and groups by at most one dimension, and that
/// dimension is rolled up (any but `customer`, too fine to roll up), or by two that are
/// rolled up as a pair (``pairable``). The customer's tier and
/// type come from the customer's latest profile, so a profile that changes them marks the
/// hours of every ticket and answer of that customer (``MetricsBatch/storedRowsToMark``),
/// as a late event marks its own. The parts of the range that are not whole local days,
/// and queries that cannot use rollups, are scanned as before.
///
/// The one KPI input that depends on when the query runs, the SLA breach of a ticket still
/// unanswered, is judged here: on days whose every target has passed (`day end + longest
/// SLA target <= now`) every unanswered ticket has breached; on the last few days the
/// unanswered tickets are read one by one (a partial index keeps that cheap).
struct DailyRollups: Sendable {
  /// The dimensions rolled up (besides the whole tenant).
  static let dimensions: [KpiDimension] = [
    .channel, .region, .businessLine, .agent, .productModule, .problemType, .priority, .customerTier, .customerType,
  ]

  /// The dimensions also rolled up two at a time, every pair of them (drill-downs: the
  /// region within a business line). The agent is left out: agents are many, so its pairs
  /// would multiply the rows, and a drill-down by agent scans instead.
  static let pairable: [KpiDimension] = [
    .businessLine, .channel, .region, .priority, .productModule, .problemType, .customerTier, .customerType,
  ]

  /// Every pair of ``pairable`` dimensions, as indices into ``dimensions``.
  static let pairs: [(first: Int, second: Int)] = {
    let indices = pairable.map { dimensions.firstIndex(of: $0)! }
    return indices.indices.flatMap { a in (a + 1..<indices.count).map { b in (indices[a], indices[b]) } }
  }()

  /// What a built day is stamped with (``BuiltDay/settings``): the KPI settings'
  /// fingerprint and the layout of the rows, so a day built under other settings, or
  /// before a dimension was added to ``dimensions``, is built again.
  static func stamp(_ settings: KpiSettings) -> String { settings.fingerprint + " rows-v3" }

  let store: any MetricsStore
  let settings: KpiSettings
  let nowMs: Int64
  /// Held while the tenant's rollups are invalidated and built.
  let buildLock: RollupBuildLock

  /// One local day, [startMs, endMs).
  struct Day: Sendable {
    var startMs: Int64
    var endMs: Int64
  }

  /// What the query reads: the rows of one series, the values of the series' dimensions
  /// its filters accept, and which of them labels the cells.
  struct Plan {
    var series: RollupSeries
    /// Per dimension of the series, in order, the values the query's filter accepts (nil: all).
    var accepted: [Set<String>?]
    /// The series' dimensions (by index) that label the cells, in the query's grouping order.
    var groupedBy: [Int]
    /// Only rows whose value starts with this are read ("": all): a pair filtered to one
    /// value of its first dimension, as a drill-down is.
    var valuePrefix = ""

    /// The series' dimension values of a row's value, or nil if it has none.
    func values(of value: String) -> [String]? {
      switch series {
      case .tenant: []
      case .dimension: [value]
      case .pair: RollupSeries.splitPair(value).map { [$0.0, $0.1] }
      }
    }
  }

  /// The plan for a query, or nil when it cannot use rollups: it filters or groups by more
  /// than two dimensions, or uses a dimension (or, for two, a pair) that is not rolled up.
  static func plan(filters: [KpiDimension: [String]], groupBy: [KpiDimension]) -> Plan? {
    let filtered = filters.filter { !$0.value.isEmpty }
    let used = Set(filtered.keys).union(groupBy)
    guard Set(groupBy).count == groupBy.count else { return nil }
    switch used.count {
    case 0:
      return Plan(series: .tenant, accepted: [], groupedBy: [])
    case 1:
      guard let dimension = used.first, dimensions.contains(dimension) else { return nil }
      return Plan(
        series: .dimension(dimension), accepted: [filtered[dimension].map(Set.init)], groupedBy: groupBy.map { _ in 0 })
    case 2:
      let pair = pairable.filter(used.contains)
      guard pair.count == 2 else { return nil }
      let accepted = pair.map { filtered[$0].map(Set.init) }
      var plan = Plan(
        series: .pair(pair[0], pair[1]), accepted: accepted, groupedBy: groupBy.map { pair.firstIndex(of: $0)! })
      if let only = accepted[0], only.count == 1 { plan.valuePrefix = RollupSeries.pairPrefix(only.first!) }
      return plan
    default:
      return nil
    }
  }

  /// The whole local days inside [startMs, endMs), in order (none if the range is too long
  /// to lay out in days, which then is scanned).
  func wholeDays(startMs: Int64, endMs: Int64) -> [Day] {
    // Lay days out past the end, so that a last day ending exactly at `endMs` is whole.
    guard
      let days = try? CalendarBuckets(
        startMs: startMs, endMs: endMs + 2 * 86_400_000, interval: .day, timeZone: settings.timeZone)
    else { return [] }
    return zip(days.starts, days.ends).filter { $0.0 >= startMs && $0.1 <= endMs }.map { Day(startMs: $0.0, endMs: $0.1) }
  }

  /// Adds the tickets (or survey answers) of `days` that have current rollups to `cells`,
  /// and returns the days that have none: another query (or replica) dropped them since
  /// they were built, or a replica's build was refused. The caller scans those.
  /// Time distributions are decoded only when `kpis` has a time KPI.
  func add(
    _ part: RollupPart, kpis: Set<KpiKind>, days: [Day], plan: Plan, groupBy: [KpiDimension],
    filters: [KpiDimension: [String]], buckets: CalendarBuckets, to cells: inout [KpiCell: KpiAccumulator]
  ) throws -> [Day] {
    guard let first = days.first, let last = days.last else { return [] }
    let clock = ServiceClock(settings: settings)
    let read = try store.rollups(
      series: plan.series, part: part, fromMs: first.startMs, toMs: last.endMs, valuePrefix: plan.valuePrefix,
      timeDistributions: kpis.contains(.firstResponseTime) || kpis.contains(.resolutionTime))
    let stamp = Self.stamp(settings)
    let served = days.filter { read.built[$0.startMs] == BuiltDay(endMs: $0.endMs, settings: stamp) }
    let ends = Dictionary(uniqueKeysWithValues: served.map { ($0.startMs, $0.endMs) })
    var settledDays: [Int64: (firstResponse: Bool, resolution: Bool)] = [:]
    for row in read.rows {
      guard ends[row.dayStartMs] == row.dayEndMs, let values = plan.values(of: row.value) else { continue }
      guard zip(plan.accepted, values).allSatisfy({ $0.0?.contains($0.1) ?? true }) else { continue }
      guard let bucket = buckets.index(of: row.dayStartMs) else { continue }
      var accumulator = row.accumulator
      if part == .tickets {
        let settled = settledDays[row.dayEndMs] ?? settled(dayEndMs: row.dayEndMs, clock: clock)
        settledDays[row.dayEndMs] = settled
        accumulator.countPendingAsBreached(firstResponse: settled.firstResponse, resolution: settled.resolution)
      }
      let group = plan.groupedBy.map { values[$0] }
      cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].merge(accumulator)
    }
    let missing = days.filter { ends[$0.startMs] == nil }
    guard part == .tickets else { return missing }
    // The pending tickets of the days served from rollups whose targets have not all
    // passed (the days scanned judge their own): unanswered ones for the first-response
    // SLA, open ones for the resolution SLA (read only when asked for).
    for pending in [KpiSelection.PendingTickets.unanswered, .open] {
      let isFirstResponse = pending == .unanswered
      guard kpis.contains(isFirstResponse ? .slaFirstResponse : .slaResolution) else { continue }
      let unsettled = served.filter { day in
        guard day.startMs < nowMs, let settled = settledDays[day.endMs] else { return false }
        return !(isFirstResponse ? settled.firstResponse : settled.resolution)
      }
      for run in Self.runs(of: unsettled, longest: .max) {
        var selection = KpiSelection(startMs: run[0].startMs, endMs: run[run.count - 1].endMs, filters: filters, groupBy: groupBy)
        selection.pending = pending
        selection.ticketLines = settings.serviceLevels.needsTicketLines
        try store.forEachTicket(selection) { ticket, group in
          guard let bucket = buckets.index(of: ticket.createdMs) else { return }
          cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()]
            .judgePending(ticket, clock: clock, nowMs: nowMs, firstResponse: isFirstResponse, resolution: !isFirstResponse)
        }
      }
    }
    return missing
  }

  /// Whether every first-response (resolution) target of the tickets of a day ending at
  /// `dayEndMs` has passed by now, so its pending tickets have all breached.
  private func settled(dayEndMs: Int64, clock: ServiceClock) -> (firstResponse: Bool, resolution: Bool) {
    (
      clock.allTargetsPassed(sinceMs: dayEndMs, nowMs: nowMs, resolution: false),
      clock.allTargetsPassed(sinceMs: dayEndMs, nowMs: nowMs, resolution: true)
    )
  }

  // MARK: - Building

  /// Makes sure every day in `days` has current rollups: drops the days changed since they
  /// were built, then builds the missing ones, two at a time.
  ///
  /// When every day is built and unchanged, which one read tells, it returns at once
  /// without the build lock: the warmer may hold it for seconds while it builds a week of
  /// a large tenant, and a query of days already built must not wait for that. This is as
  /// safe as reading after the lock is released: a day changed or dropped after this read
  /// is read as it was built, or found missing and scanned.
  func ensureBuilt(_ days: [Day]) throws {
    guard let first = days.first, let last = days.last else { return }
    let stamp = Self.stamp(settings)
    let built = try store.unchangedRollupDays(fromMs: first.startMs, toMs: last.endMs)
    if days.allSatisfy({ built[$0.startMs] == BuiltDay(endMs: $0.endMs, settings: stamp) }) { return }
    try buildLock.mutex.withLock { _ in
      let built = try store.invalidateChangedRollups()
      // A day laid out in another time zone, or built under other settings, does not count.
      let missing = days.filter { built.days[$0.startMs] != .init(endMs: $0.endMs, settings: stamp) }
      guard !missing.isEmpty else { return }
      let runs = Self.runs(of: missing, longest: 31)
      let failures = Mutex<[any Error]>([])
      DispatchQueue.concurrentPerform(iterations: min(2, runs.count)) { worker in
        for index in stride(from: worker, to: runs.count, by: 2) {
          do { try build(runs[index], generation: built.generation) } catch { failures.withLock { $0.append(error) } }
        }
      }
      if let failure = failures.withLock({ $0.first }) { throw failure }
    }
  }

  /// `days` cut into runs of at most `longest` days that follow each other without a gap.
  static func runs(of days: [Day], longest: Int) -> [[Day]] {
    var runs: [[Day]] = []
    for day in days.sorted(by: { $0.startMs < $1.startMs }) {
      if let last = runs.last?.last, last.endMs == day.startMs, runs[runs.count - 1].count < longest {
        runs[runs.count - 1].append(day)
      } else {
        runs.append([day])
      }
    }
    return runs
  }

  /// Accumulates each day of `run` (days that follow each other) for the whole tenant and
  /// each value of each rolled-up dimension, and stores them. One read of tickets and one
  /// of answers serve the whole run, each row going to the day it falls in: on PostgreSQL
  /// a read costs several round trips whatever its size, and a tenant's first dashboard
  /// builds hundreds of days.
  private func build(_ run: [Day], generation: Int64) throws {
    guard let first = run.first, let last = run.last else { return }
    let starts = run.map(\.startMs)
    /// The day of `run` that `ms` (inside the run) falls in.
    func day(_ ms: Int64) -> Int {
      var (low, high) = (0, starts.count)
      while high - low > 1 {
        let middle = (low + high) / 2
        if starts[middle] <= ms { low = middle } else { high = middle }
      }
      return low
    }
    let selection = KpiSelection(startMs: first.startMs, endMs: last.endMs, groupBy: Self.dimensions)
    var names = ValueNames()
    var tickets = Array(repeating: DayAccumulators(), count: run.count)
    let clock = ServiceClock(settings: settings)
    let (line, channel) = (Self.dimensions.firstIndex(of: .businessLine)!, Self.dimensions.firstIndex(of: .channel)!)
    try store.forEachTicket(selection) { ticket, values in
      var ticket = ticket
      (ticket.businessLine, ticket.channel) = (values[line], values[channel])
      // Measured once, added to the tenant's, each dimension's and each pair's accumulator.
      let judgement = clock.judge(ticket, nowMs: nil)
      tickets[day(ticket.createdMs)].add(names.ids(values)) { $0.add(ticket: ticket, judgement: judgement, settings: settings) }
    }
    var surveys = Array(repeating: DayAccumulators(), count: run.count)
    try store.forEachSurvey(selection) { survey, timeMs, values in
      surveys[day(timeMs)].add(names.ids(values)) { $0.add(survey: survey) }
    }
    for (index, day) in run.enumerated() {
      try store.storeRollups(
        dayStartMs: day.startMs, dayEndMs: day.endMs, settings: Self.stamp(settings),
        rows: tickets[index].rows(.tickets, names: names) + surveys[index].rows(.surveys, names: names),
        generation: generation)
    }
  }

  /// Small integer ids for the dimension values a build meets, so a ticket's 28 pair
  /// accumulators are found by hashing one integer each rather than two strings.
  private struct ValueNames {
    var ids = Array(repeating: [String: Int](), count: DailyRollups.dimensions.count)
    var names = Array(repeating: [String](), count: DailyRollups.dimensions.count)

    /// The ids of `values` (in `DailyRollups.dimensions` order), new ones numbered on.
    mutating func ids(_ values: [String]) -> [Int] {
      values.enumerated().map { index, value in
        if let id = ids[index][value] { return id }
        names[index].append(value)
        ids[index][value] = names[index].count - 1
        return names[index].count - 1
      }
    }
  }

  /// One day's accumulators: the whole tenant's, one per value of each dimension and one
  /// per pair of values of each pair of ``pairable`` dimensions, by value id.
  private struct DayAccumulators {
    var total = KpiAccumulator()
    var counted = false
    var byDimension = Array(repeating: [KpiAccumulator?](), count: DailyRollups.dimensions.count)
    /// Keyed by the first value's id times 2³² plus the second's.
    var byPair = Array(repeating: [Int: KpiAccumulator](), count: DailyRollups.pairs.count)

    /// Counts one ticket or answer whose dimension value ids are `ids` (in
    /// `DailyRollups.dimensions` order) with `count`.
    mutating func add(_ ids: [Int], _ count: (inout KpiAccumulator) -> Void) {
      counted = true
      count(&total)
      for (index, id) in ids.enumerated() {
        if byDimension[index].count <= id {
          byDimension[index] += Array(repeating: nil, count: id + 1 - byDimension[index].count)
        }
        if byDimension[index][id] == nil { byDimension[index][id] = KpiAccumulator() }
        count(&byDimension[index][id]!)
      }
      for (index, pair) in DailyRollups.pairs.enumerated() {
        count(&byPair[index][ids[pair.first] << 32 | ids[pair.second], default: KpiAccumulator()])
      }
    }

    func rows(_ part: RollupPart, names: ValueNames) -> [RollupEntry] {
      var rows: [RollupEntry] = []
      if counted { rows.append(.init(series: .tenant, part: part, value: "", accumulator: total)) }
      for (index, accumulators) in byDimension.enumerated() {
        for (id, accumulator) in accumulators.enumerated() {
          guard let accumulator else { continue }
          rows.append(
            .init(
              series: .dimension(DailyRollups.dimensions[index]), part: part, value: names.names[index][id],
              accumulator: accumulator))
        }
      }
      for (index, accumulators) in byPair.enumerated() {
        let pair = DailyRollups.pairs[index]
        let series = RollupSeries.pair(DailyRollups.dimensions[pair.first], DailyRollups.dimensions[pair.second])
        for (key, accumulator) in accumulators {
          let value = RollupSeries.pairValue(
            names.names[pair.first][key >> 32], names.names[pair.second][key & 0xFFFF_FFFF])
          rows.append(.init(series: series, part: part, value: value, accumulator: accumulator))
        }
      }
      return rows
    }
  }
}

/// Serialises invalidation and building of one tenant's rollups: a build that read the
/// tickets before a change whose mark another caller has just cleared would store a stale
/// day.
final class RollupBuildLock: Sendable {
  let mutex = Mutex(())
}
