import Foundation
import SightlineModel

/// Why a person's change to a case was refused.
enum CaseDeskError: Error, Equatable, CustomStringConvertible {
  /// No case (or alert) of that id.
  case notFound(String)
  /// A field is wrong: which, and why.
  case invalid(field: String, reason: String)
  /// The case is not at the version the caller read.
  case conflict(caseID: String, expected: Int64, actual: Int64)
  /// The change does not apply to this case.
  case notApplicable(String)

  var description: String {
    switch self {
    case .notFound(let what): what
    case .invalid(let field, let reason): "\(field): \(reason)"
    case .conflict(let id, let expected, let actual):
      "case \(id) is at version \(actual), not \(expected): someone changed it since you read it; read it again"
    case .notApplicable(let why): why
    }
  }
}

/// What people do with cases (docs/cases.md): open one, assign it, note, change its status,
/// record the action taken, record a follow-up attempt. Each change is one history entry
/// naming who made it, written only if nobody changed the case since it was read.
struct CaseDesk {
  let cases: any CaseStore
  let alerts: any AlertStore
  let settings: KpiSettings
  let nowMs: Int64
  /// `<key label> (<key id>)`.
  let actor: String

  /// A person's change to a case.
  enum Change {
    case assign(String)
    case note(String)
    case status(CaseStatus, note: String)
    case action(CaseAction)
  }

  /// How a follow-up attempt ended.
  enum FollowUpOutcome: String {
    case reached
    case notReached = "not_reached"
    case recovered
  }

  static let maxTitleLength = 200
  static let maxNoteLength = 4_000

  /// Opens a person's case, the case of alert `sourceRef`, or the case of customer
  /// `sourceRef` at risk (an alert has one case, a customer at risk one unfinished case:
  /// returned as it is, with `created` false, when it exists).
  func open(
    title: String, source: CaseSource, sourceRef: String, owner: String, dueMs: Int64?, scope: CaseScope, note: String
  ) throws -> (ServiceCase, created: Bool) {
    let rules = try cases.caseRules()
    try Self.check(text: note, field: "note", limit: Self.maxNoteLength)
    var item: ServiceCase
    switch source {
    case .alert:
      guard let alert = try alerts.alert(id: sourceRef) else {
        throw CaseDeskError.notFound(sourceRef.isEmpty ? "source_ref: name the alert the case is for" : "no alert has id \(sourceRef)")
      }
      if let existing = try cases.serviceCase(id: ServiceCase.id(alert: alert.id)) { return (existing, false) }
      item = CaseAutomation.alertCase(alert, rules: rules, settings: settings, openedMs: nowMs)
      if !title.isEmpty { item.title = title }
      if !scope.isEmpty { item.scope = scope }
    case .person:
      guard !title.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw CaseDeskError.invalid(field: "title", reason: "a case needs a title")
      }
      item = newCase(title: title, source: .person, sourceRef: "", scope: scope, rules: rules)
    case .atRisk:
      // One unfinished case per customer at risk: opening it again returns it.
      guard !sourceRef.isEmpty else {
        throw CaseDeskError.invalid(field: "source_ref", reason: "name the customer at risk (sightline customers at-risk lists them)")
      }
      let unfinished = try cases.cases(CaseFilter(statuses: CaseFilter.unfinished, source: .atRisk, sourceRef: sourceRef, limit: 1))
      if let existing = unfinished.first { return (existing, false) }
      var scope = scope
      scope.customerID = sourceRef
      item = newCase(
        title: title.isEmpty ? "Customer \(sourceRef) at risk" : title, source: .atRisk, sourceRef: sourceRef, scope: scope, rules: rules)
    case .detractor:
      throw CaseDeskError.invalid(
        field: "source", reason: "detractor cases are opened by the case rules; a person opens PERSON, ALERT or AT_RISK cases")
    }
    try Self.check(text: item.title, field: "title", limit: Self.maxTitleLength)
    if !owner.isEmpty { item.owner = owner }
    if let dueMs {
      guard dueMs > nowMs else { throw CaseDeskError.invalid(field: "due_at", reason: "is not in the future") }
      item.dueMs = dueMs
      item.dueInBusinessHours = false
    }
    var opening = CaseAutomation.opening(item, by: actor)
    if !note.isEmpty { opening.detail += ": \(note)" }
    guard try cases.open(item, change: opening, fence: .sole) else {
      // The rules opened the alert's case a moment ago.
      return (try cases.serviceCase(id: item.id) ?? item, false)
    }
    return (item, true)
  }

  /// A new case with a generated id, owned and due as the rules say.
  private func newCase(title: String, source: CaseSource, sourceRef: String, scope: CaseScope, rules: CaseRules) -> ServiceCase {
    let due = rules.due(openedMs: nowMs, levels: settings.serviceLevels)
    return ServiceCase(
      id: "case-\(UUID().uuidString.lowercased().prefix(13))", title: title, source: source, sourceRef: sourceRef,
      owner: rules.owner(businessLines: scope.businessLines, regions: scope.regions), dueMs: due.ms,
      dueInBusinessHours: due.business, scope: scope, openedMs: nowMs)
  }

  /// Applies `change` to case `id`; with `expectedVersion` > 0, only if the case is at that
  /// version. Without one, a change racing another is applied again on the newer case.
  func update(_ id: String, expectedVersion: Int64, _ change: Change) throws -> ServiceCase {
    try modify(id, expectedVersion: expectedVersion) { item in
      switch change {
      case .assign(let owner):
        guard !owner.isEmpty else { throw CaseDeskError.invalid(field: "assign", reason: "name the new owner") }
        try Self.check(text: owner, field: "assign", limit: Self.maxTitleLength)
        let detail = "owner \(CaseAutomation.ownerText(item.owner)) → \(owner)"
        item.owner = owner
        return (.assigned, detail)
      case .note(let text):
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
          throw CaseDeskError.invalid(field: "note", reason: "a note needs text")
        }
        try Self.check(text: text, field: "note", limit: Self.maxNoteLength)
        return (.note, text)
      case .status(let status, let note):
        try Self.check(text: note, field: "note_with_status", limit: Self.maxNoteLength)
        guard status != item.status else {
          throw CaseDeskError.notApplicable("case \(item.id) is \(item.status.rawValue) already")
        }
        let detail = "\(item.status.rawValue) → \(status.rawValue)\(note.isEmpty ? "" : ": \(note)")"
        item.status = status
        item.closedMs = status == .closed ? nowMs : nil
        return (.status, detail)
      case .action(let action):
        guard !action.description.trimmingCharacters(in: .whitespaces).isEmpty else {
          throw CaseDeskError.invalid(field: "action.description", reason: "say what was done")
        }
        try Self.check(text: action.description, field: "action.description", limit: Self.maxNoteLength)
        var action = action
        if action.scope.isEmpty { action.scope = item.scope }
        item.action = action
        return (.action, "\(action.description) (from \(RFC3339.format(milliseconds: action.effectiveMs)))")
      }
    }
  }

  /// Records a follow-up attempt on detractor case `id`: reached resolves it, recovered
  /// closes it, not reached schedules the next attempt (`nextAttemptMs`, else the rules'
  /// retry interval from now) as its new due time.
  ///
  /// The same call sent again by the same caller after it finished the case (a form sent
  /// twice, a browser repeating a post whose answer it lost) answers as the first did,
  /// with the case, instead of as a new attempt on a finished case.
  func recordFollowUp(_ id: String, outcome: FollowUpOutcome, note: String, nextAttemptMs: Int64?) throws -> ServiceCase {
    try Self.check(text: note, field: "note", limit: Self.maxNoteLength)
    if let finished = try finishedByTheSameCall(id, outcome: outcome, note: note) { return finished }
    let rules = try cases.caseRules()
    return try modify(id, expectedVersion: 0) { item in
      guard item.source == .detractor else {
        throw CaseDeskError.notApplicable("case \(item.id) is not a follow-up: it came from \(item.source.rawValue)")
      }
      guard !item.status.isFinished else {
        throw CaseDeskError.notApplicable("case \(item.id) is \(item.status.rawValue): its follow-up is over")
      }
      item.followUpAttempts += 1
      if item.firstFollowUpMs == nil { item.firstFollowUpMs = nowMs }
      var nextDueMs: Int64?
      switch outcome {
      case .reached:
        item.status = .resolved
      case .recovered:
        item.status = .closed
        item.closedMs = nowMs
      case .notReached:
        if let nextAttemptMs, nextAttemptMs <= nowMs {
          throw CaseDeskError.invalid(field: "next_attempt_at", reason: "is not in the future")
        }
        item.status = .inProgress
        item.dueMs = nextAttemptMs ?? nowMs + Int64((rules.retryHours * 3_600_000).rounded())
        item.dueInBusinessHours = false
        item.overdue = false
        nextDueMs = item.dueMs
      }
      return (.followUp, Self.followUpDetail(attempt: item.followUpAttempts, outcome: outcome, nextDueMs: nextDueMs, note: note))
    }
  }

  /// A follow-up's line in the case's history.
  static func followUpDetail(attempt: Int, outcome: FollowUpOutcome, nextDueMs: Int64?, note: String) -> String {
    var detail = "attempt \(attempt): \(outcome.rawValue)"
    if let nextDueMs { detail += "; next attempt by \(RFC3339.format(milliseconds: nextDueMs))" }
    if !note.isEmpty { detail += ": \(note)" }
    return detail
  }

  /// Case `id` as it is, if its last change is this caller's follow-up with this outcome and
  /// note that finished it (so this call repeats that one).
  private func finishedByTheSameCall(_ id: String, outcome: FollowUpOutcome, note: String) throws -> ServiceCase? {
    guard outcome != .notReached, let item = try cases.serviceCase(id: id), item.status.isFinished,
      let last = try cases.history(caseID: id).last, last.kind == .followUp, last.actor == actor
    else { return nil }
    let detail = Self.followUpDetail(attempt: item.followUpAttempts, outcome: outcome, nextDueMs: nil, note: note)
    return last.detail == detail ? item : nil
  }

  /// Reads case `id`, lets `body` change it and say what it did, and writes it one version
  /// up, if nobody wrote it meanwhile (else, without an expected version, once more).
  private func modify(
    _ id: String, expectedVersion: Int64, _ body: (inout ServiceCase) throws -> (CaseChangeKind, String)
  ) throws -> ServiceCase {
    for _ in 0..<5 {
      guard var item = try cases.serviceCase(id: id) else { throw CaseDeskError.notFound("no case has id \(id)") }
      if expectedVersion > 0 && item.version != expectedVersion {
        throw CaseDeskError.conflict(caseID: id, expected: expectedVersion, actual: item.version)
      }
      let (kind, detail) = try body(&item)
      if kind.countsAsAction && item.firstActionMs == nil { item.firstActionMs = nowMs }
      item.version += 1
      if try cases.update(item, change: CaseChange(atMs: nowMs, actor: actor, kind: kind, detail: detail), fence: .sole) {
        return item
      }
      if expectedVersion > 0 {
        throw CaseDeskError.conflict(caseID: id, expected: expectedVersion, actual: try cases.serviceCase(id: id)?.version ?? 0)
      }
    }
    throw CaseDeskError.conflict(caseID: id, expected: 0, actual: try cases.serviceCase(id: id)?.version ?? 0)
  }

  private static func check(text: String, field: String, limit: Int) throws {
    if text.count > limit { throw CaseDeskError.invalid(field: field, reason: "is \(text.count) characters; the limit is \(limit)") }
  }
}
