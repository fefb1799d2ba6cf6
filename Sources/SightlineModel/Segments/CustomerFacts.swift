/// Everything segmentation knows about one customer, from ingestion's log.
public struct CustomerFacts: Sendable, Equatable {
  /// One ticket: when created, whether a complaint, and its latest resolution (nil while open).
  /// The reply and reopen figures are what scorecards add up (FCR, first response).
  public struct Ticket: Sendable, Equatable {
    public var createdMs: Int64
    public var complaint: Bool
    public var resolvedMs: Int64?
    public var replyCount: Int
    public var reopenCount: Int
    public var firstReplyMs: Int64?
    public init(
      createdMs: Int64, complaint: Bool, resolvedMs: Int64?, replyCount: Int = 0, reopenCount: Int = 0, firstReplyMs: Int64? = nil
    ) {
      self.createdMs = createdMs
      self.complaint = complaint
      self.resolvedMs = resolvedMs
      self.replyCount = replyCount
      self.reopenCount = reopenCount
      self.firstReplyMs = firstReplyMs
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

extension CustomerFacts.Ticket {
  /// A total order on every field: a customer's tickets are kept in it (`CustomerTable`),
  /// so their order never depends on the order a database returned them in.
  public func canonicallyBefore(_ other: Self) -> Bool {
    let none = Int64.min
    return (createdMs, resolvedMs ?? none, complaint ? 1 : 0, replyCount, reopenCount, firstReplyMs ?? none)
      < (
        other.createdMs, other.resolvedMs ?? none, other.complaint ? 1 : 0, other.replyCount, other.reopenCount, other.firstReplyMs ?? none
      )
  }
}

extension CustomerFacts.Purchase {
  /// A total order on every field, as for tickets.
  public func canonicallyBefore(_ other: Self) -> Bool { (timeMs, amountMinor) < (other.timeMs, other.amountMinor) }
}

extension CustomerFacts {
  /// These facts with the tickets and purchases in their canonical order, as a
  /// `CustomerTable` gives them back; answers keep theirs (the later stored wins a tie).
  public var canonical: CustomerFacts {
    var facts = self
    facts.tickets.sort { $0.canonicallyBefore($1) }
    facts.purchases.sort { $0.canonicallyBefore($1) }
    return facts
  }
}
