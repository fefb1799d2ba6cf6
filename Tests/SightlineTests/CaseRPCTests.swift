import Foundation
import GRPCCore
import Logging
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

@testable import MetricsService

/// Cases through the gateway on both backends (issue 24): the rules open cases for alerts
/// and detractors once, people work them under their key's name, overdue cases escalate,
/// the loop KPIs count them, roles hold and another tenant sees none of them.
@Suite(.serialized) struct CaseRPCTests {
  /// Events of the last hours: customer C7's ticket in the south with an NPS detractor
  /// answer and a later promoter answer, a satisfied CSAT, and C8's lone CSAT detractor.
  static func recentEvents(nowMs: Int64) -> [Sightline_Ingestion_V1_Event] {
    func time(_ minutesAgo: Int64) -> String { RFC3339.format(milliseconds: nowMs - minutesAgo * 60_000) }
    func survey(
      _ id: String, _ customer: String, _ ticket: String, _ kind: Sightline_Ingestion_V1_SurveyKind, _ score: Int32, _ minutesAgo: Int64
    )
      -> Sightline_Ingestion_V1_Event
    {
      .with {
        $0.eventID = "e-\(id)"
        $0.surveyResponse = .with {
          $0.customerID = customer; $0.ticketID = ticket; $0.kind = kind; $0.score = score; $0.time = time(minutesAgo)
        }
      }
    }
    return [
      .with {
        $0.eventID = "t1-created"
        $0.ticketEvent = .with {
          $0.ticketID = "T1"; $0.customerID = "C7"; $0.kind = .created; $0.time = time(180); $0.businessLine = "A"
          $0.region = "south"
        }
      },
      .with {
        $0.eventID = "t1-resolved"
        $0.ticketEvent = .with {
          $0.ticketID = "T1"; $0.kind = .resolved; $0.time = time(120)
        }
      },
      survey("r1", "C7", "T1", .nps, 3, 60),
      survey("r2", "C7", "T1", .csat, 5, 50),
      survey("r3", "C8", "", .csat, 2, 40),
      survey("r4", "C7", "", .nps, 9, 10),
    ]
  }

  @Test(arguments: TestBackend.all) func casesAreOpenedWorkedEscalatedAndCounted(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      let other = try await suite.createTenant("other")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        func key(_ role: Sightline_Gateway_V1_Role, _ label: String) async throws -> (Metadata, String) {
          let created = try await gateway.createKey(
            .with {
              $0.role = role; $0.label = label
            }, metadata: admin)
          return (SuiteMetadata.bearer(created.secret), created.key.id)
        }
        let (reader, _) = try await key(.reader, "wallboard")
        let (agent, agentID) = try await key(.writer, "agent-li")
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let now = WallClock.unixMilliseconds()
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = Self.recentEvents(nowMs: now) }, metadata: admin)
        #expect(ingested.accepted == 6)
        _ = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.minOffset = ingested.offset
          }, metadata: reader)

        // Rules: admins only; fields named.
        let rule = try await metrics.addAlertRule(
          .with {
            $0.rule = .with {
              $0.name = "volume by line"; $0.kpi = .volume; $0.comparison = .greater; $0.threshold = 0; $0.by = .businessLine
              $0.windowSeconds = 86_400
              $0.minSample = 1
            }
          }, metadata: admin)
        let rules = Sightline_Cases_V1_CaseRules.with {
          $0.alertRuleIds = [rule.id]; $0.detractors = true; $0.defaultOwner = "desk"; $0.dueHours = 8; $0.escalationOwner = "lead"
          $0.owners = [
            .with {
              $0.dimension = .region; $0.value = "south"; $0.owner = "south-team"
            },
            .with {
              $0.dimension = .businessLine; $0.value = "A"; $0.owner = "team-a"
            },
          ]
        }
        for metadata in [reader, agent] {
          let refused = await #expect(throws: RPCError.self) {
            try await cases.setCaseRules(.with { $0.rules = rules }, metadata: metadata)
          }
          #expect(refused?.code == .permissionDenied)
        }
        var bad = rules
        bad.npsMax = 11
        let invalid = await #expect(throws: RPCError.self) { try await cases.setCaseRules(.with { $0.rules = bad }, metadata: admin) }
        #expect(invalid?.code == .invalidArgument && invalid?.message.contains("rules.nps_max") == true)
        let stored = try await cases.setCaseRules(.with { $0.rules = rules }, metadata: admin)
        #expect(stored.npsMax == 6 && stored.csatMax == 2 && stored.retryHours == 24)
        #expect(try await cases.getCaseRules(.init(), metadata: reader) == stored)

        // The rules open a case for the alert and one per detractor answer, once.
        let alerts = try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: now)
        #expect(alerts.map(\.dimensionValue) == ["A"])
        let first = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now)
        #expect(Set(first.opened.map(\.id)) == ["alert-\(alerts[0].id)", "answer-e-r1", "answer-e-r3"])
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now).opened.isEmpty)
        let listed = try await cases.listCases(.init(), metadata: reader).cases
        let owners = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.owner) })
        // The alert's case by its business line; C7's by its ticket's region (first rule); C8's has no ticket.
        #expect(owners == ["alert-\(alerts[0].id)": "team-a", "answer-e-r1": "south-team", "answer-e-r3": "desk"])
        #expect(listed.allSatisfy { $0.dueAt.unixMilliseconds == now + 8 * 3_600_000 && $0.status == .open && $0.version == 1 })
        // Opening the alert's case by hand returns it.
        let again = try await cases.openCase(
          .with {
            $0.source = .alert; $0.sourceRef = alerts[0].id
          }, metadata: agent)
        #expect(!again.created && again.case.id == "alert-\(alerts[0].id)")
        let unknownAlert = await #expect(throws: RPCError.self) {
          try await cases.openCase(
            .with {
              $0.source = .alert; $0.sourceRef = "nope"
            }, metadata: agent)
        }
        #expect(unknownAlert?.code == .notFound)

        // The customers' own words: a review by C7, a comment with C8's satisfied answer.
        func minutesAgo(_ minutes: Int64) -> String { RFC3339.format(milliseconds: now - minutes * 60_000) }
        _ = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
          .with {
            $0.events = [
              .with {
                $0.eventID = "f-c7"
                $0.feedback = .with {
                  $0.customerID = "C7"; $0.source = .appReview; $0.text = "nobody called me back"; $0.rating = 1; $0.time = minutesAgo(30)
                }
              },
              .with {
                $0.eventID = "e-r5"
                $0.surveyResponse = .with {
                  $0.customerID = "C8"; $0.kind = .csat; $0.score = 4; $0.comment = "better today"; $0.time = minutesAgo(5)
                }
              },
            ]
          }, metadata: admin)

        // The follow-up list, earliest due first, with the customer's tickets and answers,
        // and from the segmentation service their risk and own words (once it folded them).
        var followUps = try await cases.listFollowUps(.init(), metadata: reader).followUps
        let folded = ContinuousClock.now + .seconds(30)
        while followUps.reduce(0, { $0 + $1.recentComments.count }) < 2 && ContinuousClock.now < folded {
          try await Task.sleep(for: .milliseconds(200))
          followUps = try await cases.listFollowUps(.init(), metadata: reader).followUps
        }
        #expect(Set(followUps.map(\.customerID)) == ["C7", "C8"])
        let c7 = try #require(followUps.first { $0.customerID == "C7" })
        #expect(c7.recentTickets.map(\.ticketID) == ["T1"] && c7.recentTickets[0].resolved)
        #expect(c7.recentAnswers.map(\.responseID) == ["e-r4", "e-r2", "e-r1"])
        #expect(!c7.contextUnavailable && c7.riskScore > 0 && !c7.riskReasons.isEmpty, "\(c7)")
        #expect(c7.recentComments.map(\.text) == ["nobody called me back"] && c7.recentComments[0].source == "app_review")
        #expect(c7.recentComments[0].score == 1 && c7.recentComments[0].scale.isEmpty)
        let c8 = try #require(followUps.first { $0.customerID == "C8" })
        #expect(c8.recentComments.map(\.text) == ["better today"] && c8.recentComments[0].source == "survey")
        #expect(c8.recentComments[0].scale == "csat" && c8.recentComments[0].score == 4)

        // A reader cannot work a case; a writer can, under its key's name.
        let readOnly = await #expect(throws: RPCError.self) {
          try await cases.recordFollowUp(
            .with {
              $0.caseID = "answer-e-r1"; $0.outcome = .reached
            }, metadata: reader)
        }
        #expect(readOnly?.code == .permissionDenied)
        let notReached = try await cases.recordFollowUp(
          .with {
            $0.caseID = "answer-e-r1"; $0.outcome = .notReached; $0.note = "no answer"
          }, metadata: agent)
        #expect(notReached.case.status == .inProgress && notReached.case.followUpAttempts == 1 && notReached.case.version == 2)
        let stale = await #expect(throws: RPCError.self) {
          try await cases.updateCase(
            .with {
              $0.caseID = "answer-e-r1"; $0.expectedVersion = 1; $0.note = "late"
            }, metadata: agent)
        }
        #expect(stale?.code == .aborted)
        let recovered = try await cases.recordFollowUp(
          .with {
            $0.caseID = "answer-e-r1"; $0.outcome = .recovered; $0.note = "refund sent"
          }, metadata: agent)
        #expect(recovered.case.status == .closed && recovered.case.hasClosedAt)
        // The same call sent again (a form posted twice) answers as the first, changing nothing.
        let repeated = try await cases.recordFollowUp(
          .with {
            $0.caseID = "answer-e-r1"; $0.outcome = .recovered; $0.note = "refund sent"
          }, metadata: agent)
        #expect(repeated.case == recovered.case)
        let over = await #expect(throws: RPCError.self) {
          try await cases.recordFollowUp(
            .with {
              $0.caseID = "answer-e-r1"; $0.outcome = .reached
            }, metadata: agent)
        }
        #expect(over?.code == .failedPrecondition)
        let history = try await cases.getCase(.with { $0.caseID = "answer-e-r1" }, metadata: reader).history
        #expect(history.map(\.kind) == ["opened", "follow_up", "follow_up"])
        #expect(history[0].actor == "sightline" && history[1].actor == "agent-li (\(agentID))")
        #expect(history[1].detail.contains("not_reached") && history[2].detail.contains("refund sent"))

        // A person's case: a title is required; assigned, noted, its action recorded.
        let untitled = await #expect(throws: RPCError.self) { try await cases.openCase(.with { $0.title = " " }, metadata: agent) }
        #expect(untitled?.code == .invalidArgument && untitled?.message.contains("title") == true)
        let opened = try await cases.openCase(
          .with {
            $0.title = "Refund delays in the south"; $0.scope = .with { $0.regions = ["south"] }
          }, metadata: agent)
        #expect(opened.created && opened.case.owner == "south-team" && opened.case.source == .person)
        let personal = opened.case.id
        _ = try await cases.updateCase(
          .with {
            $0.caseID = personal; $0.assign = "wang"
          }, metadata: agent)
        let acted = try await cases.updateCase(
          .with {
            $0.caseID = personal
            $0.action = .with {
              $0.description_p = "refunds approved the same day"; $0.effectiveAt = .init(unixMilliseconds: now)
            }
          }, metadata: agent)
        #expect(acted.case.owner == "wang" && acted.case.action.scope.regions == ["south"] && acted.case.version == 3)
        let noChange = await #expect(throws: RPCError.self) { try await cases.updateCase(.with { $0.caseID = personal }, metadata: agent) }
        #expect(noChange?.code == .invalidArgument)

        // A customer at risk has one unfinished case: opening it again returns it.
        let atRisk = try await cases.openCase(
          .with {
            $0.source = .atRisk; $0.sourceRef = "C9"
          }, metadata: agent)
        #expect(atRisk.created && atRisk.case.scope.customerID == "C9" && atRisk.case.title == "Customer C9 at risk")
        let atRiskAgain = try await cases.openCase(
          .with {
            $0.source = .atRisk; $0.sourceRef = "C9"
          }, metadata: agent)
        #expect(!atRiskAgain.created && atRiskAgain.case.id == atRisk.case.id)
        let byRules = await #expect(throws: RPCError.self) {
          try await cases.openCase(
            .with {
              $0.source = .detractor; $0.sourceRef = "e-r2"
            }, metadata: agent)
        }
        #expect(byRules?.code == .invalidArgument && byRules?.message.contains("source") == true)
        _ = try await cases.updateCase(
          .with {
            $0.caseID = atRisk.case.id; $0.status = .closed
          }, metadata: agent)

        // Nine hours on, what is unfinished is overdue and goes to the lead.
        let escalated = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now + 9 * 3_600_000).escalated
        #expect(Set(escalated.map(\.id)) == ["alert-\(alerts[0].id)", "answer-e-r3", personal])
        let overdue = try await cases.listCases(.with { $0.overdueOnly = true }, metadata: reader).cases
        #expect(overdue.count == 3 && overdue.allSatisfy { $0.owner == "lead" && $0.overdue })
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now + 10 * 3_600_000).escalated.isEmpty)

        // Loop KPIs over the five cases: acted on: r1 (follow-up), the person's (action) and
        // the customer at risk (closed); closed: r1 and the customer at risk; detractors: r1
        // followed up in time, r3 not; r1's next NPS answer is a 9.
        let loop = try await cases.getLoopKpis(.init(), metadata: reader)
        let byName = Dictionary(uniqueKeysWithValues: loop.kpis.map { ($0.name, $0) })
        #expect(byName["time_to_first_action"]?.sampleSize == 3)
        #expect(byName["time_to_close"]?.sampleSize == 2)
        #expect(byName["follow_up_rate"]?.value == 0.5 && byName["follow_up_rate"]?.sampleSize == 2)
        #expect(byName["recovery_rate"]?.value == 1 && byName["recovery_rate"]?.sampleSize == 1)

        // Another tenant sees none of it.
        let outsider = SuiteMetadata.bearer(other.adminKey)
        #expect(try await cases.listCases(.init(), metadata: outsider).cases.isEmpty)
        #expect(try await cases.listFollowUps(.init(), metadata: outsider).followUps.isEmpty)
        for id in ["answer-e-r1", personal] {
          let foreign = await #expect(throws: RPCError.self) { try await cases.getCase(.with { $0.caseID = id }, metadata: outsider) }
          #expect(foreign?.code == .notFound)
          let foreignWrite = await #expect(throws: RPCError.self) {
            try await cases.updateCase(
              .with {
                $0.caseID = id; $0.note = "mine now"
              }, metadata: outsider)
          }
          #expect(foreignWrite?.code == .notFound)
        }
      }
    }
  }
}

/// The parts of closing the loop that are plain computation, worked by hand.
@Suite struct CaseModelTests {
  /// Monday to Friday 09:00–18:00 UTC.
  static let office = ServiceLevels(
    calendars: [
      VersionedCalendar(
        name: "office",
        hours: BusinessHours(
          timeZone: "UTC", weekly: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, [OpenInterval(startMinute: 540, endMinute: 1080)]) })
        ))
    ])

  @Test func dueTimesRunInBusinessHoursWhenAsked() throws {
    // Friday 2026-03-06 17:00 UTC: one business hour on Friday, seven on Monday.
    let friday = try #require(RFC3339.parseMilliseconds("2026-03-06T17:00:00Z"))
    let business = CaseDeadline.due(openedMs: friday, hours: 8, businessHours: true, levels: Self.office)
    #expect(business.business && business.ms == RFC3339.parseMilliseconds("2026-03-09T16:00:00Z"))
    // Calendar hours when not asked, or without a calendar.
    #expect(CaseDeadline.due(openedMs: friday, hours: 8, businessHours: false, levels: Self.office) == (friday + 8 * 3_600_000, false))
    #expect(CaseDeadline.due(openedMs: friday, hours: 8, businessHours: true, levels: .none) == (friday + 8 * 3_600_000, false))
    // Opened on Saturday: due after Monday's first eight hours, at closing time.
    let saturday = try #require(RFC3339.parseMilliseconds("2026-03-07T10:00:00Z"))
    #expect(
      CaseDeadline.due(openedMs: saturday, hours: 9, businessHours: true, levels: Self.office).ms
        == RFC3339.parseMilliseconds("2026-03-09T18:00:00Z"))
    // Time to close over the weekend: Friday 17:00 to Monday 10:00 is two business hours.
    #expect(CaseDeadline.elapsedMs(from: friday, to: RFC3339.parseMilliseconds("2026-03-09T10:00:00Z")!, levels: Self.office) == 7_200_000)
  }

  @Test func loopKpisFollowTheirDefinitions() throws {
    let rules = CaseRules.defaults
    let hour: Int64 = 3_600_000
    func detractor(_ id: String, score: Int, attempts: Int, firstFollowUp: Int64?, closed: Int64? = nil) -> ServiceCase {
      ServiceCase(
        id: id, title: id, source: .detractor, sourceRef: id, dueMs: 0, scope: CaseScope(customerID: id), openedMs: 0,
        firstActionMs: firstFollowUp, closedMs: closed, followUpAttempts: attempts, firstFollowUpMs: firstFollowUp,
        answer: CaseAnswer(responseID: id, scale: "nps", score: score, timeMs: 0))
    }
    let cases = [
      // Followed up in 2 h and closed at 10 h; the customer's next NPS is 8: recovered.
      detractor("a", score: 3, attempts: 1, firstFollowUp: 2 * hour, closed: 10 * hour),
      // Followed up at 49 h (late); next NPS 5: not recovered.
      detractor("b", score: 2, attempts: 2, firstFollowUp: 49 * hour),
      // Followed up at exactly 48 h (in time); no later answer: not in the recovery rate.
      detractor("c", score: 6, attempts: 1, firstFollowUp: 48 * hour),
      // Never followed up.
      detractor("d", score: 0, attempts: 0, firstFollowUp: nil),
      // A person's case: acted on at 1 h, closed at 4 h.
      ServiceCase(id: "p", title: "p", source: .person, dueMs: 0, openedMs: 0, firstActionMs: hour, closedMs: 4 * hour),
    ]
    let next: [String: Int] = ["a": 8, "b": 5, "d": 10]
    let values = LoopKpis.compute(cases: cases, rules: rules, closeElapsedMs: { $1 - $0 }, nextAnswerScore: { next[$0.id] })
    let byName = Dictionary(uniqueKeysWithValues: values.map { ($0.name, $0) })
    // First action: 2 h, 49 h, 48 h, 1 h: mean 25 h, median 25 h.
    #expect(byName["time_to_first_action"] == LoopKpis.Value(name: "time_to_first_action", value: 90_000, median: 90_000, sampleSize: 4))
    // Close: 10 h and 4 h.
    #expect(byName["time_to_close"] == LoopKpis.Value(name: "time_to_close", value: 25_200, median: 25_200, sampleSize: 2))
    // Follow-up: a and c of four detractor cases.
    #expect(byName["follow_up_rate"] == LoopKpis.Value(name: "follow_up_rate", value: 0.5, sampleSize: 4))
    // Recovery: a of a and b (d was never followed up, c has no later answer).
    #expect(byName["recovery_rate"] == LoopKpis.Value(name: "recovery_rate", value: 0.5, sampleSize: 2))
  }

  @Test func idleTenantsAreLookedAtOnceThenOnlyOnACue() throws {
    let cues = TenantCues()
    let tenant = try #require(TenantID("t_idle"))
    // Once after the start, then not until something happens.
    #expect(cues.take(tenant, nowMs: 0))
    cues.looked(tenant, nextDueMs: nil)
    #expect(!cues.take(tenant, nowMs: 1))
    // Answers folded (or an alert, or a case changed).
    cues.mark(tenant)
    #expect(cues.take(tenant, nowMs: 2) && !cues.take(tenant, nowMs: 3))
    // A due time: looked at when it passes, once.
    cues.looked(tenant, nextDueMs: 100)
    #expect(!cues.take(tenant, nowMs: 99))
    #expect(cues.take(tenant, nowMs: 100) && !cues.take(tenant, nowMs: 101))
    // A failed look is tried again.
    cues.failed(tenant)
    #expect(cues.take(tenant, nowMs: 102))
  }

  /// A tenant that becomes this replica's again (another replica had it in between) is
  /// looked at, though nothing was marked here: the other replica's cases may fall due.
  @Test func aTenantThatComesBackToThisReplicaIsLookedAt() throws {
    let cues = TenantCues()
    let (kept, moving) = (try #require(TenantID("t_kept")), try #require(TenantID("t_moving")))
    cues.assigned([kept, moving])
    #expect(cues.take(kept, nowMs: 0) && cues.take(moving, nowMs: 0))
    cues.looked(moving, nextDueMs: nil)
    cues.assigned([kept])
    cues.assigned([kept])
    #expect(!cues.take(kept, nowMs: 1), "still this replica's, nothing new")
    cues.assigned([kept, moving])
    #expect(cues.take(moving, nowMs: 2) && !cues.take(moving, nowMs: 3))
    #expect(!cues.take(kept, nowMs: 4))
  }

  @Test func caseRulesNameWhatIsWrongAndRoundTrip() throws {
    var rules = CaseRules.defaults
    rules.owners = [OwnerRule(dimension: .region, value: "south", owner: "")]
    #expect(rules.problem?.field == "owners[0].owner")
    rules.owners = [OwnerRule(dimension: .region, value: "south", owner: "s"), OwnerRule(dimension: .businessLine, value: "A", owner: "a")]
    rules.csatMax = 0
    #expect(rules.problem?.field == "csat_max")
    rules.csatMax = 3
    rules.dueHours = .nan
    #expect(rules.problem?.field == "due_hours")
    rules.dueHours = 4
    #expect(rules.problem == nil)
    #expect(try CaseRules(document: rules.document) == rules)
    #expect(try CaseRules(document: nil) == .defaults)
    // The first matching owner rule wins.
    #expect(rules.owner(businessLines: ["A"], regions: ["south"]) == "s")
    #expect(rules.owner(businessLines: ["A"], regions: ["north"]) == "a")
    #expect(rules.owner(businessLines: [], regions: []) == "")
    #expect(rules.isDetractor(scale: "csat", score: 3) && !rules.isDetractor(scale: "csat", score: 4))
    #expect(rules.isDetractor(scale: "nps", score: 6) && !rules.isDetractor(scale: "ces", score: 1))
  }
}

/// Customers at risk open cases by the rules (issue 24): the metrics process asks the
/// segmentation service for its list, and each listed customer at or above the rules' score
/// gets one unfinished case, however often the rules run; a customer a person already
/// opened one for gets none.
/// The recovery rate's next answers, asked for many cases in one read (both backends).
@Suite(.serialized) struct NextAnswerTests {
  @Test(arguments: TestBackend.all) func eachQuestionGetsItsCustomersFirstLaterAnswerOnItsScale(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      let base = WallClock.unixMilliseconds() - 10 * 86_400_000
      func answer(
        _ id: String, _ customer: String, _ kind: Sightline_Ingestion_V1_SurveyKind, _ score: Int32, _ atMs: Int64
      )
        -> Sightline_Ingestion_V1_Event
      {
        .with {
          $0.eventID = id
          $0.surveyResponse = .with {
            $0.customerID = customer; $0.kind = kind; $0.score = score; $0.time = RFC3339.format(milliseconds: base + atMs)
          }
        }
      }
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
          .with {
            $0.events = [
              answer("a1", "C1", .nps, 3, 1_000), answer("a2", "C1", .nps, 9, 2_000), answer("a3", "C1", .nps, 2, 3_000),
              answer("a4", "C1", .csat, 4, 1_500),
            ]
          }, metadata: admin)
        _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
          .with {
            $0.kpis = [.nps]; $0.minOffset = ingested.offset
          }, metadata: admin)
      }
      let store = try suite.metrics.state.cases(for: tenantID)
      let scores = try store.nextAnswerScores([
        NextAnswerQuestion(customerID: "C1", scale: "nps", afterMs: base + 1_000),
        NextAnswerQuestion(customerID: "C1", scale: "csat", afterMs: base),
        NextAnswerQuestion(customerID: "C2", scale: "nps", afterMs: base),
        NextAnswerQuestion(customerID: "C1", scale: "nps", afterMs: base + 3_000),
        NextAnswerQuestion(customerID: "C1", scale: "nps", afterMs: base + 1_999),
      ])
      #expect(scores == [9, 4, nil, nil, 9])
      #expect(try store.nextAnswerScores([]).isEmpty)
    }
  }
}

@Suite(.serialized) struct AtRiskCaseTests {
  @Test(arguments: TestBackend.all) func customersAtRiskOpenOneCaseEach(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let now = WallClock.unixMilliseconds()
        _ = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = CaseRPCTests.recentEvents(nowMs: now) }, metadata: admin)
        let feed = try #require(suite.metrics.atRiskFeed, "the suite's metrics process has a segmentation service to ask")
        var listed: [AtRiskCustomer] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while listed.count < 2 && ContinuousClock.now < deadline {
          listed = try await feed.customers(of: tenantID)
          if listed.count < 2 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(Set(listed.map(\.customerID)) == ["C7", "C8"], "\(listed)")
        #expect(listed.allSatisfy { !$0.reasons.isEmpty && $0.score > 0 })

        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        // Without the rule, nobody's case is opened, and segmentation is not asked (the
        // tenant is looked at again only an hour later, or when its rules change).
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now, atRisk: listed).opened.allSatisfy { $0.source != .atRisk })
        let scheduler = AlertScheduler(provider: suite.metrics, logger: Logger(label: "test"))
        #expect(await scheduler.fetchAtRisk()[tenantID] == nil)
        #expect(!feed.isDue(tenantID))
        let rules = try await cases.setCaseRules(
          .with {
            $0.rules = .with {
              $0.detractors = false; $0.atRisk = true; $0.atRiskMinScore = 0; $0.defaultOwner = "retention"
            }
          }, metadata: admin)
        #expect(rules.atRisk && rules.atRiskMinScore == 0)
        // The rules changed: segmentation is asked at once, then not again within the hour
        // (on PostgreSQL the change is heard through NOTIFY, a moment later).
        let heard = ContinuousClock.now + .seconds(10)
        while !feed.isDue(tenantID) && ContinuousClock.now < heard { try await Task.sleep(for: .milliseconds(50)) }
        #expect(feed.isDue(tenantID))
        let fetched = await scheduler.fetchAtRisk()[tenantID]
        #expect(Set(fetched?.map(\.customerID) ?? []) == ["C7", "C8"], "\(String(describing: fetched))")
        #expect(await scheduler.fetchAtRisk()[tenantID] == nil, "asked again within the hour")
        // A person opened C7's already.
        let mine = try await cases.openCase(
          .with {
            $0.source = .atRisk; $0.sourceRef = "C7"
          }, metadata: admin
        ).case
        let opened = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now, atRisk: listed).opened
        #expect(opened.map(\.sourceRef) == ["C8"] && opened[0].source == .atRisk && opened[0].owner == "retention", "\(opened)")
        #expect(opened[0].title.hasPrefix("Customer C8 at risk: "), "\(opened[0].title)")
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now + 60_000, atRisk: listed).opened.isEmpty, "once each")
        let atRisk = try await cases.listCases(.with { $0.source = .atRisk }, metadata: admin).cases
        #expect(Set(atRisk.map(\.sourceRef)) == ["C7", "C8"] && atRisk.contains { $0.id == mine.id })
        // A customer newly at risk with a score under the rule's minimum gets no case; at the
        // minimum, one.
        let newcomer = AtRiskCustomer(customerID: "C99", score: 40, reasons: ["3 complaints in 30 days"])
        var strict = rules
        strict.atRiskMinScore = 41
        _ = try await cases.setCaseRules(.with { $0.rules = strict }, metadata: admin)
        let tomorrow = now + 86_400_000
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: tomorrow, atRisk: [newcomer]).opened.isEmpty)
        strict.atRiskMinScore = 40
        _ = try await cases.setCaseRules(.with { $0.rules = strict }, metadata: admin)
        let opensNewcomer = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: tomorrow + 60_000, atRisk: [newcomer]).opened
        #expect(opensNewcomer.map(\.sourceRef) == ["C99"], "\(opensNewcomer)")
      }
    }
  }
}
