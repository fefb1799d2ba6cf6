import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

extension RealProcessSuites {
  /// Imported history gets its alerts on the day it arrives (docs/kpis.md, "Alerts"): the
  /// five executables, a rule, then weeks of past tickets with a spike inside them, and no
  /// one asks for an evaluation.
  @Suite(.serialized) struct AlertBackfillTests {
    @Test func importedHistoryGetsTheAlertsItWouldHaveRaised() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let launcher = SuiteLauncher(
        dataDirectory: directory, portBase: EndToEndTests.freePortBase(), binaryDirectory: EndToEndTests.binaryDirectory)
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        let key = SuiteMetadata.bearer(try await launcher.createTenant("importer"))
        // 20 days ending 5 days ago: 40 tickets a day in each of two regions, 2 of them
        // complaints, but 20 in the south on the tenth day.
        let firstDay = todayMidnightMs() - 25 * 86_400_000
        let spikeDay = firstDay + 10 * 86_400_000
        var events: [Sightline_Ingestion_V1_Event] = []
        for day in 0..<20 {
          for region in ["north", "south"] {
            for index in 0..<40 {
              let dayMs = firstDay + Int64(day) * 86_400_000
              let complaints = region == "south" && dayMs == spikeDay ? 20 : 2
              let id = "\(day)-\(region)-\(index)"
              events.append(
                .with {
                  $0.eventID = id
                  $0.ticketEvent = .with {
                    $0.ticketID = id
                    $0.customerID = id
                    $0.kind = .created
                    $0.time = RFC3339.format(milliseconds: dayMs + Int64(index) * 36 * 60_000)
                    $0.region = region
                    $0.complaint = index % 20 < complaints / 2
                  }
                })
            }
          }
        }
        try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
          client in
          let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
          _ = try await metrics.addAlertRule(
            .with {
              $0.rule = .with {
                $0.name = "complaint ceiling"
                $0.kpi = .complaintRate
                $0.by = .region
                $0.comparison = .greater
                $0.threshold = 0.25
                $0.minSample = 20
                $0.windowSeconds = 86_400
              }
            }, metadata: key)
          _ = try await ingestThroughGateway(events, client: client, key: key)
          // The scheduler's rounds come every 15 s, the backfill once the consumer has
          // been quiet for 10 s: wait for it (bounded), then one more round.
          func alerts() async throws -> [Sightline_Metrics_V1_Alert] {
            try await metrics.listAlerts(.with { $0.limit = 100 }, metadata: key).alerts
          }
          let deadline = ContinuousClock.now + .seconds(90)
          while try await alerts().isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .seconds(1)) }
          try await Task.sleep(for: .seconds(16))
          let found = try await alerts()
          #expect(found.count == 1, "\(found.map { ($0.dimensionValue, $0.openedAt.seconds, $0.resolvedAt.seconds) })")
          let alert = try #require(found.first)
          #expect(alert.dimensionValue == "south")
          // Opened during the spike's day (a step is 3 h), resolved within a day after it.
          #expect(alert.openedAt.unixMilliseconds > spikeDay && alert.openedAt.unixMilliseconds <= spikeDay + 86_400_000)
          #expect(alert.hasResolvedAt && alert.resolvedAt.unixMilliseconds <= spikeDay + 2 * 86_400_000)
          #expect(alert.contributors.first?.value == "south")
        }
        await launcher.stop()
      } catch {
        await launcher.stop()
        throw error
      }
    }
  }
}
