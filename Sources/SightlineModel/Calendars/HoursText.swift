import Foundation

/// Opening hours and SLA policies as people write them on a command line or in a file.
public enum HoursText {
  /// `09:00-18:00` or `09:00-12:00,13:00-18:00` (an interval ending at or before its start
  /// crosses midnight); nil when a part is not HH:MM-HH:MM.
  public static func intervals(_ text: String) -> [OpenInterval]? {
    var intervals: [OpenInterval] = []
    for part in text.split(separator: ",") {
      let ends = part.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
      guard ends.count == 2, let interval = OpenInterval(ends[0], ends[1]) else { return nil }
      intervals.append(interval)
    }
    return intervals.isEmpty ? nil : intervals
  }

  /// `mon-fri 09:00-18:00`, `sat,sun 10:00-16:00`, `1-5 22:00-06:00`: weekdays (names,
  /// numbers 1-7, ranges, lists) and their intervals; the reason when it does not read.
  public static func weekly(_ text: String) -> Result<[Int: [OpenInterval]], SpecError> {
    let parts = text.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 2 else { return .failure(SpecError(text: text, reason: "write WEEKDAYS HH:MM-HH:MM, e.g. 'mon-fri 09:00-18:00'")) }
    guard let intervals = intervals(String(parts[1])) else {
      return .failure(SpecError(text: text, reason: "'\(parts[1])' is not HH:MM-HH:MM[,HH:MM-HH:MM…]"))
    }
    var days: [Int] = []
    for item in parts[0].split(separator: ",") {
      let ends = item.split(separator: "-").map { TimeOfWeek.weekday(named: String($0)) }
      guard (1...2).contains(ends.count), ends.allSatisfy({ $0 != nil }) else {
        return .failure(SpecError(text: text, reason: "'\(item)' is not a weekday or a range of them (mon-fri, 1-5)"))
      }
      let (first, last) = (ends[0]!, ends[ends.count - 1]!)
      guard first <= last else { return .failure(SpecError(text: text, reason: "'\(item)' runs backwards")) }
      days += Array(first...last)
    }
    return .success(Dictionary(uniqueKeysWithValues: Set(days).map { ($0, intervals) }))
  }

  /// A weekly-hours or policy text that does not read.
  public struct SpecError: Error, CustomStringConvertible, Equatable {
    public var text: String
    public var reason: String
    public var description: String { "'\(text)': \(reason)" }
  }

  /// SLA policies from a CSV with the header
  /// `name,business_lines,channels,calendar,hours,priority,first_response,resolution`: one
  /// line per policy and priority (`all` for every priority); lines of one name make one
  /// policy, in the order the names first appear. Lines and channels are separated by
  /// `;`; `hours` is `business` or `calendar`; targets are durations (`4h`, `1d`), empty for
  /// none.
  public static func policies(csv text: String) throws(Roster.Problem) -> [SlaPolicy] {
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
    let names = ["name", "business_lines", "channels", "calendar", "hours", "priority", "first_response", "resolution"]
    let header = Roster.fields(lines.first ?? "").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    var columns: [String: Int] = [:]
    for name in names {
      guard let index = header.firstIndex(of: name) else {
        throw Roster.Problem(line: 1, column: "header", reason: "no '\(name)' column (the header needs \(names.joined(separator: ",")))")
      }
      columns[name] = index
    }
    var policies: [SlaPolicy] = []
    for (offset, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      let number = offset + 1
      let fields = Roster.fields(line)
      func field(_ name: String) -> String {
        let index = columns[name]!
        return index < fields.count ? fields[index].trimmingCharacters(in: .whitespaces) : ""
      }
      func list(_ name: String) -> Set<String> {
        Set(field(name).split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
      }
      let name = field("name")
      guard !name.isEmpty else { throw Roster.Problem(line: number, column: "name", reason: "empty") }
      let hours = field("hours").lowercased()
      guard hours == "business" || hours == "calendar" else {
        throw Roster.Problem(line: number, column: "hours", reason: "'\(field("hours"))' is not business or calendar")
      }
      let priorityText = field("priority").lowercased()
      let priorities: [TicketPriority]
      if priorityText == "all" {
        priorities = TicketPriority.allCases
      } else if let priority = TicketPriority(rawValue: priorityText) {
        priorities = [priority]
      } else {
        throw Roster.Problem(line: number, column: "priority", reason: "'\(field("priority"))' is not urgent, high, normal, low or all")
      }
      func target(_ column: String) throws(Roster.Problem) -> Int64? {
        let text = field(column)
        guard !text.isEmpty else { return nil }
        switch HumanDuration.seconds(text) {
        case .success(let seconds) where seconds > 0: return seconds * 1000
        default: throw Roster.Problem(line: number, column: column, reason: "'\(text)' is not a positive duration (30m, 4h, 1d)")
        }
      }
      let calendar = field("calendar")
      let policy = SlaPolicy(
        name: name, businessLines: list("business_lines"), channels: list("channels"), calendar: calendar.isEmpty ? nil : calendar,
        businessTime: hours == "business", firstResponseMs: [:])
      let index = policies.firstIndex { $0.name == name } ?? policies.count
      if index == policies.count {
        policies.append(policy)
      } else {
        let earlier = policies[index]
        guard earlier.businessLines == policy.businessLines, earlier.channels == policy.channels,
          earlier.calendar == policy.calendar, earlier.businessTime == policy.businessTime
        else {
          throw Roster.Problem(
            line: number, column: "name", reason: "policy '\(name)' has other lines, channels, calendar or hours on an earlier line")
        }
      }
      let (firstResponse, resolution) = (try target("first_response"), try target("resolution"))
      for priority in priorities {
        if let firstResponse { policies[index].firstResponseMs[priority] = firstResponse }
        if let resolution { policies[index].resolutionMs[priority] = resolution }
      }
    }
    return policies
  }
}
