import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

@testable import MetricsService

/// The verified effect of a case's action (复盘, issue 24), on both backends: an action on
/// three of eight regions, whose CSAT rose after it while the others stayed, is judged
/// improved at 14 days by randomisation inference against the five untouched regions; the
/// 28-day look waits for its day; an action without a scope falls back to before/after
/// against the trend and says it is weaker evidence; each verdict reaches the endpoints.
@Suite(.serialized) struct CaseVerificationTests {
  static let regions = ["south", "west", "north", "east", "centre", "coast", "hills", "lakes"]
  static let dayMs: Int64 = 86_400_000

  /// 28 days of CSAT answers, three a day per region, each about its own ticket; the
  /// treated regions score 3 (±1: one satisfied answer in three) before `effectiveMs` and
  /// 4 or 5 (all satisfied) after, the others 3 (±1) throughout.
  static func events(effectiveMs: Int64, treated: Set<String>) -> [Sightline_Ingestion_V1_Event] {
    var events: [Sightline_Ingestion_V1_Event] = []
    for day in 0..<28 {
      let dayStart = effectiveMs - 14 * dayMs + Int64(day) * dayMs
      for (regionIndex, region) in regions.enumerated() {
        for answer in 0..<3 {
          let id = "\(region)-\(day)-\(answer)"
          let time = RFC3339.format(milliseconds: dayStart + 3_600_000 * Int64(1 + answer + regionIndex))
          let after = dayStart >= effectiveMs
          let wobble = Int32([0, 1, -1][(day + answer + regionIndex) % 3])
          let score: Int32 = treated.contains(region) && after ? (answer == 0 ? 4 : 5) : 3 + wobble
          events.append(
            .with {
              $0.eventID = "t-\(id)"
              $0.ticketEvent = .with {
                $0.ticketID = "T-\(id)"; $0.customerID = "C-\(id)"; $0.kind = .created; $0.time = time; $0.region = region
              }
            })
          events.append(
            .with {
              $0.eventID = "s-\(id)"
              $0.surveyResponse = .with {
                $0.customerID = "C-\(id)"; $0.ticketID = "T-\(id)"; $0.kind = .csat; $0.score = score; $0.time = time
              }
            })
        }
      }
    }
    return events
  }

  @Test(arguments: TestBackend.all) func anActionIsVerifiedAgainstUntouchedUnitsAndTheVerdictIsSent(_ backend: TestBackend) async throws {
    let secret = WebhookSecret.generate()
    let receiver = TestReceiver(secret: secret)
    try await receiver.start()
    defer { Task { await receiver.stop() } }
    try await backend.withSuite(delivery: DeliveryRPCTests.fast) { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        _ = try await cases.addEndpoint(
          .with {
            $0.name = "hook"; $0.kind = .webhook; $0.url = receiver.url; $0.secret = secret; $0.events = ["verification.result"]
          }, metadata: admin)
        let now = WallClock.unixMilliseconds()
        let dayStart = now - now % Self.dayMs
        let effective = dayStart - 20 * Self.dayMs
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = Self.events(effectiveMs: effective, treated: ["south", "west", "north"]) }, metadata: admin)
        #expect(ingested.accepted == 28 * 8 * 3 * 2)
        _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
          .with {
            $0.kpis = [.csat]; $0.minOffset = ingested.offset
          }, metadata: admin)

        func openWithAction(_ title: String, regions: [String], verifyAfterDays: Int32 = 0) async throws -> String {
          let opened = try await cases.openCase(
            .with {
              $0.title = title; $0.owner = "desk"
            }, metadata: admin
          ).case
          _ = try await cases.updateCase(
            .with {
              $0.caseID = opened.id
              $0.action = .with {
                $0.description_p = title; $0.effectiveAt = .init(unixMilliseconds: effective)
                $0.scope = .with { $0.regions = regions }
                $0.verifyAfterDays = verifyAfterDays
              }
            }, metadata: admin)
          return opened.id
        }
        let scoped = try await openWithAction("Callback within 2 hours", regions: ["south", "west", "north"])
        // This one sets its own follow-up horizon: a week.
        let unscoped = try await openWithAction("New greeting script", regions: [], verifyAfterDays: 7)

        // 14 days after the action: verified; the 28-day look waits for its day.
        let first = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now)
        #expect(Set(first.verified.map { "\($0.0.id)@\($0.1.horizonDays)" }) == ["\(scoped)@14", "\(unscoped)@7"])
        #expect(try suite.metrics.runCaseRules(tenant: tenantID, nowMs: now).verified.isEmpty, "verified once")

        let shown = try await cases.getCase(.with { $0.caseID = scoped }, metadata: admin)
        let verdict = try #require(shown.verifications.first)
        #expect(shown.verifications.count == 1 && verdict.horizonDays == 14)
        #expect(verdict.kpi == "csat" && verdict.dimension == "region" && verdict.treated.sorted() == ["north", "south", "west"])
        #expect(verdict.method == "permutation" && verdict.controlUnits == 5 && !verdict.weakerEvidence)
        // CSAT is the share of 4s and 5s (docs/kpis.md): the treated regions' rose from 1/3 to
        // 1 while the others' stayed at 1/3, an effect of 2/3, the most extreme of the 56
        // assignments of three regions in eight: two-sided p = 2 · 1/56.
        #expect(abs(verdict.pValue - 2.0 / 56.0) < 1e-9, "\(verdict)")
        #expect(abs(verdict.effect - 2.0 / 3.0) < 0.05 && verdict.ciLow <= verdict.effect && verdict.ciHigh >= verdict.effect, "\(verdict)")
        #expect(verdict.verdict == "improved", "\(verdict)")

        let fallback = try #require(try await cases.getCase(.with { $0.caseID = unscoped }, metadata: admin).verifications.first)
        #expect(fallback.method == "before_after_trend" && fallback.weakerEvidence && fallback.controlUnits == 0)
        #expect(fallback.note.contains("weaker evidence"))

        // The verdicts reach the endpoint, signed, under one id each.
        let got = await receiver.wait { $0.count >= 2 }
        #expect(
          Set(got.compactMap(\.messageID)) == [
            "verification.result-\(scoped)-\(effective)-14d", "verification.result-\(unscoped)-\(effective)-7d",
          ])
        #expect(got.allSatisfy { $0.signatureValid == true && $0.body.contains(#""type":"verification.result""#) })
        #expect(got.contains { $0.body.contains("improved (permutation)") })

        // 28 days after: the second look.
        let later = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: effective + 28 * Self.dayMs + 1)
        #expect(Set(later.verified.map { "\($0.0.id)@\($0.1.horizonDays)" }) == ["\(scoped)@28", "\(unscoped)@28"])

        // The action is replaced by one a week later: its verdicts are not the new one's, and
        // the new action is verified at its own horizons, under a message id of its own.
        let replaced = effective + 7 * Self.dayMs
        _ = try await cases.updateCase(
          .with {
            $0.caseID = scoped
            $0.action = .with {
              $0.description_p = "Callback within 1 hour"; $0.effectiveAt = .init(unixMilliseconds: replaced)
              $0.scope = .with { $0.regions = ["south", "west", "north"] }
            }
          }, metadata: admin)
        #expect(try await cases.getCase(.with { $0.caseID = scoped }, metadata: admin).verifications.isEmpty)
        // (On PostgreSQL the change is heard through NOTIFY, a moment later.)
        let heard = ContinuousClock.now + .seconds(10)
        while suite.metrics.state.knownVerificationDue(tenantID) != nil && ContinuousClock.now < heard {
          try await Task.sleep(for: .milliseconds(50))
        }
        let again = try suite.metrics.runCaseRules(tenant: tenantID, nowMs: replaced + 14 * Self.dayMs + 1)
        #expect(again.verified.map { "\($0.0.id)@\($0.1.horizonDays)" } == ["\(scoped)@14"])
        let renewed = try await cases.getCase(.with { $0.caseID = scoped }, metadata: admin).verifications
        #expect(renewed.map(\.horizonDays) == [14])
        let resent = await receiver.wait { $0.count >= 5 }
        #expect(resent.contains { $0.messageID == "verification.result-\(scoped)-\(replaced)-14d" })
      }
    }
  }

  @Test func theFollowUpHorizonIsTheActionsOwnThen28Days() {
    func horizons(_ days: Int?) -> [Int] {
      CaseAction(description: "x", effectiveMs: 0, scope: CaseScope(), verifyAfterDays: days).verificationHorizons
    }
    #expect(horizons(nil) == [14, 28] && horizons(7) == [7, 28] && horizons(28) == [28] && horizons(40) == [28, 40])
  }

  /// The before/after fallback by hand: a nearly flat series (slope −0.2/17.5 a day) then a
  /// step to 4 has effect 4 − (3 − 0.2/17.5 · 4.5) = 1.0514…; a rising series continued on
  /// its line has effect near 0 (the trend, not the action).
  @Test func beforeAfterAgainstTheTrendByHand() throws {
    let flat = try #require(
      ActionVerifier.beforeAfterTrend(kpi: .csat, before: [3, 3.1, 2.9, 3, 3.1, 2.9], after: [4, 4, 4], horizonDays: 14, nowMs: 0))
    #expect(abs(flat.effect - (1 + 0.2 / 17.5 * 4.5)) < 1e-9, "\(flat)")
    #expect(flat.verdict == .improved && flat.weakerEvidence && flat.pValue < 0.05, "\(flat)")
    let rising = try #require(
      ActionVerifier.beforeAfterTrend(kpi: .csat, before: [1, 2, 3, 4.1, 4.9, 6], after: [7, 8, 9], horizonDays: 14, nowMs: 0))
    #expect(abs(rising.effect) < 0.2 && rising.verdict == .inconclusive, "\(rising)")
    #expect(ActionVerifier.beforeAfterTrend(kpi: .csat, before: [1, 2], after: [3], horizonDays: 14, nowMs: 0) == nil)
  }
}
