/// The KPIs, by their documented names (docs/kpis.md defines each as
/// implemented).
public enum KpiKind: String, CaseIterable, Sendable, Hashable {
  case volume
  case firstResponseTime = "first_response_time"
  case resolutionTime = "resolution_time"
  case unanswered
  case fcrRate = "fcr_rate"
  case reopenRate = "reopen_rate"
  case slaFirstResponse = "sla_first_response"
  case slaResolution = "sla_resolution"
  case csat
  case nps
  case ces
  case complaintRate = "complaint_rate"
  case complaintClosureRate = "complaint_closure_rate"
  case repeatContactRate = "repeat_contact_rate"
  case backlog

  /// KPIs whose value is a share in [0, 1] of `sample_size` observations.
  public var isRate: Bool {
    switch self {
    case .fcrRate, .reopenRate, .slaFirstResponse, .slaResolution, .csat, .complaintRate, .complaintClosureRate,
      .repeatContactRate:
      true
    default: false
    }
  }

  /// KPIs counted over survey responses (by response time) rather than tickets.
  public var isSurvey: Bool { self == .csat || self == .nps || self == .ces }

  /// Whether a higher value is better, for arrows and verdicts (nil: neither, e.g. volume).
  public var higherIsBetter: Bool? {
    switch self {
    case .fcrRate, .slaFirstResponse, .slaResolution, .csat, .nps, .ces, .complaintClosureRate: true
    case .firstResponseTime, .resolutionTime, .unanswered, .reopenRate, .complaintRate,
      .repeatContactRate, .backlog:
      false
    case .volume: nil
    }
  }
}

/// The dimensions KPIs are grouped and filtered by (docs/kpis.md). Ticket attributes come
/// from the ticket's `created` event; customer tier and type from the customer's latest
/// profile.
public enum KpiDimension: String, CaseIterable, Sendable, Hashable {
  case channel
  case region
  case businessLine = "business_line"
  case agent
  case productModule = "product_module"
  case problemType = "problem_type"
  case priority
  case customerTier = "customer_tier"
  case customerType = "customer_type"
  case customer
  /// The ISO weekday of the ticket's creation (or the answer's time) in the tenant's zone,
  /// "1" (Monday) … "7" (Sunday): read from the time, not stored (``TimeOfWeek``).
  case weekday
  /// The local hour of the day, "00" … "23", read like ``weekday``.
  case hourOfDay = "hour_of_day"

  /// Whether the dimension is read from a row's time in the tenant's zone rather than
  /// stored with the ticket.
  public var isTimeOfWeek: Bool { self == .weekday || self == .hourOfDay }

  /// The value of a time-of-week dimension for an hour of the week.
  public func value(of time: TimeOfWeek) -> String {
    precondition(isTimeOfWeek)
    return self == .weekday ? time.weekdayValue : time.hourValue
  }
}

/// Ticket priority; it selects the first-response SLA target.
public enum TicketPriority: String, CaseIterable, Sendable, Hashable {
  case low, normal, high, urgent
}

/// Which clock a duration KPI runs on: calendar time, or business time (the open hours of
/// the ticket's calendar; docs/kpis.md, "Business hours").
public enum DurationHours: String, Sendable, Hashable, CaseIterable {
  case calendar, business
}
