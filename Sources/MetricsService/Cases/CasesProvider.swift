import Foundation
public import GRPCCore
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// The cases service (cases.proto, docs/cases.md), served by the metrics process: cases live
/// in the tenant's metrics database beside the alerts and answers that open them.
public struct CasesProvider: Sendable {
  let metrics: MetricsProvider

  /// The cases service over `metrics`' tenants.
  public init(metrics: MetricsProvider) { self.metrics = metrics }

  /// The desk of the calling tenant and person.
  private func desk(_ metadata: Metadata) throws -> CaseDesk {
    try deskAndTenant(metadata).desk
  }

  /// The desk of the calling tenant and person, and the tenant (to announce changes).
  private func deskAndTenant(_ metadata: Metadata) throws -> (desk: CaseDesk, tenant: TenantID) {
    let (tenant, store) = try metrics.context(metadata)
    let desk = CaseDesk(
      cases: try metrics.state.cases(for: tenant), alerts: try metrics.state.alerts(for: tenant), settings: try store.settings(),
      nowMs: metrics.clock(), actor: SuiteMetadata.caller(metadata) ?? "unknown caller")
    return (desk, tenant)
  }

  /// Runs `body`, turning a refused change into the matching status.
  private func answering<R>(_ body: () throws -> R) throws -> R {
    do {
      return try body()
    } catch let error as CaseDeskError {
      switch error {
      case .notFound(let message): throw RPCError(code: .notFound, message: message)
      case .invalid(let field, let reason): throw InvalidInput(field: field, reason: reason)
      case .conflict: throw RPCError(code: .aborted, message: error.description)
      case .notApplicable(let message): throw RPCError(code: .failedPrecondition, message: message)
      }
    }
  }

  static func limit(_ requested: Int32) -> Int { requested <= 0 ? 100 : min(Int(requested), 1000) }
}

extension CasesProvider: Sightline_Cases_V1_Cases.ServiceProtocol {
  public func listCases(
    request wrapped: ServerRequest<Sightline_Cases_V1_ListCasesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_ListCasesResponse> {
    let request = wrapped.message
    let desk = try desk(wrapped.metadata)
    let statuses = try request.statuses.enumerated().map { try CaseWire.status($1, field: "statuses[\($0)]") }
    let filter = CaseFilter(
      statuses: Set(statuses), source: CaseWire.source(request.source), owner: request.owner.isEmpty ? nil : request.owner,
      overdueOnly: request.overdueOnly, limit: Self.limit(request.limit))
    let cases = try desk.cases.cases(filter)
    return ServerResponse(message: .with { $0.cases = cases.map(CaseWire.serviceCase) })
  }

  public func getCase(
    request wrapped: ServerRequest<Sightline_Cases_V1_GetCaseRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_GetCaseResponse> {
    let request = wrapped.message
    let desk = try desk(wrapped.metadata)
    guard let item = try desk.cases.serviceCase(id: request.caseID) else {
      throw RPCError(code: .notFound, message: "no case has id \(request.caseID)")
    }
    let history = try desk.cases.history(caseID: item.id)
    let verifications = try item.action.map { try desk.cases.verifications(caseID: item.id, actionEffectiveMs: $0.effectiveMs) } ?? []
    return ServerResponse(
      message: .with {
        $0.case = CaseWire.serviceCase(item)
        $0.history = history.map(CaseWire.change)
        $0.verifications = verifications.map(CaseWire.verification)
      })
  }

  public func openCase(
    request wrapped: ServerRequest<Sightline_Cases_V1_OpenCaseRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_OpenCaseResponse> {
    let request = wrapped.message
    let (desk, tenant) = try deskAndTenant(wrapped.metadata)
    let source: CaseSource
    if request.source == .unspecified {
      source = .person
    } else if let named = CaseWire.source(request.source) {
      source = named
    } else {
      throw InvalidInput(field: "source", reason: "name a source: PERSON, ALERT or AT_RISK")
    }
    let (item, created) = try answering {
      try desk.open(
        title: request.title, source: source, sourceRef: request.sourceRef, owner: request.owner,
        dueMs: request.hasDueAt ? request.dueAt.unixMilliseconds : nil, scope: CaseWire.scope(request.scope), note: request.note)
    }
    // Written: the rules and the deliverer look at the tenant again.
    metrics.casesChanged(tenant)
    return ServerResponse(
      message: .with {
        $0.case = CaseWire.serviceCase(item)
        $0.created = created
      })
  }

  public func updateCase(
    request wrapped: ServerRequest<Sightline_Cases_V1_UpdateCaseRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_UpdateCaseResponse> {
    let request = wrapped.message
    let (desk, tenant) = try deskAndTenant(wrapped.metadata)
    let change: CaseDesk.Change
    switch request.change {
    case .assign(let owner): change = .assign(owner)
    case .note(let text): change = .note(text)
    case .status(let status): change = .status(try CaseWire.status(status, field: "status"), note: request.noteWithStatus)
    case .action(let action):
      guard action.hasEffectiveAt else { throw InvalidInput(field: "action.effective_at", reason: "say from when the action applies") }
      guard (0...365).contains(action.verifyAfterDays) else {
        throw InvalidInput(field: "action.verify_after_days", reason: "must be 1 to 365 days (0 for the default, 14)")
      }
      change = .action(
        CaseAction(
          description: action.description_p, effectiveMs: action.effectiveAt.unixMilliseconds, scope: CaseWire.scope(action.scope),
          verifyAfterDays: action.verifyAfterDays == 0 ? nil : Int(action.verifyAfterDays)))
    case nil:
      throw InvalidInput(field: "change", reason: "say what changes: assign, note, status or action")
    }
    let item = try answering { try desk.update(request.caseID, expectedVersion: request.expectedVersion, change) }
    // Written: the rules and the deliverer look at the tenant again.
    metrics.casesChanged(tenant)
    return ServerResponse(message: .with { $0.case = CaseWire.serviceCase(item) })
  }

  public func listFollowUps(
    request wrapped: ServerRequest<Sightline_Cases_V1_ListFollowUpsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_ListFollowUpsResponse> {
    let request = wrapped.message
    let (desk, tenant) = try deskAndTenant(wrapped.metadata)
    let open = try desk.cases.cases(
      CaseFilter(statuses: CaseFilter.unfinished, source: .detractor, earliestDueFirst: true, limit: Self.limit(request.limit)))
    let since = desk.nowMs - 90 * 86_400_000
    let context = await describe(Set(open.map(\.scope.customerID)), of: tenant)
    let followUps = try open.map { item in
      let customer = item.scope.customerID
      let tickets = try desk.cases.tickets(customerID: customer, sinceMs: since, limit: 10)
      let answers = try desk.cases.answers(customerID: customer, sinceMs: since, limit: 10)
      return Sightline_Cases_V1_FollowUp.with {
        $0.case = CaseWire.serviceCase(item)
        $0.customerID = customer
        $0.recentTickets = tickets.map(CaseWire.ticket)
        $0.recentAnswers = answers.map(CaseWire.answer)
        if let context {
          if let described = context[customer] { CaseWire.describe(&$0, described) }
        } else {
          $0.contextUnavailable = true
        }
      }
    }
    return ServerResponse(message: .with { $0.followUps = followUps })
  }

  /// The segmentation service's description of `customers` (risk and recent words); nil
  /// when it cannot be asked or did not answer, so the list says the context is missing
  /// rather than showing none.
  private func describe(_ customers: Set<String>, of tenant: TenantID) async -> [String: Sightline_Segmentation_V1_CustomerDescription]? {
    let wanted = customers.filter { !$0.isEmpty }.sorted()
    guard !wanted.isEmpty else { return [:] }
    guard let feed = metrics.atRiskFeed else { return nil }
    return try? await feed.describe(wanted, of: tenant)
  }

  public func recordFollowUp(
    request wrapped: ServerRequest<Sightline_Cases_V1_RecordFollowUpRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_RecordFollowUpResponse> {
    let request = wrapped.message
    let (desk, tenant) = try deskAndTenant(wrapped.metadata)
    let outcome: CaseDesk.FollowUpOutcome
    switch request.outcome {
    case .reached: outcome = .reached
    case .notReached: outcome = .notReached
    case .recovered: outcome = .recovered
    default: throw InvalidInput(field: "outcome", reason: "say how the attempt ended: REACHED, NOT_REACHED or RECOVERED")
    }
    let item = try answering {
      try desk.recordFollowUp(
        request.caseID, outcome: outcome, note: request.note,
        nextAttemptMs: request.hasNextAttemptAt ? request.nextAttemptAt.unixMilliseconds : nil)
    }
    // Written: the rules and the deliverer look at the tenant again.
    metrics.casesChanged(tenant)
    return ServerResponse(message: .with { $0.case = CaseWire.serviceCase(item) })
  }

  public func getCaseRules(
    request wrapped: ServerRequest<Sightline_Cases_V1_GetCaseRulesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_CaseRules> {
    ServerResponse(message: CaseWire.rules(try desk(wrapped.metadata).cases.caseRules()))
  }

  public func setCaseRules(
    request wrapped: ServerRequest<Sightline_Cases_V1_SetCaseRulesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_CaseRules> {
    let request = wrapped.message
    let (desk, tenant) = try deskAndTenant(wrapped.metadata)
    let rules = try CaseWire.rules(request.rules)
    try desk.cases.setCaseRules(rules)
    // Written: the rules and the deliverer look at the tenant again.
    metrics.casesChanged(tenant)
    return ServerResponse(message: CaseWire.rules(rules))
  }

  public func getLoopKpis(
    request wrapped: ServerRequest<Sightline_Cases_V1_GetLoopKpisRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_GetLoopKpisResponse> {
    let request = wrapped.message
    let desk = try desk(wrapped.metadata)
    let (start, end) = try MetricsProvider.range(request.hasRange ? request.range : nil, nowMs: desk.nowMs, field: "range")
    let rules = try desk.cases.caseRules()
    let levels = desk.settings.serviceLevels
    let opened = try desk.cases.cases(CaseFilter(openedFromMs: start, openedToMs: end, limit: Int.max))
    // The next answers of the followed-up detractors, in one read.
    let followedUp = opened.filter { $0.source == .detractor && $0.followUpAttempts > 0 }.compactMap { item in
      item.answer.map { (item.id, NextAnswerQuestion(customerID: item.scope.customerID, scale: $0.scale, afterMs: $0.timeMs)) }
    }
    let scores = try desk.cases.nextAnswerScores(followedUp.map(\.1))
    let nextScore = Dictionary(uniqueKeysWithValues: zip(followedUp.map(\.0), scores))
    let values = LoopKpis.compute(
      cases: opened, rules: rules, closeElapsedMs: { CaseDeadline.elapsedMs(from: $0, to: $1, levels: levels) },
      nextAnswerScore: { nextScore[$0.id] ?? nil })
    return ServerResponse(
      message: .with {
        $0.businessHours = levels.hasCalendar
        $0.kpis = values.map { value in
          .with {
            $0.name = value.name
            $0.value = value.value ?? 0
            $0.median = value.median ?? 0
            $0.sampleSize = Int64(value.value == nil ? 0 : value.sampleSize)
          }
        }
      })
  }
}
