import Foundation
import SightlineModel
import SightlineRPC

/// What the workload RPCs read from a tenant's metrics store (docs/workload.md): hourly
/// arrivals, KPIs and backlog by hour of the week, all in the tenant's zone.
struct WorkloadReads {
  static let hourMs: Int64 = 3_600_000
  /// The longest range a heatmap or a past staffing plan reads.
  static let maxRangeMs: Int64 = 366 * 86_400_000

  let engine: KpiEngine
  var store: any MetricsStore { engine.store }
  var settings: KpiSettings { engine.settings }
  let zone: TimeZone

  init(engine: KpiEngine) {
    self.engine = engine
    zone = TimeZone(identifier: engine.settings.timeZone) ?? TimeZone(identifier: "UTC")!
  }

  /// The start of the local hour `milliseconds` falls in (zones a half hour off UTC
  /// included).
  func hourStart(_ milliseconds: Int64) -> Int64 { LocalTime.startOfHour(milliseconds: milliseconds, zone: zone) }

  /// The hours [start, end) as starts one hour apart, each with its hour of the week.
  func hours(from start: Int64, to end: Int64) -> [(startMs: Int64, slot: Int)] {
    stride(from: start, to: end, by: Int(Self.hourMs)).map { ($0, TimeOfWeek(milliseconds: $0, zone: zone).index) }
  }

  /// Tickets created per hour of [start, end) (hour-aligned), per group of `groupBy`.
  func arrivals(
    from start: Int64, to end: Int64, filters: [KpiDimension: [String]], groupBy: [KpiDimension]
  ) throws -> [[String]: [Double]] {
    let count = Int((end - start) / Self.hourMs)
    var series: [[String]: [Double]] = [:]
    try store.forEachTicket(KpiSelection(startMs: start, endMs: end, filters: filters, groupBy: groupBy)) { ticket, group in
      let index = Int((ticket.createdMs - start) / Self.hourMs)
      guard index >= 0 && index < count else { return }
      series[group, default: [Double](repeating: 0, count: count)][index] += 1
    }
    return series
  }

  /// Adds to `plan` each of the `hoursAhead` hours from `end` (the start of the current hour) with
  /// its forecast arrivals per channel, from the 12 weeks before `end`. A channel with too
  /// little history to fit (a new one) takes its mean per hour of the week over the
  /// history it has, from its first arrival on.
  func addForecastHours(to plan: inout StaffingPlan, from end: Int64, hoursAhead: Int, filters: [KpiDimension: [String]]) throws {
    let start = end - Int64(MetricsProvider.defaultHistoryWeeks * ArrivalForecast.week) * Self.hourMs
    let slots = hours(from: start, to: end).map(\.slot)
    let ahead = hours(from: end, to: end + Int64(hoursAhead) * Self.hourMs)
    var byChannel: [String: [Double]] = [:]
    for (group, counts) in try arrivals(from: start, to: end, filters: filters, groupBy: [.channel]) {
      if let model = try? ArrivalForecast(counts: counts, slots: slots) {
        byChannel[group[0]] = model.forecast(slots: ahead.map(\.slot)).map(\.mean)
      } else {
        byChannel[group[0]] = MetricsProvider.hourOfWeekMeans(counts: counts, slots: slots, for: ahead.map(\.slot))
      }
    }
    for (index, hour) in ahead.enumerated() {
      plan.addHour(startMs: hour.startMs, time: TimeOfWeek(index: hour.slot), arrivals: byChannel.mapValues { $0[index] })
    }
  }

  /// The staffing plan of the hours ahead of now (the current hour's start) against the
  /// tenant's stored roster and targets, with handle times measured over the default past
  /// range (the 4 weeks before now): what a staffing-gap alert rule watches.
  func forecastPlanAgainstRoster(hoursAhead: Int) throws -> StaffingPlan {
    let end = hourStart(engine.nowMs)
    let workload = settings.workload
    let measured = try measuredHandleTimes(from: end - MetricsProvider.defaultWorkloadRangeMs, to: end, filters: [:])
    var plan = StaffingPlan(
      handleTimes: workload.handleTimes(measured: measured), liveChannels: workload.liveChannels, targets: workload.targets,
      roster: workload.roster)
    try addForecastHours(to: &plan, from: end, hoursAhead: hoursAhead, filters: [:])
    return plan
  }

  /// Per channel, the tickets created in [start, end) whose replies carry handle times,
  /// and those times summed (milliseconds).
  func measuredHandleTimes(
    from start: Int64, to end: Int64, filters: [KpiDimension: [String]]
  ) throws -> [String: (tickets: Int, totalMs: Int64)] {
    var sums: [String: (tickets: Int, totalMs: Int64)] = [:]
    try store.forEachTicket(KpiSelection(startMs: start, endMs: end, filters: filters, groupBy: [.channel])) { ticket, group in
      guard ticket.handledReplies > 0 else { return }
      sums[group[0], default: (0, 0)].tickets += 1
      sums[group[0], default: (0, 0)].totalMs += ticket.handleMs
    }
    return sums
  }

  /// A KPI's accumulators by hour of the week over [start, end) (not backlog).
  func accumulatorsByHourOfWeek(
    _ kpis: Set<KpiKind>, from start: Int64, to end: Int64, filters: [KpiDimension: [String]]
  ) throws -> [Int: KpiAccumulator] {
    let buckets = try CalendarBuckets(startMs: start, endMs: end, interval: .all, timeZone: settings.timeZone)
    var cells: [Int: KpiAccumulator] = [:]
    for (cell, accumulator) in try engine.compute(kpis: kpis, buckets: buckets, filters: filters, groupBy: [.weekday, .hourOfDay]) {
      guard let weekday = Int(cell.group[0]), let hour = Int(cell.group[1]) else { continue }
      cells[TimeOfWeek(weekday: weekday, hour: hour).index] = accumulator
    }
    return cells
  }

  /// Backlog at the end of every hour of [start, end) that has ended by now: the tickets
  /// created before that moment whose latest status event before it is open
  /// (docs/kpis.md, "backlog"), per hour. Each ticket's open spells are added to the
  /// moments they cover at once, so a long range costs a search per spell, not a step per
  /// hour.
  func hourlyBacklog(from start: Int64, to end: Int64, filters: [KpiDimension: [String]]) throws -> [(startMs: Int64, open: Int)] {
    let hours = stride(from: start, to: end, by: Int(Self.hourMs)).filter { $0 + Self.hourMs <= engine.nowMs }
    let moments = hours.map { $0 + Self.hourMs }
    guard let first = moments.first, let last = moments.last else { return [] }
    var change = [Int](repeating: 0, count: moments.count + 1)
    /// The index of the first moment after `time`.
    func firstAfter(_ time: Int64) -> Int {
      var (low, high) = (0, moments.count)
      while low < high {
        let middle = (low + high) / 2
        if moments[middle] > time { high = middle } else { low = middle + 1 }
      }
      return low
    }
    try store.forEachStatusHistory(filters: filters, groupBy: [], sinceMs: first, beforeMs: last) { history, _ in
      for (index, event) in history.enumerated() where event.open {
        // Open from this event until the next status event: at every moment after the
        // event and up to (and at) the next one, whose own time is not before that moment.
        let until = index + 1 < history.count ? history[index + 1].timeMs : Int64.max
        let (from, to) = (firstAfter(event.timeMs), until == .max ? moments.count : firstAfter(until))
        guard from < to else { continue }
        change[from] += 1
        change[to] -= 1
      }
    }
    var open = 0
    return hours.enumerated().map { index, hour in
      open += change[index]
      return (hour, open)
    }
  }
}
