import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Cases, changes and rules between the model and the wire (cases.proto).
enum CaseWire {
  static func source(_ source: CaseSource) -> Sightline_Cases_V1_CaseSource { CaseWireNames.source(source) }

  static func source(_ source: Sightline_Cases_V1_CaseSource) -> CaseSource? { CaseWireNames.source(source) }

  static func status(_ status: CaseStatus) -> Sightline_Cases_V1_CaseStatus { CaseWireNames.status(status) }

  static func status(_ status: Sightline_Cases_V1_CaseStatus, field: String) throws -> CaseStatus {
    guard let named = CaseWireNames.status(status) else {
      throw InvalidInput(field: field, reason: "name a status: OPEN, IN_PROGRESS, RESOLVED or CLOSED")
    }
    return named
  }

  static func verification(_ verification: CaseVerification) -> Sightline_Cases_V1_Verification {
    .with {
      $0.horizonDays = Int32(verification.horizonDays)
      $0.evaluatedAt = .init(unixMilliseconds: verification.evaluatedMs)
      $0.kpi = verification.kpi
      $0.dimension = verification.dimension
      $0.treated = verification.treated
      $0.controlUnits = Int32(clamping: verification.controlUnits)
      $0.method = verification.method
      $0.effect = verification.effect
      $0.ciLow = verification.ciLow
      $0.ciHigh = verification.ciHigh
      $0.pValue = verification.pValue
      $0.verdict = verification.verdict.rawValue
      $0.weakerEvidence = verification.weakerEvidence
      $0.note = verification.note
    }
  }

  static func scope(_ scope: CaseScope) -> Sightline_Cases_V1_CaseScope {
    .with {
      $0.businessLines = scope.businessLines
      $0.regions = scope.regions
      $0.segment = scope.segment
      $0.customerID = scope.customerID
    }
  }

  static func scope(_ scope: Sightline_Cases_V1_CaseScope) -> CaseScope {
    CaseScope(
      businessLines: scope.businessLines.filter { !$0.isEmpty }, regions: scope.regions.filter { !$0.isEmpty },
      segment: scope.segment, customerID: scope.customerID)
  }

  static func serviceCase(_ item: ServiceCase) -> Sightline_Cases_V1_Case {
    .with {
      $0.id = item.id
      $0.title = item.title
      $0.source = source(item.source)
      $0.sourceRef = item.sourceRef
      $0.owner = item.owner
      $0.dueAt = .init(unixMilliseconds: item.dueMs)
      $0.dueInBusinessHours = item.dueInBusinessHours
      $0.status = status(item.status)
      $0.overdue = item.overdue
      $0.scope = scope(item.scope)
      if let action = item.action {
        $0.action = .with {
          $0.description_p = action.description
          $0.effectiveAt = .init(unixMilliseconds: action.effectiveMs)
          $0.scope = scope(action.scope)
          $0.verifyAfterDays = Int32(action.verifyAfterDays ?? 0)
        }
      }
      $0.openedAt = .init(unixMilliseconds: item.openedMs)
      if let closed = item.closedMs { $0.closedAt = .init(unixMilliseconds: closed) }
      $0.version = item.version
      $0.followUpAttempts = Int32(clamping: item.followUpAttempts)
    }
  }

  static func change(_ change: CaseChange) -> Sightline_Cases_V1_CaseChange {
    .with {
      $0.at = .init(unixMilliseconds: change.atMs)
      $0.actor = change.actor
      $0.kind = change.kind.rawValue
      $0.detail = change.detail
    }
  }

  static func rules(_ rules: CaseRules) -> Sightline_Cases_V1_CaseRules {
    .with {
      $0.alertRuleIds = rules.alertRuleIDs
      $0.allAlerts = rules.allAlerts
      $0.detractors = rules.detractors
      $0.npsMax = Int32(rules.npsMax)
      $0.csatMax = Int32(rules.csatMax)
      $0.owners = rules.owners.map { rule in
        .with {
          $0.dimension = rule.dimension == .businessLine ? .businessLine : .region
          $0.value = rule.value
          $0.owner = rule.owner
        }
      }
      $0.defaultOwner = rules.defaultOwner
      $0.dueHours = rules.dueHours
      $0.dueInBusinessHours = rules.dueInBusinessHours
      $0.escalationOwner = rules.escalationOwner
      $0.retryHours = rules.retryHours
      $0.atRisk = rules.atRiskMinScore != nil
      $0.atRiskMinScore = rules.atRiskMinScore ?? 0
    }
  }

  /// The rules of a request; a threshold or interval of 0 means its default.
  static func rules(_ wire: Sightline_Cases_V1_CaseRules) throws -> CaseRules {
    let owners = try wire.owners.enumerated().map { index, rule in
      let dimension: OwnerRule.Dimension
      switch rule.dimension {
      case .businessLine: dimension = .businessLine
      case .region: dimension = .region
      default: throw InvalidInput(field: "rules.owners[\(index)].dimension", reason: "owners are set by BUSINESS_LINE or REGION")
      }
      return OwnerRule(dimension: dimension, value: rule.value, owner: rule.owner)
    }
    let defaults = CaseRules.defaults
    let rules = CaseRules(
      alertRuleIDs: wire.alertRuleIds, allAlerts: wire.allAlerts, detractors: wire.detractors,
      npsMax: wire.npsMax == 0 ? defaults.npsMax : Int(wire.npsMax), csatMax: wire.csatMax == 0 ? defaults.csatMax : Int(wire.csatMax),
      owners: owners, defaultOwner: wire.defaultOwner, dueHours: wire.dueHours == 0 ? defaults.dueHours : wire.dueHours,
      dueInBusinessHours: wire.dueInBusinessHours, escalationOwner: wire.escalationOwner,
      retryHours: wire.retryHours == 0 ? defaults.retryHours : wire.retryHours, atRiskMinScore: wire.atRisk ? wire.atRiskMinScore : nil)
    if let problem = rules.problem { throw InvalidInput(field: "rules.\(problem.field)", reason: problem.reason) }
    return rules
  }

  static func answer(_ answer: CustomerAnswer) -> Sightline_Cases_V1_FollowUpAnswer {
    .with {
      $0.responseID = answer.answer.responseID
      $0.ticketID = answer.ticketID
      $0.scale = answer.answer.scale
      $0.score = Int32(clamping: answer.answer.score)
      $0.answeredAt = .init(unixMilliseconds: answer.answer.timeMs)
    }
  }

  static func ticket(_ ticket: CustomerTicket) -> Sightline_Cases_V1_FollowUpTicket {
    .with {
      $0.ticketID = ticket.ticketID
      $0.createdAt = .init(unixMilliseconds: ticket.createdMs)
      $0.channel = ticket.channel
      $0.businessLine = ticket.businessLine
      $0.problemType = ticket.problemType
      $0.complaint = ticket.complaint
      $0.resolved = ticket.resolved
    }
  }

  /// Fills a follow-up's comments and risk from the segmentation service's description.
  static func describe(_ followUp: inout Sightline_Cases_V1_FollowUp, _ customer: Sightline_Segmentation_V1_CustomerDescription) {
    followUp.riskScore = customer.riskScore
    followUp.riskReasons = customer.riskReasons.map { $0.detail.isEmpty ? $0.code : $0.detail }
    followUp.recentComments = customer.recentTexts.map { text in
      .with {
        $0.source = text.source; $0.text = text.text; $0.at = text.at; $0.ticketID = text.ticketID; $0.scale = text.scale
        $0.score = text.score
      }
    }
  }
}
