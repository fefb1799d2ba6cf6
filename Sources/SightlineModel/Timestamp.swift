/// RFC 3339 timestamps as they arrive in input records, e.g.
/// `2026-03-01T09:30:00+08:00` or `2026-03-01T01:30:00.250Z`.
///
/// Parsed by hand rather than with `DateFormatter` so that parsing is exact, fast,
/// and the same on every platform; the result is milliseconds since the Unix epoch (UTC).
public enum RFC3339 {
  /// Parses `text` into Unix milliseconds, or returns nil if it is not RFC 3339.
  public static func parseMilliseconds(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    func digits(_ start: Int, _ count: Int) -> Int? {
      guard start + count <= b.count else { return nil }
      var value = 0
      for i in start..<(start + count) {
        let c = b[i]
        guard c >= 48, c <= 57 else { return nil }
        value = value * 10 + Int(c - 48)
      }
      return value
    }
    guard b.count >= 20,
      let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
      let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
      let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
      let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
      let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
      let second = digits(17, 2)
    else { return nil }
    guard (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day),
      hour < 24, minute < 60, second < 61
    else { return nil }

    var index = 19
    var millis = 0
    if index < b.count, b[index] == UInt8(ascii: ".") {
      index += 1
      var scale = 100
      let start = index
      while index < b.count, b[index] >= 48, b[index] <= 57 {
        millis += Int(b[index] - 48) * scale
        scale /= 10
        index += 1
      }
      guard index > start else { return nil }
    }
    guard index < b.count else { return nil }
    var offsetSeconds = 0
    switch b[index] {
    case UInt8(ascii: "Z"), UInt8(ascii: "z"):
      guard index + 1 == b.count else { return nil }
    case UInt8(ascii: "+"), UInt8(ascii: "-"):
      guard index + 6 == b.count, let oh = digits(index + 1, 2), b[index + 3] == UInt8(ascii: ":"),
        let om = digits(index + 4, 2), oh < 24, om < 60
      else { return nil }
      offsetSeconds = (oh * 3600 + om * 60) * (b[index] == UInt8(ascii: "+") ? 1 : -1)
    default:
      return nil
    }
    let days = daysFromCivil(year: year, month: month, day: day)
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds
    return Int64(seconds) * 1000 + Int64(millis)
  }

  /// Formats Unix milliseconds as RFC 3339 in UTC, with milliseconds only when non-zero.
  public static func format(milliseconds: Int64) -> String {
    let totalSeconds = Int(milliseconds.floorDiv(1000))
    let millis = Int(milliseconds - Int64(totalSeconds) * 1000)
    let days = totalSeconds.floorDiv(86_400)
    let secondOfDay = totalSeconds - days * 86_400
    let (y, m, d) = civilFromDays(days)
    if (0...9999).contains(y) {
      // The common case, written digit by digit: this runs for every event ingested, and
      // string interpolation of seven pieces was a measurable share of ingestion's time.
      let length = millis != 0 ? 24 : 20
      return String(unsafeUninitializedCapacity: length) { buffer in
        var position = 0
        func put(_ value: Int, digits: Int) {
          var divisor = 1
          for _ in 1..<digits { divisor *= 10 }
          while divisor > 0 {
            buffer[position] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
            position += 1
            divisor /= 10
          }
        }
        func put(_ character: Unicode.Scalar) {
          buffer[position] = UInt8(ascii: character)
          position += 1
        }
        put(y, digits: 4); put("-"); put(m, digits: 2); put("-"); put(d, digits: 2); put("T")
        put(secondOfDay / 3600, digits: 2); put(":"); put(secondOfDay / 60 % 60, digits: 2); put(":")
        put(secondOfDay % 60, digits: 2)
        if millis != 0 { put("."); put(millis, digits: 3) }
        put("Z")
        return position
      }
    }
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    var text = "\(y)-\(two(m))-\(two(d))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
    if millis != 0 {
      text += "." + String(String(millis + 1000).dropFirst())
    }
    return text + "Z"
  }

  static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

  /// The days of `month` (1-12) of `year` in the proleptic Gregorian calendar.
  public static func daysInMonth(year: Int, month: Int) -> Int {
    switch month {
    case 2: isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
  public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = y.floorDiv(400)
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  /// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01.
  public static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = z.floorDiv(146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}

extension BinaryInteger {
  /// Division rounding toward negative infinity (Swift's `/` truncates toward zero).
  func floorDiv(_ divisor: Self) -> Self {
    let q = self / divisor
    return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
  }
}
