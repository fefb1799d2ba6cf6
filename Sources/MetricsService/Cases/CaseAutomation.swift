import Foundation
import SightlineModel

/// What the case rules do on their own, once per round for a tenant whose work this
/// replica holds (docs/cases.md): open a case for every open alert of a chosen rule and
/// for every recent detractor answer, and escalate what passed its due time unfinished.
///
/// Each case the rules open has an id made of what opened it (``ServiceCase/id(alert:)``,
/// ``ServiceCase/id(answer:)``) and is inserted only if absent, so rounds may repeat and
/// replicas overlap without opening a case twice; the writes are fenced by the tenant's
/// metrics lease besides.
struct CaseAutomation {
  let cases: any CaseStore
  let alerts: any AlertStore
  let settings: KpiSettings
  let nowMs: Int64
  let fence: LeaseFence
  /// The segmentation service's customers at risk, when fetched for this round (the
  /// scheduler asks at most hourly, for tenants whose rules want them).
  var atRisk: [AtRiskCustomer]? = nil

  /// Detractor answers older than this open no case: an import of last year's history
  /// must not fill the follow-up list with customers nobody can still call back about.
  static let detractorLookbackMs: Int64 = 7 * 86_400_000
  /// At most this many cases of each kind a round (the next round takes the rest).
  static let batchLimit = 500

  /// What a run did, and when the tenant's next unfinished case falls due.
  struct Outcome {
    var opened: [ServiceCase]
    var escalated: [ServiceCase]
    var nextDueMs: Int64?
  }

  /// Runs the rules once.
  func run() throws -> Outcome {
    let rules = try cases.caseRules()
    var opened = try openAlertCases(rules)
    if rules.detractors { opened += try openDetractorCases(rules) }
    if let atRisk, rules.atRiskMinScore != nil { opened += try openAtRiskCases(atRisk, rules: rules) }
    let escalated = try escalateOverdue(rules)
    let next = try cases.cases(
      CaseFilter(statuses: CaseFilter.unfinished, excludeOverdue: true, earliestDueFirst: true, limit: 1)
    ).first?.dueMs
    return Outcome(opened: opened, escalated: escalated, nextDueMs: next)
  }

  /// A case for each open alert of a rule the case rules name, unless it has one.
  func openAlertCases(_ rules: CaseRules) throws -> [ServiceCase] {
    guard rules.allAlerts || !rules.alertRuleIDs.isEmpty else { return [] }
    var opened: [ServiceCase] = []
    for alert in try alerts.alerts(openOnly: true, limit: Self.batchLimit) where rules.opensCase(alertRule: alert.ruleID) {
      guard try cases.serviceCase(id: ServiceCase.id(alert: alert.id)) == nil else { continue }
      let item = Self.alertCase(alert, rules: rules, settings: settings, openedMs: nowMs)
      if try cases.open(item, change: Self.opening(item, by: CaseChange.rulesActor), fence: fence) { opened.append(item) }
    }
    return opened
  }

  /// A follow-up case for each detractor answer of the last week that has none.
  func openDetractorCases(_ rules: CaseRules) throws -> [ServiceCase] {
    var opened: [ServiceCase] = []
    let since = nowMs - Self.detractorLookbackMs
    for detractor in try cases.uncasedDetractors(sinceMs: since, rules: rules, limit: Self.batchLimit) {
      let answer = detractor.answer
      let scope = CaseScope(
        businessLines: detractor.businessLine.isEmpty ? [] : [detractor.businessLine],
        regions: detractor.region.isEmpty ? [] : [detractor.region], customerID: detractor.customerID)
      let due = rules.due(openedMs: nowMs, levels: settings.serviceLevels)
      let item = ServiceCase(
        id: ServiceCase.id(answer: answer.responseID),
        title: "Follow up: \(answer.scale.uppercased()) \(answer.score) from customer \(detractor.customerID)",
        source: .detractor, sourceRef: answer.responseID, owner: rules.owner(businessLines: scope.businessLines, regions: scope.regions),
        dueMs: due.ms, dueInBusinessHours: due.business, scope: scope, openedMs: nowMs, answer: answer)
      if try cases.open(item, change: Self.opening(item, by: CaseChange.rulesActor), fence: fence) { opened.append(item) }
    }
    return opened
  }

  /// A case for each customer at risk with at least the rules' score who has no unfinished
  /// at-risk case (a person's or the rules'); its id names the customer and the day, so
  /// rounds and replicas open it once.
  func openAtRiskCases(_ customers: [AtRiskCustomer], rules: CaseRules) throws -> [ServiceCase] {
    var opened: [ServiceCase] = []
    for customer in customers.prefix(Self.batchLimit) where customer.score >= rules.atRiskMinScore ?? .infinity {
      let unfinished = try cases.cases(
        CaseFilter(statuses: CaseFilter.unfinished, source: .atRisk, sourceRef: customer.customerID, limit: 1))
      guard unfinished.isEmpty else { continue }
      let scope = CaseScope(customerID: customer.customerID)
      let due = rules.due(openedMs: nowMs, levels: settings.serviceLevels)
      let reasons = customer.reasons.isEmpty ? "" : ": " + customer.reasons.joined(separator: "; ")
      let item = ServiceCase(
        id: "risk-\(customer.customerID)-\(nowMs / 86_400_000)", title: "Customer \(customer.customerID) at risk\(reasons)",
        source: .atRisk, sourceRef: customer.customerID, owner: rules.owner(businessLines: [], regions: []), dueMs: due.ms,
        dueInBusinessHours: due.business, scope: scope, openedMs: nowMs)
      if try cases.open(item, change: Self.opening(item, by: CaseChange.rulesActor), fence: fence) { opened.append(item) }
    }
    return opened
  }

  /// Flags each unfinished case past its due time, and hands it to the escalation owner.
  func escalateOverdue(_ rules: CaseRules) throws -> [ServiceCase] {
    let due = try cases.cases(
      CaseFilter(
        statuses: CaseFilter.unfinished, excludeOverdue: true, dueBeforeMs: nowMs, earliestDueFirst: true, limit: Self.batchLimit))
    var escalated: [ServiceCase] = []
    for var item in due {
      let previousOwner = item.owner
      item.overdue = true
      if !rules.escalationOwner.isEmpty { item.owner = rules.escalationOwner }
      item.version += 1
      let handedOver = item.owner == previousOwner ? "" : "; escalated from \(Self.ownerText(previousOwner)) to \(item.owner)"
      let change = CaseChange(
        atMs: nowMs, actor: CaseChange.rulesActor, kind: .escalated,
        detail: "overdue: due \(RFC3339.format(milliseconds: item.dueMs))\(handedOver)")
      // A person changing the case meanwhile wins; the next round looks again.
      if try cases.update(item, change: change, fence: fence) { escalated.append(item) }
    }
    return escalated
  }

  /// The case an alert opens: its message as the title, its dimension value as the scope.
  static func alertCase(_ alert: AlertRecord, rules: CaseRules, settings: KpiSettings, openedMs: Int64) -> ServiceCase {
    var scope = CaseScope()
    switch alert.dimension {
    case .businessLine?: scope.businessLines = [alert.dimensionValue]
    case .region?: scope.regions = [alert.dimensionValue]
    case .customer?: scope.customerID = alert.dimensionValue
    default: break
    }
    let due = rules.due(openedMs: openedMs, levels: settings.serviceLevels)
    return ServiceCase(
      id: ServiceCase.id(alert: alert.id), title: alert.message, source: .alert, sourceRef: alert.id,
      owner: rules.owner(businessLines: scope.businessLines, regions: scope.regions), dueMs: due.ms,
      dueInBusinessHours: due.business, scope: scope, openedMs: openedMs)
  }

  /// The history entry of a case's opening.
  static func opening(_ item: ServiceCase, by actor: String) -> CaseChange {
    CaseChange(
      atMs: item.openedMs, actor: actor, kind: .opened,
      detail:
        "opened from \(item.source.rawValue)\(item.sourceRef.isEmpty ? "" : " \(item.sourceRef)"), owner \(ownerText(item.owner)), due \(RFC3339.format(milliseconds: item.dueMs))"
    )
  }

  static func ownerText(_ owner: String) -> String { owner.isEmpty ? "nobody" : owner }
}

/// A customer the segmentation service lists as at risk, as the case rules need it.
public struct AtRiskCustomer: Sendable, Equatable {
  public var customerID: String
  public var score: Double
  /// Why, in words ("3 complaints in 30 days").
  public var reasons: [String]

  public init(customerID: String, score: Double, reasons: [String]) {
    self.customerID = customerID
    self.score = score
    self.reasons = reasons
  }
}
