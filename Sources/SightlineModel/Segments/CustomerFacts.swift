/// Everything segmentation knows about one customer, from ingestion's log.
public struct CustomerFacts: Sendable, Equatable {
  /// One ticket: when created, whether a complaint, and its latest resolution (nil while open).
  public struct Ticket: Sendable, Equatable {
    public var createdMs: Int64
    public var complaint: Bool
    public var resolvedMs: Int64?
    public init(createdMs: Int64, complaint: Bool, resolvedMs: Int64?) {
      self.createdMs = createdMs
      self.complaint = complaint
      self.resolvedMs = resolvedMs
    }
  }

  /// One survey answer.
  public struct Answer: Sendable, Equatable {
    public var scale: SurveyScale
    public var score: Int
    public var timeMs: Int64
    public init(scale: SurveyScale, score: Int, timeMs: Int64) {
      self.scale = scale
      self.score = score
      self.timeMs = timeMs
    }
  }

  /// One order (amount in minor units).
  public struct Purchase: Sendable, Equatable {
    public var amountMinor: Int64
    public var timeMs: Int64
    public init(amountMinor: Int64, timeMs: Int64) {
      self.amountMinor = amountMinor
      self.timeMs = timeMs
    }
  }

  public var customerID: String
  /// Profile attributes: type, tier, region, industry, age_band and free attributes.
  public var attributes: [String: String]
  public var signupMs: Int64?
  /// When the profile was first recorded (first seen, when nothing else is known).
  public var profileMs: Int64?
  public var tickets: [Ticket]
  public var answers: [Answer]
  public var purchases: [Purchase]

  /// Facts from their parts.
  public init(
    customerID: String, attributes: [String: String] = [:], signupMs: Int64? = nil, profileMs: Int64? = nil,
    tickets: [Ticket] = [], answers: [Answer] = [], purchases: [Purchase] = []
  ) {
    self.customerID = customerID
    self.attributes = attributes
    self.signupMs = signupMs
    self.profileMs = profileMs
    self.tickets = tickets
    self.answers = answers
    self.purchases = purchases
  }
}

/// Per-tenant windows of the segment definitions (defaults in docs/segments.md).
public struct SegmentWindows: Sendable, Equatable {
  public var newDays = 30.0
  public var activeDays = 90.0
  public var atRiskDays = 30.0
  public var dormantDays = 180.0
  public var rfmDays = 365.0
  public init() {}
}

/// Lifecycle stage at an "as of" time.
public enum LifecycleStage: String, Sendable, CaseIterable {
  case new, active, atRisk = "at_risk", dormant, churned
}

/// The derived view of a customer at an "as of" time: the fields segment expressions,
/// lifecycle, RFM and the risk score read. Only events up to `asOfMs` count.
public struct DerivedCustomer: Sendable {
  public static let dayMs = 86_400_000.0

  public let facts: CustomerFacts
  public let asOfMs: Int64
  public let windows: SegmentWindows

  public init(_ facts: CustomerFacts, asOfMs: Int64, windows: SegmentWindows = SegmentWindows()) {
    self.facts = facts
    self.asOfMs = asOfMs
    self.windows = windows
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

  func days(_ ms: Int64) -> Double { Double(asOfMs - ms) / Self.dayMs }
  func within(_ ms: Int64, days limit: Double) -> Bool { ms <= asOfMs && days(ms) < limit }

  var tickets: [CustomerFacts.Ticket] { facts.tickets.filter { $0.createdMs <= asOfMs } }
  var answers: [CustomerFacts.Answer] { facts.answers.filter { $0.timeMs <= asOfMs }.sorted { $0.timeMs < $1.timeMs } }
  var purchases: [CustomerFacts.Purchase] { facts.purchases.filter { $0.timeMs <= asOfMs } }

  /// Times of every activity (ticket created, survey answered, order placed) up to as-of.
  var activityTimes: [Int64] { tickets.map(\.createdMs) + answers.map(\.timeMs) + purchases.map(\.timeMs) }

  /// The numeric derived fields (missing values are absent).
  public var numbers: [String: Double] {
    var fields: [String: Double] = [:]
    for (suffix, limit) in [("30d", 30.0), ("90d", 90.0), ("365d", 365.0)] {
      fields["tickets_\(suffix)"] = Double(tickets.filter { within($0.createdMs, days: limit) }.count)
      fields["complaints_\(suffix)"] = Double(tickets.filter { $0.complaint && within($0.createdMs, days: limit) }.count)
    }
    fields["open_tickets"] = Double(tickets.filter { $0.resolvedMs.map { $0 > asOfMs } ?? true }.count)
    let csat = answers.filter { $0.scale == .csat }
    if let last = csat.last { fields["csat_last"] = Double(last.score) }
    if !csat.isEmpty { fields["csat_mean"] = Double(csat.reduce(0) { $0 + $1.score }) / Double(csat.count) }
    if let nps = answers.last(where: { $0.scale == .nps }) { fields["nps_last"] = Double(nps.score) }
    let recent = purchases.filter { within($0.timeMs, days: windows.rfmDays) }
    fields["orders_365d"] = Double(recent.count)
    fields["frequency"] = Double(recent.count)
    fields["monetary_365d"] = Double(recent.reduce(0) { $0 + $1.amountMinor }) / 100
    if let last = purchases.map(\.timeMs).max() { fields["recency_days"] = days(last) }
    let activity = activityTimes
    if let first = activity.min() { fields["first_activity_days"] = days(first) }
    if let last = activity.max() { fields["last_activity_days"] = days(last) }
    if let signup = facts.signupMs { fields["days_since_signup"] = days(signup) }
    return fields
  }

  /// The NPS class of the latest answer: promoter (9-10), passive (7-8), detractor (0-6).
  public var npsClass: String? {
    guard let nps = answers.last(where: { $0.scale == .nps }) else { return nil }
    return nps.score >= 9 ? "promoter" : nps.score >= 7 ? "passive" : "detractor"
  }

  /// Lifecycle stage (docs/segments.md): at_risk before new before active; then dormant,
  /// churned. First seen is the earliest activity, signup or profile.
  public var lifecycle: LifecycleStage {
    let activity = activityTimes
    let firstSeen = (activity + [facts.signupMs, facts.profileMs].compactMap { $0 }).filter { $0 <= asOfMs }.min()
    guard let firstSeen else { return .churned }
    let lastActivity = activity.max()
    let active = lastActivity.map { days($0) < windows.activeDays } ?? false
    if active {
      let detractor = answers.contains { $0.scale == .nps && $0.score <= 6 && within($0.timeMs, days: windows.atRiskDays) }
      let complaints = tickets.filter { $0.complaint && within($0.createdMs, days: windows.atRiskDays) }.count
      if detractor || complaints >= 2 { return .atRisk }
    }
    if days(firstSeen) < windows.newDays { return .new }
    if active { return .active }
    guard let lastActivity else { return .churned }
    return days(lastActivity) < windows.dormantDays ? .dormant : .churned
  }
}
