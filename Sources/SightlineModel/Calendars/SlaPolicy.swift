/// A named calendar's versions: each change takes effect from a local date the admin gives,
/// and a duration is measured on the version in force when its ticket was created (as
/// Zendesk's first reply and resolution metrics do; docs/kpis.md, "Business hours"), so
/// values computed before a change keep the hours they were computed on.
public struct VersionedCalendar: Sendable, Equatable {
  public struct Version: Sendable, Equatable {
    /// The first local date it governs, days since 1970-01-01.
    public var fromDay: Int
    public var hours: BusinessHours

    public init(fromDay: Int, hours: BusinessHours) {
      self.fromDay = fromDay
      self.hours = hours
    }
  }

  public var name: String
  /// Oldest first; the first governs every date before the second.
  public private(set) var versions: [Version]

  /// A calendar whose first version governs every date until a later one.
  public init(name: String, hours: BusinessHours) {
    self.name = name
    versions = [Version(fromDay: .min, hours: hours)]
  }

  /// Adds a version from `fromDay` on, replacing one that starts that day.
  public mutating func change(fromDay: Int, to hours: BusinessHours) {
    versions.removeAll { $0.fromDay == fromDay }
    versions.append(Version(fromDay: fromDay, hours: hours))
    versions.sort { $0.fromDay < $1.fromDay }
  }

  /// The hours in force on local `day` (a ticket's creation date in the calendar's zone).
  public func hours(onDay day: Int) -> BusinessHours {
    versions.last { $0.fromDay <= day }?.hours ?? versions[0].hours
  }
}

/// A ticket's service-level targets: first response and resolution per priority, on a
/// calendar's business hours or in calendar time, for the business lines and channels it
/// names (none named: all).
public struct SlaPolicy: Sendable, Equatable {
  public var name: String
  /// Business lines and channels it applies to; empty: any.
  public var businessLines: Set<String>
  public var channels: Set<String>
  /// The calendar its targets run on (business time); nil: calendar time.
  public var calendar: String?
  /// Targets per priority, milliseconds; a priority without one has no target.
  public var firstResponseMs: [TicketPriority: Int64]
  public var resolutionMs: [TicketPriority: Int64]

  public init(
    name: String, businessLines: Set<String> = [], channels: Set<String> = [], calendar: String? = nil,
    firstResponseMs: [TicketPriority: Int64], resolutionMs: [TicketPriority: Int64] = [:]
  ) {
    self.name = name
    self.businessLines = businessLines
    self.channels = channels
    self.calendar = calendar
    self.firstResponseMs = firstResponseMs
    self.resolutionMs = resolutionMs
  }

  /// How many of its conditions it sets: a policy for a line and a channel is more
  /// specific than one for a line, which is more specific than one for everything.
  public var specificity: Int { (businessLines.isEmpty ? 0 : 1) + (channels.isEmpty ? 0 : 1) }

  /// Whether it applies to a ticket of `businessLine` on `channel`.
  public func applies(businessLine: String, channel: String) -> Bool {
    (businessLines.isEmpty || businessLines.contains(businessLine)) && (channels.isEmpty || channels.contains(channel))
  }

  /// The policy a ticket falls under: the most specific that applies, ties broken by their
  /// order in `policies`; `fallback` (the tenant's plain targets, in calendar time) when
  /// none does.
  public static func match(
    _ policies: [SlaPolicy], businessLine: String, channel: String, fallback: SlaPolicy
  ) -> SlaPolicy {
    var best: SlaPolicy?
    for policy in policies where policy.applies(businessLine: businessLine, channel: channel) {
      if best == nil || policy.specificity > best!.specificity { best = policy }
    }
    return best ?? fallback
  }
}
