import Foundation
public import SightlineModel

/// Which cases a listing returns.
public struct CaseFilter: Sendable, Equatable {
  /// Only these statuses (all when empty).
  public var statuses: Set<CaseStatus>
  public var source: CaseSource?
  /// Only cases from this alert, response or customer.
  public var sourceRef: String?
  public var owner: String?
  /// Only cases flagged overdue.
  public var overdueOnly: Bool
  /// Only cases not flagged overdue.
  public var excludeOverdue: Bool
  /// Only cases with an action recorded.
  public var withAction: Bool
  /// Only cases opened in [from, to).
  public var openedFromMs: Int64?
  public var openedToMs: Int64?
  /// Only cases due before this.
  public var dueBeforeMs: Int64?
  /// The earliest due first (else the newest opened first).
  public var earliestDueFirst: Bool
  public var limit: Int

  /// A filter from its parts; the defaults list the 100 newest cases.
  public init(
    statuses: Set<CaseStatus> = [], source: CaseSource? = nil, sourceRef: String? = nil, owner: String? = nil,
    overdueOnly: Bool = false,
    excludeOverdue: Bool = false, withAction: Bool = false, openedFromMs: Int64? = nil, openedToMs: Int64? = nil, dueBeforeMs: Int64? = nil,
    earliestDueFirst: Bool = false,
    limit: Int = 100
  ) {
    self.statuses = statuses
    self.source = source
    self.sourceRef = sourceRef
    self.owner = owner
    self.overdueOnly = overdueOnly
    self.excludeOverdue = excludeOverdue
    self.withAction = withAction
    self.openedFromMs = openedFromMs
    self.openedToMs = openedToMs
    self.dueBeforeMs = dueBeforeMs
    self.earliestDueFirst = earliestDueFirst
    self.limit = limit
  }

  /// The unfinished cases.
  public static let unfinished: Set<CaseStatus> = [.open, .inProgress]
}

/// A detractor answer that has no case yet, with what its case needs: the customer and the
/// answer's ticket's business line and region (for the owner rules).
public struct DetractorAnswer: Sendable, Equatable {
  public var answer: CaseAnswer
  public var customerID: String
  public var ticketID: String
  public var businessLine: String
  public var region: String

  public init(answer: CaseAnswer, customerID: String, ticketID: String, businessLine: String, region: String) {
    self.answer = answer
    self.customerID = customerID
    self.ticketID = ticketID
    self.businessLine = businessLine
    self.region = region
  }
}

/// A customer's ticket as the follow-up list shows it.
public struct CustomerTicket: Sendable, Equatable {
  public var ticketID: String
  public var createdMs: Int64
  public var channel: String
  public var businessLine: String
  public var problemType: String
  public var complaint: Bool
  public var resolved: Bool

  public init(
    ticketID: String, createdMs: Int64, channel: String, businessLine: String, problemType: String, complaint: Bool,
    resolved: Bool
  ) {
    self.ticketID = ticketID
    self.createdMs = createdMs
    self.channel = channel
    self.businessLine = businessLine
    self.problemType = problemType
    self.complaint = complaint
    self.resolved = resolved
  }
}

/// A customer's survey answer, with its ticket.
public struct CustomerAnswer: Sendable, Equatable {
  public var answer: CaseAnswer
  public var ticketID: String

  public init(answer: CaseAnswer, ticketID: String) {
    self.answer = answer
    self.ticketID = ticketID
  }
}

/// A tenant's cases, their history and the case rules: what closing the loop needs from
/// the metrics storage (the cases live beside the alerts and answers that open them).
public protocol CaseStore: Sendable {
  /// The tenant's case rules (``CaseRules/defaults`` until set).
  func caseRules() throws -> CaseRules
  /// Replaces the tenant's case rules.
  func setCaseRules(_ rules: CaseRules) throws
  /// Inserts `serviceCase` (version 1) with its opening `change`, unless a case of its id
  /// exists, if `fence` is still the tenant's metrics lease (else ``LeaseLost``). True when
  /// it was inserted.
  func open(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool
  /// Replaces the stored case by `serviceCase` and appends `change` at its version, only if
  /// the stored case is at the version before (else false, and nothing is written), and
  /// `fence` is still the tenant's metrics lease.
  func update(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool
  /// The case with `id`, if any.
  func serviceCase(id: String) throws -> ServiceCase?
  /// The case's history, oldest first.
  func history(caseID: String) throws -> [CaseChange]
  /// The cases `filter` keeps.
  func cases(_ filter: CaseFilter) throws -> [ServiceCase]
  /// Detractor answers at or after `sinceMs` (under `rules`' thresholds) that have no case,
  /// oldest first, at most `limit`.
  func uncasedDetractors(sinceMs: Int64, rules: CaseRules, limit: Int) throws -> [DetractorAnswer]
  /// For each question, the score of its customer's first answer on its scale after its
  /// time (nil: none yet), in the questions' order; one read however many there are.
  func nextAnswerScores(_ questions: [NextAnswerQuestion]) throws -> [Int?]
  /// `customerID`'s tickets created at or after `sinceMs`, newest first, at most `limit`.
  func tickets(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerTicket]
  /// `customerID`'s answers at or after `sinceMs`, newest first, at most `limit`.
  func answers(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerAnswer]
  /// The verified effects of the case's action that took effect at `actionEffectiveMs` (an
  /// action replaced later keeps its own), by horizon.
  func verifications(caseID: String, actionEffectiveMs: Int64) throws -> [CaseVerification]
  /// Every horizon verified so far, of every case's actions, in one read.
  func verifiedHorizons() throws -> Set<VerifiedHorizon>
  /// Stores `verification` of `serviceCase`'s action unless one of that action's at its
  /// horizon exists, with its `verification.result` event in the outbox, in one transaction,
  /// if `fence` is still the tenant's metrics lease; true when it was stored.
  func recordVerification(_ verification: CaseVerification, of serviceCase: ServiceCase, fence: LeaseFence) throws -> Bool
}

/// Which answer the recovery rate looks for: `customerID`'s first on `scale` after `afterMs`.
public struct NextAnswerQuestion: Sendable, Equatable, Codable {
  public var customerID: String
  public var scale: String
  public var afterMs: Int64

  public init(customerID: String, scale: String, afterMs: Int64) {
    self.customerID = customerID
    self.scale = scale
    self.afterMs = afterMs
  }
}

/// One horizon at which one action of a case was verified.
public struct VerifiedHorizon: Sendable, Hashable {
  public var caseID: String
  /// The action's ``CaseAction/effectiveMs``: a replaced action is verified afresh.
  public var actionEffectiveMs: Int64
  public var horizonDays: Int

  public init(caseID: String, actionEffectiveMs: Int64, horizonDays: Int) {
    self.caseID = caseID
    self.actionEffectiveMs = actionEffectiveMs
    self.horizonDays = horizonDays
  }
}

/// A case as both backends store it: one row of `service_case`, scope and action as JSON.
struct StoredCase {
  var id: String
  var title: String
  var source: String
  var sourceRef: String
  var owner: String
  var dueMs: Int64
  var dueBusiness: Int64
  var status: String
  var overdue: Int64
  var scope: String
  var action: String
  var openedMs: Int64
  var firstActionMs: Int64?
  var closedMs: Int64?
  var version: Int64
  var followUpAttempts: Int64
  var firstFollowUpMs: Int64?
  var answerScale: String
  var answerScore: Int64?
  var answerMs: Int64?

  /// The columns, in the order of the fields above.
  static let columns = """
    id, title, source, source_ref, owner, due_ms, due_business, status, overdue, scope, action, opened_ms, first_action_ms,
    closed_ms, version, follow_up_attempts, first_follow_up_ms, answer_scale, answer_score, answer_ms
    """

  init(_ item: ServiceCase) {
    id = item.id
    title = item.title
    source = item.source.rawValue
    sourceRef = item.sourceRef
    owner = item.owner
    dueMs = item.dueMs
    dueBusiness = item.dueInBusinessHours ? 1 : 0
    status = item.status.rawValue
    overdue = item.overdue ? 1 : 0
    scope = Self.json(item.scope)
    action = item.action.map(Self.json) ?? ""
    openedMs = item.openedMs
    firstActionMs = item.firstActionMs
    closedMs = item.closedMs
    version = item.version
    followUpAttempts = Int64(item.followUpAttempts)
    firstFollowUpMs = item.firstFollowUpMs
    answerScale = item.answer?.scale ?? ""
    answerScore = item.answer.map { Int64($0.score) }
    answerMs = item.answer?.timeMs
  }

  init(
    id: String, title: String, source: String, sourceRef: String, owner: String, dueMs: Int64, dueBusiness: Int64,
    status: String, overdue: Int64, scope: String, action: String, openedMs: Int64, firstActionMs: Int64?,
    closedMs: Int64?, version: Int64, followUpAttempts: Int64, firstFollowUpMs: Int64?, answerScale: String,
    answerScore: Int64?, answerMs: Int64?
  ) {
    self.id = id
    self.title = title
    self.source = source
    self.sourceRef = sourceRef
    self.owner = owner
    self.dueMs = dueMs
    self.dueBusiness = dueBusiness
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
    self.answerScale = answerScale
    self.answerScore = answerScore
    self.answerMs = answerMs
  }

  /// The case; nil for a row this version cannot read (an unknown source or status).
  var serviceCase: ServiceCase? {
    guard let source = CaseSource(rawValue: source), let status = CaseStatus(rawValue: status) else { return nil }
    let answer: CaseAnswer? =
      if let answerScore, let answerMs, !answerScale.isEmpty {
        CaseAnswer(responseID: sourceRef, scale: answerScale, score: Int(answerScore), timeMs: answerMs)
      } else { nil }
    return ServiceCase(
      id: id, title: title, source: source, sourceRef: sourceRef, owner: owner, dueMs: dueMs, dueInBusinessHours: dueBusiness == 1,
      status: status, overdue: overdue == 1, scope: Self.decode(CaseScope.self, scope) ?? CaseScope(),
      action: Self.decode(CaseAction.self, action), openedMs: openedMs, firstActionMs: firstActionMs, closedMs: closedMs,
      version: version, followUpAttempts: Int(followUpAttempts), firstFollowUpMs: firstFollowUpMs, answer: answer)
  }

  private static func json(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
  }

  private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
    text.isEmpty ? nil : try? JSONDecoder().decode(type, from: Data(text.utf8))
  }
}

/// The SQL the two backends share: the `WHERE` and `ORDER BY` of a case listing, with the
/// filter's values as bindings in order.
enum CaseListingSQL {
  /// Bindings are either text or integers.
  enum Binding {
    case text(String)
    case integer(Int64)
  }

  /// The condition, order and limit of `filter`; `placeholder(n)` writes the n-th binding
  /// (SQLite `?`, PostgreSQL `$n`), counting from `first`.
  static func clauses(_ filter: CaseFilter, first: Int, placeholder: (Int) -> String) -> (sql: String, bindings: [Binding]) {
    var conditions: [String] = []
    var bindings: [Binding] = []
    func bind(_ binding: Binding) -> String {
      bindings.append(binding)
      return placeholder(first + bindings.count - 1)
    }
    if !filter.statuses.isEmpty {
      let list = filter.statuses.map(\.rawValue).sorted().map { bind(.text($0)) }.joined(separator: ", ")
      conditions.append("status IN (\(list))")
    }
    if let source = filter.source { conditions.append("source = \(bind(.text(source.rawValue)))") }
    if let reference = filter.sourceRef { conditions.append("source_ref = \(bind(.text(reference)))") }
    if let owner = filter.owner { conditions.append("owner = \(bind(.text(owner)))") }
    if filter.overdueOnly { conditions.append("overdue = 1") }
    if filter.excludeOverdue { conditions.append("overdue = 0") }
    if filter.withAction { conditions.append("action <> ''") }
    if let from = filter.openedFromMs { conditions.append("opened_ms >= \(bind(.integer(from)))") }
    if let to = filter.openedToMs { conditions.append("opened_ms < \(bind(.integer(to)))") }
    if let due = filter.dueBeforeMs { conditions.append("due_ms < \(bind(.integer(due)))") }
    let condition = conditions.isEmpty ? "" : " AND " + conditions.joined(separator: " AND ")
    let order = filter.earliestDueFirst ? "due_ms, id" : "opened_ms DESC, id"
    return ("\(condition) ORDER BY \(order) LIMIT \(max(0, filter.limit))", bindings)
  }
}
