/// The derived view of a customer at an "as of" time: the fields segment expressions,
/// lifecycle, RFM and the risk score read. Only events up to `asOfMs` count.
///
/// Everything is worked out in one pass over the customer's facts when the view is made,
/// without allocating: a segment over a million customers makes a million of these.
public struct DerivedCustomer: Sendable {
  public static let dayMs = 86_400_000.0

  public let facts: CustomerFacts
  public let asOfMs: Int64
  public let windows: SegmentWindows
  /// The figures the fields, lifecycle and risk score are read from.
  public let figures: DerivedFigures

  public init(_ facts: CustomerFacts, asOfMs: Int64, windows: SegmentWindows = SegmentWindows()) {
    self.facts = facts
    self.asOfMs = asOfMs
    self.windows = windows
    figures = DerivedFigures(facts, asOfMs: asOfMs, windows: windows)
  }

  /// Numeric fields and whether each is numeric (the expression schema; text fields false).
  public static let schema: [String: Bool] = {
    var schema: [String: Bool] = [:]
    for name in ["type", "tier", "region", "industry", "age_band", "lifecycle", "rfm_group", "nps_class", "customer_id"] {
      schema[name] = false
    }
    for name in numericFields { schema[name] = true }
    return schema
  }()

  public static let numericFields = [
    "tickets_30d", "tickets_90d", "tickets_365d", "complaints_30d", "complaints_90d", "complaints_365d", "open_tickets",
    "csat_last", "csat_mean", "nps_last", "orders_365d", "monetary_365d", "recency_days", "frequency",
    "first_activity_days", "last_activity_days", "days_since_signup", "rfm_r", "rfm_f", "rfm_m",
  ]

  /// Days from `ms` to the as-of time.
  public func days(_ ms: Int64) -> Double { Double(asOfMs - ms) / Self.dayMs }

  /// The numeric fields one customer's facts give (the RFM scores need the population).
  public enum NumericField: String, Sendable, CaseIterable {
    case tickets30d = "tickets_30d", tickets90d = "tickets_90d", tickets365d = "tickets_365d"
    case complaints30d = "complaints_30d", complaints90d = "complaints_90d", complaints365d = "complaints_365d"
    case openTickets = "open_tickets", csatLast = "csat_last", csatMean = "csat_mean", npsLast = "nps_last"
    case orders365d = "orders_365d", monetary365d = "monetary_365d", recencyDays = "recency_days", frequency
    case firstActivityDays = "first_activity_days", lastActivityDays = "last_activity_days"
    case daysSinceSignup = "days_since_signup"
  }

  /// A numeric derived field (nil when the customer has no value).
  public func number(_ field: NumericField) -> Double? {
    let f = figures
    switch field {
    case .tickets30d: return Double(f.tickets30d)
    case .tickets90d: return Double(f.tickets90d)
    case .tickets365d: return Double(f.tickets365d)
    case .complaints30d: return Double(f.complaints30d)
    case .complaints90d: return Double(f.complaints90d)
    case .complaints365d: return Double(f.complaints365d)
    case .openTickets: return Double(f.openTickets)
    case .csatLast: return f.lastCSAT.map { Double($0.score) }
    case .csatMean: return f.csatCount > 0 ? Double(f.csatSum) / Double(f.csatCount) : nil
    case .npsLast: return f.lastNPS.map { Double($0.score) }
    case .orders365d, .frequency: return Double(f.ordersInRFMWindow)
    case .monetary365d: return Double(f.spendInRFMWindowMinor) / 100
    case .recencyDays: return f.lastOrderMs.map(days)
    case .firstActivityDays: return f.firstActivityMs.map(days)
    case .lastActivityDays: return f.lastActivityMs.map(days)
    case .daysSinceSignup: return facts.signupMs.map(days)
    }
  }

  /// The numeric derived fields (missing values are absent; RFM scores are not here).
  public var numbers: [String: Double] {
    var fields: [String: Double] = [:]
    for field in NumericField.allCases { if let value = number(field) { fields[field.rawValue] = value } }
    return fields
  }

  /// This customer's RFM inputs, when it ordered within the RFM window.
  public var rfmValues: RFM.Values? {
    guard figures.ordersInRFMWindow > 0, let recency = number(.recencyDays) else { return nil }
    return (recency, Double(figures.ordersInRFMWindow), number(.monetary365d) ?? 0)
  }

  /// The NPS class of the latest answer: promoter (9-10), passive (7-8), detractor (0-6).
  public var npsClass: String? {
    guard let nps = figures.lastNPS?.score else { return nil }
    return nps >= 9 ? "promoter" : nps >= 7 ? "passive" : "detractor"
  }

  /// Lifecycle stage (docs/segments.md): at_risk before new before active; then dormant,
  /// churned. First seen is the earliest activity, signup or profile.
  public var lifecycle: LifecycleStage {
    let f = figures
    var firstSeen = f.firstActivityMs
    for known in [facts.signupMs, facts.profileMs] {
      if let known, known <= asOfMs { firstSeen = min(firstSeen ?? known, known) }
    }
    guard let firstSeen else { return .churned }
    let active = f.lastActivityMs.map { days($0) < windows.activeDays } ?? false
    if active && (f.lastAtRiskDetractor != nil || f.complaintsAtRisk >= 2) { return .atRisk }
    if days(firstSeen) < windows.newDays { return .new }
    if active { return .active }
    guard let lastActivity = f.lastActivityMs else { return .churned }
    return days(lastActivity) < windows.dormantDays ? .dormant : .churned
  }
}

/// What one pass over a customer's facts as of a moment finds: window counts, the latest
/// answers, order totals and activity bounds. "Within N days" means at or before the
/// moment and less than N days before it; of answers at the same time the later stored wins.
public struct DerivedFigures: Sendable, Equatable {
  public var tickets30d = 0, tickets90d = 0, tickets365d = 0
  public var complaints30d = 0, complaints90d = 0, complaints365d = 0
  /// Complaint tickets within the at-risk window.
  public var complaintsAtRisk = 0
  /// Tickets created by the moment and not resolved at it.
  public var openTickets = 0
  public var csatSum = 0, csatCount = 0
  public var lastCSAT: (score: Int, timeMs: Int64)?
  public var lastNPS: (score: Int, timeMs: Int64)?
  /// The latest NPS detractor answer (0-6) within the at-risk window.
  public var lastAtRiskDetractor: (score: Int, timeMs: Int64)?
  /// The latest CSAT answer of 1-2 within the at-risk window.
  public var lastAtRiskLowCSAT: (score: Int, timeMs: Int64)?
  public var ordersInRFMWindow = 0
  public var spendInRFMWindowMinor: Int64 = 0
  /// Orders within 90 days, and 90 to 180 days before the moment (falling orders).
  public var orders90d = 0, ordersPrevious90d = 0
  public var lastOrderMs: Int64?
  public var firstActivityMs: Int64?, lastActivityMs: Int64?

  public init(_ facts: CustomerFacts, asOfMs: Int64, windows: SegmentWindows) {
    let dayMs = DerivedCustomer.dayMs
    func within(_ ms: Int64, _ days: Double) -> Bool { ms <= asOfMs && Double(asOfMs - ms) / dayMs < days }
    func activity(_ ms: Int64) {
      firstActivityMs = min(firstActivityMs ?? ms, ms)
      lastActivityMs = max(lastActivityMs ?? ms, ms)
    }
    func later(_ current: (score: Int, timeMs: Int64)?, _ time: Int64) -> Bool { current.map { time >= $0.timeMs } ?? true }
    for ticket in facts.tickets where ticket.createdMs <= asOfMs {
      let created = ticket.createdMs
      activity(created)
      if within(created, 30) { tickets30d += 1 }
      if within(created, 90) { tickets90d += 1 }
      if within(created, 365) { tickets365d += 1 }
      if ticket.complaint {
        if within(created, 30) { complaints30d += 1 }
        if within(created, 90) { complaints90d += 1 }
        if within(created, 365) { complaints365d += 1 }
        if within(created, windows.atRiskDays) { complaintsAtRisk += 1 }
      }
      if ticket.resolvedMs.map({ $0 > asOfMs }) ?? true { openTickets += 1 }
    }
    for answer in facts.answers where answer.timeMs <= asOfMs {
      let time = answer.timeMs
      activity(time)
      switch answer.scale {
      case .csat:
        csatSum += answer.score
        csatCount += 1
        if later(lastCSAT, time) { lastCSAT = (answer.score, time) }
        if answer.score <= 2 && within(time, windows.atRiskDays) && later(lastAtRiskLowCSAT, time) {
          lastAtRiskLowCSAT = (answer.score, time)
        }
      case .nps:
        if later(lastNPS, time) { lastNPS = (answer.score, time) }
        if answer.score <= 6 && within(time, windows.atRiskDays) && later(lastAtRiskDetractor, time) {
          lastAtRiskDetractor = (answer.score, time)
        }
      case .ces:
        break
      }
    }
    for purchase in facts.purchases where purchase.timeMs <= asOfMs {
      let time = purchase.timeMs
      activity(time)
      lastOrderMs = max(lastOrderMs ?? time, time)
      if within(time, windows.rfmDays) {
        ordersInRFMWindow += 1
        spendInRFMWindowMinor += purchase.amountMinor
      }
      if within(time, 90) { orders90d += 1 } else if within(time, 180) { ordersPrevious90d += 1 }
    }
  }

  public static func == (a: Self, b: Self) -> Bool {
    func same(_ x: (score: Int, timeMs: Int64)?, _ y: (score: Int, timeMs: Int64)?) -> Bool {
      x?.score == y?.score && x?.timeMs == y?.timeMs
    }
    return a.tickets30d == b.tickets30d && a.tickets90d == b.tickets90d && a.tickets365d == b.tickets365d
      && a.complaints30d == b.complaints30d && a.complaints90d == b.complaints90d && a.complaints365d == b.complaints365d
      && a.complaintsAtRisk == b.complaintsAtRisk && a.openTickets == b.openTickets && a.csatSum == b.csatSum
      && a.csatCount == b.csatCount && same(a.lastCSAT, b.lastCSAT) && same(a.lastNPS, b.lastNPS)
      && same(a.lastAtRiskDetractor, b.lastAtRiskDetractor) && same(a.lastAtRiskLowCSAT, b.lastAtRiskLowCSAT)
      && a.ordersInRFMWindow == b.ordersInRFMWindow && a.spendInRFMWindowMinor == b.spendInRFMWindowMinor
      && a.orders90d == b.orders90d && a.ordersPrevious90d == b.ordersPrevious90d && a.lastOrderMs == b.lastOrderMs
      && a.firstActivityMs == b.firstActivityMs && a.lastActivityMs == b.lastActivityMs
  }
}
