public import Foundation

/// A tenant's calendars and SLA policies (docs/kpis.md, "Business hours"). The first
/// calendar is the tenant's default: the default policy and every policy that names none
/// run on it. A tenant without calendars has every duration in calendar time.
public struct ServiceLevels: Sendable, Equatable {
  /// In creation order; the first is the default.
  public var calendars: [VersionedCalendar]
  /// In their order, which breaks ties between equally specific policies.
  public var policies: [SlaPolicy]

  /// Levels from their parts.
  public init(calendars: [VersionedCalendar] = [], policies: [SlaPolicy] = []) {
    self.calendars = calendars
    self.policies = policies
  }

  /// No calendar and no policy: calendar time and the plain targets.
  public static let none = ServiceLevels()

  /// Whether durations have a business-time value.
  public var hasCalendar: Bool { !calendars.isEmpty }

  /// The calendar named `name`, if any.
  public func calendar(named name: String) -> VersionedCalendar? { calendars.first { $0.name == name } }

  /// What is wrong, naming the field: two calendars or policies of one name, a calendar's
  /// hours (``BusinessHours/problem``), a policy that names an unknown calendar or runs on
  /// business time without any calendar, or a target that is not positive.
  public var problem: BusinessHours.Problem? {
    var names = Set<String>()
    for (index, calendar) in calendars.enumerated() {
      guard Self.validName(calendar.name) else {
        return .init(field: "calendars[\(index)].name", reason: "'\(calendar.name)' is not a name (1-64 letters, digits, '-', '_', '.')")
      }
      guard names.insert(calendar.name).inserted else {
        return .init(field: "calendars[\(index)].name", reason: "a calendar named '\(calendar.name)' exists")
      }
      for version in calendar.versions {
        if let problem = version.hours.problem {
          return .init(field: "calendar '\(calendar.name)': \(problem.field)", reason: problem.reason)
        }
      }
    }
    var policyNames = Set<String>()
    for (index, policy) in policies.enumerated() {
      let field = "policies[\(index)]"
      guard !policy.name.isEmpty, policyNames.insert(policy.name).inserted else {
        return .init(field: "\(field).name", reason: policy.name.isEmpty ? "is empty" : "a policy named '\(policy.name)' comes before")
      }
      if let name = policy.calendar, calendar(named: name) == nil {
        return .init(field: "\(field).calendar", reason: "no calendar is named '\(name)'")
      }
      if policy.businessTime && !hasCalendar {
        return .init(field: "\(field).business_time", reason: "business-time targets need a calendar; the tenant has none")
      }
      for (priority, target) in policy.firstResponseMs.merging(policy.resolutionMs, uniquingKeysWith: min) where target <= 0 {
        return .init(field: "\(field).\(priority.rawValue)", reason: "a target is a positive duration")
      }
    }
    return nil
  }

  /// 1-64 letters, digits, '-', '_' or '.'.
  public static func validName(_ name: String) -> Bool {
    (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }

  /// Whether a policy looks at a ticket's business line or channel (then reads must give them).
  public var needsTicketLines: Bool { policies.contains { $0.specificity > 0 } }
}

/// Measures tickets' durations and SLA terms for one query (or rollup build): the policy a
/// ticket falls under, the calendar version in force when it was created, and that
/// version's cumulative open time (``OpenTime``), built once over the instants the query
/// touches and widened when a later instant needs it. Not shared between threads.
public final class ServiceClock {
  public let settings: KpiSettings
  public let levels: ServiceLevels
  let fallback: SlaPolicy
  /// Per policy (the fallback last), the index of the calendar its durations run on.
  let policyCalendar: [Int?]
  /// Per calendar, its versions' first instants (the first version's is `.min`).
  let versionStarts: [[Int64]]
  /// Per calendar and version, its open time over the instants asked so far.
  private var spans: [[OpenTime?]]
  /// The policy index per "line \u{1} channel" (only when a policy looks at them).
  private var matches: [String: Int] = [:]
  /// The policy that every ticket falls under when none looks at lines or channels.
  let onlyPolicy: Int?

  /// A clock for `settings` (its ``KpiSettings/serviceLevels``).
  public init(settings: KpiSettings) {
    self.settings = settings
    levels = settings.serviceLevels
    fallback = SlaPolicy.fallback(settings)
    let calendarIndex = Dictionary(levels.calendars.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    let defaultCalendar: Int? = levels.calendars.isEmpty ? nil : 0
    policyCalendar = (levels.policies + [fallback]).map { $0.calendar.flatMap { calendarIndex[$0] } ?? defaultCalendar }
    versionStarts = levels.calendars.map { calendar in
      calendar.versions.map { version in
        guard version.fromDay != .min, let zone = TimeZone(identifier: version.hours.timeZone) else { return .min }
        return LocalTime.startOfDay(version.fromDay, zone: zone)
      }
    }
    spans = levels.calendars.map { [OpenTime?](repeating: nil, count: $0.versions.count) }
    if levels.needsTicketLines {
      onlyPolicy = nil
    } else {
      onlyPolicy = SlaPolicy.index(levels.policies, businessLine: "", channel: "") ?? levels.policies.count
    }
  }

  /// A ticket's terms: its policy's targets and how its durations are measured.
  public struct Terms {
    public var policy: SlaPolicy
    /// The open time of its calendar version; nil without a calendar.
    var span: OpenTime?

    /// Business milliseconds in [fromMs, toMs), nil without a calendar.
    public func businessMs(from fromMs: Int64, to toMs: Int64) -> Int64? { span?.openMs(from: fromMs, to: toMs) }

    /// The elapsed time the policy's targets are judged on: business or calendar time.
    public func elapsedMs(from fromMs: Int64, to toMs: Int64) -> Int64 {
      if policy.businessTime, let span { return span.openMs(from: fromMs, to: toMs) }
      return toMs - fromMs
    }

    /// `ticket` measured on these terms (docs/kpis.md): met when the first reply (the last
    /// resolution of a resolved ticket) came within the target; breached when later, or
    /// when none has come and more than the target has elapsed by `nowMs`.
    func judge(_ ticket: TicketFacts, nowMs: Int64?) -> TicketJudgement {
      let created = ticket.createdMs
      let resolvedMs = ticket.isResolved ? ticket.lastResolvedMs : nil
      func outcome(target: Int64?, doneMs: Int64?) -> TicketJudgement.Outcome {
        guard let target else { return .notJudged }
        if let doneMs { return elapsedMs(from: created, to: doneMs) <= target ? .met : .breached }
        guard let nowMs else { return .pending }
        return elapsedMs(from: created, to: nowMs) > target ? .breached : .notJudged
      }
      return TicketJudgement(
        firstResponseBusinessMs: ticket.firstReplyMs.flatMap { businessMs(from: created, to: $0) },
        resolutionBusinessMs: resolvedMs.flatMap { businessMs(from: created, to: $0) },
        firstResponse: outcome(target: policy.firstResponseMs[ticket.priority], doneMs: ticket.firstReplyMs),
        resolution: outcome(target: policy.resolutionMs[ticket.priority], doneMs: resolvedMs))
    }
  }

  /// A ticket measured and judged: its business durations and SLA outcomes at `nowMs`
  /// (nil: a rollup's build, which leaves the SLA of an unanswered or open ticket pending).
  public func judge(_ ticket: TicketFacts, nowMs: Int64?) -> TicketJudgement {
    let latest = max(nowMs ?? .min, ticket.firstReplyMs ?? .min, ticket.lastResolvedMs ?? .min)
    return terms(ticket, upTo: latest).judge(ticket, nowMs: nowMs)
  }

  /// The terms of `ticket`; its calendar's open time covers the instants up to `latestMs`.
  public func terms(_ ticket: TicketFacts, upTo latestMs: Int64) -> Terms {
    let index = policyIndex(ticket)
    let policy = index < levels.policies.count ? levels.policies[index] : fallback
    guard let calendar = policyCalendar[index] else { return Terms(policy: policy, span: nil) }
    let starts = versionStarts[calendar]
    var version = starts.count - 1
    while version > 0 && starts[version] > ticket.createdMs { version -= 1 }
    return Terms(policy: policy, span: span(calendar, version, from: ticket.createdMs, to: max(latestMs, ticket.createdMs)))
  }

  private func policyIndex(_ ticket: TicketFacts) -> Int {
    if let onlyPolicy { return onlyPolicy }
    let key = ticket.businessLine + "\u{1}" + ticket.channel
    if let known = matches[key] { return known }
    let index = SlaPolicy.index(levels.policies, businessLine: ticket.businessLine, channel: ticket.channel) ?? levels.policies.count
    matches[key] = index
    return index
  }

  /// The open time of a calendar version covering [fromMs, toMs], built (or widened, with
  /// a month's margin each side so that a run of tickets builds it once) when it does not.
  private func span(_ calendar: Int, _ version: Int, from fromMs: Int64, to toMs: Int64) -> OpenTime? {
    if let span = spans[calendar][version], span.covers(fromMs), span.covers(toMs) { return span }
    let month: Int64 = 31 * OpenTime.dayMs
    let old = spans[calendar][version]
    let from = min(fromMs, old?.dayStarts.first ?? fromMs) - month
    let to = max(toMs, old?.dayStarts.last ?? toMs) + month
    let built = OpenTime(hours: levels.calendars[calendar].versions[version].hours, fromMs: from, toMs: to)
    spans[calendar][version] = built
    return built
  }

  /// Whether every ticket created before `sinceMs` under any policy has passed its
  /// first-response target (`resolution`: its resolution target) by `nowMs`, so a day
  /// ending at `sinceMs` can judge all its pending tickets as breached at once. A target in
  /// calendar time has passed once `nowMs − sinceMs` reaches it; one in business time once
  /// the open time since then exceeds it on every version of its calendar.
  public func allTargetsPassed(sinceMs: Int64, nowMs: Int64, resolution: Bool) -> Bool {
    guard nowMs > sinceMs else { return false }
    for (index, policy) in (levels.policies + [fallback]).enumerated() {
      guard let longest = (resolution ? policy.resolutionMs : policy.firstResponseMs).values.max() else { continue }
      if policy.businessTime, let calendar = policyCalendar[index] {
        for version in versionStarts[calendar].indices {
          guard let span = span(calendar, version, from: sinceMs, to: nowMs), span.openMs(from: sinceMs, to: nowMs) > longest
          else { return false }
        }
      } else if nowMs - sinceMs < longest {
        return false
      }
    }
    return true
  }
}

/// One ticket measured by its calendar and judged by its SLA policy (``ServiceClock/judge(_:nowMs:)``).
public struct TicketJudgement: Sendable, Equatable {
  /// An SLA outcome.
  public enum Outcome: Sendable, Equatable {
    case met, breached
    /// Not done yet, and no "now" to judge it by (a rollup's build).
    case pending
    /// No target, or not done and still inside it.
    case notJudged
  }

  /// Created → first reply and → last resolution (resolved tickets) in business time; nil
  /// without a calendar or without the event.
  public var firstResponseBusinessMs: Int64?
  public var resolutionBusinessMs: Int64?
  public var firstResponse: Outcome
  public var resolution: Outcome
}
