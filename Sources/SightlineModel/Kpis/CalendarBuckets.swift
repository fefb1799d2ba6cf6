import Foundation

/// Calendar interval of KPI buckets.
public enum BucketInterval: String, Sendable, CaseIterable {
  case day, week, month
  /// One bucket for the whole range.
  case all
}

/// Why a bucket layout cannot be made.
public struct BucketError: Error, Equatable, CustomStringConvertible {
  /// What is wrong.
  public var description: String
}

/// The buckets of a KPI query: consecutive periods aligned to the tenant's local calendar
/// (midnight, Monday 00:00 for ISO weeks, the 1st of the month, in its IANA time zone, so
/// daylight-saving days are 23 or 25 hours long), clipped to the queried range.
public struct CalendarBuckets: Sendable, Equatable {
  /// Largest number of buckets one query may ask for.
  public static let maxBuckets = 5_000

  /// Aligned start of each bucket, Unix ms. The first may lie before the range start.
  public let starts: [Int64]
  /// End (exclusive) of each bucket, Unix ms; the last one is the range end.
  public let ends: [Int64]
  /// The range, Unix ms, start inclusive and end exclusive.
  public let rangeStartMs: Int64
  public let rangeEndMs: Int64

  /// Buckets of `interval` covering [startMs, endMs) in `timeZone`.
  public init(startMs: Int64, endMs: Int64, interval: BucketInterval, timeZone: String) throws(BucketError) {
    guard endMs > startMs else { throw BucketError(description: "the range is empty: its end must be after its start") }
    guard let zone = TimeZone(identifier: timeZone) else {
      throw BucketError(description: "unknown time zone '\(timeZone)'")
    }
    rangeStartMs = startMs
    rangeEndMs = endMs
    if interval == .all {
      starts = [startMs]
      ends = [endMs]
      return
    }
    var calendar = Calendar(identifier: .iso8601)
    calendar.timeZone = zone
    calendar.firstWeekday = 2
    calendar.minimumDaysInFirstWeek = 4
    let component: Calendar.Component =
      switch interval {
      case .day: .day
      case .week: .weekOfYear
      default: .month
      }
    let startDate = Date(timeIntervalSince1970: Double(startMs) / 1000)
    guard let first = calendar.dateInterval(of: component, for: startDate)?.start else {
      throw BucketError(description: "cannot align \(startMs) to a \(interval.rawValue) in \(timeZone)")
    }
    var starts: [Int64] = []
    var ends: [Int64] = []
    var current = first
    while Self.milliseconds(current) < endMs {
      guard starts.count < Self.maxBuckets else {
        throw BucketError(description: "the range holds more than \(Self.maxBuckets) \(interval.rawValue)s; use a longer interval")
      }
      guard let next = calendar.date(byAdding: component, value: 1, to: current) else {
        throw BucketError(description: "calendar overflow after \(current)")
      }
      starts.append(Self.milliseconds(current))
      ends.append(min(Self.milliseconds(next), endMs))
      current = next
    }
    self.starts = starts
    self.ends = ends
  }

  /// The bucket holding `ms`, or nil outside the range.
  public func index(of ms: Int64) -> Int? {
    guard ms >= rangeStartMs, ms < rangeEndMs else { return nil }
    // Last bucket whose start is <= ms (binary search).
    var low = 0
    var high = starts.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if starts[mid] <= ms { low = mid } else { high = mid - 1 }
    }
    return low
  }

  private static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
