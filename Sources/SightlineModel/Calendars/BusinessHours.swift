public import Foundation

/// Opening hours on a local day, in minutes since local midnight: [start, end). An interval
/// whose end is not after its start crosses midnight (a 22:00–06:00 night shift runs into
/// the next day) and belongs to the date it starts on.
public struct OpenInterval: Sendable, Hashable, Codable {
  public var startMinute: Int
  public var endMinute: Int

  /// An interval from its parts.
  public init(startMinute: Int, endMinute: Int) {
    self.startMinute = startMinute
    self.endMinute = endMinute
  }

  /// `09:00`–`18:00` as minutes; nil when either is not a time of day (`24:00` ends one).
  public init?(_ start: String, _ end: String) {
    guard let start = Self.minute(start), start < 1_440, let end = Self.minute(end) else { return nil }
    self.init(startMinute: start, endMinute: end)
  }

  /// Whether it runs past midnight into the next day.
  public var crossesMidnight: Bool { endMinute <= startMinute }

  /// "HH:MM" (or "H:MM") as minutes since midnight, 0...1440.
  public static func minute(_ text: String) -> Int? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2, let hour = Int(parts[0]),
      let minute = Int(parts[1]), (0...24).contains(hour), (0..<60).contains(minute), hour < 24 || minute == 0
    else { return nil }
    return hour * 60 + minute
  }

  /// "HH:MM".
  public static func text(_ minute: Int) -> String {
    (minute / 60 < 10 ? "0" : "") + "\(minute / 60):" + (minute % 60 < 10 ? "0" : "") + "\(minute % 60)"
  }
}

/// When a service desk is open, in its own zone (docs/kpis.md, "Business hours"): weekly
/// opening intervals (several per weekday, possibly across midnight), holidays (whole
/// local dates, closed) and dates with hours of their own (a make-up working Sunday, a
/// half day). A date's own hours win over a holiday, a holiday over the weekly pattern. A
/// date that is a holiday or has hours of its own is governed by them alone: a night shift
/// of the day before does not run into it; its own intervals may cross into the next day.
public struct BusinessHours: Sendable, Equatable {
  /// IANA zone.
  public var timeZone: String
  /// ISO weekday (1 = Monday … 7 = Sunday) → its opening intervals.
  public var weekly: [Int: [OpenInterval]]
  /// Closed local dates, as days since 1970-01-01 (``LocalTime/parseDate(_:)``).
  public var holidays: Set<Int>
  /// Local dates with hours of their own (empty: closed), as days since 1970-01-01.
  public var overrides: [Int: [OpenInterval]]

  /// Hours from their parts.
  public init(timeZone: String, weekly: [Int: [OpenInterval]], holidays: Set<Int> = [], overrides: [Int: [OpenInterval]] = [:]) {
    self.timeZone = timeZone
    self.weekly = weekly
    self.holidays = holidays
    self.overrides = overrides
  }

  /// What is wrong with the hours, naming the field; nil when they hold.
  public struct Problem: Error, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "\(field): \(reason)" }

    public init(field: String, reason: String) {
      self.field = field
      self.reason = reason
    }
  }

  /// The first problem: an unknown zone, a weekday outside 1–7, an interval outside the
  /// day or empty, or intervals that overlap (a night shift's morning included).
  public var problem: Problem? {
    if TimeZone(identifier: timeZone) == nil { return Problem(field: "time_zone", reason: "'\(timeZone)' is not an IANA time zone") }
    // Each weekday's minutes of the week, a crossing interval's morning on the next day.
    var weekMinutes: [(range: Range<Int>, field: String)] = []
    for weekday in weekly.keys.sorted() {
      guard (1...7).contains(weekday) else { return Problem(field: "weekly[\(weekday)]", reason: "a weekday is 1 (Monday) to 7 (Sunday)") }
      for (index, interval) in weekly[weekday]!.enumerated() {
        let field = "weekly[\(weekday)][\(index)]"
        if let problem = Self.bounds(interval, field: field) { return problem }
        guard interval.startMinute != interval.endMinute else {
          return Problem(field: field, reason: "starts and ends at \(OpenInterval.text(interval.startMinute)): it is empty")
        }
        let start = (weekday - 1) * 1_440 + interval.startMinute
        if interval.crossesMidnight {
          weekMinutes.append((start..<weekday * 1_440, field))
          let morning = (weekday % 7) * 1_440
          if interval.endMinute > 0 { weekMinutes.append((morning..<morning + interval.endMinute, field)) }
        } else {
          weekMinutes.append((start..<(weekday - 1) * 1_440 + interval.endMinute, field))
        }
      }
    }
    if let overlap = Self.firstOverlap(weekMinutes) { return overlap }
    for day in overrides.keys.sorted() {
      let date = LocalTime.dateText(day: day)
      var ranges: [(range: Range<Int>, field: String)] = []
      for (index, interval) in overrides[day]!.enumerated() {
        let field = "overrides[\(date)][\(index)]"
        if let problem = Self.bounds(interval, field: field) { return problem }
        guard interval.startMinute != interval.endMinute else {
          return Problem(field: field, reason: "starts and ends at \(OpenInterval.text(interval.startMinute)): it is empty")
        }
        ranges.append((interval.startMinute..<(interval.crossesMidnight ? 1_440 + interval.endMinute : interval.endMinute), field))
      }
      if let overlap = Self.firstOverlap(ranges) { return overlap }
    }
    return nil
  }

  private static func bounds(_ interval: OpenInterval, field: String) -> Problem? {
    guard (0..<1_440).contains(interval.startMinute), (0...1_440).contains(interval.endMinute) else {
      return Problem(field: field, reason: "times are 00:00 to 24:00")
    }
    return nil
  }

  private static func firstOverlap(_ ranges: [(range: Range<Int>, field: String)]) -> Problem? {
    let sorted = ranges.sorted { $0.range.lowerBound < $1.range.lowerBound }
    for (previous, next) in zip(sorted, sorted.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
      return Problem(field: next.field, reason: "overlaps \(previous.field)")
    }
    return nil
  }

  /// The ISO weekday of a local day (day 0, 1970-01-01, was a Thursday).
  public static func weekday(ofDay day: Int) -> Int { ((day + 3) % 7 + 7) % 7 + 1 }

  /// The open minutes of local `day`, sorted and disjoint, each within [0, 1440).
  public func openMinutes(ofDay day: Int) -> [Range<Int>] {
    var ranges = intervals(startingOn: day).map { $0.startMinute..<($0.crossesMidnight ? 1_440 : $0.endMinute) }
    // The morning of a night shift that started the day before, unless this date is a
    // holiday or has hours of its own.
    if overrides[day] == nil && !holidays.contains(day) {
      for interval in intervals(startingOn: day - 1) where interval.crossesMidnight && interval.endMinute > 0 {
        ranges.append(0..<interval.endMinute)
      }
    }
    return Self.union(ranges)
  }

  /// The intervals that start on local `day`: its own hours, none on a holiday, else the
  /// weekday's.
  func intervals(startingOn day: Int) -> [OpenInterval] {
    if let own = overrides[day] { return own }
    if holidays.contains(day) { return [] }
    return weekly[Self.weekday(ofDay: day)] ?? []
  }

  private static func union(_ ranges: [Range<Int>]) -> [Range<Int>] {
    var merged: [Range<Int>] = []
    for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !range.isEmpty {
      if let last = merged.last, range.lowerBound <= last.upperBound {
        merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
      } else {
        merged.append(range)
      }
    }
    return merged
  }
}

extension LocalTime {
  /// A local day (days since 1970-01-01) as YYYY-MM-DD.
  public static func dateText(day: Int) -> String {
    let (year, month, date) = RFC3339.civilFromDays(day)
    return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(date, 2)
  }
}
