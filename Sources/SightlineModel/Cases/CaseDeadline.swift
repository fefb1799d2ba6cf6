public import Foundation

/// When a case opened at some moment is due: so many hours later in calendar time, or in
/// the tenant's business hours (its default calendar, the version in force on the opening
/// date), so a case opened on Friday evening with 8 business hours is due on Monday.
public enum CaseDeadline {
  /// The due time of a case opened at `openedMs`, `hours` later. In business hours when
  /// `businessHours` and `levels` has a calendar with open hours in the year ahead; in
  /// calendar hours otherwise. Returns the due time and whether it ran in business hours.
  public static func due(openedMs: Int64, hours: Double, businessHours: Bool, levels: ServiceLevels) -> (ms: Int64, business: Bool) {
    let targetMs = Int64((hours * 3_600_000).rounded())
    guard businessHours, let calendar = levels.calendars.first,
      let zone = TimeZone(identifier: calendar.versions[0].hours.timeZone)
    else { return (openedMs + targetMs, false) }
    let day = LocalTime.day(milliseconds: openedMs, zone: zone)
    let hours = calendar.hours(onDay: day)
    guard let due = businessDue(from: openedMs, openMs: targetMs, hours: hours) else { return (openedMs + targetMs, false) }
    return (due, true)
  }

  /// The time from `fromMs` to `toMs`: business time on the tenant's default calendar
  /// (the version in force on the start's date) when it has one, else calendar time.
  public static func elapsedMs(from fromMs: Int64, to toMs: Int64, levels: ServiceLevels) -> Int64 {
    guard toMs > fromMs, let calendar = levels.calendars.first,
      let zone = TimeZone(identifier: calendar.versions[0].hours.timeZone),
      let span = OpenTime(hours: calendar.hours(onDay: LocalTime.day(milliseconds: fromMs, zone: zone)), fromMs: fromMs, toMs: toMs)
    else { return max(0, toMs - fromMs) }
    return span.openMs(from: fromMs, to: toMs)
  }

  /// The first instant by which `openMs` of `hours`' open time has passed since `fromMs`;
  /// nil when a year ahead does not hold that much.
  static func businessDue(from fromMs: Int64, openMs: Int64, hours: BusinessHours) -> Int64? {
    guard openMs > 0 else { return fromMs }
    // Widen the span until it holds the open time: a week, then doubling, up to a year.
    var days: Int64 = 7
    while days <= 400 {
      guard let span = OpenTime(hours: hours, fromMs: fromMs, toMs: fromMs + days * 86_400_000) else { return nil }
      let base = span.cumulative(fromMs)
      let end = fromMs + days * 86_400_000
      if span.cumulative(end) - base >= openMs {
        // The cumulative open time is monotone: the least instant reaching the target.
        var (low, high) = (fromMs, end)
        while low < high {
          let middle = low + (high - low) / 2
          if span.cumulative(middle) - base >= openMs { high = middle } else { low = middle + 1 }
        }
        return low
      }
      days *= 2
    }
    return nil
  }
}
