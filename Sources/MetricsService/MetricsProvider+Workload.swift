import Foundation
public import GRPCCore
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// The workload RPCs (docs/workload.md): a KPI by hour of the week, the arrivals ahead,
/// and the agents each hour needs against a roster.
extension MetricsProvider {
  /// Default range of a heatmap or a past staffing plan: the 4 weeks up to the current hour.
  static let defaultWorkloadRangeMs: Int64 = 28 * 86_400_000
  /// Default and largest forecast horizon, days.
  static let defaultForecastDays = 14, maxForecastDays = 28
  /// Default history of a forecast, weeks; and its bounds.
  static let defaultHistoryWeeks = 12
  static let historyWeeks = 2...52
  /// The most series one forecast returns (largest first).
  static let maxForecastSeries = 100
  /// A roster short by this many agents or more makes an hour understaffed.
  static let understaffedBy = 0.5

  public func getWorkloadHeatmap(
    request: ServerRequest<Sightline_Metrics_V1_GetWorkloadHeatmapRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_GetWorkloadHeatmapResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let kpi = try KpiWire.kpi(message.kpi, field: "kpi")
    let filters = try Self.workloadFilters(message.filters)
    let reads = try workloadReads(tenant: tenant, store: store)
    let (start, end) = try Self.workloadRange(message.hasRange ? message.range : nil, reads: reads)
    var cells = [Sightline_Metrics_V1_HeatmapCell]()
    var overall = Sightline_Metrics_V1_KpiValue()
    let hours = reads.hours(from: start, to: end)
    var hoursPerSlot = [Int](repeating: 0, count: 168)
    for hour in hours { hoursPerSlot[hour.slot] += 1 }
    if kpi == .backlog {
      var sums = [Double](repeating: 0, count: 168), counts = [Int](repeating: 0, count: 168)
      let backlog = try reads.hourlyBacklog(from: start, to: end, filters: filters)
      for (hourStart, open) in backlog {
        let slot = TimeOfWeek(milliseconds: hourStart, zone: reads.zone).index
        sums[slot] += Double(open)
        counts[slot] += 1
      }
      cells = TimeOfWeek.all.map { time in
        Self.cell(time, hours: hoursPerSlot[time.index]) {
          $0.kpi = .backlog; $0.sampleSize = Int64(counts[time.index])
          $0.value = counts[time.index] > 0 ? sums[time.index] / Double(counts[time.index]) : 0
        }
      }
      let moments = counts.reduce(0, +)
      overall = .with {
        $0.kpi = .backlog; $0.sampleSize = Int64(moments)
        $0.value = moments > 0 ? sums.reduce(0, +) / Double(moments) : 0
      }
    } else {
      let bySlot = try reads.accumulatorsByHourOfWeek([kpi], from: start, to: end, filters: filters)
      var all = KpiAccumulator()
      for accumulator in bySlot.values { all.merge(accumulator) }
      cells = TimeOfWeek.all.map { time in
        let result = (bySlot[time.index] ?? KpiAccumulator()).result(kpi)
        var value = Self.wireValue(kpi, result)
        // Volume per hour: tickets created in such hours ÷ how many such hours there were.
        if kpi == .volume { value.value = hoursPerSlot[time.index] > 0 ? result.value / Double(hoursPerSlot[time.index]) : 0 }
        return Self.cell(time, hours: hoursPerSlot[time.index]) { $0 = value }
      }
      overall = Self.wireValue(kpi, all.result(kpi))
      if kpi == .volume { overall.value = hours.isEmpty ? 0 : overall.value / Double(hours.count) }
    }
    return ServerResponse(
      message: .with {
        $0.kpi = message.kpi
        $0.timeZone = settingsZoneName(reads)
        $0.range = .with { range in
          range.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
          range.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
        }
        $0.cells = cells
        $0.overall = overall
        $0.appliedOffset = applied
      })
  }

  public func forecastArrivals(
    request: ServerRequest<Sightline_Metrics_V1_ForecastArrivalsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ForecastArrivalsResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let days = try Self.forecastDays(message.days, field: "days")
    guard message.historyWeeks == 0 || Self.historyWeeks.contains(Int(message.historyWeeks)) else {
      throw InvalidInput(field: "history_weeks", reason: "must be \(Self.historyWeeks.lowerBound)-\(Self.historyWeeks.upperBound) weeks")
    }
    let weeks = message.historyWeeks == 0 ? Self.defaultHistoryWeeks : Int(message.historyWeeks)
    let splitBy = try message.splitBy.enumerated().map { try KpiWire.dimension($1, field: "split_by[\($0)]") }
    if let (index, dimension) = splitBy.enumerated().first(where: { $0.element.isTimeOfWeek }) {
      throw InvalidInput(field: "split_by[\(index)]", reason: "\(dimension.rawValue) is the forecast's own seasonality, not a series")
    }
    let filters = try Self.workloadFilters(message.filters)
    let reads = try workloadReads(tenant: tenant, store: store)
    let end = reads.hourStart(clock())
    let start = end - Int64(weeks * ArrivalForecast.week) * WorkloadReads.hourMs
    let history = reads.hours(from: start, to: end)
    let ahead = reads.hours(from: end, to: end + Int64(days * 24) * WorkloadReads.hourMs)
    let totals = try reads.arrivals(from: start, to: end, filters: filters, groupBy: splitBy)
      .map { (group: $0.key, counts: $0.value, total: $0.value.reduce(0, +)) }
    // Largest first; ties by group values, so the order is stable.
    let series = totals.sorted { a, b in
      a.total != b.total ? a.total > b.total : a.group.lexicographicallyPrecedes(b.group)
    }.prefix(Self.maxForecastSeries)
    let slots = history.map(\.slot)
    let forecasts = series.map { group, counts, total in
      Sightline_Metrics_V1_ArrivalForecast.with { forecast in
        forecast.groupValues = group
        forecast.historyArrivals = total
        do {
          let model = try ArrivalForecast(counts: counts, slots: slots)
          forecast.hours = zip(ahead, model.forecast(slots: ahead.map(\.slot))).map { hour, value in Self.wireHour(hour.startMs, value) }
          if message.backtest {
            do {
              forecast.backtest = Self.wireBacktest(try ForecastBacktest(counts: counts, slots: slots))
            } catch {
              forecast.problem = "no backtest: it needs three weeks of history (one held out, two to fit)"
            }
          }
        } catch {
          forecast.problem = "\(error)"
        }
      }
    }
    return ServerResponse(
      message: .with {
        $0.timeZone = settingsZoneName(reads)
        $0.history = .with { range in
          range.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
          range.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
        }
        $0.series = Array(forecasts)
        $0.appliedOffset = applied
      })
  }

  public func planStaffing(
    request: ServerRequest<Sightline_Metrics_V1_PlanStaffingRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_PlanStaffingResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let reads = try workloadReads(tenant: tenant, store: store)
    let workload = reads.settings.workload
    let targets = try Self.staffingTargets(message.hasTargets ? message.targets : nil, defaults: workload.targets, field: "targets")
    // A request without a roster is compared with the tenant's stored one.
    let roster = message.roster.isEmpty ? workload.roster : try Self.roster(message.roster)
    let filters = try Self.workloadFilters(message.filters)
    let forecastBasis = message.basis == .forecast
    if !forecastBasis && message.days != 0 { throw InvalidInput(field: "days", reason: "days ahead are for the forecast basis") }
    // The past range: what a past plan is computed from, and what the KPIs of the
    // understaffed hours are compared over in either basis.
    let (pastStart, pastEnd) = try Self.workloadRange(message.hasRange ? message.range : nil, reads: reads)
    let handleTimes = workload.handleTimes(measured: try reads.measuredHandleTimes(from: pastStart, to: pastEnd, filters: filters))
    var plan = StaffingPlan(handleTimes: handleTimes, liveChannels: workload.liveChannels, targets: targets, roster: roster)
    var range = (pastStart, pastEnd)
    if forecastBasis {
      let days = try Self.forecastDays(message.days, field: "days")
      let end = reads.hourStart(clock())
      range = (end - Int64(Self.defaultHistoryWeeks * ArrivalForecast.week) * WorkloadReads.hourMs, end)
      try reads.addForecastHours(to: &plan, from: end, hoursAhead: days * 24, filters: filters)
    } else {
      let hours = reads.hours(from: pastStart, to: pastEnd)
      var hoursPerSlot = [Int](repeating: 0, count: 168)
      for hour in hours { hoursPerSlot[hour.slot] += 1 }
      var perSlot = [[String: Double]](repeating: [:], count: 168)
      let aligned = reads.hourStart(pastStart)
      for (group, counts) in try reads.arrivals(from: aligned, to: pastEnd, filters: filters, groupBy: [.channel]) {
        for (index, count) in counts.enumerated() where count > 0 {
          perSlot[TimeOfWeek(milliseconds: aligned + Int64(index) * WorkloadReads.hourMs, zone: reads.zone).index][group[0], default: 0] +=
            count
        }
      }
      for time in TimeOfWeek.all {
        let hours = Double(max(1, hoursPerSlot[time.index]))
        plan.addHour(startMs: nil, time: time, arrivals: perSlot[time.index].mapValues { $0 / hours })
      }
    }
    var response = Sightline_Metrics_V1_PlanStaffingResponse()
    response.basis = forecastBasis ? .forecast : .past
    response.timeZone = settingsZoneName(reads)
    response.range = .with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: range.0)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: range.1)
    }
    response.hours = plan.hours
    response.missingHandleTime = plan.missingHandleTime.sorted()
    response.rosterSource = !message.roster.isEmpty ? .request : roster.isEmpty ? .none : .stored
    response.handleTimes = handleTimes.sorted { $0.key < $1.key }.map { channel, time in
      .with {
        $0.channel = channel
        $0.seconds = time.seconds
        $0.measuredTickets = Int64(time.measuredTickets)
      }
    }
    response.targets = Self.wireTargets(targets)
    response.appliedOffset = applied
    var runs = plan.understaffedRuns()
    let understaffedSlots = Set(runs.flatMap(\.slots))
    if !roster.isEmpty && !understaffedSlots.isEmpty {
      let bySlot = try reads.accumulatorsByHourOfWeek([.firstResponseTime, .csat, .nps], from: pastStart, to: pastEnd, filters: filters)
      response.comparisons = Self.comparisons(understaffed: understaffedSlots, bySlot: bySlot)
      for index in runs.indices { runs[index].wire.comparisons = Self.comparisons(understaffed: Set(runs[index].slots), bySlot: bySlot) }
    }
    response.understaffed = runs.map(\.wire)
    return ServerResponse(message: response)
  }

  // MARK: - Parts

  /// Mean arrivals per hour of the week over `counts` from its first arrival on, for each
  /// of `wanted`: the forecast of a series too short for ``ArrivalForecast``.
  static func hourOfWeekMeans(counts: [Double], slots: [Int], for wanted: [Int]) -> [Double] {
    let first = (counts.firstIndex { $0 > 0 } ?? counts.count) / 24 * 24
    var sums = [Double](repeating: 0, count: 168), hours = [Double](repeating: 0, count: 168)
    for index in first..<counts.count {
      sums[slots[index]] += counts[index]
      hours[slots[index]] += 1
    }
    return wanted.map { hours[$0] > 0 ? sums[$0] / hours[$0] : 0 }
  }

  func workloadReads(tenant: TenantID, store: any MetricsStore) throws -> WorkloadReads {
    WorkloadReads(
      engine: KpiEngine(store: store, settings: try store.settings(), nowMs: clock(), buildLock: state.rollupLock(for: tenant)))
  }

  private func settingsZoneName(_ reads: WorkloadReads) -> String { LocalTime.name(reads.zone) }

  static func cell(
    _ time: TimeOfWeek, hours: Int, _ value: (inout Sightline_Metrics_V1_KpiValue) -> Void
  ) -> Sightline_Metrics_V1_HeatmapCell {
    .with {
      $0.weekday = Int32(time.weekday)
      $0.hour = Int32(time.hour)
      $0.hours = Int32(hours)
      value(&$0.value)
    }
  }

  /// The filters of a workload request: weekday and hour of day are its axes, not filters.
  static func workloadFilters(_ wire: [Sightline_Common_V1_DimensionFilter]) throws -> [KpiDimension: [String]] {
    let filters = try Self.filters(wire)
    if let index = wire.firstIndex(where: { KpiWire.dimensions[$0.dimension]?.isTimeOfWeek == true }) {
      throw InvalidInput(field: "filters[\(index)].dimension", reason: "weekday and hour of day are the workload's own axes")
    }
    return filters
  }

  /// A past range, default the 4 weeks up to the current local hour; at most a year.
  static func workloadRange(_ wire: Sightline_Common_V1_TimeRange?, reads: WorkloadReads) throws -> (Int64, Int64) {
    let nowHour = reads.hourStart(reads.engine.nowMs)
    let end = wire?.hasEnd == true ? wire!.end.unixMilliseconds : nowHour
    let start = wire?.hasStart == true ? wire!.start.unixMilliseconds : end - defaultWorkloadRangeMs
    guard end > start else { throw InvalidInput(field: "range", reason: "the end must be after the start") }
    guard end - start <= WorkloadReads.maxRangeMs else { throw InvalidInput(field: "range", reason: "at most 366 days") }
    return (start, end)
  }

  static func forecastDays(_ days: Int32, field: String) throws -> Int {
    guard days >= 0 && Int(days) <= maxForecastDays else {
      throw InvalidInput(field: field, reason: "must be 1-\(maxForecastDays) days (0: \(defaultForecastDays))")
    }
    return days == 0 ? defaultForecastDays : Int(days)
  }

  /// The weekly roster, or INVALID_ARGUMENT naming the entry (under `path`).
  static func roster(_ wire: [Sightline_Metrics_V1_RosterHour], path: String = "roster") throws -> [Int: Double] {
    var roster: [Int: Double] = [:]
    for (index, entry) in wire.enumerated() {
      let field = "\(path)[\(index)]"
      guard (1...7).contains(entry.weekday) else {
        throw InvalidInput(field: "\(field).weekday", reason: "must be 1 (Monday) to 7 (Sunday)")
      }
      guard (0...23).contains(entry.hour) else { throw InvalidInput(field: "\(field).hour", reason: "must be 0-23") }
      guard entry.agents >= 0 && entry.agents.isFinite else { throw InvalidInput(field: "\(field).agents", reason: "must be 0 or more") }
      let slot = TimeOfWeek(weekday: Int(entry.weekday), hour: Int(entry.hour)).index
      guard roster[slot] == nil else {
        throw InvalidInput(field: field, reason: "\(TimeOfWeek.weekdayNames[Int(entry.weekday) - 1]) \(entry.hour):00 is listed twice")
      }
      roster[slot] = entry.agents
    }
    return roster
  }

  /// Targets from the wire over `defaults` (0 keeps the default), or INVALID_ARGUMENT.
  static func staffingTargets(
    _ wire: Sightline_Metrics_V1_StaffingTargets?, defaults: StaffingTargets, field: String
  ) throws -> StaffingTargets {
    var targets = defaults
    if let wire {
      if wire.serviceLevel != 0 { targets.serviceLevel = wire.serviceLevel }
      if wire.answerWithinSeconds != 0 { targets.answerWithinSeconds = wire.answerWithinSeconds }
      if wire.maxOccupancy != 0 { targets.maxOccupancy = wire.maxOccupancy }
      if wire.shrinkage != 0 { targets.shrinkage = wire.shrinkage }
      if wire.noShrinkage { targets.shrinkage = 0 }
    }
    if let problem = targets.problem { throw InvalidInput(field: "\(field).\(problem.field)", reason: problem.reason) }
    return targets
  }

  /// The workload settings a SetSettings carries, or INVALID_ARGUMENT naming the field.
  static func workloadSettings(_ wire: Sightline_Metrics_V1_WorkloadSettings) throws -> WorkloadSettings {
    for (channel, seconds) in wire.handleSeconds {
      guard !channel.isEmpty else { throw InvalidInput(field: "settings.workload.handle_seconds", reason: "a channel has no name") }
      guard seconds > 0 && seconds.isFinite && seconds <= 86_400 else {
        throw InvalidInput(field: "settings.workload.handle_seconds[\(channel)]", reason: "must be above 0 and at most a day (86400 s)")
      }
    }
    return WorkloadSettings(
      handleSeconds: wire.handleSeconds,
      liveChannels: wire.liveChannels.isEmpty ? WorkloadSettings.defaultLiveChannels : Set(wire.liveChannels),
      targets: try staffingTargets(wire.hasTargets ? wire.targets : nil, defaults: .defaults, field: "settings.workload.targets"),
      roster: try roster(wire.roster, path: "settings.workload.roster"))
  }

  static func wireTargets(_ targets: StaffingTargets) -> Sightline_Metrics_V1_StaffingTargets {
    .with {
      $0.serviceLevel = targets.serviceLevel
      $0.answerWithinSeconds = targets.answerWithinSeconds
      $0.maxOccupancy = targets.maxOccupancy
      $0.shrinkage = targets.shrinkage
      $0.noShrinkage = targets.shrinkage == 0
    }
  }

  static func wireHour(_ start: Int64, _ hour: ArrivalForecast.Hour) -> Sightline_Metrics_V1_ForecastHour {
    .with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
      $0.mean = hour.mean
      $0.lower80 = hour.lower80
      $0.upper80 = hour.upper80
      $0.lower95 = hour.lower95
      $0.upper95 = hour.upper95
    }
  }

  static func wireBacktest(_ backtest: ForecastBacktest) -> Sightline_Metrics_V1_ForecastBacktest {
    .with {
      $0.wape = backtest.wape
      $0.naiveWape = backtest.naiveWape
      $0.coverage80 = backtest.coverage80
      $0.coverage95 = backtest.coverage95
      $0.hours = Int32(backtest.hours)
    }
  }

  /// First response, CSAT and NPS in the `understaffed` hours of the week against all
  /// the others: Welch's test for first response and NPS (its +100/0/−100 scores), the
  /// two-proportion z-test for CSAT.
  static func comparisons(understaffed: Set<Int>, bySlot: [Int: KpiAccumulator]) -> [Sightline_Metrics_V1_HourComparison] {
    var inside = KpiAccumulator(), outside = KpiAccumulator()
    for (slot, accumulator) in bySlot {
      if understaffed.contains(slot) { inside.merge(accumulator) } else { outside.merge(accumulator) }
    }
    return [KpiKind.firstResponseTime, .csat, .nps].map { kpi in
      let (a, b) = (inside.result(kpi), outside.result(kpi))
      let (sa, sb) = (inside.sufficientStatistics(kpi), outside.sufficientStatistics(kpi))
      let test =
        kpi == .csat
        ? ABStatistics.twoProportion(controlSuccesses: sb.sum, controlTotal: sb.count, treatmentSuccesses: sa.sum, treatmentTotal: sa.count)
        : ABStatistics.welch(control: sb, treatment: sa)
      return .with {
        $0.kpi = KpiWire.wireKpis[kpi]!
        $0.understaffed = wireValue(kpi, a)
        $0.other = wireValue(kpi, b)
        if a.sampleSize > 0 && b.sampleSize > 0 { $0.difference = a.value - b.value }
        $0.pValue = test?.pValue ?? 1
      }
    }
  }
}

/// The agents each hour needs against the roster (docs/workload.md, "Staffing").
struct StaffingPlan {
  /// Each channel's handle time (measured or set).
  let handleTimes: [String: HandleTime]
  let liveChannels: Set<String>
  let targets: StaffingTargets
  /// Agents rostered per hour of the week.
  let roster: [Int: Double]
  private(set) var hours: [Sightline_Metrics_V1_StaffingHour] = []
  /// Channels with arrivals and no handle time.
  private(set) var missingHandleTime: Set<String> = []

  init(handleTimes: [String: HandleTime], liveChannels: Set<String>, targets: StaffingTargets, roster: [Int: Double]) {
    self.handleTimes = handleTimes
    self.liveChannels = liveChannels
    self.targets = targets
    self.roster = roster
  }

  /// Adds an hour with its arrivals per channel.
  mutating func addHour(startMs: Int64?, time: TimeOfWeek, arrivals: [String: Double]) {
    var hour = Sightline_Metrics_V1_StaffingHour()
    if let startMs { hour.start = Google_Protobuf_Timestamp(unixMilliseconds: startMs) }
    hour.weekday = Int32(time.weekday)
    hour.hour = Int32(time.hour)
    for (channel, count) in arrivals.sorted(by: { $0.key < $1.key }) where count > 0 {
      var need = Sightline_Metrics_V1_ChannelNeed()
      need.channel = channel
      need.arrivals = count
      need.live = liveChannels.contains(channel)
      guard let handle = handleTimes[channel]?.seconds else {
        need.problem = "no handle time for '\(channel)': set one (sightline workload handle-time) or send handle_seconds"
        missingHandleTime.insert(channel)
        hour.channels.append(need)
        continue
      }
      need.handleSeconds = handle
      if need.live {
        let live = StaffingNeed.live(arrivals: count, handleSeconds: handle, targets: targets)
        need.agents = Double(live.agents)
        need.scheduled = Double(live.scheduled)
        need.serviceLevel = live.serviceLevel
      } else {
        need.agents = StaffingNeed.ticketsHandling(arrivals: count, handleSeconds: handle, targets: targets)
        need.scheduled = StaffingNeed.tickets(arrivals: count, handleSeconds: handle, targets: targets)
      }
      hour.needed += need.scheduled
      hour.channels.append(need)
    }
    hour.rostered = roster[time.index] ?? 0
    if !roster.isEmpty {
      hour.shortfall = max(0, hour.needed - hour.rostered)
      hour.understaffed = hour.shortfall >= MetricsProvider.understaffedBy
    }
    hours.append(hour)
  }

  /// Consecutive understaffed hours of one day, with the hours of the week they cover.
  func understaffedRuns() -> [(wire: Sightline_Metrics_V1_UnderstaffedRun, slots: [Int])] {
    var runs: [(wire: Sightline_Metrics_V1_UnderstaffedRun, slots: [Int])] = []
    var previous: Sightline_Metrics_V1_StaffingHour?
    for hour in hours {
      defer { previous = hour }
      guard hour.understaffed else { continue }
      let slot = TimeOfWeek(weekday: Int(hour.weekday), hour: Int(hour.hour)).index
      if let previous, previous.understaffed, previous.weekday == hour.weekday, previous.hour + 1 == hour.hour, var last = runs.popLast() {
        last.wire.toHour = hour.hour + 1
        last.wire.shortfall = max(last.wire.shortfall, hour.shortfall)
        last.slots.append(slot)
        runs.append(last)
        continue
      }
      var run = Sightline_Metrics_V1_UnderstaffedRun()
      run.weekday = hour.weekday
      run.fromHour = hour.hour
      run.toHour = hour.hour + 1
      if hour.hasStart { run.start = hour.start }
      run.shortfall = hour.shortfall
      runs.append((run, [slot]))
    }
    return runs
  }
}
