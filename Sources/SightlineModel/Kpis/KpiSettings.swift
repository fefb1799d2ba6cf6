/// A tenant's KPI settings (the defaults of docs/kpis.md unless the tenant set its own).
public struct KpiSettings: Sendable, Equatable {
  /// IANA time zone for day, week and month boundaries.
  public var timeZone: String
  /// First-response SLA target per priority, in milliseconds.
  public var slaTargetMs: [TicketPriority: Int64]
  /// Complaint closure target, milliseconds from creation to the first `resolved` event.
  public var complaintTargetMs: Int64
  /// Repeat-contact window, milliseconds after a ticket's creation.
  public var repeatWindowMs: Int64
  /// The tenant's own cockpit targets; KPIs not here use `KpiTarget.defaults`. They do not
  /// change any KPI's value, so they are not part of `fingerprint`.
  public var targets: [KpiKind: KpiTarget] = [:]
  /// Handle times, live channels and staffing targets (docs/workload.md). They change no
  /// KPI's value, so they are not part of `fingerprint` either.
  public var workload = WorkloadSettings()
  /// Calendars and SLA policies (docs/kpis.md, "Business hours"): part of `fingerprint`,
  /// since business times and SLA judgements depend on them.
  public var serviceLevels = ServiceLevels.none

  /// The defaults (docs/kpis.md): UTC, SLA urgent 1 h / high 4 h / normal 8 h / low 24 h,
  /// complaint target 48 h, repeat window 7 days.
  public static let defaults = KpiSettings(
    timeZone: "UTC",
    slaTargetMs: [.urgent: 3_600_000, .high: 4 * 3_600_000, .normal: 8 * 3_600_000, .low: 24 * 3_600_000],
    complaintTargetMs: 48 * 3_600_000,
    repeatWindowMs: 7 * 86_400_000)

  /// Settings from their parts.
  public init(timeZone: String, slaTargetMs: [TicketPriority: Int64], complaintTargetMs: Int64, repeatWindowMs: Int64) {
    self.timeZone = timeZone
    self.slaTargetMs = slaTargetMs
    self.complaintTargetMs = complaintTargetMs
    self.repeatWindowMs = repeatWindowMs
  }

  /// Every value the KPIs depend on, as one string: rollups built under other settings
  /// are rebuilt.
  public var fingerprint: String {
    let targets = TicketPriority.allCases.map { "\($0.rawValue)=\(slaTarget($0))" }.joined(separator: ",")
    let levels = serviceLevels == .none ? "" : "|levels=" + serviceLevels.fingerprint
    return "\(timeZone)|\(targets)|\(complaintTargetMs)|\(repeatWindowMs)\(levels)"
  }

  /// `kind`'s cockpit target: the tenant's, else the default (nil for volume and backlog).
  public func target(_ kind: KpiKind) -> KpiTarget? {
    targets[kind] ?? KpiTarget.defaults[kind]
  }

  /// The SLA target of `priority`, falling back to the default.
  public func slaTarget(_ priority: TicketPriority) -> Int64 {
    slaTargetMs[priority] ?? Self.defaults.slaTargetMs[priority]!
  }
}
