import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Segmentation through the gateway: profiles and texts ingested, segments defined,
/// a theme planted in one segment's comments found on top.
@Suite(.serialized) struct SegmentationRPCTests {
  static func events(now: Int64) -> [Sightline_Ingestion_V1_Event] {
    let time = { (daysAgo: Double) in RFC3339.format(milliseconds: now - Int64(daysAgo * 86_400_000)) }
    var events: [Sightline_Ingestion_V1_Event] = []
    for index in 0..<40 {
      let vip = index < 10
      let id = "C\(index)"
      events.append(
        .with {
          $0.eventID = "p\(index)"
          $0.customerProfile = .with {
            $0.customerID = id
            $0.tier = vip ? "vip" : "standard"
            $0.type = "individual"
            $0.region = index % 2 == 0 ? "north" : "south"
            $0.time = time(200)
            $0.signupTime = time(300)
          }
        })
      events.append(
        .with {
          $0.eventID = "t\(index)"
          $0.ticketEvent = .with {
            $0.ticketID = "T\(index)"
            $0.customerID = id
            $0.kind = .created
            $0.time = time(5)
            $0.complaint = index % 3 == 0
            $0.problemType = "billing"
          }
        })
      // VIPs complain about invoices (发票); everyone else about delivery.
      let vipComments = ["发票一直开不出来，非常失望", "发票金额错误", "申请重开发票三次", "invoice missing, 发票呢", "电子发票无法下载"]
      let comment = vip ? vipComments[index % vipComments.count] : (index % 2 == 0 ? "delivery was slow" : "物流太慢了")
      events.append(
        .with {
          $0.eventID = "s\(index)"
          $0.surveyResponse = .with {
            $0.customerID = id
            $0.ticketID = "T\(index)"
            $0.kind = .nps
            $0.score = vip ? 3 : 9
            $0.comment = comment
            $0.time = time(4)
          }
        })
    }
    return events
  }

  @Test func segmentsThemesAndTheFollowUpList() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let offset = try await ingestThroughGateway(Self.events(now: now), client: client, key: key)
        let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
        // Read-your-writes through a scorecard, then everything else sees the data.
        let card = try await segmentation.getScorecard(
          .with {
            $0.segment = "vip"; $0.minOffset = offset
          }, metadata: key)
        #expect(card.members == 10)
        #expect(card.figures.first { $0.name == "nps" }?.value == -100)

        let bad = await #expect(throws: RPCError.self) {
          try await segmentation.defineSegment(
            .with {
              $0.name = "x"; $0.expression = "tier = 'vip'"
            }, metadata: key)
        }
        #expect(bad?.code == .invalidArgument)
        #expect(bad?.message.contains("column 6") == true, "\(bad?.message ?? "")")
        _ = try await segmentation.defineSegment(
          .with {
            $0.name = "angry_vips"; $0.expression = #"tier == "vip" && nps_last <= 6 && region in ["north"]"#
          }, metadata: key)
        let listed = try await segmentation.listSegments(.init(), metadata: key)
        #expect(listed.segments.map(\.name) == ["angry_vips"])
        #expect(listed.builtin.contains("at_risk"))
        let members = try await segmentation.listMembers(
          .with {
            $0.segment = "angry_vips"; $0.limit = 3
          }, metadata: key)
        #expect(members.total == 5)
        #expect(members.customers.count == 3 && !members.nextPageToken.isEmpty)
        let rest = try await segmentation.listMembers(
          .with {
            $0.segment = "angry_vips"; $0.limit = 3; $0.pageToken = members.nextPageToken
          }, metadata: key)
        #expect(rest.customers.count == 2 && rest.nextPageToken.isEmpty)

        let vipThemes = try await segmentation.getThemes(.with { $0.segment = "vip" }, metadata: key)
        #expect(vipThemes.documents == 10)
        #expect(vipThemes.themes.first?.term == "发票", "\(vipThemes.themes.map(\.term))")
        #expect((vipThemes.themes.first?.sentiment ?? 0) < 0)
        // As shares: 失望, 错误 and "missing" are negative; "申请重开发票三次" and
        // "电子发票无法下载" carry no sentiment word (docs/segments.md, "Sentiment").
        let invoices = try #require(vipThemes.themes.first)
        #expect(
          abs(invoices.negativeShare - 0.6) < 1e-9 && abs(invoices.neutralShare - 0.4) < 1e-9 && invoices.positiveShare == 0,
          "\(invoices)")
        #expect(abs(vipThemes.negativeShare - 0.6) < 1e-9 && abs(vipThemes.neutralShare - 0.4) < 1e-9)
        // Split by a customer attribute: every VIP text about invoices is a VIP's (of 10).
        let byTier = try await segmentation.getThemes(
          .with {
            $0.segment = "vip"; $0.splitBy = "tier"
          }, metadata: key)
        #expect(byTier.themes.first?.splits.map(\.value) == ["vip"])
        #expect(byTier.themes.first?.splits.first?.count == 10 && byTier.themes.first?.splits.first?.texts == 10)
        // An unknown split is refused, naming the field and the choices.
        let badSplit = await #expect(throws: RPCError.self) {
          try await segmentation.getThemes(.with { $0.splitBy = "colour" }, metadata: key)
        }
        #expect(badSplit?.code == .invalidArgument)
        #expect(badSplit?.message.contains("split_by") == true && badSplit?.message.contains("business_line") == true)
        let all = try await segmentation.getThemes(
          .with {
            $0.negativeOnly = true; $0.limit = 5
          }, metadata: key)
        // "delivery was slow" and "物流太慢了": a theme each, named by the word that comes first.
        #expect(all.themes.map(\.term).contains("delivery") && all.themes.map(\.term).contains("物流"), "\(all.themes.map(\.term))")

        let atRisk = try await segmentation.listAtRisk(.with { $0.limit = 5 }, metadata: key)
        // VIP detractors with an open complaint ticket come first: 40 + 15 + 10 + 10.
        #expect(atRisk.customers.first?.score == 75)
        #expect(atRisk.customers.first?.reasons.map(\.code) == ["detractor", "complaints", "unresolved", "vip"])
        let scores = atRisk.customers.map(\.score)
        #expect(scores == scores.sorted(by: >))

        let customer = try await segmentation.getCustomer(.with { $0.customerID = "C0" }, metadata: key)
        #expect(customer.attributes["tier"] == "vip")
        #expect(customer.lifecycle == .atRisk)
        #expect(customer.derived["nps_last"] == 3)
        // Per-tenant windows: with a 3-day at-risk window the 4-day-old detractor answer no
        // longer counts.
        let windows = try await segmentation.setSegmentSettings(.with { $0.settings.atRiskDays = 3 }, metadata: key)
        #expect(windows.atRiskDays == 3 && windows.activeDays == 90)
        let relaxed = try await segmentation.getCustomer(.with { $0.customerID = "C0" }, metadata: key)
        #expect(relaxed.lifecycle == .active)
        let badWindows = await #expect(throws: RPCError.self) {
          try await segmentation.setSegmentSettings(.with { $0.settings.dormantDays = 30 }, metadata: key)
        }
        #expect(badWindows?.message.contains("settings.dormant_days") == true)
        let missing = await #expect(throws: RPCError.self) {
          try await segmentation.getCustomer(.with { $0.customerID = "nobody" }, metadata: key)
        }
        #expect(missing?.code == .notFound)
        _ = try await segmentation.deleteSegment(.with { $0.name = "angry_vips" }, metadata: key)
        #expect(try await segmentation.listSegments(.init(), metadata: key).segments.isEmpty)
      }
    }
  }
}
