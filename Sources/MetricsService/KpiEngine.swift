import Foundation
import SightlineModel
import SightlineRPC
import Synchronization

/// The two halves' results of a parallel scan.
private final class ScanResults: Sendable {
  private let slots = Mutex<[Int: Result<[KpiCell: KpiAccumulator], any Error>]>([:])
  func set(_ index: Int, _ result: Result<[KpiCell: KpiAccumulator], any Error>) { slots.withLock { $0[index] = result } }
  func get(_ index: Int) throws -> [KpiCell: KpiAccumulator] { try slots.withLock { $0[index]! }.get() }
}

/// One cell of a KPI answer: a bucket and a combination of group values.
struct KpiCell: Hashable, Comparable {
  /// Index into the query's buckets.
  var bucket: Int
  /// Values of the grouping dimensions, in query order.
  var group: [String]

  static func < (lhs: KpiCell, rhs: KpiCell) -> Bool {
    if lhs.bucket != rhs.bucket { return lhs.bucket < rhs.bucket }
    return lhs.group.lexicographicallyPrecedes(rhs.group)
  }
}

/// Computes KPIs from a tenant's metrics store: tickets by creation time, survey answers by
/// response time, backlog at each bucket's end (docs/kpis.md), accumulated per cell. Whole
/// local days come from daily rollups when the query allows (``DailyRollups``); the rest
/// is scanned from the per-ticket state.
struct KpiEngine: Sendable {
  let store: any MetricsStore
  let settings: KpiSettings
  /// "Now": when the query runs (SLA breaches of unanswered tickets, backlog of the
  /// current period).
  let nowMs: Int64
  /// The tenant's rollup build lock (``MetricsLogConsumer/rollupLock(for:)``).
  let buildLock: RollupBuildLock
  /// Whether whole days may come from daily rollups (off: everything is scanned, the
  /// reference the rollups are tested against).
  var useRollups = true

  /// Every cell of `buckets` × the groups seen, with accumulators for `kpis`. Every group
  /// that has data in any bucket gets a cell in every bucket (empty cells have sample 0),
  /// so trends have no holes; without grouping every bucket has a cell.
  func compute(
    kpis: Set<KpiKind>, buckets: CalendarBuckets, filters: [KpiDimension: [String]], groupBy: [KpiDimension]
  ) throws -> [(cell: KpiCell, accumulator: KpiAccumulator)] {
    var cells: [KpiCell: KpiAccumulator] = [:]
    let needsTickets = kpis.contains { !$0.isSurvey && $0 != .backlog }
    let needsSurveys = kpis.contains(where: \.isSurvey)
    var scanned = [KpiSelection(startMs: buckets.rangeStartMs, endMs: buckets.rangeEndMs, filters: filters, groupBy: groupBy)]
    let rollups = DailyRollups(store: store, settings: settings, nowMs: nowMs, buildLock: buildLock)
    if let cut = TimeOfWeekCut(filters: filters, groupBy: groupBy, timeZone: settings.timeZone) {
      guard !kpis.contains(.backlog) else {
        throw InvalidInput(
          field: groupBy.contains(where: \.isTimeOfWeek) ? "group_by" : "filters",
          reason: "backlog counts open tickets at moments, not tickets of an hour: it is not cut by weekday or hour of day"
            + " (GetWorkloadHeatmap gives backlog by hour of the week)")
      }
      // Read from each row's time: scanned, never from rollups.
      if needsTickets { try addTickets(to: &cells, selection: scanned[0], buckets: buckets, cut: cut) }
      if needsSurveys { try addSurveys(to: &cells, selection: scanned[0], buckets: buckets, cut: cut) }
      scanned = []
    } else if useRollups, needsTickets || needsSurveys, let plan = DailyRollups.plan(filters: filters, groupBy: groupBy) {
      let days = rollups.wholeDays(startMs: buckets.rangeStartMs, endMs: buckets.rangeEndMs)
      if let first = days.first, let last = days.last {
        try rollups.ensureBuilt(days)
        var unserved: [RollupPart: [DailyRollups.Day]] = [:]
        for part in [RollupPart.tickets, .surveys] where part == .tickets ? needsTickets : needsSurveys {
          unserved[part] = try rollups.add(
            part, kpis: kpis, days: days, plan: plan, groupBy: groupBy, filters: filters, buckets: buckets, to: &cells)
        }
        // Only the partial days at either end are left to scan, and any day dropped since
        // it was built.
        var head = scanned[0]
        var tail = scanned[0]
        head.endMs = first.startMs
        tail.startMs = last.endMs
        scanned = [head, tail].filter { $0.endMs > $0.startMs }
        for (part, days) in unserved {
          for run in DailyRollups.runs(of: days, longest: .max) {
            let selection = KpiSelection(
              startMs: run[0].startMs, endMs: run[run.count - 1].endMs, filters: filters, groupBy: groupBy)
            if part == .tickets { try addTickets(to: &cells, selection: selection, buckets: buckets) }
            if part == .surveys { try addSurveys(to: &cells, selection: selection, buckets: buckets) }
          }
        }
      }
    }
    for selection in scanned {
      if needsTickets { try addTickets(to: &cells, selection: selection, buckets: buckets) }
      if needsSurveys { try addSurveys(to: &cells, selection: selection, buckets: buckets) }
    }
    if kpis.contains(.backlog) { try addBacklog(to: &cells, buckets: buckets, filters: filters, groupBy: groupBy) }

    let groups: Set<[String]> = groupBy.isEmpty ? [[]] : Set(cells.keys.map(\.group))
    for bucket in buckets.starts.indices {
      for group in groups where cells[KpiCell(bucket: bucket, group: group)] == nil {
        cells[KpiCell(bucket: bucket, group: group)] = KpiAccumulator()
      }
    }
    return cells.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// The whole local days inside [startMs, endMs) as one span, or nil if there is none:
  /// what a query of that range reads from rollups when they serve it.
  func wholeDaySpan(startMs: Int64, endMs: Int64) -> (Int64, Int64)? {
    let days = DailyRollups(store: store, settings: settings, nowMs: nowMs, buildLock: buildLock)
      .wholeDays(startMs: startMs, endMs: endMs)
    guard let first = days.first, let last = days.last else { return nil }
    return (first.startMs, last.endMs)
  }

  /// Ranges longer than this are scanned in two halves on two threads (SQLite's WAL lets
  /// the reads run side by side); the halves' accumulators are then merged.
  static let parallelScanThresholdMs: Int64 = 7 * 86_400_000

  private func scan(_ part: KpiSelection, buckets: CalendarBuckets, cut: TimeOfWeekCut?) throws -> [KpiCell: KpiAccumulator] {
    var partial: [KpiCell: KpiAccumulator] = [:]
    let clock = ServiceClock(settings: settings)
    var selection = cut?.stored(part) ?? part
    selection.ticketLines = settings.serviceLevels.needsTicketLines
    guard let cut else {
      try store.forEachTicket(selection) { ticket, group in
        guard let bucket = buckets.index(of: ticket.createdMs) else { return }
        partial[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].add(ticket: ticket, clock: clock, nowMs: nowMs)
      }
      return partial
    }
    try store.forEachTicket(selection) { ticket, stored in
      guard let bucket = buckets.index(of: ticket.createdMs), let group = cut.group(stored, timeMs: ticket.createdMs) else { return }
      partial[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].add(ticket: ticket, clock: clock, nowMs: nowMs)
    }
    return partial
  }

  private func addTickets(
    to cells: inout [KpiCell: KpiAccumulator], selection: KpiSelection, buckets: CalendarBuckets, cut: TimeOfWeekCut? = nil
  ) throws {
    guard selection.endMs - selection.startMs > Self.parallelScanThresholdMs else {
      for (cell, accumulator) in try scan(selection, buckets: buckets, cut: cut) {
        cells[cell, default: KpiAccumulator()].merge(accumulator)
      }
      return
    }
    let middle = selection.startMs + (selection.endMs - selection.startMs) / 2
    var first = selection
    var second = selection
    first.endMs = middle
    second.startMs = middle
    let halves = [first, second]
    let results = ScanResults()
    DispatchQueue.concurrentPerform(iterations: 2) { index in
      results.set(index, Result { try self.scan(halves[index], buckets: buckets, cut: cut) })
    }
    for index in 0..<2 {
      for (cell, accumulator) in try results.get(index) { cells[cell, default: KpiAccumulator()].merge(accumulator) }
    }
  }

  private func addSurveys(
    to cells: inout [KpiCell: KpiAccumulator], selection: KpiSelection, buckets: CalendarBuckets, cut: TimeOfWeekCut? = nil
  ) throws {
    guard let cut else {
      try store.forEachSurvey(selection) { survey, timeMs, group in
        guard let bucket = buckets.index(of: timeMs) else { return }
        cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].add(survey: survey)
      }
      return
    }
    // An answer is cut by its service time (its ticket's creation): CSAT "in the evening"
    // is that of the evening's tickets, whenever their customers answered.
    var selection = cut.stored(selection)
    selection.surveyServiceTime = true
    try store.forEachSurvey(selection) { survey, timeMs, stored in
      guard let bucket = buckets.index(of: timeMs), let serviceMs = stored.last.flatMap({ Int64($0) }),
        let group = cut.group(stored.dropLast(), timeMs: serviceMs)
      else { return }
      cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].add(survey: survey)
    }
  }

  /// Backlog: at the end of each bucket (or now, for the current one), the tickets created
  /// before that moment whose latest status event before it is open. Buckets starting
  /// after now have no backlog yet.
  private func addBacklog(
    to cells: inout [KpiCell: KpiAccumulator], buckets: CalendarBuckets, filters: [KpiDimension: [String]],
    groupBy: [KpiDimension]
  ) throws {
    let moments = buckets.ends.indices.map { min(buckets.ends[$0], nowMs) }
    guard let first = moments.first, let last = moments.max() else { return }
    try store.forEachStatusHistory(filters: filters, groupBy: groupBy, sinceMs: first, beforeMs: last) { history, group in
      var position = 0
      var open = false
      var seen = false
      for (bucket, moment) in moments.enumerated() where buckets.starts[bucket] < nowMs {
        // History is time-ordered and moments never decrease, so one pass suffices.
        while position < history.count && history[position].timeMs < moment {
          open = history[position].open
          seen = true
          position += 1
        }
        if seen && open { cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].addBacklog() }
      }
    }
  }
}

/// The weekday and hour-of-day dimensions of a selection, read from each row's time in the
/// tenant's zone: the store is asked for the other dimensions only, and each row's group is
/// put back together in the order asked for (or the row dropped by a time filter).
struct TimeOfWeekCut {
  let zone: TimeZone
  let groupBy: [KpiDimension]
  /// Accepted values of the time-of-week filters.
  let accepted: [KpiDimension: Set<String>]

  /// Nil when the selection uses neither time-of-week dimension.
  init?(filters: [KpiDimension: [String]], groupBy: [KpiDimension], timeZone: String) {
    let timeFilters = filters.filter { $0.key.isTimeOfWeek && !$0.value.isEmpty }
    guard !timeFilters.isEmpty || groupBy.contains(where: \.isTimeOfWeek) else { return nil }
    zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
    self.groupBy = groupBy
    accepted = timeFilters.mapValues(Set.init)
  }

  /// `selection` without the time-of-week dimensions.
  func stored(_ selection: KpiSelection) -> KpiSelection {
    var stored = selection
    stored.groupBy = selection.groupBy.filter { !$0.isTimeOfWeek }
    stored.filters = selection.filters.filter { !$0.key.isTimeOfWeek }
    return stored
  }

  /// The row's group: `stored` values (the stored dimensions', in order) with the
  /// time-of-week values put in; nil when a time filter drops the row.
  func group(_ stored: some RandomAccessCollection<String>, timeMs: Int64) -> [String]? {
    let time = TimeOfWeek(milliseconds: timeMs, zone: zone)
    for (dimension, values) in accepted where !values.contains(dimension.value(of: time)) { return nil }
    var group: [String] = []
    group.reserveCapacity(groupBy.count)
    var next = 0
    for dimension in groupBy {
      if dimension.isTimeOfWeek {
        group.append(dimension.value(of: time))
      } else {
        group.append(stored[stored.index(stored.startIndex, offsetBy: next)])
        next += 1
      }
    }
    return group
  }
}
