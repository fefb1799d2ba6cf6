public import Foundation
import SightlineModel

/// Reads the times helpdesks and Excel write: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
/// `YYYY/MM/DD HH:MM[:SS]` (one-digit months, days and hours too), a date alone (its
/// midnight), each with or without an offset (`Z`, `+08:00`, `+0800`, `UTC`). A time
/// without an offset is local time in `zone`; one that a daylight-saving change makes
/// ambiguous or skips is refused with both readings named. Every time comes out as
/// RFC 3339 with its offset, as the ingestion contract wants.
public struct TimeReader: Sendable {
  /// The zone of local times; nil when none is known (a local time is then refused).
  public var zone: TimeZone?
  /// Where `zone` came from, for messages and the summary ("--time-zone", "the tenant's").
  public var zoneSource: String
  /// Why no zone is known, said when a local time is refused for the lack of one.
  public var missingZoneReason: String

  public init(zone: TimeZone?, zoneSource: String, missingZoneReason: String = "no --time-zone was given") {
    self.zone = zone
    self.zoneSource = zoneSource
    self.missingZoneReason = missingZoneReason
  }

  /// A time read: the instant (seconds since 1970, with any fraction as written), the
  /// offset it is shown in, and whether it was local time.
  public struct Reading: Equatable, Sendable {
    public var seconds: Int64
    public var fraction: String
    public var offsetSeconds: Int
    public var wasLocal: Bool

    /// RFC 3339 in its own offset, e.g. `2026-11-20T09:00:00+08:00`.
    public var rfc3339: String { Self.format(seconds: seconds, fraction: fraction, offset: offsetSeconds) }

    /// This instant plus `seconds`, in the same offset.
    func adding(_ delta: Double) -> Reading {
      let whole = (Double(seconds) + delta).rounded()
      return Reading(seconds: Int64(whole), fraction: "", offsetSeconds: offsetSeconds, wasLocal: wasLocal)
    }

    static func format(seconds: Int64, fraction: String, offset: Int) -> String {
      let local = seconds + Int64(offset)
      let (days, secondOfDay) = local.quotientAndRemainder(dividingBy: 86_400)
      let (day, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
      let (year, month, dayOfMonth) = RFC3339.civilFromDays(Int(day))
      let sign = offset < 0 ? "-" : "+"
      let zone = offset == 0 ? "Z" : "\(sign)\(pad(abs(offset) / 3600)):\(pad(abs(offset) % 3600 / 60))"
      return "\(pad(year, 4))-\(pad(month))-\(pad(dayOfMonth))T\(pad(Int(second / 3600))):\(pad(Int(second % 3600 / 60))):"
        + "\(pad(Int(second % 60)))\(fraction.isEmpty ? "" : "." + fraction)\(zone)"
    }

    static func pad(_ value: Int, _ width: Int = 2) -> String {
      let text = String(value)
      return String(repeating: "0", count: max(0, width - text.count)) + text
    }
  }

  /// The accepted forms, for messages.
  public static let forms = "RFC 3339, YYYY-MM-DD HH:MM[:SS] or YYYY/MM/DD HH:MM[:SS], or a date"

  /// `text` read as a time, or why it cannot be.
  public func read(_ text: String) -> Result<Reading, ReasonError> {
    guard let parts = Self.parse(text) else {
      return .failure(ReasonError("'\(text)' is not a time (\(Self.forms))"))
    }
    let naive =
      Int64(RFC3339.daysFromCivil(year: parts.year, month: parts.month, day: parts.day)) * 86_400
      + Int64(parts.hour * 3600 + parts.minute * 60 + parts.second)
    if let offset = parts.offset {
      return .success(Reading(seconds: naive - Int64(offset), fraction: parts.fraction, offsetSeconds: offset, wasLocal: false))
    }
    guard let zone else {
      return .failure(ReasonError("'\(text)' has no offset and no time zone is known to read it in (\(missingZoneReason))"))
    }
    // Every offset the zone has near this time; a reading is valid when the zone has
    // that offset at the instant it gives.
    let near = Set([-86_400, 0, 86_400].map { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naive + Int64($0)))) })
    let readings = near.sorted().map { offset in
      Reading(seconds: naive - Int64(offset), fraction: parts.fraction, offsetSeconds: offset, wasLocal: true)
    }
    let valid = readings.filter { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double($0.seconds))) == $0.offsetSeconds }
    switch valid.count {
    case 1: return .success(valid[0])
    case 0:
      return .failure(
        ReasonError(
          "'\(text)' does not exist in \(zone.identifier) (the clocks skip it); it would be "
            + readings.map(\.rfc3339).joined(separator: " or ")))
    default:
      return .failure(
        ReasonError(
          "'\(text)' happens twice in \(zone.identifier) (the clocks go back): "
            + valid.map(\.rfc3339).joined(separator: " or ") + "; write it with its offset"))
    }
  }

  struct Parts {
    var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
    var fraction = ""
    var offset: Int?
  }

  /// The fields of a time in one of the accepted forms, range-checked; nil otherwise.
  static func parse(_ text: String) -> Parts? {
    var scanner = ByteScanner(Array(text.trimmedBlanks.utf8))
    var parts = Parts()
    guard let year = scanner.digits(4...4) else { return nil }
    guard let separator = scanner.take(anyOf: "-/") else { return nil }
    guard let month = scanner.digits(1...2), scanner.take(separator),
      let day = scanner.digits(1...2)
    else { return nil }
    (parts.year, parts.month, parts.day) = (year, month, day)
    if !scanner.atEnd {
      guard scanner.take(anyOf: "Tt ") != nil else { return nil }
      while scanner.take(UInt8(ascii: " ")) {}
      guard let hour = scanner.digits(1...2), scanner.take(UInt8(ascii: ":")), let minute = scanner.digits(2...2) else {
        return nil
      }
      (parts.hour, parts.minute) = (hour, minute)
      if scanner.take(UInt8(ascii: ":")) {
        guard let second = scanner.digits(2...2) else { return nil }
        parts.second = second
        if scanner.take(UInt8(ascii: ".")) || scanner.take(UInt8(ascii: ",")) {
          guard let fraction = scanner.digitText(1...9) else { return nil }
          // ".000" is the whole second: written without it, so one instant has one text.
          parts.fraction = fraction.allSatisfy { $0 == "0" } ? "" : fraction
        }
      }
      while scanner.take(UInt8(ascii: " ")) {}
      if !scanner.atEnd {
        guard let offset = scanner.offset(), scanner.atEnd else { return nil }
        parts.offset = offset
      }
    }
    guard (1...12).contains(parts.month), (1...RFC3339.daysInMonth(year: parts.year, month: parts.month)).contains(parts.day),
      parts.hour <= 23, parts.minute <= 59, parts.second <= 59
    else { return nil }
    return parts
  }
}

/// A reason, as an error (the record's field is named by the caller).
public struct ReasonError: Error, Sendable, Equatable {
  public var reason: String
  public init(_ reason: String) { self.reason = reason }
}

/// Values written the ways helpdesks and Excel write them.
enum FieldValues {
  /// Booleans: English, digits and Chinese, in any case.
  static func boolean(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "true", "yes", "y", "1", "是", "对": true
    case "false", "no", "n", "0", "否", "错": false
    default: nil
    }
  }

  /// A priority's enum name (LOW, NORMAL, HIGH, URGENT) from English in any case or
  /// Chinese; nil leaves the value to the contract's own check.
  static func priority(_ text: String) -> String? {
    switch text.lowercased() {
    case "紧急", "urgent": "URGENT"
    case "高", "high": "HIGH"
    case "中", "普通", "normal", "medium": "NORMAL"
    case "低", "low": "LOW"
    default: nil
    }
  }
}

/// A cursor over ASCII bytes, for the small grammars above.
struct ByteScanner {
  private let bytes: [UInt8]
  private var index = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool { index == bytes.count }

  mutating func take(_ byte: UInt8) -> Bool {
    guard index < bytes.count, bytes[index] == byte else { return false }
    index += 1
    return true
  }

  mutating func take(anyOf characters: String) -> UInt8? {
    guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return nil }
    index += 1
    return bytes[index - 1]
  }

  mutating func digitText(_ count: ClosedRange<Int>) -> String? {
    var end = index
    while end < bytes.count, end - index < count.upperBound, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end]) {
      end += 1
    }
    guard count.contains(end - index) else { return nil }
    defer { index = end }
    return String(decoding: bytes[index..<end], as: UTF8.self)
  }

  mutating func digits(_ count: ClosedRange<Int>) -> Int? { digitText(count).flatMap { Int($0) } }

  /// `Z`, `UTC`, `GMT`, `+08:00`, `+0800` or `+08`, as seconds east of UTC.
  mutating func offset() -> Int? {
    if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) { return 0 }
    for name in ["UTC", "GMT"] where bytes[index...].starts(with: name.utf8) {
      index += 3
      return 0
    }
    guard let sign = take(anyOf: "+-"), let hours = digits(2...2), hours <= 23 else { return nil }
    var minutes = 0
    if take(UInt8(ascii: ":")) {
      guard let value = digits(2...2) else { return nil }
      minutes = value
    } else if let value = digits(2...2) {
      minutes = value
    }
    guard minutes <= 59 else { return nil }
    return (sign == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
  }
}
