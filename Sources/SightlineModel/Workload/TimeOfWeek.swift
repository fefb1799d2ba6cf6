public import Foundation

/// An hour of the week in a tenant's zone: ISO weekday (1 = Monday … 7 = Sunday) and hour
/// of the day (0–23). The `weekday` and `hour_of_day` KPI dimensions and the workload
/// heatmap, forecast and staffing all cut time this way.
public struct TimeOfWeek: Sendable, Hashable, Comparable {
  /// 1 = Monday … 7 = Sunday (ISO 8601).
  public var weekday: Int
  /// 0–23, local.
  public var hour: Int

  /// The 168 hours of a week, Monday 00:00 first.
  public static let all: [TimeOfWeek] = (1...7).flatMap { day in (0..<24).map { TimeOfWeek(weekday: day, hour: $0) } }

  /// An hour of the week from its parts.
  public init(weekday: Int, hour: Int) {
    self.weekday = weekday
    self.hour = hour
  }

  /// The hour of the week `milliseconds` falls in, read in `zone` (a 23- or 25-hour
  /// daylight-saving day has one hour fewer or one twice).
  public init(milliseconds: Int64, zone: TimeZone) {
    let local = milliseconds + LocalTime.offsetMs(milliseconds, zone)
    let day = local.floorDiv(LocalTime.dayMs)
    // 1970-01-01 was a Thursday (ISO weekday 4).
    weekday = Int(day + 3 - (day + 3).floorDiv(7) * 7) + 1
    hour = Int((local - day * LocalTime.dayMs) / 3_600_000)
  }

  /// 0 (Monday 00:00) … 167 (Sunday 23:00).
  public var index: Int { (weekday - 1) * 24 + hour }

  /// The hour of the week at `index` (0…167).
  public init(index: Int) { self.init(weekday: index / 24 + 1, hour: index % 24) }

  /// The `weekday` dimension's value: "1" (Monday) … "7" (Sunday).
  public var weekdayValue: String { String(weekday) }
  /// The `hour_of_day` dimension's value: "00" … "23" (sorts as text in order).
  public var hourValue: String { hour < 10 ? "0\(hour)" : String(hour) }

  /// Short English weekday names, Monday first.
  public static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
  /// Chinese weekday names (周一 … 周日), Monday first.
  public static let chineseWeekdayNames = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

  /// A weekday as people write it: 1–7 (Monday = 1), an English name or its first three
  /// letters, or a Chinese name (周一, 星期一, 周日, 星期天 …); nil otherwise.
  public static func weekday(named text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let number = Int(trimmed), (1...7).contains(number) { return number }
    let lower = trimmed.lowercased()
    let english = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    if let index = english.firstIndex(where: { lower.count >= 3 && $0.hasPrefix(lower) }) { return index + 1 }
    let chineseDays = ["一", "二", "三", "四", "五", "六", "日"]
    for prefix in ["周", "星期", "礼拜"] where trimmed.hasPrefix(prefix) {
      let rest = String(trimmed.dropFirst(prefix.count))
      if let index = chineseDays.firstIndex(of: rest) { return index + 1 }
      if rest == "天" { return 7 }
    }
    return nil
  }

  public static func < (lhs: TimeOfWeek, rhs: TimeOfWeek) -> Bool { lhs.index < rhs.index }
}
