import Foundation
import SightlineDemo
import SightlineModel
import Testing

/// Business hours (issue 22's foundation): hand-worked durations and a property test of
/// the cumulative open-time function against a minute-by-minute walk.
struct BusinessHoursTests {
  static func ms(_ text: String) -> Int64 { RFC3339.parseMilliseconds(text)! }
  static func day(_ date: String) -> Int { LocalTime.parseDate(date)! }
  static func hours(_ from: String, _ to: String) -> OpenInterval { OpenInterval(from, to)! }

  /// Monday to Friday 09:00–18:00 in Shanghai.
  static let office = BusinessHours(
    timeZone: "Asia/Shanghai", weekly: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, [hours("09:00", "18:00")]) }))

  static func open(_ hours: BusinessHours, _ from: String, _ to: String) throws -> Int64 {
    let time = try #require(OpenTime(hours: hours, fromMs: ms(from), toMs: ms(to)))
    return time.openMs(from: ms(from), to: ms(to)) / 1000
  }

  @Test func handWorkedDurations() throws {
    // Friday 17:55 to Monday 09:10 (Shanghai): 5 minutes on Friday, 10 on Monday.
    #expect(try Self.open(Self.office, "2026-03-06T09:55:00Z", "2026-03-09T01:10:00Z") == 15 * 60)
    // Created on a holiday (Wednesday 4 March) at 10:00, answered Thursday 09:30: 30 minutes.
    var holiday = Self.office
    holiday.holidays = [Self.day("2026-03-04")]
    #expect(try Self.open(holiday, "2026-03-04T02:00:00Z", "2026-03-05T01:30:00Z") == 30 * 60)
    // A make-up Sunday (8 March, 09:00–18:00): Saturday 12:00 to Sunday 10:00 is one hour.
    var makeUp = Self.office
    makeUp.overrides = [Self.day("2026-03-08"): [Self.hours("09:00", "18:00")]]
    #expect(try Self.open(makeUp, "2026-03-07T04:00:00Z", "2026-03-08T02:00:00Z") == 3_600)
    #expect(try Self.open(Self.office, "2026-03-07T04:00:00Z", "2026-03-08T02:00:00Z") == 0)
    // A night shift, Monday 22:00–06:00, beside the day hours: Monday 23:00 to Tuesday
    // 09:30 is 7 hours of night and 30 minutes of day.
    var night = Self.office
    night.weekly[1]!.append(Self.hours("22:00", "06:00"))
    #expect(night.problem == nil)
    #expect(try Self.open(night, "2026-03-02T15:00:00Z", "2026-03-03T01:30:00Z") == 7 * 3_600 + 30 * 60)
    // The night shift does not run into a holiday.
    night.holidays = [Self.day("2026-03-03")]
    #expect(try Self.open(night, "2026-03-02T15:00:00Z", "2026-03-03T01:30:00Z") == 3_600)
    // Created before opening and answered after closing on the same day: the whole 9 hours.
    #expect(try Self.open(Self.office, "2026-03-02T23:00:00Z", "2026-03-03T12:00:00Z") == 9 * 3_600)
    // Wholly outside open hours: 0, not "no value".
    #expect(try Self.open(Self.office, "2026-03-07T02:00:00Z", "2026-03-07T03:00:00Z") == 0)
  }

  /// DOMAIN.md's order: a date's own hours win over a holiday, and may cross midnight into
  /// a plain weekday (whose own night-shift tail is not cut); a holiday cuts the tail of
  /// the night before.
  @Test func aDatesOwnHoursWinAndMayCrossMidnight() throws {
    var hours = Self.office
    let sunday = Self.day("2026-03-08")
    hours.holidays = [sunday]
    hours.overrides = [sunday: [Self.hours("20:00", "02:00")]]
    // Sunday 20:00 to Monday 10:00 (Shanghai): 4 h on Sunday night, Monday's 2 h tail,
    // then Monday 09:00–10:00.
    #expect(try Self.open(hours, "2026-03-08T12:00:00Z", "2026-03-09T02:00:00Z") == 7 * 3_600)
    #expect(hours.openMinutes(ofDay: sunday + 1) == [0..<120, 540..<1_080])
  }

  @Test func daylightSavingDaysHaveTheirOwnLength() throws {
    let always = BusinessHours(
      timeZone: "America/New_York", weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [Self.hours("00:00", "24:00")]) }))
    // Saturday 12:00 to Monday 12:00 across the 23-hour 8 March 2026 (EST → EDT).
    #expect(try Self.open(always, "2026-03-07T17:00:00Z", "2026-03-09T16:00:00Z") == 47 * 3_600)
    // Across the 25-hour 1 November 2026 (EDT → EST).
    #expect(try Self.open(always, "2026-10-31T16:00:00Z", "2026-11-02T17:00:00Z") == 49 * 3_600)
    // 01:00–03:00 local on the short day holds one real hour, on the long day three.
    let early = BusinessHours(timeZone: "America/New_York", weekly: [7: [Self.hours("01:00", "03:00")]])
    #expect(try Self.open(early, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z") == 3_600)
    #expect(try Self.open(early, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z") == 3 * 3_600)
  }

  @Test func badHoursAreNamed() {
    var hours = Self.office
    hours.timeZone = "Mars/Olympus"
    #expect(hours.problem?.field == "time_zone")
    hours = Self.office
    hours.weekly[2] = [Self.hours("09:00", "12:00"), Self.hours("11:00", "14:00")]
    #expect(hours.problem == BusinessHours.Problem(field: "weekly[2][1]", reason: "overlaps weekly[2][0]"))
    hours = Self.office
    hours.weekly[1]!.append(Self.hours("22:00", "10:00"))  // its morning overlaps Tuesday 09:00
    #expect(hours.problem?.field == "weekly[2][0]")
    hours = Self.office
    hours.overrides = [Self.day("2026-03-08"): [Self.hours("18:00", "18:00")]]
    #expect(hours.problem?.field == "overrides[2026-03-08][0]")
    #expect(hours.problem?.reason.contains("empty") == true)
    hours.overrides = [Self.day("2026-03-08"): [Self.hours("20:00", "02:00"), Self.hours("21:00", "22:00")]]
    #expect(hours.problem?.field == "overrides[2026-03-08][1]")
    hours = Self.office
    hours.weekly[8] = []
    #expect(hours.problem?.field == "weekly[8]")
    #expect(OpenInterval("9:00", "24:00") != nil && OpenInterval("24:00", "01:00") == nil && OpenInterval("09:60", "10:00") == nil)
  }

  /// The shipped 2026 schedule: 33 days off and 6 make-up working days, all on weekends,
  /// and the durations across the Spring Festival on an office calendar that imports it.
  @Test func theChinaScheduleImportsAndOpensItsMakeUpDays() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("examples/china-2026-holidays.ics")
    let days = try ICalendarDays.parse(String(contentsOf: url, encoding: .utf8))
    let holidays = days.filter { $0.kind == .holiday }, workdays = days.filter { $0.kind == .workday }
    #expect(holidays.count == 33 && Set(holidays.map(\.day)).count == 33)
    #expect(
      workdays.map { LocalTime.dateText(day: $0.day) } == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
      ])
    #expect(workdays.allSatisfy { BusinessHours.weekday(ofDay: $0.day) >= 6 })
    var office = Self.office
    office.add(days, workdayHours: [Self.hours("09:00", "18:00")])
    #expect(office.problem == nil)
    // Friday 13 February 17:00 to the make-up Saturday 14th 10:00: an hour each day.
    #expect(try Self.open(office, "2026-02-13T09:00:00Z", "2026-02-14T02:00:00Z") == 2 * 3_600)
    // Saturday 14th 17:00 to Tuesday 24th 09:30, over the nine days off: 90 minutes.
    #expect(try Self.open(office, "2026-02-14T09:00:00Z", "2026-02-24T01:30:00Z") == 90 * 60)
  }

  /// The demo tenant's calendar carries the shipped 2026 schedule, date for date.
  @Test func theDemoCalendarIsTheShippedSchedule() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("examples/china-2026-holidays.ics")
    let days = try ICalendarDays.parse(String(contentsOf: url, encoding: .utf8))
    let hours = DemoScenario.officeCalendar.versions[0].hours
    #expect(hours.holidays == Set(days.filter { $0.kind == .holiday }.map(\.day)))
    #expect(Set(hours.overrides.keys) == Set(days.filter { $0.kind == .workday }.map(\.day)))
    #expect(hours.problem == nil && hours.timeZone == DemoScenario.timeZone)
  }

  @Test func aBadCalendarFileIsNamedByItsLine() {
    func problem(_ text: String) -> ICalendarDays.ParseError? {
      do {
        _ = try ICalendarDays.parse(text)
        return nil
      } catch { return error }
    }
    let event = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261001\n"
    #expect(problem(event + "this line has no colon\nEND:VEVENT\nEND:VCALENDAR")?.line == 4)
    #expect(problem("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261001T090000\nEND:VEVENT\nEND:VCALENDAR")?.line == 3)
    #expect(problem(event + "DTEND;VALUE=DATE:20260930\nEND:VEVENT\nEND:VCALENDAR")?.reason.contains("not after") == true)
    #expect(problem(event + "END:VCALENDAR")?.line == 2)
    #expect(problem("BEGIN:VEVENT\nEND:VEVENT")?.reason.contains("not an iCalendar") == true)
    // A folded summary is one line; a one-day event without DTEND is that day.
    let folded = try? ICalendarDays.parse(event + "SUMMARY:National\n  Day 补\n 班\nEND:VEVENT\nEND:VCALENDAR")
    #expect(folded == [ICalendarDays.Day(kind: .workday, day: LocalTime.parseDate("2026-10-01")!, summary: "National Day 补班")])
  }

  /// A change of hours from a date on measures tickets created from then on with the new
  /// hours; one created the day before keeps the old ones, even for its later reply.
  @Test func aCalendarVersionGovernsTheTicketsCreatedUnderIt() throws {
    var calendar = VersionedCalendar(name: "support", hours: Self.office)
    var longer = Self.office
    longer.weekly[2] = [Self.hours("08:00", "20:00")]  // Tuesdays from 10 March: 08:00-20:00
    calendar.change(fromDay: Self.day("2026-03-10"), to: longer)
    let zone = try #require(TimeZone(identifier: "Asia/Shanghai"))
    func business(created: String, answered: String) throws -> Int64 {
      let hours = calendar.hours(onDay: LocalTime.day(milliseconds: Self.ms(created), zone: zone))
      return try Self.open(hours, created, answered)
    }
    // Created Monday 9 March 19:00, answered Tuesday 10 March 08:30: the old Tuesday opens at 09:00.
    #expect(try business(created: "2026-03-09T11:00:00Z", answered: "2026-03-10T00:30:00Z") == 0)
    // Created Tuesday 10 March 07:00, answered 08:30: the new Tuesday has been open since 08:00.
    #expect(try business(created: "2026-03-09T23:00:00Z", answered: "2026-03-10T00:30:00Z") == 30 * 60)
    #expect(calendar.hours(onDay: Self.day("2020-01-01")) == Self.office)
  }

  /// The most specific policy wins, ties by order; no match falls back to the plain targets.
  @Test func theMostSpecificPolicyWins() {
    let hour: Int64 = 3_600_000
    let fallback = SlaPolicy(name: "default", firstResponseMs: [.normal: 24 * hour])
    let policies = [
      SlaPolicy(name: "L1", businessLines: ["L1"], calendar: "office", firstResponseMs: [.normal: 4 * hour]),
      SlaPolicy(name: "phone", channels: ["phone"], firstResponseMs: [.normal: hour]),
      SlaPolicy(name: "L1 phone", businessLines: ["L1"], channels: ["phone"], calendar: "office", firstResponseMs: [.normal: 30 * 60_000]),
      SlaPolicy(name: "L1 again", businessLines: ["L1"], firstResponseMs: [.normal: 2 * hour]),
    ]
    #expect(SlaPolicy.match(policies, businessLine: "L1", channel: "phone", fallback: fallback).name == "L1 phone")
    #expect(SlaPolicy.match(policies, businessLine: "L1", channel: "email", fallback: fallback).name == "L1")
    #expect(SlaPolicy.match(policies, businessLine: "L2", channel: "phone", fallback: fallback).name == "phone")
    #expect(SlaPolicy.match(policies, businessLine: "L2", channel: "email", fallback: fallback).name == "default")
  }

  /// For random calendars and random spans, the cumulative function equals a walk that
  /// asks of every minute whether it is open.
  @Test(arguments: ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"])
  func cumulativeEqualsAMinuteWalk(zone name: String) throws {
    // Seeded by the zone's name, so a failing calendar comes back on every run.
    var seeded = SeededRandom(seed: name.utf8.reduce(UInt64(17)) { $0 &* 31 &+ UInt64($1) })
    let zone = try #require(TimeZone(identifier: name))
    var checked = 0
    while checked < 12 {
      var weekly: [Int: [OpenInterval]] = [:]
      for weekday in 1...7 where seeded.next() % 4 != 0 {
        let start = Int(seeded.next() % 48) * 30
        let length = 30 + Int(seeded.next() % 40) * 30
        weekly[weekday] = [
          OpenInterval(startMinute: start, endMinute: (start + length) % 1_440 == start ? start + 1 : (start + length) % 1_440)
        ]
        if seeded.next() % 3 == 0, (start + length) < 1_400 {
          let second = start + length + 15
          weekly[weekday]!.append(OpenInterval(startMinute: second, endMinute: min(1_440, second + 45)))
        }
      }
      // Spans around both of 2026's changes of offset, with holidays and a date of its own.
      let base = Self.ms(seeded.next() % 2 == 0 ? "2026-03-05T00:00:00Z" : "2026-10-22T00:00:00Z")
      let startDay = LocalTime.day(milliseconds: base, zone: zone)
      var hours = BusinessHours(timeZone: name, weekly: weekly)
      hours.holidays = [startDay + Int(seeded.next() % 8)]
      hours.overrides = [startDay + Int(seeded.next() % 8): [OpenInterval(startMinute: 600, endMinute: 660)]]
      guard hours.problem == nil else { continue }
      checked += 1
      let from = base + Int64(seeded.next() % (3 * 1_440)) * 60_000
      let to = from + Int64(seeded.next() % (8 * 1_440)) * 60_000
      let time = try #require(OpenTime(hours: hours, fromMs: from, toMs: to))
      var walked: Int64 = 0
      for minute in stride(from: from, to: to, by: 60_000) where OpenTime.isOpen(hours, at: minute, zone: zone) { walked += 60_000 }
      #expect(time.openMs(from: from, to: to) == walked, "\(name) \(weekly) from \(from) to \(to)")
    }
  }
}
