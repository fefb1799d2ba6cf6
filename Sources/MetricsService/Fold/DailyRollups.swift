import Foundation
import SightlineModel
import SightlineStorage
import Synchronization

/// Answers the whole local days of a query from the tenant's daily rollups
/// (`SQLiteMetricsStore+Rollups`), building any day that has none or changed since it was built.
///
/// A query can use rollups when it filters and groups by at most one dimension, and that
/// dimension is one the ticket itself carries (the customer's tier and type can change
/// under a ticket, and `customer` is too fine to roll up). The parts of the range that are
/// not whole local days, and queries that cannot use rollups, are scanned as before.
///
/// The one KPI input that depends on when the query runs, the SLA breach of a ticket still
/// unanswered, is judged here: on days whose every target has passed (`day end + longest
/// SLA target <= now`) every unanswered ticket has breached; on the last few days the
/// unanswered tickets are read one by one (a partial index keeps that cheap).
struct DailyRollups: Sendable {
  /// The dimensions rolled up (besides the whole tenant).
  static let dimensions: [KpiDimension] = [.channel, .region, .businessLine, .agent, .productModule, .problemType, .priority]

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

  /// What the query reads: rows of this dimension (nil: the whole tenant).
  struct Plan {
    var dimension: KpiDimension?
    /// Values the query's filter accepts (nil: all).
    var accepted: Set<String>?
    /// Whether rows are labelled with the dimension's value.
    var grouped: Bool
  }

  /// The plan for a query, or nil when it cannot use rollups.
  static func plan(filters: [KpiDimension: [String]], groupBy: [KpiDimension]) -> Plan? {
    let filtered = filters.filter { !$0.value.isEmpty }
    let used = Set(filtered.keys).union(groupBy)
    guard used.count <= 1, groupBy.count <= 1 else { return nil }
    guard let dimension = used.first else { return Plan(dimension: nil, accepted: nil, grouped: false) }
    guard dimensions.contains(dimension) else { return nil }
    return Plan(dimension: dimension, accepted: filtered[dimension].map(Set.init), grouped: !groupBy.isEmpty)
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

  /// Adds the tickets (or survey answers) of `days` to `cells`.
  func add(
    _ part: RollupPart, days: [Day], plan: Plan, groupBy: [KpiDimension], filters: [KpiDimension: [String]],
    buckets: CalendarBuckets, to cells: inout [KpiCell: KpiAccumulator]
  ) throws {
    guard let first = days.first, let last = days.last else { return }
    let longestTarget = TicketPriority.allCases.map { settings.slaTarget($0) }.max() ?? 0
    let ends = Dictionary(uniqueKeysWithValues: days.map { ($0.startMs, $0.endMs) })
    for row in try store.rollups(dimension: plan.dimension, part: part, fromMs: first.startMs, toMs: last.endMs) {
      guard ends[row.dayStartMs] == row.dayEndMs else { continue }
      if let accepted = plan.accepted, !accepted.contains(row.value) { continue }
      guard let bucket = buckets.index(of: row.dayStartMs) else { continue }
      var accumulator = row.accumulator
      if part == .tickets && row.dayEndMs + longestTarget <= nowMs { accumulator.countUnansweredAsBreached() }
      cells[KpiCell(bucket: bucket, group: plan.grouped ? [row.value] : []), default: KpiAccumulator()].merge(accumulator)
    }
    guard part == .tickets, let unsettled = days.first(where: { $0.endMs + longestTarget > nowMs }),
      unsettled.startMs < nowMs
    else { return }
    var selection = KpiSelection(startMs: unsettled.startMs, endMs: last.endMs, filters: filters, groupBy: groupBy)
    selection.unansweredOnly = true
    try store.forEachTicket(selection) { ticket, group in
      guard nowMs > ticket.createdMs + settings.slaTarget(ticket.priority), let bucket = buckets.index(of: ticket.createdMs)
      else { return }
      cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].addUnansweredBreach()
    }
  }

  // MARK: - Building

  /// Makes sure every day in `days` has current rollups: drops the days changed since they
  /// were built, then builds the missing ones, two at a time.
  func ensureBuilt(_ days: [Day]) throws {
    try buildLock.mutex.withLock { _ in
      let built = try store.invalidateChangedRollups()
      // A day laid out in another time zone, or built under other settings, does not count.
      let fingerprint = settings.fingerprint
      let missing = days.filter { built[$0.startMs] != .init(endMs: $0.endMs, settings: fingerprint) }
      guard !missing.isEmpty else { return }
      let failures = Mutex<[any Error]>([])
      DispatchQueue.concurrentPerform(iterations: min(2, missing.count)) { worker in
        for index in stride(from: worker, to: missing.count, by: 2) {
          do { try build(missing[index]) } catch { failures.withLock { $0.append(error) } }
        }
      }
      if let failure = failures.withLock({ $0.first }) { throw failure }
    }
  }

  /// Accumulates one day for the whole tenant and each value of each rolled-up dimension,
  /// and stores it.
  private func build(_ day: Day) throws {
    var rows: [RollupEntry] = []
    let selection = KpiSelection(startMs: day.startMs, endMs: day.endMs, groupBy: Self.dimensions)
    var tickets = DayAccumulators()
    try store.forEachTicket(selection) { ticket, values in
      tickets.add(values) { $0.add(ticket: ticket, settings: settings, nowMs: nil) }
    }
    rows += tickets.rows(.tickets)
    var surveys = DayAccumulators()
    try store.forEachSurvey(selection) { survey, _, values in
      surveys.add(values) { $0.add(survey: survey) }
    }
    rows += surveys.rows(.surveys)
    try store.storeRollups(dayStartMs: day.startMs, dayEndMs: day.endMs, settings: settings.fingerprint, rows: rows)
  }

  /// One day's accumulators: the whole tenant's and one per value of each dimension.
  private struct DayAccumulators {
    var total = KpiAccumulator()
    var counted = false
    var byDimension = Array(repeating: [String: KpiAccumulator](), count: DailyRollups.dimensions.count)

    /// Counts one ticket or answer whose dimension values are `values` (in
    /// `DailyRollups.dimensions` order) with `count`.
    mutating func add(_ values: [String], _ count: (inout KpiAccumulator) -> Void) {
      counted = true
      count(&total)
      for (index, value) in values.enumerated() { count(&byDimension[index][value, default: KpiAccumulator()]) }
    }

    func rows(_ part: RollupPart) -> [RollupEntry] {
      var rows: [RollupEntry] = []
      if counted { rows.append(.init(dimension: nil, part: part, value: "", accumulator: total)) }
      for (index, values) in byDimension.enumerated() {
        for (value, accumulator) in values {
          rows.append(.init(dimension: DailyRollups.dimensions[index], part: part, value: value, accumulator: accumulator))
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
