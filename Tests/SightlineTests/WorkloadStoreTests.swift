import Foundation
import SightlineModel
import Testing

@testable import MetricsService

/// The workload's reads over a real metrics store, on both backends: weekday and hour of
/// day cut in the tenant's zone, backlog by hour against the KPI engine's, and the
/// workload settings kept beside the KPI settings.
@Suite("Workload: the store")
struct WorkloadStoreTests {
  /// Tickets every 90 minutes over 2026-03-02..08 (UTC), lines L1/L2 alternating, each
  /// resolved 5 hours later; the last 10 never.
  static func fixture(_ backend: TestBackend) throws -> (KpiFixture, [Int64]) {
    var f = try KpiFixture(backend)
    var created: [Int64] = []
    let start = KpiFixture.ms("2026-03-02T00:00:00Z")
    for i in 0..<112 {
      let at = start + Int64(i) * 5_400_000
      created.append(at)
      try f.ticket("T\(i)", .created, RFC3339.format(milliseconds: at), customer: "C\(i)", line: i % 2 == 0 ? "L1" : "L2")
      if i < 102 { try f.ticket("T\(i)", .resolved, RFC3339.format(milliseconds: at + 5 * 3_600_000)) }
    }
    return (f, created)
  }

  @Test("weekday and hour of day are read in the tenant's zone, grouped or filtered beside stored dimensions", arguments: TestBackend.all)
  func timeOfWeekDimensions(_ backend: TestBackend) throws {
    let (f, created) = try Self.fixture(backend)
    let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    let cells = try f.query(
      [.volume], from: "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z", timeZone: "Asia/Shanghai",
      groupBy: [.businessLine, .weekday, .hourOfDay])
    var expected: [[String]: Double] = [:]
    for (i, at) in created.enumerated() {
      let time = TimeOfWeek(milliseconds: at, zone: shanghai)
      expected[[i % 2 == 0 ? "L1" : "L2", time.weekdayValue, time.hourValue], default: 0] += 1
    }
    let found = Dictionary(uniqueKeysWithValues: cells.map { ($0.cell.group, $0.accumulator.result(.volume).value) })
    #expect(found == expected)
    // A filter on the hour keeps the tickets of that local hour only.
    let morning = try f.query(
      [.volume], from: "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z", timeZone: "Asia/Shanghai",
      filters: [.hourOfDay: ["09", "10"], .businessLine: ["L1"]])
    let inMorning = created.enumerated().filter { i, at in
      i % 2 == 0 && [9, 10].contains(TimeOfWeek(milliseconds: at, zone: shanghai).hour)
    }
    #expect(morning.map { $0.accumulator.result(.volume).value } == [Double(inMorning.count)])
  }

  @Test("an answer is cut by the hour its ticket came in; one without a ticket by its own time", arguments: TestBackend.all)
  func answersAreCutByTheirServiceTime(_ backend: TestBackend) throws {
    var f = try KpiFixture(backend)
    // Monday 20:15 in Shanghai; answered on Tuesday at 10:00 (a 1) and 11:00 (a 5, no ticket).
    try f.ticket("T1", .created, "2026-03-02T12:15:00Z", customer: "C1")
    try f.survey(.csat, 1, "2026-03-03T02:00:00Z", ticket: "T1")
    try f.survey(.csat, 5, "2026-03-03T03:00:00Z")
    // An answer to a ticket created before the range still counts, at its ticket's hour.
    try f.ticket("T0", .created, "2026-02-20T01:30:00Z", customer: "C0")
    try f.survey(.csat, 4, "2026-03-03T04:00:00Z", ticket: "T0")
    let cells = try f.query(
      [.csat], from: "2026-03-03T00:00:00Z", to: "2026-03-04T00:00:00Z", timeZone: "Asia/Shanghai", groupBy: [.weekday, .hourOfDay])
    let found = Dictionary(
      uniqueKeysWithValues: cells.map {
        ($0.cell.group, [$0.accumulator.result(.csat).value, Double($0.accumulator.result(.csat).sampleSize)])
      })
    #expect(found == [["1", "20"]: [0, 1], ["2", "11"]: [1, 1], ["5", "09"]: [1, 1]])
    // Grouped by the ticket's own dimensions as before, and not by time: one cell.
    let all = try f.query([.csat], from: "2026-03-03T00:00:00Z", to: "2026-03-04T00:00:00Z", timeZone: "Asia/Shanghai")
    #expect(all.first?.accumulator.result(.csat).sampleSize == 3)
  }

  @Test("backlog at the end of each hour equals the KPI engine's backlog of that hour", arguments: TestBackend.all)
  func hourlyBacklogAgreesWithTheEngine(_ backend: TestBackend) throws {
    let (f, _) = try Self.fixture(backend)
    let now = KpiFixture.ms("2026-03-09T06:30:00Z")
    var settings = try f.store.settings()
    settings.timeZone = "Asia/Shanghai"
    let engine = KpiEngine(store: f.store, settings: settings, nowMs: now, buildLock: RollupBuildLock())
    let reads = WorkloadReads(engine: engine)
    let (start, end) = (KpiFixture.ms("2026-03-03T00:00:00Z"), KpiFixture.ms("2026-03-09T12:00:00Z"))
    let hourly = try reads.hourlyBacklog(from: start, to: end, filters: [:])
    // Hours that have not ended by now have no backlog yet.
    #expect(hourly.count == Int((KpiFixture.ms("2026-03-09T06:00:00Z") - start) / 3_600_000))
    for (hourStart, open) in hourly where hourStart % (7 * 3_600_000) == 0 {
      // The engine's backlog at the end of a one-hour range.
      let buckets = try CalendarBuckets(startMs: hourStart, endMs: hourStart + 3_600_000, interval: .all, timeZone: "UTC")
      let reference = try engine.compute(kpis: [.backlog], buckets: buckets, filters: [:], groupBy: [])
      #expect(Double(open) == reference[0].accumulator.result(.backlog).value, "\(RFC3339.format(milliseconds: hourStart))")
    }
    #expect(hourly.last!.open >= 10)
  }

  @Test("workload settings survive a write and a read, an empty set of live channels included", arguments: TestBackend.all)
  func workloadSettingsRoundTrip(_ backend: TestBackend) throws {
    let (f, _) = try Self.fixture(backend)
    var settings = try f.store.settings()
    #expect(settings.workload == WorkloadSettings())
    settings.workload = WorkloadSettings(
      handleSeconds: ["phone": 290.5, "电话": 300], liveChannels: ["phone", "电话"],
      targets: StaffingTargets(serviceLevel: 0.9, answerWithinSeconds: 15, maxOccupancy: 0.8, shrinkage: 0),
      roster: [0: 3, 9: 4.5, 167: 0])
    let fingerprint = settings.fingerprint
    try f.store.setSettings(settings)
    #expect(try f.store.settings().workload == settings.workload)
    #expect(try f.store.settings().fingerprint == fingerprint)
    settings.workload.liveChannels = []
    try f.store.setSettings(settings)
    #expect(try f.store.settings().workload.liveChannels.isEmpty)
  }

  @Test(
    "replies' handle times are summed per ticket, a reply before its ticket included, and measured per channel", arguments: TestBackend.all)
  func handleTimesAreFoldedAndMeasured(_ backend: TestBackend) throws {
    var f = try KpiFixture(backend)
    // A reply that arrives before its ticket's `created` event still counts.
    try f.ticket("T2", .agentReply, "2026-03-02T10:05:00Z", channel: "phone", handleMs: 30_000)
    try f.ticket("T1", .created, "2026-03-02T09:00:00Z", customer: "C1", line: "L1", channel: "phone")
    try f.ticket("T1", .agentReply, "2026-03-02T09:10:00Z", handleMs: 120_000)
    try f.ticket("T1", .agentReply, "2026-03-02T09:30:00Z", handleMs: 60_500)
    try f.ticket("T2", .created, "2026-03-02T10:00:00Z", customer: "C2", line: "L2", channel: "phone")
    // A reply without a handle time leaves its ticket unmeasured, not at zero.
    try f.ticket("T3", .created, "2026-03-02T11:00:00Z", customer: "C3", line: "L1", channel: "phone")
    try f.ticket("T3", .agentReply, "2026-03-02T11:20:00Z")
    try f.ticket("T4", .created, "2026-03-02T12:00:00Z", customer: "C4", line: "L1", channel: "email")
    try f.ticket("T4", .agentReply, "2026-03-03T08:00:00Z", handleMs: 600_000)
    let engine = KpiEngine(
      store: f.store, settings: try f.store.settings(), nowMs: KpiFixture.ms("2026-03-05T00:00:00Z"), buildLock: RollupBuildLock())
    let reads = WorkloadReads(engine: engine)
    let (start, end) = (KpiFixture.ms("2026-03-02T00:00:00Z"), KpiFixture.ms("2026-03-03T00:00:00Z"))
    let all = try reads.measuredHandleTimes(from: start, to: end, filters: [:])
    #expect(all.mapValues { [Int64($0.tickets), $0.totalMs] } == ["phone": [2, 210_500], "email": [1, 600_000]])
    let lineOne = try reads.measuredHandleTimes(from: start, to: end, filters: [.businessLine: ["L1"]])
    #expect(lineOne.mapValues { [Int64($0.tickets), $0.totalMs] } == ["phone": [1, 180_500], "email": [1, 600_000]])
    // Replies with handle times are replies as before: first responses of 10 min, 5 min,
    // 20 min and 20 h.
    let frt = try f.query([.firstResponseTime], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z")
    let mean = try #require(frt.first?.accumulator.result(.firstResponseTime).value)
    #expect(abs(mean - (600 + 300 + 1_200 + 72_000) / 4) < 1e-9, "\(mean)")
  }

  @Test("a measured handle time replaces the setting from 30 tickets on; a channel with neither is missing")
  func measuredHandleTimesReplaceTheSetting() {
    let settings = WorkloadSettings(handleSeconds: ["phone": 300, "email": 600])
    let times = settings.handleTimes(measured: [
      "phone": (tickets: 29, totalMs: 29 * 100_000), "email": (tickets: 30, totalMs: 30 * 450_500),
      "sms": (tickets: 40, totalMs: 40 * 60_000),
    ])
    #expect(times["phone"] == HandleTime(seconds: 300, measuredTickets: 0))
    #expect(times["email"] == HandleTime(seconds: 450.5, measuredTickets: 30))
    #expect(times["sms"] == HandleTime(seconds: 60, measuredTickets: 40))
    #expect(settings.handleTimes(measured: [:]).keys.sorted() == ["email", "phone"])
    #expect(WorkloadSettings().handleTimes(measured: ["chat": (tickets: 3, totalMs: 9_000)]).isEmpty)
  }

  @Test("staffing gaps: consecutive hours short by the threshold or more make one run, keyed by its local start")
  func staffingGapsAreRunsOfShortHours() {
    let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    let start = KpiFixture.ms("2026-03-02T10:00:00Z")  // Monday 18:00 in Shanghai
    let hour: Int64 = 3_600_000
    let hours = [(5.0, 4.0), (7, 4), (9, 4), (6, 4), (4, 4), (8, 4), (8, 4)].enumerated().map {
      (startMs: start + Int64($0.offset) * hour, needed: $0.element.0, rostered: $0.element.1)
    }
    let gaps = StaffingGapAlerts.gaps(hours, threshold: 2, zone: shanghai)
    // 19:00-22:00 (short by 3, 5 and 2: exactly the threshold counts), then 23:00-01:00.
    #expect(gaps.map(\.key) == ["2026-03-02 19:00", "2026-03-02 23:00"])
    #expect(gaps.map { ($0.endMs - $0.startMs) / hour } == [3, 2])
    #expect(gaps[0].shortfall == 5 && gaps[0].needed == 9 && gaps[0].rostered == 4)
    let rule = AlertRuleRecord(
      id: "r", name: "evenings", kpi: .volume, by: nil, windowMs: 7 * 86_400_000, comparison: .greater, threshold: 2,
      anomaly: false, minSample: 0, kind: .staffingGap)
    #expect(
      StaffingGapAlerts.message(gaps[0], rule: rule, zone: shanghai)
        == "Mon 2026-03-02 19:00–22:00 (Asia/Shanghai) needs 5 more agents than the roster has (9.0 needed, 4 rostered at the worst hour; rule evenings)"
    )
    #expect(StaffingGapAlerts.gaps(hours, threshold: 6, zone: shanghai).isEmpty)
  }

  @Test("a staffing-gap rule is evaluated again when the hour turns, the workload settings change or 15 minutes pass")
  func staffingGapCadence() throws {
    let cadence = StaffingGapCadence()
    let tenant = try #require(TenantID("acme"))
    let rule = AlertRuleRecord(
      id: "r", name: "gap", kpi: .volume, by: nil, windowMs: 86_400_000, comparison: .greater, threshold: 1, anomaly: false,
      minSample: 0, kind: .staffingGap)
    var settings = KpiSettings.defaults
    let t0 = KpiFixture.ms("2026-03-02T10:00:00Z")
    #expect(cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0))
    #expect(!cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0 + 60_000))
    #expect(cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0 + 15 * 60_000))
    settings.workload.roster = [3: 2]
    #expect(cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0 + 16 * 60_000))
    #expect(!cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0 + 17 * 60_000))
    #expect(cadence.due(tenant: tenant, rule: rule, settings: settings, nowMs: t0 + 60 * 60_000))
  }

  @Test("a channel too new to forecast gets its mean per hour of the week since its first arrival")
  func hourOfWeekMeansFromTheFirstArrival() {
    // Ten silent days, then 3 arrivals at every hour 10 and 1 at hour 11 for five days.
    let slots = (0..<(15 * 24)).map { $0 % 168 }
    let counts = slots.indices.map { index -> Double in
      guard index >= 10 * 24 else { return 0 }
      return index % 24 == 10 ? 3 : index % 24 == 11 ? 1 : 0
    }
    let means = MetricsProvider.hourOfWeekMeans(counts: counts, slots: slots, for: [10, 11, 12, 24 * 5 + 10])
    // Days 10-14 fall on the hours of the week 72-167 and 0-23; slot 130 is day 12 at 10:00.
    #expect(means == [3, 1, 0, 3])
  }
}
