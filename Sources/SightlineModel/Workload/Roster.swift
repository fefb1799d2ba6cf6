import Foundation

/// A weekly roster: agents scheduled per hour of the week (docs/workload.md, "Roster").
///
/// Read from CSV with a header naming `weekday`, `hour` and `agents` (in any order; other
/// columns are ignored). A weekday is 1–7 (Monday = 1), an English name or its first three
/// letters, or a Chinese one (周一, 星期日 …). An hour is `9`, `09`, `09:00`, or a range
/// `09-18` (09:00 up to 18:00: nine hours). Hours not listed have no agents; an hour listed
/// twice is an error.
public struct Roster: Sendable, Equatable {
  /// Agents per hour of the week (``TimeOfWeek/index``).
  public var agents: [Int: Double]

  /// A line of the file that cannot be read: its number, the column and why.
  public struct Problem: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var column: String
    public var reason: String
    public var description: String { "line \(line), \(column): \(reason)" }

    /// A problem from its parts.
    public init(line: Int, column: String, reason: String) {
      self.line = line
      self.column = column
      self.reason = reason
    }
  }

  /// A roster from its hours.
  public init(agents: [Int: Double]) { self.agents = agents }

  /// Parses a roster CSV (RFC 4180 quoting; a UTF-8 byte-order mark is skipped).
  public init(csv text: String) throws(Problem) {
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
    guard let headerLine = lines.first, !headerLine.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw Problem(line: 1, column: "header", reason: "the file is empty; it needs a header: weekday,hour,agents")
    }
    let header = Self.fields(headerLine).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    var columns: [String: Int] = [:]
    for name in ["weekday", "hour", "agents"] {
      guard let index = header.firstIndex(of: name) else {
        throw Problem(line: 1, column: "header", reason: "no '\(name)' column (the header needs weekday, hour and agents)")
      }
      columns[name] = index
    }
    agents = [:]
    var firstLine: [Int: Int] = [:]
    for (offset, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      let number = offset + 1
      let fields = Self.fields(line)
      func field(_ name: String) throws(Problem) -> String {
        let index = columns[name]!
        guard index < fields.count else {
          throw Problem(line: number, column: name, reason: "missing (the line has \(fields.count) fields)")
        }
        return fields[index].trimmingCharacters(in: .whitespaces)
      }
      let dayText = try field("weekday")
      guard let weekday = TimeOfWeek.weekday(named: dayText) else {
        throw Problem(line: number, column: "weekday", reason: "'\(dayText)' is not a weekday (1-7 with Monday 1, Mon, Monday or 周一)")
      }
      let hourText = try field("hour")
      guard let hours = Self.hours(hourText) else {
        throw Problem(line: number, column: "hour", reason: "'\(hourText)' is not an hour 0-23 (9, 09:00) or a range (09-18)")
      }
      let agentText = try field("agents")
      guard let count = Double(agentText), count >= 0, count.isFinite else {
        throw Problem(line: number, column: "agents", reason: "'\(agentText)' is not a number of agents (0 or more)")
      }
      for hour in hours {
        let slot = TimeOfWeek(weekday: weekday, hour: hour).index
        if let earlier = firstLine[slot] {
          throw Problem(
            line: number, column: "hour",
            reason:
              "\(TimeOfWeek.weekdayNames[weekday - 1]) \(TimeOfWeek(weekday: weekday, hour: hour).hourValue):00 is on line \(earlier) already"
          )
        }
        firstLine[slot] = number
        agents[slot] = count
      }
    }
  }

  /// `9`, `09`, `09:00` → [9]; `09-18` or `09:00-18:00` → 9 ..< 18.
  static func hours(_ text: String) -> [Int]? {
    func hour(_ part: Substring, end: Bool) -> Int? {
      let trimmed = part.trimmingCharacters(in: .whitespaces)
      let digits = trimmed.hasSuffix(":00") ? String(trimmed.dropLast(3)) : trimmed
      guard !digits.isEmpty, digits.count <= 2, let value = Int(digits) else { return nil }
      return (0...(end ? 24 : 23)).contains(value) ? value : nil
    }
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    switch parts.count {
    case 1: return hour(parts[0], end: false).map { [$0] }
    case 2:
      guard let from = hour(parts[0], end: false), let to = hour(parts[1], end: true), to > from else { return nil }
      return Array(from..<to)
    default: return nil
    }
  }

  /// The fields of one CSV line (quotes as RFC 4180; a roster line holds no line break).
  static func fields(_ line: String) -> [String] {
    var fields: [String] = []
    var current = ""
    var quoted = false
    var iterator = Array(line).makeIterator()
    var pending: Character? = nil
    while let character = pending ?? iterator.next() {
      pending = nil
      if quoted {
        if character == "\"" {
          if let next = iterator.next() {
            if next == "\"" {
              current.append("\"")
            } else {
              quoted = false
              pending = next
            }
          } else {
            quoted = false
          }
        } else {
          current.append(character)
        }
      } else if character == "\"" {
        quoted = true
      } else if character == "," {
        fields.append(current)
        current = ""
      } else {
        current.append(character)
      }
    }
    fields.append(current)
    return fields
  }
}
