import Foundation
import SightlineModel
import Testing

@testable import MetricsService

/// Business-time KPIs worked by hand (issue 22; docs/kpis.md, "Business hours"): each case
/// is a ticket on its own business line (and channel), read from daily rollups and by a
/// plain scan, on both backends.
@Suite("Business-time KPIs against hand-worked values")
struct BusinessTimeKpiTests {
  static func day(_ date: String) -> Int { LocalTime.parseDate(date)! }
  static func hours(_ from: String, _ to: String) -> [OpenInterval] { [OpenInterval(from, to)!] }

  /// Monday to Friday 09:00–18:00 UTC; Wednesday 4 March a holiday; Sunday 8 March a
  /// make-up working day; from Monday 16 March 10:00–16:00.
  static var office: VersionedCalendar {
    var hours = BusinessHours(timeZone: "UTC", weekly: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, Self.hours("09:00", "18:00")) }))
    hours.holidays = [day("2026-03-04")]
    hours.overrides = [day("2026-03-08"): Self.hours("09:00", "18:00")]
    var calendar = VersionedCalendar(name: "office", hours: hours)
    var later = hours
    later.weekly = Dictionary(uniqueKeysWithValues: (1...5).map { ($0, Self.hours("10:00", "16:00")) })
    calendar.change(fromDay: day("2026-03-16"), to: later)
    return calendar
  }

  static let levels = ServiceLevels(
    calendars: [
      office,
      // A night shift, Monday to Friday 22:00–06:00.
      VersionedCalendar(
        name: "night",
        hours: BusinessHours(timeZone: "UTC", weekly: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, hours("22:00", "06:00")) }))),
      // Open around the clock in New York: business time is elapsed time, 23 h and 25 h days included.
      VersionedCalendar(
        name: "ny",
        hours: BusinessHours(
          timeZone: "America/New_York", weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, hours("00:00", "24:00")) }))),
    ],
    policies: [
      SlaPolicy(name: "night", channels: ["night"], calendar: "night", businessTime: true, firstResponseMs: [.normal: 2 * 3_600_000]),
      SlaPolicy(name: "ny", channels: ["ny"], calendar: "ny", firstResponseMs: [:]),
      SlaPolicy(
        name: "line-A", businessLines: ["A"], businessTime: true, firstResponseMs: [.normal: 3_600_000],
        resolutionMs: [.normal: 8 * 3_600_000]),
      SlaPolicy(name: "line-A-chat", businessLines: ["A"], channels: ["chat"], businessTime: true, firstResponseMs: [.normal: 600_000]),
    ])

  static func fixture(_ backend: TestBackend) throws -> KpiFixture {
    var f = try KpiFixture(backend)
    func ticket(_ id: String, line: String, channel: String = "email", created: String, reply: String?, resolved: String? = nil) throws {
      try f.ticket(id, .created, created, customer: "C-\(id)", line: line, channel: channel)
      if let reply { try f.ticket(id, .agentReply, reply) }
      if let resolved { try f.ticket(id, .resolved, resolved) }
    }
    // Friday 17:55 → Monday 09:10: 5 minutes on Friday, 10 on Monday.
    try ticket("fri-mon", line: "fri-mon", created: "2026-02-27T17:55:00Z", reply: "2026-03-02T09:10:00Z")
    // Created on the Wednesday holiday, answered Thursday 09:30: 30 minutes.
    try ticket("holiday", line: "holiday", created: "2026-03-04T10:00:00Z", reply: "2026-03-05T09:30:00Z")
    // Saturday noon → the make-up Sunday 10:00: one hour.
    try ticket("makeup", line: "makeup", created: "2026-03-07T12:00:00Z", reply: "2026-03-08T10:00:00Z")
    // On the night shift, Monday 21:00 → Tuesday 01:00: 22:00–01:00, three hours.
    try ticket("night", line: "night", channel: "night", created: "2026-03-02T21:00:00Z", reply: "2026-03-03T01:00:00Z")
    // Before opening → answered before opening (0 s, not "no value") → resolved after closing: 9 h.
    try ticket(
      "early-late", line: "early-late", created: "2026-03-03T07:00:00Z", reply: "2026-03-03T08:30:00Z", resolved: "2026-03-03T20:00:00Z")
    // Created Friday under the first version, answered on Monday under the second: the first
    // version's hours throughout (Friday 17–18, Monday 09–11). Created Monday under the second: 10–12.
    try ticket("v1", line: "v1", created: "2026-03-13T17:00:00Z", reply: "2026-03-16T11:00:00Z")
    try ticket("v2", line: "v2", created: "2026-03-16T08:00:00Z", reply: "2026-03-16T12:00:00Z")
    // Line A: 30 business minutes to answer; chat's own policy (10 min) is breached, email's (1 h) met.
    // Email resolves 9 business hours after creation (10:00–18:00, 09:00–10:00): past its 8 h.
    try ticket("a-chat", line: "A", channel: "chat", created: "2026-03-10T10:00:00Z", reply: "2026-03-10T10:30:00Z")
    try ticket("a-email", line: "A", created: "2026-03-10T10:00:00Z", reply: "2026-03-10T10:30:00Z", resolved: "2026-03-11T10:00:00Z")
    // Daylight-saving days in New York, midnight to midnight: 23 h in March, 25 h in November.
    try ticket("dst-short", line: "dst", channel: "ny", created: "2026-03-08T05:00:00Z", reply: nil, resolved: "2026-03-09T04:00:00Z")
    try ticket("dst-long", line: "dst", channel: "ny", created: "2026-11-01T04:00:00Z", reply: nil, resolved: "2026-11-02T05:00:00Z")
    return f
  }

  /// Each line-and-channel's accumulator over February to November.
  static func cells(_ f: KpiFixture, rollups: Bool, now: String = "2026-12-01T00:00:00Z") throws -> [String: KpiAccumulator] {
    let cells = try f.query(
      [.firstResponseTime, .resolutionTime, .slaFirstResponse, .slaResolution], from: "2026-02-01T00:00:00Z",
      to: "2026-11-30T00:00:00Z", groupBy: [.businessLine, .channel], now: now, levels: levels, rollups: rollups)
    return Dictionary(uniqueKeysWithValues: cells.map { ($0.cell.group.joined(separator: "/"), $0.accumulator) })
  }

  @Test("first response and resolution in business time, hand-worked", arguments: TestBackend.all, [true, false])
  func businessDurations(_ backend: TestBackend, rollups: Bool) throws {
    let cells = try Self.cells(try Self.fixture(backend), rollups: rollups)
    func firstResponse(_ group: String) -> Double? { cells[group]?.result(.firstResponseTime, hours: .business).median }
    #expect(firstResponse("fri-mon/email") == 900)
    #expect(cells["fri-mon/email"]?.result(.firstResponseTime).median == 227_700)  // 63 h 15 m
    #expect(firstResponse("holiday/email") == 1_800)
    #expect(firstResponse("makeup/email") == 3_600)
    #expect(firstResponse("night/night") == 10_800)
    #expect(firstResponse("early-late/email") == 0)
    #expect(cells["early-late/email"]?.result(.firstResponseTime, hours: .business).sampleSize == 1)
    #expect(cells["early-late/email"]?.result(.resolutionTime, hours: .business).median == 32_400)
    #expect(firstResponse("v1/email") == 10_800)
    #expect(firstResponse("v2/email") == 7_200)
    let dst = cells["dst/ny"]?.result(.resolutionTime, hours: .business)
    #expect(dst?.sampleSize == 2 && dst?.value == 86_400 && dst?.p90 == 89_280)  // 23 h and 25 h
    #expect(cells["dst/ny"]?.result(.resolutionTime) == dst)
  }

  @Test("SLA judged by the most specific policy, in business time", arguments: TestBackend.all, [true, false])
  func policies(_ backend: TestBackend, rollups: Bool) throws {
    let cells = try Self.cells(try Self.fixture(backend), rollups: rollups)
    // 30 business minutes: breaches chat's 10 min, meets line A's 1 h.
    #expect(cells["A/chat"]?.result(.slaFirstResponse) == KpiResult(value: 0, sampleSize: 1))
    #expect(cells["A/email"]?.result(.slaFirstResponse) == KpiResult(value: 1, sampleSize: 1))
    // Resolved after 9 business hours against 8; chat's policy has no resolution target.
    #expect(cells["A/email"]?.result(.slaResolution) == KpiResult(value: 0, sampleSize: 1))
    #expect(cells["A/chat"]?.result(.slaResolution).sampleSize == 0)
    // The night shift's 3 business hours breach its 2 h. The default policy runs in calendar
    // time (normal: 8 h): Friday to Monday's 63 h breach it, v2's 4 h meet it.
    #expect(cells["night/night"]?.result(.slaFirstResponse) == KpiResult(value: 0, sampleSize: 1))
    #expect(cells["fri-mon/email"]?.result(.slaFirstResponse) == KpiResult(value: 0, sampleSize: 1))
    #expect(cells["v2/email"]?.result(.slaFirstResponse) == KpiResult(value: 1, sampleSize: 1))
    // The default resolution target (normal: 72 h) in calendar time: 13 h met.
    #expect(cells["early-late/email"]?.result(.slaResolution) == KpiResult(value: 1, sampleSize: 1))
  }

  @Test("an unanswered ticket breaches once more business time than its target has passed", arguments: TestBackend.all, [true, false])
  func pendingInBusinessTime(_ backend: TestBackend, rollups: Bool) throws {
    var f = try KpiFixture(backend)
    // Line A's 1 business hour: Friday 17:00 → Monday 09:30 is 1.5 business hours (the
    // Friday's version's hours, 09:00–18:00, throughout).
    try f.ticket("open", .created, "2026-03-13T17:00:00Z", customer: "C1", line: "A", channel: "email")
    func judged(now: String) throws -> KpiResult {
      let cells = try f.query(
        [.slaFirstResponse, .slaResolution], from: "2026-03-13T00:00:00Z", to: "2026-03-14T00:00:00Z", now: now,
        levels: Self.levels, rollups: rollups)
      return cells[0].accumulator.result(.slaFirstResponse)
    }
    // All weekend, and Monday 09:00 itself, only one business hour has passed.
    #expect(try judged(now: "2026-03-16T09:00:00Z").sampleSize == 0)
    #expect(try judged(now: "2026-03-16T09:30:00Z") == KpiResult(value: 0, sampleSize: 1))
  }

  @Test("calendars and policies survive the stored form") func storedForm() throws {
    let stored = try ServiceLevels(calendarsDocument: Self.levels.calendarsDocument, policiesDocument: Self.levels.policiesDocument)
    #expect(stored == Self.levels)
    #expect(stored.fingerprint == Self.levels.fingerprint)
    #expect(ServiceLevels.none.calendarsDocument == nil)
  }

  @Test("a policy naming an unknown calendar, or business time without one, is refused by field") func badLevels() {
    var levels = Self.levels
    levels.policies[0].calendar = "nowhere"
    #expect(levels.problem?.field == "policies[0].calendar")
    levels = ServiceLevels(policies: [SlaPolicy(name: "x", businessTime: true, firstResponseMs: [.normal: 1])])
    #expect(levels.problem?.field == "policies[0].business_time")
    levels = Self.levels
    levels.calendars.append(levels.calendars[0])
    #expect(levels.problem?.reason.contains("exists") == true)
  }

  @Test("the policy CSV reads line by line and names a bad field") func policyFile() throws {
    let policies = try HoursText.policies(
      csv: """
        name,business_lines,channels,calendar,hours,priority,first_response,resolution
        vip,L01;L02,phone,office,business,urgent,30m,4h
        vip,L01;L02,phone,office,business,normal,2h,
        """)
    #expect(policies.count == 1)
    #expect(policies[0].businessLines == ["L01", "L02"] && policies[0].businessTime && policies[0].calendar == "office")
    #expect(policies[0].firstResponseMs == [.urgent: 1_800_000, .normal: 7_200_000])
    #expect(policies[0].resolutionMs == [.urgent: 14_400_000])
    #expect(throws: Roster.Problem(line: 2, column: "hours", reason: "'open' is not business or calendar")) {
      try HoursText.policies(csv: "name,business_lines,channels,calendar,hours,priority,first_response,resolution\nx,,,,open,all,1h,")
    }
    #expect(try HoursText.weekly("mon-fri 09:00-18:00").get().keys.sorted() == [1, 2, 3, 4, 5])
    #expect(throws: HoursText.SpecError.self) { try HoursText.weekly("fri-mon 09:00-18:00").get() }
  }
}
