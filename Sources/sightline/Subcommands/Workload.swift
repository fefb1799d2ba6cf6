import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline workload …`: when customers come, when service suffers, and how many agents
/// each hour needs (docs/workload.md).
struct WorkloadCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "workload",
    abstract: "Workload and staffing: a KPI by hour of the week, arrivals ahead, agents needed against a roster.",
    subcommands: [Heatmap.self, Forecast.self, Staffing.self, HandleTime.self, RosterCommand.self])

  /// The roster CSV at `path` as wire hours, or a ValidationError naming the file, line
  /// and column.
  static func rosterHours(_ path: String, flag: String) throws -> [Sightline_Metrics_V1_RosterHour] {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(flag): cannot read \(path)") }
    do {
      return KpiWire.rosterHours(try Roster(csv: String(decoding: data, as: UTF8.self)).agents)
    } catch {
      throw ValidationError("\(flag) \(path): \(error)")
    }
  }

  /// `--period Nd|Nw` or `--from`/`--to`, as a range in the tenant's zone (unset: the
  /// service's default, the 4 weeks up to the current hour).
  struct RangeOptions: ParsableArguments {
    @Option(help: "Length of the range up to --to (or the current hour): Nd or Nw (default 4w).") var period: String?
    @Option(help: "Start of the range (YYYY-MM-DD in the tenant's zone, or RFC 3339).") var from: String?
    @Option(help: "End of the range, exclusive (default: the start of the current hour).") var to: String?

    func validate() throws {
      if period != nil && from != nil { throw ValidationError("give --period or --from, not both") }
      if let period { _ = try Explain.periodLength(period) }
    }

    /// The range asked for; nil when nothing was.
    func range(zone: TimeZone) throws -> Sightline_Common_V1_TimeRange? {
      guard period != nil || from != nil || to != nil else { return nil }
      var range = Sightline_Common_V1_TimeRange()
      let end = try to.map { try DateArgument.timestamp($0, zone: zone, flag: "--to") }
      if let end { range.end = end }
      if let from {
        range.start = try DateArgument.timestamp(from, zone: zone, flag: "--from")
      } else if let period {
        let endMs = end?.unixMilliseconds ?? WallClock.unixMilliseconds() / 3_600_000 * 3_600_000
        range.end = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
        range.start = Google_Protobuf_Timestamp(unixMilliseconds: endMs - (try Explain.periodLength(period)))
      }
      return range
    }
  }

  static func weekdayName(_ weekday: Int32) -> String { TimeOfWeek.weekdayNames[Int(weekday) - 1] }
  static func hourName(_ hour: Int32) -> String { hour < 10 ? "0\(hour):00" : "\(hour):00" }

  struct Heatmap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "A KPI by weekday and hour in the tenant's zone, drawn as a heatmap.",
      discussion: """
        Volume is the mean number of tickets per such hour, backlog the mean open tickets at each hour's
        end; other KPIs are over the tickets or answers of those hours. Darker is more; the legend gives
        the values. Hours with fewer than 30 observations are marked with a dot in the table below the
        map. Metrics: \(WireNames.kpiNames.joined(separator: ", ")).
        """)
    @Option(name: .customLong("metric"), help: "The KPI (default volume).") var metric = "volume"
    @OptionGroup var range: RangeOptions
    @Option(name: .customLong("where"), help: "Filter DIM=VALUE (repeatable).") var filters: [String] = []
    @Option(help: "Output: table, json or csv.") var format: Kpi.Format = .table
    @Option(help: "Wait until the metrics service applied this ingestion offset (read your writes).") var minOffset: Int64 = 0
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let kpi = try WireNames.kpi(metric)
      let wireFilters = try FilterArgument.parse(filters)
      let (range, minOffset) = (self.range, self.minOffset)
      let reply = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Metrics_V1_GetWorkloadHeatmapRequest.with {
          $0.kpi = kpi
          if let range = try range.range(zone: zone) { $0.range = range }
          $0.filters = wireFilters
          $0.minOffset = minOffset
        }
        return try await TransientRetry.run {
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).getWorkloadHeatmap(request, metadata: metadata)
        }
      }
      switch format {
      case .json: print(try WorkloadCommand.json(reply))
      case .csv:
        print("weekday,hour,value,sample_size,hours")
        for cell in reply.cells { print("\(cell.weekday),\(cell.hour),\(cell.value.value),\(cell.value.sampleSize),\(cell.hours)") }
      case .table: HeatmapDrawing(reply: reply).show()
      }
    }
  }

  struct Forecast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Ticket arrivals per hour for the days ahead, with 80 % and 95 % intervals.",
      discussion: """
        The model: a weekly profile (168 hours) times a level updated day by day, robust to holidays;
        docs/workload.md. --backtest forecasts each of the last 4 weeks from the weeks before it and
        prints the model's WAPE beside seasonal naive's (the same hour a week earlier) and how often the
        intervals held the actual arrivals.
        """)
    @Option(help: "Days ahead (1-28).") var days: Int32 = 14
    @Option(name: .customLong("by"), help: "Forecast each value of channel or business_line apart (repeatable).")
    var splitBy: [String] = []
    @Option(name: .customLong("where"), help: "Filter DIM=VALUE (repeatable).") var filters: [String] = []
    @Option(help: "Weeks of history to read (2-52).") var historyWeeks: Int32 = 12
    @Flag(help: "Backtest against seasonal naive over the last 4 weeks.") var backtest = false
    @Option(help: "Output: table (daily totals), json or csv (every hour).") var format: Kpi.Format = .table
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let split = try splitBy.map(WireNames.dimension)
      let wireFilters = try FilterArgument.parse(filters)
      let request = Sightline_Metrics_V1_ForecastArrivalsRequest.with {
        $0.days = days
        $0.splitBy = split
        $0.filters = wireFilters
        $0.historyWeeks = historyWeeks
        $0.backtest = backtest
      }
      let (reply, zone) = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let reply = try await TransientRetry.run {
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).forecastArrivals(request, metadata: metadata)
        }
        return (reply, zone)
      }
      switch format {
      case .json: print(try WorkloadCommand.json(reply))
      case .csv:
        print("series,hour_start,mean,lower80,upper80,lower95,upper95")
        for series in reply.series {
          let name = CSV.escape(series.groupValues.joined(separator: "/"))
          for hour in series.hours {
            print(
              "\(name),\(DateArgument.localTime(hour.start, zone: zone)),\(hour.mean),\(hour.lower80),\(hour.upper80),\(hour.lower95),\(hour.upper95)"
            )
          }
        }
      case .table:
        print(
          "history \(DateArgument.localTime(reply.history.start, zone: zone)) – \(DateArgument.localTime(reply.history.end, zone: zone)) (\(reply.timeZone))"
        )
        if reply.series.isEmpty { print("no tickets in the history read") }
        for series in reply.series {
          print("")
          let name = series.groupValues.isEmpty ? "all tickets" : series.groupValues.joined(separator: " / ")
          print("\(name): \(KpiFormat.fixed(series.historyArrivals, digits: 0)) tickets in the history")
          if !series.problem.isEmpty { print("  \(series.problem)") }
          if series.hasBacktest {
            let b = series.backtest
            print(
              "  backtest over \(b.hours) held-out hours: WAPE \(KpiFormat.percent(b.wape)) vs seasonal naive \(KpiFormat.percent(b.naiveWape))"
                + " (\(b.wape < b.naiveWape ? "better" : "not better")); 80 % interval held \(KpiFormat.percent(b.coverage80)),"
                + " 95 % held \(KpiFormat.percent(b.coverage95))")
          }
          guard !series.hours.isEmpty else { continue }
          var days: [(String, Double, Double, Double, Int32, Double)] = []
          for hour in series.hours {
            let date = DateArgument.localDate(hour.start, zone: zone)
            let local = TimeOfWeek(milliseconds: hour.start.unixMilliseconds, zone: zone)
            if days.last?.0 == date {
              days[days.count - 1].1 += hour.mean
              days[days.count - 1].2 += hour.lower80
              days[days.count - 1].3 += hour.upper80
              if hour.mean > days[days.count - 1].5 {
                days[days.count - 1].4 = Int32(local.hour)
                days[days.count - 1].5 = hour.mean
              }
            } else {
              days.append((date, hour.mean, hour.lower80, hour.upper80, Int32(local.hour), hour.mean))
            }
          }
          printTable(
            ["date", "day", "expected", "hourly 80 % bounds summed", "busiest hour", "expected then"],
            days.map { date, mean, low, high, peak, peakMean in
              let weekday = LocalTime.parseDate(date).map { TimeOfWeek.weekdayNames[Int(($0 + 3) % 7)] } ?? ""
              return [
                date, weekday, KpiFormat.fixed(mean, digits: 0), "\(KpiFormat.fixed(low, digits: 0))–\(KpiFormat.fixed(high, digits: 0))",
                WorkloadCommand.hourName(peak), KpiFormat.fixed(peakMean, digits: 1),
              ]
            })
        }
      }
    }
  }

  struct Staffing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Agents each hour needs, against a roster: the understaffed hours and what service looks like in them.",
      discussion: """
        Live channels (phone and chat unless set otherwise) need the fewest agents that answer the
        service level with occupancy under the cap (Erlang C); ticket channels need workload ÷
        (occupancy × 3600 × (1 − shrinkage)). Handle times come from `sightline workload handle-time`.
        The roster is a CSV with a header weekday,hour,agents: weekday 1-7, Mon or 周一; hour 9, 09:00 or
        a range 09-18. Next to each understaffed run, first response, CSAT and NPS in those hours of the
        week against every other hour of the past range, with a test of the difference.
        """)
    enum Basis: String, ExpressibleByArgument, CaseIterable { case past, forecast }
    @Option(help: "The weekly roster CSV (weekday,hour,agents; default: the stored roster).") var roster: String?
    @Option(help: "past: mean arrivals per hour of the week over the range; forecast: the days ahead.") var basis: Basis = .past
    @Option(help: "Forecast basis: days ahead (1-28).") var days: Int32?
    @OptionGroup var range: RangeOptions
    @Option(help: "Share of live contacts to answer in time, e.g. 0.8.") var serviceLevel: Double?
    @Option(help: "The service level's answer time, e.g. 20s.") var answerWithin: String?
    @Option(help: "Highest occupancy, e.g. 0.85.") var maxOccupancy: Double?
    @Option(help: "Shrinkage: share of scheduled time not on contacts, e.g. 0.3 (0 for none).") var shrinkage: Double?
    @Option(name: .customLong("where"), help: "Filter DIM=VALUE (repeatable).") var filters: [String] = []
    @Flag(help: "List every hour, not only those that need agents.") var all = false
    @Option(help: "Output: table, json or csv.") var format: Kpi.Format = .table
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      if days != nil && basis != .forecast { throw ValidationError("--days is for --basis forecast") }
      if let answerWithin { _ = try SettingsCommand.Set.duration(answerWithin, flag: "--answer-within") }
    }

    func run() async throws {
      let rosterHours = try roster.map { try WorkloadCommand.rosterHours($0, flag: "--roster") } ?? []
      let wireFilters = try FilterArgument.parse(filters)
      let rostered = rosterHours
      let within = try answerWithin.map { try SettingsCommand.Set.duration($0, flag: "--answer-within") }
      let options = self
      let (reply, zone) = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Metrics_V1_PlanStaffingRequest.with {
          $0.basis = options.basis == .forecast ? .forecast : .past
          if let days = options.days { $0.days = days }
          if let range = try options.range.range(zone: zone) { $0.range = range }
          $0.roster = rostered
          $0.filters = wireFilters
          if options.serviceLevel != nil || within != nil || options.maxOccupancy != nil || options.shrinkage != nil {
            $0.targets = .with { targets in
              targets.serviceLevel = options.serviceLevel ?? 0
              targets.answerWithinSeconds = within.map(Double.init) ?? 0
              targets.maxOccupancy = options.maxOccupancy ?? 0
              targets.shrinkage = options.shrinkage ?? 0
              targets.noShrinkage = options.shrinkage == 0
            }
          }
        }
        let reply = try await TransientRetry.run {
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).planStaffing(request, metadata: metadata)
        }
        return (reply, zone)
      }
      switch format {
      case .json: print(try WorkloadCommand.json(reply))
      case .csv:
        print("hour_start,weekday,hour,channel,arrivals,handle_seconds,live,agents,scheduled,needed,rostered,shortfall,understaffed")
        for hour in reply.hours {
          let start = hour.hasStart ? DateArgument.localTime(hour.start, zone: zone) : ""
          for need in hour.channels {
            let cells = [
              start, "\(hour.weekday)", "\(hour.hour)", need.channel, "\(need.arrivals)", "\(need.handleSeconds)", "\(need.live)",
              "\(need.agents)", "\(need.scheduled)", "\(hour.needed)", "\(hour.rostered)", "\(hour.shortfall)", "\(hour.understaffed)",
            ]
            print(cells.map(CSV.escape).joined(separator: ","))
          }
        }
      case .table: StaffingReport(reply: reply, zone: zone, all: all, hasRoster: reply.rosterSource != .none).show()
      }
    }
  }

  struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "roster",
      abstract:
        "Show or store the tenant's weekly roster (admin key to store): what staffing compares with by default and staffing-gap alerts watch.",
      discussion: """
        Example: sightline workload roster examples/roster-line.csv. The CSV has a header weekday,hour,agents
        (weekday 1-7, Mon or 周一; hour 9, 09:00 or a range 09-18); hours not listed have no agents.
        Other settings are kept.
        """)
    @Argument(help: "The roster CSV to store.") var file: String?
    @Flag(help: "Forget the stored roster.") var clear = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      if clear && file != nil { throw ValidationError("give a roster file or --clear, not both") }
    }

    func run() async throws {
      let hours = try file.map { try WorkloadCommand.rosterHours($0, flag: "roster") }
      let clear = self.clear
      let settings = try await connection.withGateway { client, metadata in
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        var settings = try await metrics.getSettings(.init(), metadata: metadata)
        guard hours != nil || clear else { return settings }
        // SetSettings replaces the whole settings: start from the current ones.
        settings.workload.roster = hours ?? []
        return try await metrics.setSettings(.with { $0.settings = settings }, metadata: metadata)
      }
      let roster = settings.workload.roster
      guard !roster.isEmpty else {
        print("no roster stored (sightline workload roster FILE.csv stores one)")
        return
      }
      // One line per weekday: its hours with agents, runs of equal staffing joined.
      for weekday in 1...7 {
        let day = roster.filter { $0.weekday == weekday }.sorted { $0.hour < $1.hour }
        var runs: [(from: Int32, to: Int32, agents: Double)] = []
        for hour in day {
          if let last = runs.last, last.to == hour.hour, last.agents == hour.agents {
            runs[runs.count - 1].to = hour.hour + 1
          } else {
            runs.append((hour.hour, hour.hour + 1, hour.agents))
          }
        }
        let text = runs.map {
          "\(WorkloadCommand.hourName($0.from))–\(WorkloadCommand.hourName($0.to % 24)) \(KpiFormat.fixed($0.agents, digits: $0.agents == $0.agents.rounded() ? 0 : 1))"
        }
        print("\(WorkloadCommand.weekdayName(Int32(weekday))): \(text.isEmpty ? "–" : text.joined(separator: ", "))")
      }
      print("\(roster.reduce(0) { $0 + $1.agents }) agent-hours a week")
    }
  }

  struct HandleTime: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "handle-time",
      abstract: "Show or set each channel's average handle time, and which channels are answered live (admin key to set).",
      discussion: """
        Example: sightline workload handle-time phone=5m chat=4m email=9m --live phone,chat. A channel with
        arrivals and no handle time gets no staffing figure. Other settings are kept.
        """)
    @Argument(help: "CHANNEL=DURATION pairs, e.g. phone=5m email=9m30s.") var times: [String] = []
    @Option(help: "The channels answered live, comma-separated (the rest are worked as tickets).") var live: String?
    @Option(help: "Forget a channel's handle time (repeatable).") var clear: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func parsed() throws -> [String: Double] {
      var seconds: [String: Double] = [:]
      for pair in times {
        let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("'\(pair)' is not CHANNEL=DURATION (e.g. phone=5m)") }
        guard seconds[parts[0]] == nil else { throw ValidationError("\(parts[0]) is given twice") }
        seconds[parts[0]] = Double(try SettingsCommand.Set.duration(parts[1], flag: parts[0]))
      }
      return seconds
    }

    func validate() throws { _ = try parsed() }

    func run() async throws {
      let changes = try parsed()
      let (live, clear) = (self.live, self.clear)
      let settings = try await connection.withGateway { client, metadata in
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        var settings = try await metrics.getSettings(.init(), metadata: metadata)
        guard !changes.isEmpty || live != nil || !clear.isEmpty else { return settings }
        // SetSettings replaces the whole settings: start from the current ones.
        for (channel, seconds) in changes { settings.workload.handleSeconds[channel] = seconds }
        for channel in clear { settings.workload.handleSeconds[channel] = nil }
        if let live {
          settings.workload.liveChannels = live.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return try await metrics.setSettings(.with { $0.settings = settings }, metadata: metadata)
      }
      let workload = settings.workload
      let liveChannels = Set(workload.liveChannels)
      let rows = Set(workload.handleSeconds.keys).union(liveChannels).sorted().map { channel in
        [
          channel, workload.handleSeconds[channel].map { HumanDuration.text(Int64($0.rounded())) } ?? "– (no staffing figure)",
          liveChannels.contains(channel) ? "live (Erlang C)" : "tickets",
        ]
      }
      if rows.isEmpty {
        print("no handle times set; live channels: \(workload.liveChannels.joined(separator: ", "))")
      } else {
        printTable(["channel", "handle time", "answered"], rows)
      }
      let t = workload.targets
      print(
        "targets: \(KpiFormat.percent(t.serviceLevel)) answered within \(HumanDuration.text(Int64(t.answerWithinSeconds))),"
          + " occupancy at most \(KpiFormat.percent(t.maxOccupancy)), shrinkage \(KpiFormat.percent(t.shrinkage))")
    }
  }

  static func json(_ message: some SwiftProtobuf.Message) throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return try message.jsonString(options: options)
  }
}

/// A heatmap drawn in the terminal: weekdays down, hours across, shades from light to dark.
struct HeatmapDrawing {
  let reply: Sightline_Metrics_V1_GetWorkloadHeatmapResponse
  static let shades: [Character] = [" ", "░", "▒", "▓", "█"]
  private var kpi: KpiKind { WireNames.model(reply.kpi)! }

  func show() {
    print("\(WireNames.name(reply.kpi)) by hour of the week (\(reply.timeZone)); overall \(format(reply.overall.value))")
    // A count (volume, backlog) of 0 is a value; a rate or time over no tickets is none.
    let counts = kpi == .volume || kpi == .backlog
    func hasData(_ cell: Sightline_Metrics_V1_HeatmapCell) -> Bool { counts ? cell.hours > 0 : cell.value.sampleSize > 0 }
    let withData = reply.cells.filter(hasData)
    guard let low = withData.map(\.value.value).min(), let high = withData.map(\.value.value).max() else {
      print("no data in the range")
      return
    }
    print("     " + (0..<24).map { $0 % 3 == 0 ? String(format: "%02d    ", $0) : "" }.joined())
    for weekday in 1...7 {
      let cells = reply.cells.filter { $0.weekday == weekday }.sorted { $0.hour < $1.hour }
      let row = cells.map { cell -> String in
        guard hasData(cell) else { return "··" }
        let level = high > low ? Int(((cell.value.value - low) / (high - low) * 4).rounded()) : 2
        return String(repeating: Self.shades[level], count: 2)
      }
      print(TimeOfWeek.weekdayNames[weekday - 1] + "  " + row.joined())
    }
    print("")
    let steps = (0...4).map { low + (high - low) * Double($0) / 4 }
    print(
      "legend: " + zip(Self.shades, steps).map { "\(String(repeating: $0, count: 2)) \(format($1))" }.joined(separator: "  ")
        + "   ·· no data")
    let sorted = withData.sorted { $0.value.value < $1.value.value }
    let better = kpi.higherIsBetter
    let (worst, best) =
      better == false
      ? (Array(sorted.suffix(5).reversed()), Array(sorted.prefix(5))) : (Array(sorted.prefix(5)), Array(sorted.suffix(5).reversed()))
    for (title, cells) in better == nil ? [("highest", best), ("lowest", worst)] : [("worst", worst), ("best", best)] {
      print(
        "\(title): "
          + cells.map { cell in
            "\(WorkloadCommand.weekdayName(cell.weekday)) \(WorkloadCommand.hourName(cell.hour)) \(format(cell.value.value))"
              + (cell.value.sampleSize < 30 && kpi != .volume && kpi != .backlog ? " (n=\(cell.value.sampleSize))" : "")
          }.joined(separator: ", "))
    }
  }

  private func format(_ value: Double) -> String {
    kpi == .volume || kpi == .backlog ? KpiFormat.fixed(value, digits: 1) : KpiFormat.value(value, kpi)
  }
}

/// A staffing plan for people: the understaffed runs with their KPIs, then the hours.
struct StaffingReport {
  let reply: Sightline_Metrics_V1_PlanStaffingResponse
  let zone: TimeZone
  let all: Bool
  let hasRoster: Bool

  func show() {
    let t = reply.targets
    print(
      "basis \(reply.basis == .forecast ? "forecast" : "past") (\(reply.timeZone)); targets \(KpiFormat.percent(t.serviceLevel)) live"
        + " answered within \(HumanDuration.text(Int64(t.answerWithinSeconds))), occupancy ≤ \(KpiFormat.percent(t.maxOccupancy)),"
        + " shrinkage \(KpiFormat.percent(t.shrinkage))")
    if !reply.handleTimes.isEmpty {
      print(
        "handle times: "
          + reply.handleTimes.map { time in
            "\(time.channel) \(HumanDuration.text(Int64(time.seconds.rounded())))"
              + (time.measuredTickets > 0 ? " (measured over \(time.measuredTickets) tickets)" : " (set)")
          }.joined(separator: ", "))
    }
    if !reply.missingHandleTime.isEmpty {
      print(
        "no handle time for \(reply.missingHandleTime.joined(separator: ", ")): their staffing cannot be computed"
          + " (sightline workload handle-time CHANNEL=DURATION)")
    }
    if hasRoster {
      print("")
      if reply.understaffed.isEmpty { print("the roster covers every hour") }
      for run in reply.understaffed {
        let when =
          run.hasStart
          ? "\(DateArgument.localTime(run.start, zone: zone))–\(WorkloadCommand.hourName(run.toHour % 24))"
          : "\(WorkloadCommand.weekdayName(run.weekday)) \(WorkloadCommand.hourName(run.fromHour))–\(WorkloadCommand.hourName(run.toHour % 24))"
        let kpis = run.comparisons.compactMap(Self.comparison).joined(separator: "; ")
        print(
          "\(when): short by up to \(KpiFormat.fixed(run.shortfall.rounded(.up), digits: 0)) agents" + (kpis.isEmpty ? "" : "; \(kpis)"))
      }
      let overall = reply.comparisons.compactMap(Self.comparison).joined(separator: "; ")
      if !overall.isEmpty { print("all understaffed hours against the rest: \(overall)") }
    }
    print("")
    let hours = reply.hours.filter { all || $0.needed > 0 || $0.rostered > 0 || $0.channels.contains { !$0.problem.isEmpty } }
    printTable(
      ["when", "arrivals", "needed", "rostered", "short", "by channel"],
      hours.map { hour in
        let when =
          hour.hasStart
          ? DateArgument.localTime(hour.start, zone: zone)
          : "\(WorkloadCommand.weekdayName(hour.weekday)) \(WorkloadCommand.hourName(hour.hour))"
        let channels = hour.channels.map { need in
          need.problem.isEmpty
            ? "\(need.channel) \(KpiFormat.fixed(need.scheduled, digits: 1))" : "\(need.channel) ?"
        }.joined(separator: ", ")
        return [
          when, KpiFormat.fixed(hour.channels.reduce(0) { $0 + $1.arrivals }, digits: 1), KpiFormat.fixed(hour.needed, digits: 1),
          hasRoster ? KpiFormat.fixed(hour.rostered, digits: 0) : "–",
          hour.understaffed ? KpiFormat.fixed(hour.shortfall, digits: 1) : "", channels,
        ]
      })
  }

  /// "CSAT 0.0% vs 100.0% elsewhere (p < 0.001)".
  static func comparison(_ comparison: Sightline_Metrics_V1_HourComparison) -> String? {
    guard let kpi = WireNames.model(comparison.kpi), comparison.understaffed.sampleSize > 0, comparison.other.sampleSize > 0 else {
      return nil
    }
    let p = comparison.pValue < 0.001 ? "p < 0.001" : "p = \(KpiFormat.fixed(comparison.pValue, digits: 3))"
    return
      "\(kpi.rawValue) \(KpiFormat.value(comparison.understaffed.value, kpi)) vs \(KpiFormat.value(comparison.other.value, kpi)) elsewhere (\(p))"
  }
}
