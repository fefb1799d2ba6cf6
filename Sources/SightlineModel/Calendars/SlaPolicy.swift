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

/// A ticket's service-level targets: first response and resolution per priority, for the
/// business lines and channels it names (none named: all). Its durations run on a calendar
/// (``calendar``, else the tenant's default calendar), and its targets are in business
/// time or in calendar time (``businessTime``).
public struct SlaPolicy: Sendable, Equatable {
  public var name: String
  /// Business lines and channels it applies to; empty: any.
  public var businessLines: Set<String>
  public var channels: Set<String>
  /// The calendar its business durations run on; nil: the tenant's default calendar.
  public var calendar: String?
  /// Whether its targets are counted in business time (open hours) rather than calendar time.
  public var businessTime: Bool
  /// Targets per priority, milliseconds; a priority without one has no target.
  public var firstResponseMs: [TicketPriority: Int64]
  public var resolutionMs: [TicketPriority: Int64]

  public init(
    name: String, businessLines: Set<String> = [], channels: Set<String> = [], calendar: String? = nil,
    businessTime: Bool = false, firstResponseMs: [TicketPriority: Int64], resolutionMs: [TicketPriority: Int64] = [:]
  ) {
    self.name = name
    self.businessLines = businessLines
    self.channels = channels
    self.calendar = calendar
    self.businessTime = businessTime
    self.firstResponseMs = firstResponseMs
    self.resolutionMs = resolutionMs
  }

  /// The resolution targets of the default policy (docs/kpis.md): urgent 24 h, high 48 h,
  /// normal 72 h, low 120 h.
  public static let defaultResolutionMs: [TicketPriority: Int64] = [
    .urgent: 24 * 3_600_000, .high: 48 * 3_600_000, .normal: 72 * 3_600_000, .low: 120 * 3_600_000,
  ]

  /// The default policy: the tenant's plain first-response targets and the default
  /// resolution targets, in calendar time, for every ticket no policy matches.
  public static func fallback(_ settings: KpiSettings) -> SlaPolicy {
    SlaPolicy(
      name: "default", firstResponseMs: Dictionary(uniqueKeysWithValues: TicketPriority.allCases.map { ($0, settings.slaTarget($0)) }),
      resolutionMs: defaultResolutionMs)
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
    index(policies, businessLine: businessLine, channel: channel).map { policies[$0] } ?? fallback
  }

  /// The index of the policy ``match(_:businessLine:channel:fallback:)`` picks; nil: the fallback.
  public static func index(_ policies: [SlaPolicy], businessLine: String, channel: String) -> Int? {
    var best: Int?
    for (index, policy) in policies.enumerated() where policy.applies(businessLine: businessLine, channel: channel) {
      if best == nil || policy.specificity > policies[best!].specificity { best = index }
    }
    return best
  }
}

extension VersionedCalendar {
  /// Replaces the hours of the latest version (a change that takes effect for every date
  /// that version governs).
  public mutating func replaceLatest(with hours: BusinessHours) {
    versions[versions.count - 1].hours = hours
  }
}
