import Foundation

/// Holidays and make-up working days read from an iCalendar (`.ics`) file (RFC 5545): each
/// all-day `VEVENT` names whole local dates, from `DTSTART;VALUE=DATE` up to `DTEND`
/// (exclusive; one day without it). An event is a working day when its `CATEGORIES` hold
/// `WORKDAY` or its summary says so (补班, 上班, "make-up", "working day"); every other event
/// is a holiday. `examples/china-2026-holidays.ics` is mainland China's 2026 schedule.
public enum ICalendarDays {
  /// One date the file names.
  public struct Day: Sendable, Equatable {
    public enum Kind: String, Sendable { case holiday, workday }
    public var kind: Kind
    /// Days since 1970-01-01.
    public var day: Int
    public var summary: String

    public init(kind: Kind, day: Int, summary: String) {
      self.kind = kind
      self.day = day
      self.summary = summary
    }
  }

  /// A line that cannot be read, by its number (1-based, as an editor shows it).
  public struct ParseError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
  }

  /// The longest event an import accepts, in days (a longer one is a typo in a year).
  static let maxEventDays = 60

  /// Every date of every event, in file order.
  public static func parse(_ text: String) throws(ParseError) -> [Day] {
    // Unfold: a line starting with a space or a tab continues the one before.
    var lines: [(number: Int, text: String)] = []
    // ("\r\n" is one Character, a newline.)
    for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
      let line = String(raw)
      if let first = line.first, first == " " || first == "\t", !lines.isEmpty {
        lines[lines.count - 1].text += line.dropFirst()
      } else {
        lines.append((index + 1, line))
      }
    }
    var days: [Day] = []
    var event: (start: (line: Int, day: Int)?, end: (line: Int, day: Int)?, summary: String, workday: Bool, line: Int)?
    guard let first = lines.first(where: { !$0.text.isEmpty }), first.text.uppercased() == "BEGIN:VCALENDAR" else {
      throw ParseError(line: 1, reason: "it does not begin with BEGIN:VCALENDAR: not an iCalendar file")
    }
    for (number, line) in lines where !line.isEmpty {
      guard let colon = line.firstIndex(of: ":") else { throw ParseError(line: number, reason: "'\(line.prefix(40))' is not NAME:VALUE") }
      let head = line[..<colon]
      let value = String(line[line.index(after: colon)...])
      let parts = head.split(separator: ";").map { String($0).uppercased() }
      let name = parts[0]
      switch (name, value.uppercased()) {
      case ("BEGIN", "VEVENT"):
        guard event == nil else { throw ParseError(line: number, reason: "an event begins inside another") }
        event = (nil, nil, "", false, number)
      case ("END", "VEVENT"):
        guard let open = event else { throw ParseError(line: number, reason: "END:VEVENT without BEGIN:VEVENT") }
        guard let start = open.start else { throw ParseError(line: open.line, reason: "the event has no DTSTART") }
        let end = open.end?.day ?? start.day + 1
        guard end > start.day else { throw ParseError(line: open.end!.line, reason: "DTEND is not after DTSTART") }
        guard end - start.day <= maxEventDays else {
          throw ParseError(line: open.end!.line, reason: "the event lasts \(end - start.day) days; at most \(maxEventDays)")
        }
        let kind: Day.Kind = open.workday || workdayWords.contains { open.summary.lowercased().contains($0) } ? .workday : .holiday
        for day in start.day..<end { days.append(Day(kind: kind, day: day, summary: open.summary)) }
        event = nil
      case ("DTSTART", _), ("DTEND", _):
        guard event != nil else { continue }
        guard let day = date(value) else {
          throw ParseError(line: number, reason: "\(name) '\(value)' is not a whole date (YYYYMMDD, VALUE=DATE): only whole days are read")
        }
        if name == "DTSTART" { event!.start = (number, day) } else { event!.end = (number, day) }
      case ("SUMMARY", _): if event != nil { event!.summary = unescape(value) }
      case ("CATEGORIES", _):
        if event != nil, value.uppercased().split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "WORKDAY" })
        {
          event!.workday = true
        }
      default: continue
      }
    }
    if let open = event { throw ParseError(line: open.line, reason: "the event is not ended (END:VEVENT)") }
    return days
  }

  static let workdayWords = ["补班", "上班", "调休上班", "make-up", "makeup", "working day", "workday"]

  /// YYYYMMDD as days since 1970-01-01.
  static func date(_ text: String) -> Int? {
    let digits = text.trimmingCharacters(in: .whitespaces)
    guard digits.count == 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
    let chars = Array(digits)
    return LocalTime.parseDate(String(chars[0..<4]) + "-" + String(chars[4..<6]) + "-" + String(chars[6..<8]))
  }

  /// Text values escape commas, semicolons, backslashes and newlines.
  static func unescape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\n", with: " ").replacingOccurrences(of: "\\N", with: " ")
      .replacingOccurrences(of: "\\,", with: ",").replacingOccurrences(of: "\\;", with: ";")
      .replacingOccurrences(of: "\\\\", with: "\\")
  }
}

extension BusinessHours {
  /// Adds the imported dates: holidays close their dates; working days open with
  /// `workdayHours` (a make-up Sunday works a normal weekday).
  public mutating func add(_ days: [ICalendarDays.Day], workdayHours: [OpenInterval]) {
    for day in days {
      switch day.kind {
      case .holiday:
        holidays.insert(day.day)
        overrides[day.day] = nil
      case .workday:
        holidays.remove(day.day)
        overrides[day.day] = workdayHours
      }
    }
  }
}
