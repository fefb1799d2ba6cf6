public import Foundation

/// Times as people in a tenant's zone read and write them: every date the CLI and the
/// cockpit print goes through here, so none is a UTC date by accident.
public enum LocalTime {
  static let dayMs: Int64 = 86_400_000

  /// The zone's offset from UTC at `milliseconds`, in milliseconds.
  static func offsetMs(_ milliseconds: Int64, _ zone: TimeZone) -> Int64 {
    Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000))) * 1000
  }

  /// The local civil day of `milliseconds` in `zone`, as days since 1970-01-01.
  public static func day(milliseconds: Int64, zone: TimeZone) -> Int {
    Int((milliseconds + offsetMs(milliseconds, zone)).floorDiv(dayMs))
  }

  /// When the local civil `day` (days since 1970-01-01) starts in `zone`, in Unix
  /// milliseconds. Across a change of offset the start is found again with the offset in
  /// force then (a day that starts in a gap, as in zones that moved midnight, starts at the
  /// first instant after it).
  public static func startOfDay(_ day: Int, zone: TimeZone) -> Int64 {
    let midnightUTC = Int64(day) * dayMs
    var start = midnightUTC - offsetMs(midnightUTC, zone)
    start = midnightUTC - offsetMs(start, zone)
    return start
  }

  /// The start of the local hour `milliseconds` falls in, in `zone` (a zone a half hour
  /// off UTC starts its hours at :30 UTC).
  public static func startOfHour(milliseconds: Int64, zone: TimeZone) -> Int64 {
    let local = milliseconds + offsetMs(milliseconds, zone)
    return milliseconds - (local - local.floorDiv(3_600_000) * 3_600_000)
  }

  /// `milliseconds` in `zone` as YYYY-MM-DD.
  public static func date(milliseconds: Int64, zone: TimeZone) -> String {
    dateText(day: day(milliseconds: milliseconds, zone: zone))
  }

  /// `milliseconds` in `zone` as YYYY-MM-DD HH:MM.
  public static func minute(milliseconds: Int64, zone: TimeZone) -> String {
    let local = milliseconds + offsetMs(milliseconds, zone)
    let minuteOfDay = Int((local - local.floorDiv(dayMs) * dayMs) / 60_000)
    return date(milliseconds: milliseconds, zone: zone) + " " + pad(minuteOfDay / 60, 2) + ":" + pad(minuteOfDay % 60, 2)
  }

  /// A local date, YYYY-MM-DD, as days since 1970-01-01; nil when it is not one.
  public static func parseDate(_ text: String) -> Int? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
      let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
      (1...12).contains(month), (1...RFC3339.daysInMonth(year: year, month: month)).contains(day)
    else { return nil }
    return RFC3339.daysFromCivil(year: year, month: month, day: day)
  }

  /// The zone's name as printed beside times: its identifier, and UTC for GMT.
  public static func name(_ zone: TimeZone) -> String { zone.identifier == "GMT" ? "UTC" : zone.identifier }

  static func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }
}
