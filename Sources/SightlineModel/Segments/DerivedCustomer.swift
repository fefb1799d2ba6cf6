/// The derived view of a customer at an "as of" time: the fields segment expressions,
/// lifecycle, RFM and the risk score read. Only events up to `asOfMs` count.
///
/// The figures are worked out in one pass over the customer's facts (``DerivedFigures``);
/// segment evaluation over a whole customer base reads them straight from a
/// ``CustomerTable`` and makes one of these only for the customers it returns.
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
    figures = DerivedFigures(CustomerTable([facts]), at: 0, asOfMs: asOfMs, windows: windows)
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

  /// A numeric derived field (nil when the customer has no value).
  public func number(_ field: NumericField) -> Double? { figures.number(field) }

  /// The numeric derived fields (missing values are absent; RFM scores are not here).
  public var numbers: [String: Double] {
    var fields: [String: Double] = [:]
    for field in NumericField.allCases { if let value = number(field) { fields[field.rawValue] = value } }
    return fields
  }

  /// The NPS class of the latest answer: promoter (9-10), passive (7-8), detractor (0-6).
  public var npsClass: String? { figures.npsClass }

  /// Lifecycle stage (docs/segments.md).
  public var lifecycle: LifecycleStage { figures.lifecycle }

  /// This customer's RFM inputs, when it ordered within the RFM window.
  public var rfmValues: RFM.Values? { figures.rfmValues }

  /// The numeric fields one customer's facts give (the RFM scores need the population).
  public enum NumericField: String, Sendable, CaseIterable {
    case tickets30d = "tickets_30d", tickets90d = "tickets_90d", tickets365d = "tickets_365d"
    case complaints30d = "complaints_30d", complaints90d = "complaints_90d", complaints365d = "complaints_365d"
    case openTickets = "open_tickets", csatLast = "csat_last", csatMean = "csat_mean", npsLast = "nps_last"
    case orders365d = "orders_365d", monetary365d = "monetary_365d", recencyDays = "recency_days", frequency
    case firstActivityDays = "first_activity_days", lastActivityDays = "last_activity_days"
    case daysSinceSignup = "days_since_signup"
  }
}

/// What one pass over a customer's facts as of a moment finds: window counts, the latest
/// answers, order totals and activity bounds, and from them the derived fields and the
/// lifecycle stage. "Within N days" means at or before the moment and less than N days
/// before it; of answers at the same time the later stored wins.
public struct DerivedFigures: Sendable {
  public let asOfMs: Int64
  public let windows: SegmentWindows
  public let signupMs: Int64?
  /// When the profile was first recorded.
  public let profileMs: Int64?
  public private(set) var tickets30d = 0, tickets90d = 0, tickets365d = 0
  public private(set) var complaints30d = 0, complaints90d = 0, complaints365d = 0
  /// Complaint tickets within the at-risk window.
  public private(set) var complaintsAtRisk = 0
  /// Tickets created by the moment and not resolved at it.
  public private(set) var openTickets = 0
  public private(set) var csatSum = 0, csatCount = 0
  public private(set) var lastCSAT: (score: Int, timeMs: Int64)?
  public private(set) var lastNPS: (score: Int, timeMs: Int64)?
  /// The latest NPS detractor answer (0-6) within the at-risk window.
  public private(set) var lastAtRiskDetractor: (score: Int, timeMs: Int64)?
  /// The latest CSAT answer of 1-2 within the at-risk window.
  public private(set) var lastAtRiskLowCSAT: (score: Int, timeMs: Int64)?
  public private(set) var ordersInRFMWindow = 0
  public private(set) var spendInRFMWindowMinor: Int64 = 0
  /// Orders within 90 days, and 90 to 180 days before the moment (falling orders).
  public private(set) var orders90d = 0, ordersPrevious90d = 0
  public private(set) var lastOrderMs: Int64?
  public private(set) var firstActivityMs: Int64?, lastActivityMs: Int64?

  /// The figures of customer `i` of `table` as of `asOfMs`.
  public init(_ table: CustomerTable, at i: Int, asOfMs: Int64, windows: SegmentWindows) {
    self = table.withColumns { DerivedFigures($0, at: i, asOfMs: asOfMs, windows: windows) }
  }

  /// The figures of customer `i` as of `asOfMs`, read from a table's columns.
  public init(_ table: CustomerTable.Columns, at i: Int, asOfMs: Int64, windows: SegmentWindows) {
    self.asOfMs = asOfMs
    self.windows = windows
    signupMs = table.signupMs[i] == CustomerTable.none ? nil : table.signupMs[i]
    profileMs = table.profileMs[i] == CustomerTable.none ? nil : table.profileMs[i]
    let dayMs = DerivedCustomer.dayMs
    func within(_ ms: Int64, _ days: Double) -> Bool { ms <= asOfMs && Double(asOfMs - ms) / dayMs < days }
    var first = Int64.max
    var last = Int64.min
    func later(_ current: (score: Int, timeMs: Int64)?, _ time: Int64) -> Bool { current.map { time >= $0.timeMs } ?? true }
    for t in table.ticketStart[i]..<table.ticketStart[i + 1] {
      let created = table.ticketCreatedMs[t]
      guard created <= asOfMs else { continue }
      first = min(first, created)
      last = max(last, created)
      let days = Double(asOfMs - created) / dayMs
      if days < 30 { tickets30d += 1 }
      if days < 90 { tickets90d += 1 }
      if days < 365 { tickets365d += 1 }
      if table.ticketComplaint[t] {
        if days < 30 { complaints30d += 1 }
        if days < 90 { complaints90d += 1 }
        if days < 365 { complaints365d += 1 }
        if days < windows.atRiskDays { complaintsAtRisk += 1 }
      }
      let resolved = table.ticketResolvedMs[t]
      if resolved == CustomerTable.none || resolved > asOfMs { openTickets += 1 }
    }
    for a in table.answerStart[i]..<table.answerStart[i + 1] {
      let time = table.answerTimeMs[a]
      guard time <= asOfMs else { continue }
      first = min(first, time)
      last = max(last, time)
      let score = Int(table.answerScore[a])
      switch table.answerScale[a] {
      case .csat:
        csatSum += score
        csatCount += 1
        if later(lastCSAT, time) { lastCSAT = (score, time) }
        if score <= 2 && within(time, windows.atRiskDays) && later(lastAtRiskLowCSAT, time) { lastAtRiskLowCSAT = (score, time) }
      case .nps:
        if later(lastNPS, time) { lastNPS = (score, time) }
        if score <= 6 && within(time, windows.atRiskDays) && later(lastAtRiskDetractor, time) {
          lastAtRiskDetractor = (score, time)
        }
      case .ces:
        break
      }
    }
    var lastOrder = Int64.min
    for p in table.purchaseStart[i]..<table.purchaseStart[i + 1] {
      let time = table.purchaseTimeMs[p]
      guard time <= asOfMs else { continue }
      first = min(first, time)
      last = max(last, time)
      lastOrder = max(lastOrder, time)
      if within(time, windows.rfmDays) {
        ordersInRFMWindow += 1
        spendInRFMWindowMinor += table.purchaseAmountMinor[p]
      }
      if within(time, 90) { orders90d += 1 } else if within(time, 180) { ordersPrevious90d += 1 }
    }
    if lastOrder != .min { lastOrderMs = lastOrder }
    if first != .max {
      firstActivityMs = first
      lastActivityMs = last
    }
  }

  /// Days from `ms` to the as-of time.
  public func days(_ ms: Int64) -> Double { Double(asOfMs - ms) / DerivedCustomer.dayMs }

  /// A numeric derived field (nil when the customer has no value).
  public func number(_ field: DerivedCustomer.NumericField) -> Double? {
    switch field {
    case .tickets30d: return Double(tickets30d)
    case .tickets90d: return Double(tickets90d)
    case .tickets365d: return Double(tickets365d)
    case .complaints30d: return Double(complaints30d)
    case .complaints90d: return Double(complaints90d)
    case .complaints365d: return Double(complaints365d)
    case .openTickets: return Double(openTickets)
    case .csatLast: return lastCSAT.map { Double($0.score) }
    case .csatMean: return csatCount > 0 ? Double(csatSum) / Double(csatCount) : nil
    case .npsLast: return lastNPS.map { Double($0.score) }
    case .orders365d, .frequency: return Double(ordersInRFMWindow)
    case .monetary365d: return Double(spendInRFMWindowMinor) / 100
    case .recencyDays: return lastOrderMs.map(days)
    case .firstActivityDays: return firstActivityMs.map(days)
    case .lastActivityDays: return lastActivityMs.map(days)
    case .daysSinceSignup: return signupMs.map(days)
    }
  }

  /// The NPS class of the latest answer: promoter (9-10), passive (7-8), detractor (0-6).
  public var npsClass: String? {
    guard let nps = lastNPS?.score else { return nil }
    return nps >= 9 ? "promoter" : nps >= 7 ? "passive" : "detractor"
  }

  /// Lifecycle stage (docs/segments.md): at_risk before new before active; then dormant,
  /// churned. First seen is the earliest activity, signup or profile.
  public var lifecycle: LifecycleStage {
    var firstSeen = firstActivityMs
    if let signupMs, signupMs <= asOfMs { firstSeen = min(firstSeen ?? signupMs, signupMs) }
    if let profileMs, profileMs <= asOfMs { firstSeen = min(firstSeen ?? profileMs, profileMs) }
    guard let firstSeen else { return .churned }
    let active = lastActivityMs.map { days($0) < windows.activeDays } ?? false
    if active && (lastAtRiskDetractor != nil || complaintsAtRisk >= 2) { return .atRisk }
    if days(firstSeen) < windows.newDays { return .new }
    if active { return .active }
    guard let lastActivity = lastActivityMs else { return .churned }
    return days(lastActivity) < windows.dormantDays ? .dormant : .churned
  }

  /// The RFM inputs, when the customer ordered within the RFM window.
  public var rfmValues: RFM.Values? {
    guard ordersInRFMWindow > 0, let recency = number(.recencyDays) else { return nil }
    return (recency, Double(ordersInRFMWindow), number(.monetary365d) ?? 0)
  }

  /// Customer i's RFM inputs from its orders alone (what ``rfmValues`` gives, without the
  /// pass over tickets and answers that ranking a whole population does not need).
  public static func rfmValues(
    _ table: CustomerTable.Columns, at i: Int, asOfMs: Int64, windows: SegmentWindows
  ) -> RFM.Values? {
    var orders = 0
    var spend: Int64 = 0
    var last = Int64.min
    for p in table.purchaseStart[i]..<table.purchaseStart[i + 1] {
      let time = table.purchaseTimeMs[p]
      guard time <= asOfMs else { continue }
      last = max(last, time)
      if Double(asOfMs - time) / DerivedCustomer.dayMs < windows.rfmDays {
        orders += 1
        spend += table.purchaseAmountMinor[p]
      }
    }
    guard orders > 0 else { return nil }
    return (Double(asOfMs - last) / DerivedCustomer.dayMs, Double(orders), Double(spend) / 100)
  }
}
