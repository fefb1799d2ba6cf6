import Foundation
import SightlineModel
import Testing

/// Erlang C, staffing and the arrivals forecast (docs/workload.md) against exact and
/// independent references: Fixtures/workload/make_fixtures.py (exact fractions), the
/// recursive Erlang B form, hand-worked cases, and a seeded world with planted seasonality.
@Suite("Workload: the model")
struct WorkloadModelTests {
  nonisolated(unsafe) static let fixtures: [String: Any] = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/workload/fixtures.json").path
    return try! JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: path)!) as! [String: Any]
  }()

  static func number(_ value: Any?) -> Double { (value as! NSNumber).doubleValue }

  /// Erlang C from the recursive Erlang B form, B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)),
  /// C = N·B / (N − A·(1 − B)): a second implementation the log-space sum must agree with.
  static func erlangCByRecursion(agents: Int, load: Double) -> Double {
    var blocking = 1.0
    for n in stride(from: 1, through: agents, by: 1) { blocking = load * blocking / (Double(n) + load * blocking) }
    let n = Double(agents)
    return n * blocking / (n - load * (1 - blocking))
  }

  @Test("hand-worked: A = 1 erlang on 2 agents waits 1/3 of the time, A = 2 on 3 agents 4/9")
  func handWorked() {
    // B(2) for A = 1 is (1/2)/(1 + 1 + 1/2) = 1/5; C = 2·(1/5)/(2 − 1·(4/5)) = 1/3.
    #expect(abs(ErlangC.waitProbability(agents: 2, load: 1) - 1.0 / 3) < 1e-14)
    // B(3) for A = 2 is 4/19; C = 3·(4/19)/(3 − 2·(15/19)) = 4/9.
    #expect(abs(ErlangC.waitProbability(agents: 3, load: 2) - 4.0 / 9) < 1e-14)
    // No load, nobody waits; N ≤ A, everyone does.
    #expect(ErlangC.waitProbability(agents: 3, load: 0) == 0)
    #expect(ErlangC.waitProbability(agents: 3, load: 3) == 1)
    #expect(ErlangC.serviceLevel(agents: 3, load: 4, handleSeconds: 180, withinSeconds: 20) == 0)
  }

  @Test("the exact references: wait probability and service level (A = 10 on 11 agents waits 68.2 %, on 14 answers 88.8 % in 20 s)")
  func exactReferences() {
    for fixture in Self.fixtures["erlang_c"] as! [[String: Any]] {
      let load = Self.number(fixture["load"]), agents = Int(Self.number(fixture["agents"]))
      let wait = ErlangC.waitProbability(agents: agents, load: load)
      #expect(abs(wait - Self.number(fixture["wait"])) < 1e-12, "A=\(load) N=\(agents)")
      let level = ErlangC.serviceLevel(agents: agents, load: load, handleSeconds: 180, withinSeconds: 20)
      #expect(abs(level - Self.number(fixture["service_level_20s_180s"])) < 1e-12, "A=\(load) N=\(agents)")
    }
  }

  @Test("the log-space sum equals the Erlang B recursion on a grid of loads from 0.1 to 2,000 erlangs")
  func agreesWithTheRecursion() {
    for load in [0.1, 0.5, 1, 2.5, 7, 19.3, 50, 120, 400, 999.5, 2_000] {
      let first = Int(load.rounded(.down)) + 1
      for agents in [first, first + 1, first + 3, first + Int(load.squareRoot()) + 2, first + 40] {
        let direct = ErlangC.waitProbability(agents: agents, load: load)
        let recursive = Self.erlangCByRecursion(agents: agents, load: load)
        #expect(abs(direct - recursive) <= 1e-10 * max(recursive, 1e-300) + 1e-15, "A=\(load) N=\(agents)")
      }
    }
  }

  @Test("live staffing: the fewest agents that meet the service level under the occupancy cap, as the exact walk finds")
  func liveStaffing() {
    for fixture in Self.fixtures["staffing"] as! [[String: Any]] {
      let targets = StaffingTargets(
        serviceLevel: Self.number(fixture["service_level"]), answerWithinSeconds: Self.number(fixture["within_seconds"]),
        maxOccupancy: Self.number(fixture["max_occupancy"]), shrinkage: 0.3)
      let need = StaffingNeed.live(
        arrivals: Self.number(fixture["arrivals"]), handleSeconds: Self.number(fixture["handle_seconds"]), targets: targets)
      #expect(need.agents == Int(Self.number(fixture["agents"])), "\(fixture)")
      #expect(abs(need.serviceLevel - Self.number(fixture["service_level_reached"])) < 1e-9, "\(fixture)")
      #expect(need.occupancy <= targets.maxOccupancy)
      // One agent fewer misses a target.
      let fewer = need.agents - 1
      let missesLevel =
        ErlangC.serviceLevel(
          agents: fewer, load: need.load, handleSeconds: Self.number(fixture["handle_seconds"]),
          withinSeconds: targets.answerWithinSeconds) < targets.serviceLevel
      #expect(missesLevel || need.load / Double(fewer) > targets.maxOccupancy, "\(fixture)")
      // After 30 % shrinkage: N / 0.7, up.
      #expect(need.scheduled == Int((Double(need.agents) / 0.7 - 1e-9).rounded(.up)))
    }
    #expect(StaffingNeed.live(arrivals: 0, handleSeconds: 300, targets: .defaults).scheduled == 0)
  }

  @Test("ticket staffing: 40 tickets of 9 minutes at 85 % occupancy and 30 % shrinkage need 6/(0.85·0.7) agents")
  func ticketStaffing() {
    // 40 × 540 s = 21,600 s of work = 6 agent-hours.
    let need = StaffingNeed.tickets(arrivals: 40, handleSeconds: 540, targets: .defaults)
    #expect(abs(need - 6 / (0.85 * 0.7)) < 1e-12)
    #expect(StaffingTargets(serviceLevel: 1, answerWithinSeconds: 20, maxOccupancy: 0.8, shrinkage: 0.3).problem?.field == "service_level")
    #expect(StaffingTargets(serviceLevel: 0.8, answerWithinSeconds: 20, maxOccupancy: 0.8, shrinkage: 1).problem?.field == "shrinkage")
    #expect(StaffingTargets.defaults.problem == nil)
  }

  @Test("time of week: ISO weekdays in the tenant's zone, across a daylight-saving change")
  func timeOfWeek() throws {
    let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
    // 2026-03-01T16:30:00Z is Monday 2 March 00:30 in Shanghai; Sunday in UTC.
    let ms = Int64(1_772_382_600_000)
    #expect(TimeOfWeek(milliseconds: ms, zone: shanghai) == TimeOfWeek(weekday: 1, hour: 0))
    #expect(TimeOfWeek(milliseconds: ms, zone: TimeZone(identifier: "UTC")!) == TimeOfWeek(weekday: 7, hour: 16))
    // New York springs forward on Sunday 8 March 2026: 06:30Z is 01:30 EST, 07:30Z 03:30 EDT.
    let newYork = try #require(TimeZone(identifier: "America/New_York"))
    #expect(TimeOfWeek(milliseconds: 1_772_951_400_000, zone: newYork) == TimeOfWeek(weekday: 7, hour: 1))
    #expect(TimeOfWeek(milliseconds: 1_772_955_000_000, zone: newYork) == TimeOfWeek(weekday: 7, hour: 3))
    #expect(TimeOfWeek.all.count == 168 && TimeOfWeek.all.map(\.index) == Array(0..<168))
    #expect(TimeOfWeek(index: 100) == TimeOfWeek(weekday: 5, hour: 4))
    // Before 1970 the weekday still counts from Thursday 1 January 1970: 31 December 1969 was a Wednesday.
    #expect(TimeOfWeek(milliseconds: -3_600_000, zone: TimeZone(identifier: "UTC")!) == TimeOfWeek(weekday: 3, hour: 23))
    // Local hours start on the zone's own hour: :30 UTC in Kolkata, :00 in Shanghai.
    let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
    #expect(LocalTime.startOfHour(milliseconds: ms + 10 * 60_000, zone: kolkata) == ms)
    #expect(LocalTime.startOfHour(milliseconds: ms + 10 * 60_000, zone: shanghai) == ms - 30 * 60_000)
    for (text, day) in [("1", 1), ("Mon", 1), ("sunday", 7), ("周三", 3), ("星期天", 7), ("礼拜六", 6)] {
      #expect(TimeOfWeek.weekday(named: text) == day, "\(text)")
    }
    #expect(TimeOfWeek.weekday(named: "8") == nil && TimeOfWeek.weekday(named: "mo") == nil && TimeOfWeek.weekday(named: "周八") == nil)
  }

  /// A seeded world of hourly arrivals in UTC: a daily shape (night low, peaks at 10:00 and
  /// 15:00), weekends at 45 %, a level shift of +35 % from week 7 and a holiday at 25 % on
  /// the Wednesday of week 9; Poisson noise.
  static func world(weeks: Int, seed: UInt64) -> (counts: [Double], slots: [Int]) {
    var random = SeededRandom(seed: seed)
    var counts: [Double] = []
    var slots: [Int] = []
    for t in 0..<(weeks * 168) {
      let slot = t % 168
      let (day, hour) = (slot / 24, slot % 24)
      let daily =
        0.15 + exp(-pow(Double(hour) - 10, 2) / 6) + 0.8 * exp(-pow(Double(hour) - 15, 2) / 8) + (hour >= 8 && hour < 20 ? 0.3 : 0)
      let weekly = day >= 5 ? 0.45 : 1
      let shift = t >= 6 * 168 ? 1.35 : 1
      let holiday = t / 168 == 8 && day == 2 ? 0.25 : 1
      counts.append(Double(random.poisson(30 * daily * weekly * shift * holiday)))
      slots.append(slot)
    }
    return (counts, slots)
  }

  @Test("forecast: on a seeded world it beats seasonal naive in the rolling backtest and its 80 % intervals cover 75–85 %")
  func forecastBacktest() throws {
    for seed in (1...8).map(UInt64.init) {
      let (counts, slots) = Self.world(weeks: 12, seed: seed)
      let backtest = try ForecastBacktest(counts: counts, slots: slots)
      #expect(backtest.hours == 4 * 168)
      #expect(backtest.wape < backtest.naiveWape, "seed \(seed): \(backtest)")
      #expect((0.75...0.85).contains(backtest.coverage80), "seed \(seed): \(backtest)")
      #expect(backtest.coverage95 >= 0.9, "seed \(seed): \(backtest)")
      print(
        "WorkloadModelTests seed \(seed): WAPE \(backtest.wape) vs naive \(backtest.naiveWape), coverage \(backtest.coverage80) / \(backtest.coverage95)"
      )
    }
  }

  @Test("forecast: weeks of silence before the first ticket are not read as a level of zero")
  func silenceBeforeTheFirstTicket() throws {
    let (counts, slots) = Self.world(weeks: 6, seed: 4)
    // Eight quiet weeks, then the six weeks of arrivals; hours of the week carry on.
    let quiet = 8 * 168
    let padded = [Double](repeating: 0, count: quiet) + counts
    let paddedSlots = (0..<quiet).map { $0 % 168 } + slots
    let backtest = try ForecastBacktest(counts: padded, slots: paddedSlots)
    #expect(backtest.wape < backtest.naiveWape, "\(backtest)")
    #expect(backtest.coverage80 > 0.7, "\(backtest)")
    let alone = try ArrivalForecast(counts: counts, slots: slots)
    let model = try ArrivalForecast(counts: padded, slots: paddedSlots)
    #expect(model.level == alone.level && model.profile == alone.profile)
    // Silence only: not enough history once the silence is skipped.
    #expect(throws: ArrivalForecast.TooShort.self) {
      try ArrivalForecast(counts: [Double](repeating: 0, count: quiet) + [3], slots: (0...quiet).map { $0 % 168 })
    }
  }

  @Test("forecast: a weekday-only series whose history opens on a weekend keeps its weekend")
  func weekendOpeningIsNotSilence() throws {
    // Three weeks from a Saturday 00:00 (slot 5 × 24): arrivals on weekdays only.
    let slots = (0..<(3 * 168)).map { (5 * 24 + $0) % 168 }
    let counts = slots.map { $0 < 5 * 24 ? 4.0 : 0 }
    let backtest = try ForecastBacktest(counts: counts, slots: slots)
    #expect(backtest.hours == 168 && backtest.wape < 1e-9, "\(backtest)")
  }

  @Test("forecast: the profile holds the planted shape, the level follows the shift, and a holiday barely moves it")
  func forecastShape() throws {
    let (counts, slots) = Self.world(weeks: 12, seed: 9)
    let model = try ArrivalForecast(counts: counts, slots: slots)
    // Mean of the planted rates after the shift, over a week.
    let planted = (0..<168).map { slot -> Double in
      let (day, hour) = (slot / 24, slot % 24)
      let daily =
        0.15 + exp(-pow(Double(hour) - 10, 2) / 6) + 0.8 * exp(-pow(Double(hour) - 15, 2) / 8) + (hour >= 8 && hour < 20 ? 0.3 : 0)
      return 30 * daily * (day >= 5 ? 0.45 : 1) * 1.35
    }
    let plantedLevel = planted.reduce(0, +) / 168
    #expect(abs(model.level / plantedLevel - 1) < 0.06, "\(model.level) vs \(plantedLevel)")
    // Tuesday 10:00 against Sunday 03:00, as planted.
    let forecast = model.forecast(slots: [34, 147])
    #expect(abs(forecast[0].mean / planted[34] - 1) < 0.1, "\(forecast[0].mean) vs \(planted[34])")
    #expect(abs(forecast[1].mean / planted[147] - 1) < 0.3, "\(forecast[1].mean) vs \(planted[147])")
    #expect(forecast[0].lower95 <= forecast[0].lower80 && forecast[0].lower80 <= forecast[0].mean)
    #expect(forecast[0].mean <= forecast[0].upper80 && forecast[0].upper80 <= forecast[0].upper95)
    // Fewer than two weeks: refused, saying how many hours there are.
    #expect(throws: ArrivalForecast.TooShort.self) {
      try ArrivalForecast(counts: Array(counts.prefix(300)), slots: Array(slots.prefix(300)))
    }
  }

  @Test("a roster CSV: weekday names, hour ranges and quoted fields are read; a bad line is named with its column")
  func rosterCSV() throws {
    let roster = try Roster(
      csv: "\u{FEFF}team,Weekday,hour,agents\n\"L1, north\",Mon,09-12,4\nL1,周二,13:00,2.5\n\nL1,7,23,1\n")
    #expect(
      roster.agents == [
        TimeOfWeek(weekday: 1, hour: 9).index: 4, TimeOfWeek(weekday: 1, hour: 10).index: 4, TimeOfWeek(weekday: 1, hour: 11).index: 4,
        TimeOfWeek(weekday: 2, hour: 13).index: 2.5, TimeOfWeek(weekday: 7, hour: 23).index: 1,
      ])
    let cases: [(String, Roster.Problem)] = [
      ("", Roster.Problem(line: 1, column: "header", reason: "the file is empty; it needs a header: weekday,hour,agents")),
      (
        "weekday,agents\n",
        Roster.Problem(line: 1, column: "header", reason: "no 'hour' column (the header needs weekday, hour and agents)")
      ),
      (
        "weekday,hour,agents\nMonday,9,1\nFunday,9,1\n",
        Roster.Problem(line: 3, column: "weekday", reason: "'Funday' is not a weekday (1-7 with Monday 1, Mon, Monday or 周一)")
      ),
      (
        "weekday,hour,agents\n1,24,1\n",
        Roster.Problem(line: 2, column: "hour", reason: "'24' is not an hour 0-23 (9, 09:00) or a range (09-18)")
      ),
      (
        "weekday,hour,agents\n1,18-09,1\n",
        Roster.Problem(line: 2, column: "hour", reason: "'18-09' is not an hour 0-23 (9, 09:00) or a range (09-18)")
      ),
      ("weekday,hour,agents\n1,9,-1\n", Roster.Problem(line: 2, column: "agents", reason: "'-1' is not a number of agents (0 or more)")),
      ("weekday,hour,agents\n1,9\n", Roster.Problem(line: 2, column: "agents", reason: "missing (the line has 2 fields)")),
      (
        "weekday,hour,agents\nMon,08-12,3\nMonday,11,2\n", Roster.Problem(line: 3, column: "hour", reason: "Mon 11:00 is on line 2 already")
      ),
    ]
    for (text, problem) in cases {
      #expect(throws: problem) { try Roster(csv: text) }
    }
    // The example shipped for a business line reads, and staffs evenings thinly.
    let example = try Roster(
      csv: String(contentsOf: HelpdeskImportTests.root.appendingPathComponent("examples/roster-line.csv"), encoding: .utf8))
    #expect(example.agents.count == 7 * 14 && example.agents[TimeOfWeek(weekday: 3, hour: 20).index] == 2)
  }
}
