/// Where a case came from (docs/cases.md).
public enum CaseSource: String, Sendable, CaseIterable {
  /// An alert opened it, by the case rules or by a person's hand.
  case alert
  /// A detractor answer (NPS or CSAT at or below the case rules' thresholds): a follow-up (回访).
  case detractor
  /// A customer the segmentation service lists as at risk.
  case atRisk = "at_risk"
  /// A person opened it.
  case person
}

/// Where a case stands. Open and in progress are unfinished; resolved and closed are not.
public enum CaseStatus: String, Sendable, CaseIterable {
  case open
  case inProgress = "in_progress"
  case resolved
  case closed

  /// Whether work on the case is over (it can no longer be overdue).
  public var isFinished: Bool { self == .resolved || self == .closed }
}

/// What a case is about. Empty lists mean "not limited by this".
public struct CaseScope: Sendable, Equatable, Codable {
  public var businessLines: [String]
  public var regions: [String]
  /// A segment's name (segmentation service), or "".
  public var segment: String
  /// One customer's id, or "".
  public var customerID: String

  /// A scope from its parts.
  public init(businessLines: [String] = [], regions: [String] = [], segment: String = "", customerID: String = "") {
    self.businessLines = businessLines
    self.regions = regions
    self.segment = segment
    self.customerID = customerID
  }

  /// Whether the scope limits nothing.
  public var isEmpty: Bool { businessLines.isEmpty && regions.isEmpty && segment.isEmpty && customerID.isEmpty }
}

/// The action taken on a case: what was done, from when, on what.
public struct CaseAction: Sendable, Equatable, Codable {
  public var description: String
  /// From when the action applies (Unix ms).
  public var effectiveMs: Int64
  /// The units it touched.
  public var scope: CaseScope
  /// Days after `effectiveMs` its effect is first verified (nil: 14); again at 28.
  public var verifyAfterDays: Int?

  /// An action from its parts.
  public init(description: String, effectiveMs: Int64, scope: CaseScope, verifyAfterDays: Int? = nil) {
    self.description = description
    self.effectiveMs = effectiveMs
    self.scope = scope
    self.verifyAfterDays = verifyAfterDays
  }

  /// The days after it took effect its effect is verified: its follow-up horizon (14 by
  /// default), then 28 (once, when they are the same).
  public var verificationHorizons: [Int] {
    let first = verifyAfterDays ?? ActionVerifier.horizonsDays[0]
    return Array(Set([first, ActionVerifier.horizonsDays[1]])).sorted()
  }
}

/// The survey answer a detractor case came from: what the recovery rate compares the
/// customer's next answer of the same kind with.
public struct CaseAnswer: Sendable, Equatable {
  public var responseID: String
  /// `nps` or `csat`.
  public var scale: String
  public var score: Int
  public var timeMs: Int64

  /// An answer from its parts.
  public init(responseID: String, scale: String, score: Int, timeMs: Int64) {
    self.responseID = responseID
    self.scale = scale
    self.score = score
    self.timeMs = timeMs
  }
}

/// A case: something someone owns and must act on by a due time (docs/cases.md).
public struct ServiceCase: Sendable, Equatable {
  /// `alert-<alert id>` and `answer-<response id>` for the cases rules open (so a case is
  /// opened once however often, and by however many replicas, the rules run), else generated.
  public var id: String
  public var title: String
  public var source: CaseSource
  /// The alert id, response id or customer id the case came from ("" for a person's).
  public var sourceRef: String
  /// A person or team name ("" while nobody owns it).
  public var owner: String
  public var dueMs: Int64
  /// Whether `dueMs` was reckoned in the tenant's business hours.
  public var dueInBusinessHours: Bool
  public var status: CaseStatus
  /// Set when the case passed its due time unfinished and was escalated.
  public var overdue: Bool
  public var scope: CaseScope
  public var action: CaseAction?
  public var openedMs: Int64
  /// The first status change, note, action or follow-up by a person (time to first action).
  public var firstActionMs: Int64?
  /// When it was closed (time to close).
  public var closedMs: Int64?
  /// Grows by one with every change (optimistic concurrency for updates).
  public var version: Int64
  public var followUpAttempts: Int
  /// The first follow-up attempt recorded (the follow-up rate's 48 hours).
  public var firstFollowUpMs: Int64?
  /// A detractor case's answer.
  public var answer: CaseAnswer?

  /// A case from its parts.
  public init(
    id: String, title: String, source: CaseSource, sourceRef: String = "", owner: String = "", dueMs: Int64,
    dueInBusinessHours: Bool = false, status: CaseStatus = .open, overdue: Bool = false, scope: CaseScope = CaseScope(),
    action: CaseAction? = nil, openedMs: Int64, firstActionMs: Int64? = nil, closedMs: Int64? = nil, version: Int64 = 1,
    followUpAttempts: Int = 0, firstFollowUpMs: Int64? = nil, answer: CaseAnswer? = nil
  ) {
    self.id = id
    self.title = title
    self.source = source
    self.sourceRef = sourceRef
    self.owner = owner
    self.dueMs = dueMs
    self.dueInBusinessHours = dueInBusinessHours
    self.status = status
    self.overdue = overdue
    self.scope = scope
    self.action = action
    self.openedMs = openedMs
    self.firstActionMs = firstActionMs
    self.closedMs = closedMs
    self.version = version
    self.followUpAttempts = followUpAttempts
    self.firstFollowUpMs = firstFollowUpMs
    self.answer = answer
  }

  /// The id of the case an alert opens.
  public static func id(alert alertID: String) -> String { "alert-\(alertID)" }
  /// The id of the case a detractor answer opens.
  public static func id(answer responseID: String) -> String { "answer-\(responseID)" }
}

/// What kind of change a history entry records.
public enum CaseChangeKind: String, Sendable, CaseIterable {
  case opened, assigned, status, note, action, escalated
  case followUp = "follow_up"

  /// Whether a person's change of this kind is an action on the case (time to first
  /// action: "first status change or note by a person"; recording the action taken and a
  /// follow-up attempt are both).
  public var countsAsAction: Bool {
    switch self {
    case .status, .note, .action, .followUp: true
    case .opened, .assigned, .escalated: false
    }
  }
}

/// One change in a case's history.
public struct CaseChange: Sendable, Equatable {
  public var atMs: Int64
  /// `<key name> (<key id>)` for a person's key; ``CaseChange/rulesActor`` for the rules.
  public var actor: String
  public var kind: CaseChangeKind
  public var detail: String

  /// A change from its parts.
  public init(atMs: Int64, actor: String, kind: CaseChangeKind, detail: String) {
    self.atMs = atMs
    self.actor = actor
    self.kind = kind
    self.detail = detail
  }

  /// The actor of changes the case rules make.
  public static let rulesActor = "sightline"
}
