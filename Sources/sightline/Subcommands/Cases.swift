import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline cases …`: the tenant's cases (docs/cases.md).
struct CasesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cases",
    abstract: "Cases: who owns what, by when, and what was done (writer key to change).",
    discussion: """
      The case rules open cases for chosen alerts and for detractor answers (sightline case-rules);
      people open their own, or one for an alert: sightline cases open --alert ALERT_ID.
      Example: sightline cases list --status open --status in_progress --overdue
      """,
    subcommands: [List.self, Show.self, Open.self, Assign.self, Note.self, Act.self, Resolve.self, Close.self, Reopen.self, Kpis.self])

  static func statusName(_ status: Sightline_Cases_V1_CaseStatus) -> String { CaseWireNames.name(status) }

  static func sourceName(_ source: Sightline_Cases_V1_CaseSource) -> String { CaseWireNames.name(source) }

  static func status(_ text: String) throws -> Sightline_Cases_V1_CaseStatus {
    guard let status = CaseStatus(rawValue: text) else {
      throw ValidationError("--status is open, in_progress, resolved or closed, not '\(text)'")
    }
    return CaseWireNames.status(status)
  }

  /// One case's lines, as `show` and every change print it.
  static func describe(_ item: Sightline_Cases_V1_Case, zone: TimeZone) -> [String] {
    var lines = [
      "case \(item.id) (version \(item.version)): \(item.title)",
      "  status \(statusName(item.status))\(item.overdue ? ", OVERDUE" : ""); owner \(item.owner.isEmpty ? "nobody" : item.owner); "
        + "due \(DateArgument.localTime(item.dueAt, zone: zone))\(item.dueInBusinessHours ? " (business hours)" : "")",
      "  from \(sourceName(item.source))\(item.sourceRef.isEmpty ? "" : " \(item.sourceRef)"), opened \(DateArgument.localTime(item.openedAt, zone: zone))"
        + (item.hasClosedAt ? ", closed \(DateArgument.localTime(item.closedAt, zone: zone))" : ""),
    ]
    if let scope = scopeText(item.scope) { lines.append("  scope \(scope)") }
    if item.hasAction {
      lines.append(
        "  action: \(item.action.description_p) (from \(DateArgument.localTime(item.action.effectiveAt, zone: zone))"
          + "\(scopeText(item.action.scope).map { ", on \($0)" } ?? ""))")
    }
    if item.followUpAttempts > 0 { lines.append("  follow-up attempts: \(item.followUpAttempts)") }
    return lines
  }

  static func scopeText(_ scope: Sightline_Cases_V1_CaseScope) -> String? {
    var parts: [String] = []
    if !scope.businessLines.isEmpty { parts.append("business_line=\(scope.businessLines.joined(separator: ","))") }
    if !scope.regions.isEmpty { parts.append("region=\(scope.regions.joined(separator: ","))") }
    if !scope.segment.isEmpty { parts.append("segment=\(scope.segment)") }
    if !scope.customerID.isEmpty { parts.append("customer=\(scope.customerID)") }
    return parts.isEmpty ? nil : parts.joined(separator: " ")
  }

  /// Options naming a scope: business lines, regions, a segment, a customer.
  struct ScopeOptions: ParsableArguments {
    @Option(name: .customLong("business-line"), help: "A business line it concerns (repeatable).") var businessLines: [String] = []
    @Option(name: .customLong("region"), help: "A region it concerns (repeatable).") var regions: [String] = []
    @Option(help: "A segment it concerns.") var segment: String = ""
    @Option(help: "The customer it concerns.") var customer: String = ""

    var scope: Sightline_Cases_V1_CaseScope {
      .with {
        $0.businessLines = businessLines; $0.regions = regions; $0.segment = segment; $0.customerID = customer
      }
    }
  }

  /// Sends one change to a case and prints the case it leaves.
  static func update(_ connection: ConnectionOptions, _ request: Sightline_Cases_V1_UpdateCaseRequest) async throws {
    let (reply, zone) = try await connection.withGateway { client, metadata in
      (
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).updateCase(request, metadata: metadata),
        await DateArgument.tenantZone(client, metadata: metadata)
      )
    }
    describe(reply.case, zone: zone).forEach { print($0) }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List cases, newest first.")
    @Option(help: "Only cases in this status: open, in_progress, resolved, closed (repeatable).") var status: [String] = []
    @Option(help: "Only cases from this source: alert, detractor, at_risk, person.") var source: String?
    @Option(help: "Only this owner's cases.") var owner: String = ""
    @Flag(help: "Only overdue cases.") var overdue = false
    @Option(help: "At most this many (default 100).") var limit: Int32 = 100
    @Option(help: "Output: table or json.") var format: Dashboard.Format = .table
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let request = try Sightline_Cases_V1_ListCasesRequest.with {
        $0.statuses = try status.map(CasesCommand.status)
        if let source {
          guard let value = Sightline_Cases_V1_CaseSource.allCases.first(where: { CasesCommand.sourceName($0) == source }) else {
            throw ValidationError("--source is alert, detractor, at_risk or person, not '\(source)'")
          }
          $0.source = value
        }
        $0.owner = owner; $0.overdueOnly = overdue; $0.limit = limit
      }
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Cases_V1_Cases.Client(wrapping: client).listCases(request, metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      if format == .json {
        print(try reply.jsonString())
        return
      }
      guard !reply.cases.isEmpty else {
        print("No cases.")
        return
      }
      printTable(
        ["id", "status", "owner", "due (\(DateArgument.zoneName(zone)))", "source", "title"],
        reply.cases.map { item in
          [
            item.id, CasesCommand.statusName(item.status) + (item.overdue ? " OVERDUE" : ""), item.owner.isEmpty ? "-" : item.owner,
            DateArgument.localTime(item.dueAt, zone: zone), CasesCommand.sourceName(item.source), item.title,
          ]
        })
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a case, its history and its action's verified effect.")

    static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + String(format: "%.3g", value) }
    @Argument(help: "The case id.") var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Cases_V1_Cases.Client(wrapping: client).getCase(.with { $0.caseID = id }, metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      CasesCommand.describe(reply.case, zone: zone).forEach { print($0) }
      print("history:")
      for change in reply.history {
        print("  \(DateArgument.localTime(change.at, zone: zone))  \(change.actor)  \(change.kind): \(change.detail)")
      }
      for verification in reply.verifications {
        print(
          "verified at \(verification.horizonDays) days: \(verification.verdict) on \(verification.kpi), effect "
            + "\(Self.signed(verification.effect)) (95 % CI \(Self.signed(verification.ciLow)) … \(Self.signed(verification.ciHigh)), "
            + "p = \(String(format: "%.3g", verification.pValue))), \(verification.method)"
            + (verification.weakerEvidence ? "; WEAKER EVIDENCE: no untouched units" : "; \(verification.controlUnits) untouched units"))
        print("  \(verification.note)")
      }
    }
  }

  struct Open: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Open a case: yours, an alert's (--alert; an alert has one case), or a customer's at risk (--at-risk).")
    @Option(help: "What it is about (required unless --alert).") var title: String = ""
    @Option(help: "Open the case of this alert (sightline alerts list shows ids).") var alert: String?
    @Option(name: .customLong("at-risk"), help: "Open the case of this customer at risk (sightline customers at-risk).")
    var atRisk: String?
    @Option(help: "Owner (default: the case rules' owner for the scope).") var owner: String = ""
    @Option(help: "Due date or time (default: the case rules' due time).") var due: String?
    @Option(help: "A first note.") var note: String = ""
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      if alert != nil && atRisk != nil { throw ValidationError("give --alert or --at-risk, not both") }
      if alert == nil && atRisk == nil && title.isEmpty { throw ValidationError("--title is required for a case of your own") }
    }

    func run() async throws {
      let (title, alert, atRisk, owner, due, note, scope) = (
        self.title, self.alert, self.atRisk, self.owner, self.due, self.note, self.scope.scope
      )
      let (reply, zone) = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Cases_V1_OpenCaseRequest.with {
          $0.title = title; $0.owner = owner; $0.note = note; $0.scope = scope
          if let alert {
            $0.source = .alert; $0.sourceRef = alert
          } else if let atRisk {
            $0.source = .atRisk; $0.sourceRef = atRisk
          }
          if let due { $0.dueAt = try DateArgument.timestamp(due, zone: zone, flag: "--due") }
        }
        return (try await Sightline_Cases_V1_Cases.Client(wrapping: client).openCase(request, metadata: metadata), zone)
      }
      if !reply.created { print("it has this case already:") }
      CasesCommand.describe(reply.case, zone: zone).forEach { print($0) }
    }
  }

  /// Options every change takes: the case, and the version read.
  struct CaseOptions: ParsableArguments {
    @Argument(help: "The case id.") var id: String
    @Option(help: "Change it only if it is still at this version (as shown).") var version: Int64 = 0
  }

  struct Assign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Give a case to a person or team.")
    @OptionGroup var target: CaseOptions
    @Argument(help: "The new owner.") var owner: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      try await CasesCommand.update(
        connection,
        .with {
          $0.caseID = target.id; $0.expectedVersion = target.version; $0.assign = owner
        })
    }
  }

  struct Note: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a note to a case's history.")
    @OptionGroup var target: CaseOptions
    @Argument(help: "The note.") var text: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      try await CasesCommand.update(
        connection,
        .with {
          $0.caseID = target.id; $0.expectedVersion = target.version; $0.note = text
        })
    }
  }

  struct Act: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record the action taken on a case: what was done, from when, on what (default: the case's scope).")
    @OptionGroup var target: CaseOptions
    @Argument(help: "What was done.") var description: String
    @Option(help: "From when it applies: a date or time (default: now).") var from: String?
    @Option(help: "Days after --from its effect is first verified (1-365; default 14); again at 28.") var verifyAfter: Int32?
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      if let days = verifyAfter, !(1...365).contains(days) { throw ValidationError("--verify-after is 1 to 365 days, not \(days)") }
      let (target, description, from, scope, verifyAfter) = (self.target, self.description, self.from, self.scope.scope, self.verifyAfter)
      let (reply, zone) = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let effective = try from.map { try DateArgument.timestamp($0, zone: zone, flag: "--from") } ?? .init(date: Date())
        let request = Sightline_Cases_V1_UpdateCaseRequest.with {
          $0.caseID = target.id; $0.expectedVersion = target.version
          $0.action = .with {
            $0.description_p = description; $0.effectiveAt = effective; $0.scope = scope; $0.verifyAfterDays = verifyAfter ?? 0
          }
        }
        return (try await Sightline_Cases_V1_Cases.Client(wrapping: client).updateCase(request, metadata: metadata), zone)
      }
      CasesCommand.describe(reply.case, zone: zone).forEach { print($0) }
    }
  }

  /// A status change, with an optional note.
  static func setStatus(
    _ status: Sightline_Cases_V1_CaseStatus, _ target: CaseOptions, note: String, _ connection: ConnectionOptions
  )
    async throws
  {
    try await update(
      connection,
      .with {
        $0.caseID = target.id; $0.expectedVersion = target.version; $0.status = status; $0.noteWithStatus = note
      })
  }

  struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mark a case resolved.")
    @OptionGroup var target: CaseOptions
    @Option(help: "What resolved it.") var note: String = ""
    @OptionGroup var connection: ConnectionOptions

    func run() async throws { try await CasesCommand.setStatus(.resolved, target, note: note, connection) }
  }

  struct Close: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Close a case (time to close ends here).")
    @OptionGroup var target: CaseOptions
    @Option(help: "A closing note.") var note: String = ""
    @OptionGroup var connection: ConnectionOptions

    func run() async throws { try await CasesCommand.setStatus(.closed, target, note: note, connection) }
  }

  struct Reopen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reopen a resolved or closed case.")
    @OptionGroup var target: CaseOptions
    @Option(help: "Why.") var note: String = ""
    @OptionGroup var connection: ConnectionOptions

    func run() async throws { try await CasesCommand.setStatus(.open, target, note: note, connection) }
  }

  struct Kpis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The loop KPIs of cases opened in a range: time to first action, time to close, follow-up and recovery rates.")
    @Option(help: "Start date (default: 30 days before --to).") var from: String?
    @Option(help: "End date, exclusive (default: now).") var to: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (from, to) = (self.from, self.to)
      let reply = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Cases_V1_GetLoopKpisRequest.with {
          if let from { $0.range.start = try DateArgument.timestamp(from, zone: zone, flag: "--from") }
          if let to { $0.range.end = try DateArgument.timestamp(to, zone: zone, flag: "--to") }
        }
        return try await Sightline_Cases_V1_Cases.Client(wrapping: client).getLoopKpis(request, metadata: metadata)
      }
      printTable(
        ["kpi", "value", "median", "n"],
        reply.kpis.map { kpi in
          let time = kpi.name.hasPrefix("time_")
          func format(_ value: Double) -> String {
            time ? HumanDuration.text(Int64(value.rounded())) : String(format: "%.1f %%", value * 100)
          }
          let name = kpi.name == "time_to_close" && reply.businessHours ? "time_to_close (business hours)" : kpi.name
          return [
            name, kpi.sampleSize == 0 ? "-" : format(kpi.value), time && kpi.sampleSize > 0 ? format(kpi.median) : "",
            String(kpi.sampleSize),
          ]
        })
    }
  }
}

/// `sightline followups …`: the follow-up list of detractors (回访).
struct FollowUpsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "followups", abstract: "The follow-up list (回访): detractors to call back, and what came of each call.",
    subcommands: [List.self, Record.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Open detractor cases, earliest due first, with the customer's recent tickets and answers.")
    @Option(help: "At most this many (default 100).") var limit: Int32 = 100
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let limit = self.limit
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Cases_V1_Cases.Client(wrapping: client).listFollowUps(.with { $0.limit = limit }, metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      guard !reply.followUps.isEmpty else {
        print("Nobody to call back.")
        return
      }
      for followUp in reply.followUps {
        CasesCommand.describe(followUp.case, zone: zone).forEach { print($0) }
        if followUp.contextUnavailable {
          print("    (comments and risk unavailable: the segmentation service did not answer)")
        } else {
          print(
            "    risk \(String(format: "%.0f", followUp.riskScore))"
              + (followUp.riskReasons.isEmpty ? ": no sign of risk" : ": " + followUp.riskReasons.joined(separator: "; ")))
          for comment in followUp.recentComments {
            let score = comment.scale.isEmpty ? (comment.score > 0 ? " rating \(comment.score)" : "") : " \(comment.scale) \(comment.score)"
            print("    said \(DateArgument.localTime(comment.at, zone: zone))  \(comment.source)\(score): \"\(comment.text)\"")
          }
        }
        for answer in followUp.recentAnswers {
          print(
            "    answer \(DateArgument.localTime(answer.answeredAt, zone: zone))  \(answer.scale) \(answer.score)"
              + (answer.ticketID.isEmpty ? "" : "  ticket \(answer.ticketID)"))
        }
        for ticket in followUp.recentTickets {
          print(
            "    ticket \(ticket.ticketID)  \(DateArgument.localTime(ticket.createdAt, zone: zone))  \(ticket.channel) \(ticket.businessLine) "
              + "\(ticket.problemType)\(ticket.complaint ? "  complaint" : "")\(ticket.resolved ? "  resolved" : "  open")")
        }
        print("")
      }
    }
  }

  struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record a call: reached (resolves the case), recovered (closes it), not_reached (schedules the next try).")
    enum Outcome: String, ExpressibleByArgument, CaseIterable {
      case reached
      case notReached = "not_reached"
      case recovered
    }
    @Argument(help: "The case id.") var id: String
    @Argument(help: "reached, not_reached or recovered.") var outcome: Outcome
    @Option(help: "What was said or done.") var note: String = ""
    @Option(help: "not_reached: when to try again (default: the case rules' retry interval).") var next: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (id, outcome, note, next) = (self.id, self.outcome, self.note, self.next)
      let (reply, zone) = try await connection.withGateway { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Cases_V1_RecordFollowUpRequest.with {
          $0.caseID = id; $0.note = note
          $0.outcome =
            switch outcome {
            case .reached: .reached
            case .notReached: .notReached
            case .recovered: .recovered
            }
          if let next { $0.nextAttemptAt = try DateArgument.timestamp(next, zone: zone, flag: "--next") }
        }
        return (try await Sightline_Cases_V1_Cases.Client(wrapping: client).recordFollowUp(request, metadata: metadata), zone)
      }
      CasesCommand.describe(reply.case, zone: zone).forEach { print($0) }
    }
  }
}

/// `sightline case-rules …`: which alerts and answers open cases, owners, due times.
struct CaseRulesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "case-rules", abstract: "The tenant's case rules (admin key to set).", subcommands: [Show.self, Set.self])

  static func print(_ rules: Sightline_Cases_V1_CaseRules) {
    Swift.print(
      "alerts that open a case: \(rules.allAlerts ? "every alert" : rules.alertRuleIds.isEmpty ? "none" : rules.alertRuleIds.joined(separator: ", "))"
    )
    Swift.print("detractor follow-ups: \(rules.detractors ? "NPS ≤ \(rules.npsMax), CSAT ≤ \(rules.csatMax)" : "off")")
    for owner in rules.owners {
      Swift.print("owner: \(owner.dimension == .region ? "region" : "business_line")=\(owner.value) → \(owner.owner)")
    }
    Swift.print("default owner: \(rules.defaultOwner.isEmpty ? "nobody" : rules.defaultOwner)")
    Swift.print("due: \(rules.dueHours) h after opening, in \(rules.dueInBusinessHours ? "business hours" : "calendar hours")")
    Swift.print("overdue cases go to: \(rules.escalationOwner.isEmpty ? "their owner (flagged)" : rules.escalationOwner)")
    Swift.print("next follow-up attempt: \(rules.retryHours) h after one that did not reach")
    Swift.print(
      "customers at risk: "
        + (rules.atRisk
          ? "open a case each at a risk score of \(rules.atRiskMinScore) or more (checked hourly)" : "a person opens their cases"))
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the case rules.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let rules = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).getCaseRules(.init(), metadata: metadata)
      }
      CaseRulesCommand.print(rules)
    }
  }

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replace the case rules (admin key); what is not given takes its default.",
      discussion: """
        Example: sightline case-rules set --alert-rule R1 --owner region=south:south-team --default-owner desk \\
          --due-hours 8 --business-hours --escalate-to duty-manager
        """)
    @Option(name: .customLong("alert-rule"), help: "An alert rule whose alerts open a case (repeatable).") var alertRules: [String] = []
    @Flag(help: "Every alert opens a case.") var allAlerts = false
    @Flag(help: "Detractor answers open no follow-up case.") var noDetractors = false
    @Option(help: "NPS at or below this is a detractor's (default 6).") var npsMax: Int32 = 6
    @Option(help: "CSAT at or below this is a detractor's (default 2).") var csatMax: Int32 = 2
    @Option(name: .customLong("owner"), help: "DIM=VALUE:OWNER with DIM business_line or region (repeatable; first match wins).")
    var owners: [String] = []
    @Option(help: "Owner when no --owner rule matches.") var defaultOwner: String = ""
    @Option(help: "Hours from opening to due (default 24).") var dueHours: Double = 24
    @Flag(help: "Due hours run in the tenant's business hours (its default calendar).") var businessHours = false
    @Option(help: "Who overdue cases go to (default: they stay with their owner, flagged).") var escalateTo: String = ""
    @Option(help: "Hours to the next follow-up attempt after one that did not reach (default 24).") var retryHours: Double = 24
    @Option(
      help: "Customers at risk with at least this risk score open a case each (default: none; 0 opens one for every customer listed).")
    var atRiskMinScore: Double?
    @OptionGroup var connection: ConnectionOptions

    func rules() throws -> Sightline_Cases_V1_CaseRules {
      let owners = try self.owners.map { spec -> Sightline_Cases_V1_OwnerRule in
        let parts = spec.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let colon = parts[1].firstIndex(of: ":") else {
          throw ValidationError("--owner is DIM=VALUE:OWNER, e.g. region=south:south-team, not '\(spec)'")
        }
        let dimension: Sightline_Common_V1_Dimension
        switch parts[0] {
        case "business_line": dimension = .businessLine
        case "region": dimension = .region
        default: throw ValidationError("--owner: owners are set by business_line or region, not '\(parts[0])'")
        }
        return .with {
          $0.dimension = dimension; $0.value = String(parts[1][..<colon]); $0.owner = String(parts[1][parts[1].index(after: colon)...])
        }
      }
      return .with {
        $0.alertRuleIds = alertRules; $0.allAlerts = allAlerts; $0.detractors = !noDetractors; $0.npsMax = npsMax
        $0.csatMax = csatMax; $0.owners = owners; $0.defaultOwner = defaultOwner; $0.dueHours = dueHours
        $0.dueInBusinessHours = businessHours; $0.escalationOwner = escalateTo; $0.retryHours = retryHours
        $0.atRisk = atRiskMinScore != nil; $0.atRiskMinScore = atRiskMinScore ?? 0
      }
    }

    func run() async throws {
      let rules = try self.rules()
      let stored = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).setCaseRules(.with { $0.rules = rules }, metadata: metadata)
      }
      CaseRulesCommand.print(stored)
    }
  }
}
