import SightlineModel
import SightlineStorage

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
/// response time, backlog at each bucket's end (DOMAIN.md), accumulated per cell.
struct KpiEngine {
  let store: MetricsStore
  let settings: KpiSettings
  /// "Now": when the query runs (SLA breaches of unanswered tickets, backlog of the
  /// current period).
  let nowMs: Int64

  /// Every cell of `buckets` × the groups seen, with accumulators for `kpis`. Every group
  /// that has data in any bucket gets a cell in every bucket (empty cells have sample 0),
  /// so trends have no holes; without grouping every bucket has a cell.
  func compute(
    kpis: Set<KpiKind>, buckets: CalendarBuckets, filters: [KpiDimension: [String]], groupBy: [KpiDimension]
  ) throws -> [(cell: KpiCell, accumulator: KpiAccumulator)] {
    var cells: [KpiCell: KpiAccumulator] = [:]
    let selection = KpiSelection(startMs: buckets.rangeStartMs, endMs: buckets.rangeEndMs, filters: filters, groupBy: groupBy)
    if kpis.contains(where: { !$0.isSurvey && $0 != .backlog }) {
      try store.forEachTicket(selection) { ticket, group in
        guard let bucket = buckets.index(of: ticket.createdMs) else { return }
        cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()]
          .add(ticket: ticket, settings: settings, nowMs: nowMs)
      }
    }
    if kpis.contains(where: \.isSurvey) {
      try store.forEachSurvey(selection) { survey, timeMs, group in
        guard let bucket = buckets.index(of: timeMs) else { return }
        cells[KpiCell(bucket: bucket, group: group), default: KpiAccumulator()].add(survey: survey)
      }
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
