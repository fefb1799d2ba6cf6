public import Foundation

/// The stored form of calendars and SLA policies: JSON, one document each, with sorted
/// keys so that equal levels encode to equal text (the rollups' fingerprint reads it).
extension ServiceLevels {
  struct StoredInterval: Codable, Equatable {
    var start: String
    var end: String
  }

  struct StoredHours: Codable {
    var timeZone: String
    /// ISO weekday ("1" … "7") → intervals.
    var weekly: [String: [StoredInterval]]
    var holidays: [String]
    /// YYYY-MM-DD → intervals (empty: closed).
    var overrides: [String: [StoredInterval]]
  }

  struct StoredVersion: Codable {
    /// YYYY-MM-DD; nil for the first version, which governs every earlier date.
    var from: String?
    var hours: StoredHours
  }

  struct StoredCalendar: Codable {
    var name: String
    var versions: [StoredVersion]
  }

  struct StoredPolicy: Codable {
    var name: String
    var businessLines: [String]
    var channels: [String]
    var calendar: String?
    var businessTime: Bool
    /// Priority → target, seconds.
    var firstResponseSeconds: [String: Int64]
    var resolutionSeconds: [String: Int64]
  }

  /// A stored document that cannot be read.
  public struct StoredFormError: Error, CustomStringConvertible {
    public var description: String
  }

  static func stored(_ interval: OpenInterval) -> StoredInterval {
    StoredInterval(start: OpenInterval.text(interval.startMinute), end: OpenInterval.text(interval.endMinute))
  }

  static func interval(_ stored: StoredInterval) throws(StoredFormError) -> OpenInterval {
    guard let interval = OpenInterval(stored.start, stored.end) else {
      throw StoredFormError(description: "'\(stored.start)-\(stored.end)' is not an interval")
    }
    return interval
  }

  static func stored(_ hours: BusinessHours) -> StoredHours {
    StoredHours(
      timeZone: hours.timeZone,
      weekly: Dictionary(uniqueKeysWithValues: hours.weekly.map { (String($0.key), $0.value.map(stored)) }),
      holidays: hours.holidays.sorted().map { LocalTime.dateText(day: $0) },
      overrides: Dictionary(uniqueKeysWithValues: hours.overrides.map { (LocalTime.dateText(day: $0.key), $0.value.map(stored)) }))
  }

  static func hours(_ stored: StoredHours) throws(StoredFormError) -> BusinessHours {
    var hours = BusinessHours(timeZone: stored.timeZone, weekly: [:])
    for (weekday, intervals) in stored.weekly {
      guard let day = Int(weekday) else { throw StoredFormError(description: "weekday '\(weekday)'") }
      hours.weekly[day] = try intervals.map { (interval) throws(StoredFormError) in try Self.interval(interval) }
    }
    for date in stored.holidays {
      guard let day = LocalTime.parseDate(date) else { throw StoredFormError(description: "date '\(date)'") }
      hours.holidays.insert(day)
    }
    for (date, intervals) in stored.overrides {
      guard let day = LocalTime.parseDate(date) else { throw StoredFormError(description: "date '\(date)'") }
      hours.overrides[day] = try intervals.map { (interval) throws(StoredFormError) in try Self.interval(interval) }
    }
    return hours
  }

  static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }

  /// The calendars as stored (nil: none).
  public var calendarsDocument: String? {
    guard !calendars.isEmpty else { return nil }
    let stored = calendars.map { calendar in
      StoredCalendar(
        name: calendar.name,
        versions: calendar.versions.map {
          StoredVersion(from: $0.fromDay == .min ? nil : LocalTime.dateText(day: $0.fromDay), hours: Self.stored($0.hours))
        })
    }
    return String(decoding: try! Self.encoder().encode(stored), as: UTF8.self)
  }

  /// The policies as stored (nil: none).
  public var policiesDocument: String? {
    guard !policies.isEmpty else { return nil }
    let seconds = { (targets: [TicketPriority: Int64]) in
      Dictionary(uniqueKeysWithValues: targets.map { ($0.key.rawValue, $0.value / 1000) })
    }
    let stored = policies.map {
      StoredPolicy(
        name: $0.name, businessLines: $0.businessLines.sorted(), channels: $0.channels.sorted(), calendar: $0.calendar,
        businessTime: $0.businessTime, firstResponseSeconds: seconds($0.firstResponseMs), resolutionSeconds: seconds($0.resolutionMs))
    }
    return String(decoding: try! Self.encoder().encode(stored), as: UTF8.self)
  }

  /// Levels read from their stored documents (nil: none stored).
  public init(calendarsDocument: String?, policiesDocument: String?) throws(StoredFormError) {
    self.init()
    do {
      if let calendarsDocument {
        for stored in try JSONDecoder().decode([StoredCalendar].self, from: Data(calendarsDocument.utf8)) {
          guard let first = stored.versions.first else { throw StoredFormError(description: "calendar '\(stored.name)' has no version") }
          var calendar = VersionedCalendar(name: stored.name, hours: try Self.hours(first.hours))
          for version in stored.versions.dropFirst() {
            guard let from = version.from.flatMap(LocalTime.parseDate) else {
              throw StoredFormError(description: "a version without a date")
            }
            calendar.change(fromDay: from, to: try Self.hours(version.hours))
          }
          calendars.append(calendar)
        }
      }
      if let policiesDocument {
        let targets = { (seconds: [String: Int64]) in
          Dictionary(uniqueKeysWithValues: seconds.compactMap { key, value in TicketPriority(rawValue: key).map { ($0, value * 1000) } })
        }
        policies = try JSONDecoder().decode([StoredPolicy].self, from: Data(policiesDocument.utf8)).map {
          SlaPolicy(
            name: $0.name, businessLines: Set($0.businessLines), channels: Set($0.channels), calendar: $0.calendar,
            businessTime: $0.businessTime, firstResponseMs: targets($0.firstResponseSeconds), resolutionMs: targets($0.resolutionSeconds))
        }
      }
    } catch let error as StoredFormError {
      throw error
    } catch {
      throw StoredFormError(description: "\(error)")
    }
  }

  /// A short stable digest of the stored documents (FNV-1a, 64 bits, hex).
  public var fingerprint: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in ((calendarsDocument ?? "") + "\u{0}" + (policiesDocument ?? "")).utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return String(hash, radix: 16)
  }
}
