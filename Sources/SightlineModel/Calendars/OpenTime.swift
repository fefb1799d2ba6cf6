public import Foundation

/// Business time as a cumulative function (docs/kpis.md, "Business hours"): C(t) is the
/// open milliseconds from the start of the covered range up to instant t, so the open time
/// between two instants is C(b) − C(a): two look-ups and a subtraction, however many days
/// lie between. Built once per range: each local day's open intervals as instants (a
/// daylight-saving day has its hour fewer or twice) and the open time before each day.
public struct OpenTime: Sendable {
  static let dayMs: Int64 = 86_400_000

  public let hours: BusinessHours
  let zone: TimeZone
  /// The first local day covered, and each covered day's start (one more than the days).
  let firstDay: Int
  let dayStarts: [Int64]
  /// Each covered day's open intervals as instants [start, end), in order.
  let intervals: [[(start: Int64, end: Int64)]]
  /// Open milliseconds before each covered day (one more than the days: the total last).
  let before: [Int64]

  /// The open time of `hours` over the local days holding [fromMs, toMs] (inclusive of
  /// both ends' days). Nil when the zone is unknown.
  public init?(hours: BusinessHours, fromMs: Int64, toMs: Int64) {
    guard let zone = TimeZone(identifier: hours.timeZone) else { return nil }
    self.hours = hours
    self.zone = zone
    let first = LocalTime.day(milliseconds: min(fromMs, toMs), zone: zone)
    let last = LocalTime.day(milliseconds: max(fromMs, toMs), zone: zone)
    firstDay = first
    var starts: [Int64] = []
    var intervals: [[(start: Int64, end: Int64)]] = []
    var before: [Int64] = [0]
    for day in first...last + 1 { starts.append(LocalTime.startOfDay(day, zone: zone)) }
    for (index, day) in (first...last).enumerated() {
      let dayIntervals = Self.instants(of: hours.openMinutes(ofDay: day), day: day, from: starts[index], to: starts[index + 1], zone: zone)
      intervals.append(dayIntervals)
      before.append(before[index] + dayIntervals.reduce(0) { $0 + $1.end - $1.start })
    }
    dayStarts = starts
    self.intervals = intervals
    self.before = before
  }

  /// The day's open minutes as instants. The day [from, to) is cut where the zone's offset
  /// changes; in each piece an instant's local time is itself plus that piece's offset, so
  /// an instant is open exactly when its local minute is.
  static func instants(
    of minutes: [Range<Int>], day: Int, from: Int64, to: Int64, zone: TimeZone
  ) -> [(start: Int64, end: Int64)] {
    guard !minutes.isEmpty, to > from else { return [] }
    var pieces: [(start: Int64, end: Int64)] = []
    var cursor = from
    while cursor < to {
      var end = to
      if let next = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(cursor) / 1000)) {
        let transition = Int64((next.timeIntervalSince1970 * 1000).rounded())
        if transition > cursor && transition < to { end = transition }
      }
      pieces.append((cursor, end))
      cursor = end
    }
    let midnight = Int64(day) * dayMs
    var result: [(start: Int64, end: Int64)] = []
    for piece in pieces {
      let offset = LocalTime.offsetMs(piece.start, zone)
      for range in minutes {
        // The open local minutes as instants at this piece's offset, within the piece.
        let start = max(piece.start, midnight + Int64(range.lowerBound) * 60_000 - offset)
        let end = min(piece.end, midnight + Int64(range.upperBound) * 60_000 - offset)
        if end > start { result.append((start, end)) }
      }
    }
    return result.sorted { $0.start < $1.start }
  }

  /// Open milliseconds from the start of the first covered day up to `ms`, which must lie
  /// within the covered days (clamped to them otherwise).
  public func cumulative(_ ms: Int64) -> Int64 {
    guard ms > dayStarts[0] else { return 0 }
    guard ms < dayStarts[dayStarts.count - 1] else { return before[before.count - 1] }
    // The covered day holding `ms`: the last start at or before it.
    var (low, high) = (0, dayStarts.count - 1)
    while high - low > 1 {
      let middle = (low + high) / 2
      if dayStarts[middle] <= ms { low = middle } else { high = middle }
    }
    var open = before[low]
    for interval in intervals[low] {
      if ms <= interval.start { break }
      open += min(ms, interval.end) - interval.start
    }
    return open
  }

  /// Open milliseconds in [fromMs, toMs) (0 when the end is not after the start).
  public func openMs(from fromMs: Int64, to toMs: Int64) -> Int64 {
    max(0, cumulative(toMs) - cumulative(fromMs))
  }

  /// Whether the instant `ms` is open (its local minute is): the definition the cumulative
  /// function is checked against.
  public static func isOpen(_ hours: BusinessHours, at ms: Int64, zone: TimeZone) -> Bool {
    let local = ms + LocalTime.offsetMs(ms, zone)
    let day = Int(local.floorDiv(dayMs))
    let minute = Int((local - Int64(day) * dayMs) / 60_000)
    return hours.openMinutes(ofDay: day).contains { $0.contains(minute) }
  }
}

extension OpenTime {
  /// Whether `ms` lies within the covered days.
  func covers(_ ms: Int64) -> Bool { ms >= dayStarts[0] && ms < dayStarts[dayStarts.count - 1] }
}
