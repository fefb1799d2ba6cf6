/// What the KPIs need to know about one ticket, folded from all its events so far.
/// Times are Unix milliseconds (UTC).
public struct TicketFacts: Sendable, Equatable {
  /// Creation time (the `created` event).
  public var createdMs: Int64
  /// Priority (normal when unspecified).
  public var priority: TicketPriority
  /// Complaint flag from the `created` event.
  public var complaint: Bool
  /// Earliest agent reply, if any.
  public var firstReplyMs: Int64?
  /// Number of agent replies.
  public var replyCount: Int
  /// Earliest and latest `resolved` events, if any.
  public var firstResolvedMs: Int64?
  public var lastResolvedMs: Int64?
  /// Number of `reopened` events.
  public var reopenCount: Int
  /// Whether the latest status event (created/reopened = open, resolved) is `resolved`.
  public var isResolved: Bool
  /// Creation time of the same customer's next ticket (strictly later), if any.
  public var nextContactMs: Int64?
  /// The agents' working time on the ticket (its replies' handle times summed) and how
  /// many replies carried one (0: unknown, not zero work).
  public var handleMs: Int64
  public var handledReplies: Int
  /// Its business line and channel, read only when an SLA policy looks at them
  /// (``KpiSelection/ticketLines``); "" otherwise.
  public var businessLine = ""
  public var channel = ""

  /// Facts from their parts.
  public init(
    createdMs: Int64, priority: TicketPriority = .normal, complaint: Bool = false, firstReplyMs: Int64? = nil,
    replyCount: Int = 0, firstResolvedMs: Int64? = nil, lastResolvedMs: Int64? = nil, reopenCount: Int = 0,
    isResolved: Bool = false, nextContactMs: Int64? = nil, handleMs: Int64 = 0, handledReplies: Int = 0
  ) {
    self.createdMs = createdMs
    self.priority = priority
    self.complaint = complaint
    self.firstReplyMs = firstReplyMs
    self.replyCount = replyCount
    self.firstResolvedMs = firstResolvedMs
    self.lastResolvedMs = lastResolvedMs
    self.reopenCount = reopenCount
    self.isResolved = isResolved
    self.nextContactMs = nextContactMs
    self.handleMs = handleMs
    self.handledReplies = handledReplies
  }

  /// Whether it was ever resolved.
  public var everResolved: Bool { firstResolvedMs != nil }
}

/// Kind of survey and so its scale.
public enum SurveyScale: String, Sendable, Hashable {
  /// 1-5; satisfied = 4 or 5.
  case csat
  /// 0-10; promoters 9-10, detractors 0-6.
  case nps
  /// 1-7, 7 = easiest; "easy" = 5-7.
  case ces
}

/// One survey answer as the KPIs see it.
public struct SurveyFact: Sendable, Equatable {
  /// The survey kind.
  public var scale: SurveyScale
  /// The score on the kind's scale.
  public var score: Int

  /// A fact from its parts.
  public init(scale: SurveyScale, score: Int) {
    self.scale = scale
    self.score = score
  }
}
