public import Foundation

/// A tenant's case rules (docs/cases.md): which alerts and answers open cases, who owns
/// them, and when they are due.
public struct CaseRules: Sendable, Equatable, Codable {
  /// Alert rules whose alerts open a case, by rule id.
  public var alertRuleIDs: [String]
  /// Every alert opens a case.
  public var allAlerts: Bool
  /// Whether detractor answers open follow-up cases.
  public var detractors: Bool
  /// An NPS answer at or below this is a detractor's (DOMAIN.md: 0-6).
  public var npsMax: Int
  /// A CSAT answer at or below this is a detractor's (2 of 1-5 by default).
  public var csatMax: Int
  /// Default owners by business line or region, the first match winning.
  public var owners: [OwnerRule]
  /// The owner when no owner rule matches ("" leaves the case unowned).
  public var defaultOwner: String
  /// Hours from opening to the due time.
  public var dueHours: Double
  /// Whether the due time runs in the tenant's business hours (when it has a calendar).
  public var dueInBusinessHours: Bool
  /// Who an overdue case is escalated to ("" keeps its owner and only flags it).
  public var escalationOwner: String
  /// Hours until the next follow-up attempt after one that did not reach the customer.
  public var retryHours: Double
  /// Customers the segmentation service lists as at risk with at least this score open a
  /// case each (one unfinished per customer); nil: none do (a person opens them).
  public var atRiskMinScore: Double?

  /// The rules of a tenant that set none: detractors open follow-ups due in 24 hours, no
  /// alert opens a case (a person opens one from an alert, or an admin names the rules).
  public static let defaults = CaseRules(
    alertRuleIDs: [], allAlerts: false, detractors: true, npsMax: 6, csatMax: 2, owners: [], defaultOwner: "",
    dueHours: 24, dueInBusinessHours: false, escalationOwner: "", retryHours: 24)

  /// Rules from their parts.
  public init(
    alertRuleIDs: [String], allAlerts: Bool, detractors: Bool, npsMax: Int, csatMax: Int, owners: [OwnerRule],
    defaultOwner: String, dueHours: Double, dueInBusinessHours: Bool, escalationOwner: String, retryHours: Double,
    atRiskMinScore: Double? = nil
  ) {
    self.alertRuleIDs = alertRuleIDs
    self.allAlerts = allAlerts
    self.detractors = detractors
    self.npsMax = npsMax
    self.csatMax = csatMax
    self.owners = owners
    self.defaultOwner = defaultOwner
    self.dueHours = dueHours
    self.dueInBusinessHours = dueInBusinessHours
    self.escalationOwner = escalationOwner
    self.retryHours = retryHours
    self.atRiskMinScore = atRiskMinScore
  }

  /// The default owner of one case: the first owner rule naming one of its business lines
  /// or regions, else ``defaultOwner``.
  public func owner(businessLines: [String], regions: [String]) -> String {
    for rule in owners {
      let values = rule.dimension == .businessLine ? businessLines : regions
      if values.contains(rule.value) { return rule.owner }
    }
    return defaultOwner
  }

  /// When a case opened at `openedMs` is due under these rules, on `levels`' default
  /// calendar when they ask for business hours (``CaseDeadline``).
  public func due(openedMs: Int64, levels: ServiceLevels) -> (ms: Int64, business: Bool) {
    CaseDeadline.due(openedMs: openedMs, hours: dueHours, businessHours: dueInBusinessHours, levels: levels)
  }

  /// Whether an alert of `ruleID` opens a case.
  public func opensCase(alertRule ruleID: String) -> Bool { allAlerts || alertRuleIDs.contains(ruleID) }

  /// Whether an answer on `scale` scoring `score` is a detractor's (NPS and CSAT only).
  public func isDetractor(scale: String, score: Int) -> Bool {
    switch scale {
    case "nps": score <= npsMax
    case "csat": score <= csatMax
    default: false
    }
  }

  /// What is wrong, naming the field; nil when the rules can be stored.
  public var problem: BusinessHours.Problem? {
    if !(0...10).contains(npsMax) { return .init(field: "nps_max", reason: "\(npsMax) is not an NPS score (0-10)") }
    if !(1...5).contains(csatMax) { return .init(field: "csat_max", reason: "\(csatMax) is not a CSAT score (1-5)") }
    if let score = atRiskMinScore, !(score >= 0 && score.isFinite) {
      return .init(field: "at_risk_min_score", reason: "\(score) is not a risk score (0 or more)")
    }
    if !(dueHours > 0 && dueHours <= 24 * 365) {
      return .init(field: "due_hours", reason: "\(dueHours) is not a number of hours between 0 and a year")
    }
    if !(retryHours > 0 && retryHours <= 24 * 365) {
      return .init(field: "retry_hours", reason: "\(retryHours) is not a number of hours between 0 and a year")
    }
    for (index, rule) in owners.enumerated() {
      if rule.value.isEmpty { return .init(field: "owners[\(index)].value", reason: "is empty") }
      if rule.owner.isEmpty { return .init(field: "owners[\(index)].owner", reason: "is empty") }
    }
    for (index, id) in alertRuleIDs.enumerated() where id.isEmpty {
      return .init(field: "alert_rule_ids[\(index)]", reason: "is empty")
    }
    return nil
  }

  /// The stored form: JSON with sorted keys.
  public var document: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// The rules of a stored form; the defaults for none.
  public init(document: String?) throws {
    guard let document, !document.isEmpty else {
      self = .defaults
      return
    }
    self = try JSONDecoder().decode(CaseRules.self, from: Data(document.utf8))
  }
}

/// The default owner of cases whose scope holds a business line or region.
public struct OwnerRule: Sendable, Equatable, Codable {
  /// Which of the two dimensions the rule looks at.
  public enum Dimension: String, Sendable, Codable {
    case businessLine = "business_line"
    case region
  }

  public var dimension: Dimension
  public var value: String
  public var owner: String

  /// A rule from its parts.
  public init(dimension: Dimension, value: String, owner: String) {
    self.dimension = dimension
    self.value = value
    self.owner = owner
  }
}
