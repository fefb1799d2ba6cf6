import Foundation
import GRPCCore
import MetricsService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Metrics RPCs end to end: ingest through the gateway, the metrics consumer tails the log
/// over mTLS, queries come back through the gateway.
@Suite(.serialized) struct MetricsRPCTests {
  @Test func queryReadsItsWritesAndMatchesTheHandComputedValues() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = workedExampleEvents() }, metadata: key)
        #expect(ingested.accepted == 30)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let reply = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume, .firstResponseTime, .complaintRate, .csat, .nps]
            $0.range = .with {
              $0.start = timestamp("2026-03-02T00:00:00Z"); $0.end = timestamp("2026-03-03T00:00:00Z")
            }
            $0.interval = .day
            $0.groupBy = [.businessLine]
            $0.minOffset = ingested.offset
          }, metadata: key)
        #expect(reply.appliedOffset >= ingested.offset)
        #expect(reply.rows.map(\.groupValues) == [[""], ["A"], ["B"]])
        let lineA = reply.rows[1].values
        #expect(lineA.map(\.kpi) == [.volume, .firstResponseTime, .complaintRate, .csat, .nps])
        #expect(lineA[0].value == 3)
        #expect(lineA[1].median == 1800)  // T1 1800 s, T2 7200 s, T5 600 s
        #expect(abs(lineA[2].value - 2.0 / 3) < 1e-12)
        // Surveys without a ticket land in the "" group: 4 CSAT answers, 2 satisfied.
        #expect(reply.rows[0].values[3].value == 0.5)
        #expect(reply.rows[0].values[3].sampleSize == 4)
        #expect(reply.rows[0].values[4].value == 25)

        let units = try await metrics.getUnitAggregates(
          .with {
            $0.unit = .businessLine
            $0.kpis = [.complaintRate, .firstResponseTime]
            $0.periods = [
              .with {
                $0.start = timestamp("2026-03-02T00:00:00Z"); $0.end = timestamp("2026-03-03T00:00:00Z")
              }
            ]
            $0.units = ["A", "B"]
          }, metadata: key)
        #expect(units.aggregates.map(\.unit) == ["A", "B"])
        #expect(units.aggregates[0].stats[0].count == 3)
        #expect(units.aggregates[0].stats[0].sum == 2)
        #expect(units.aggregates[0].stats[1].sum == 1800 + 7200 + 600)
      }
    }
  }

  @Test func explainChangeAnswersThroughTheGatewayAndNamesTheBadField() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = workedExampleEvents() }, metadata: key)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        func request(_ kpi: Sightline_Metrics_V1_Kpi) -> Sightline_Metrics_V1_ExplainChangeRequest {
          .with {
            $0.kpi = kpi
            $0.period = .with {
              $0.start = timestamp("2026-03-02T00:00:00Z"); $0.end = timestamp("2026-03-03T00:00:00Z")
            }
            $0.dimensions = [.businessLine, .priority]
            $0.minSample = 1  // show even one-ticket segments on their own
            $0.minOffset = ingested.offset
          }
        }
        // Volume adds up: 0 tickets the day before, 5 on 03-02 (A: 3, B: 2).
        let volume = try await metrics.explainChange(request(.volume), metadata: key)
        #expect(volume.decomposition == .additive)
        #expect(volume.change == 5 && volume.baselineValue == 0 && volume.currentValue == 5)
        #expect(volume.baselineRange.end == timestamp("2026-03-02T00:00:00Z"))
        let lines = try #require(volume.dimensions.first { $0.dimension == .businessLine })
        #expect(lines.segments.map(\.value) == ["A", "B"] && lines.segments.map(\.effect) == [3, 2])
        #expect(lines.segments.allSatisfy { $0.presence == .entering })
        // A ratio needs observations on both sides, and says so rather than dividing by zero.
        let empty = try await metrics.explainChange(request(.complaintRate), metadata: key)
        #expect(empty.dimensions.isEmpty)
        #expect(empty.summary.contains("no observations on the baseline"), "\(empty.summary)")

        for (mutate, field) in [
          ({ (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in r.groupValues = ["A"] }, "group_dimension"),
          ({ (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in r.groupDimension = .businessLine }, "group_values"),
          (
            { (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in
              r.groupDimension = .businessLine; r.groupValues = ["A"]; r.baselineValues = ["A"]
            }, "baseline_values"
          ),
          ({ (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in r.dimensions = [.region, .region] }, "dimensions"),
          ({ (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in r.kpi = .unspecified }, "kpi"),
          ({ (r: inout Sightline_Metrics_V1_ExplainChangeRequest) in r.period.end = timestamp("2026-03-01T00:00:00Z") }, "period"),
        ] {
          var bad = request(.csat)
          mutate(&bad)
          let error = await #expect(throws: RPCError.self) { try await metrics.explainChange(bad, metadata: key) }
          #expect(error?.code == .invalidArgument)
          #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "")")
        }
      }
    }
  }

  @Test func badQueriesNameTheFieldAndSettingsNeedAdmin() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let noKpis = await #expect(throws: RPCError.self) { try await metrics.queryKpis(.init(), metadata: admin) }
        #expect(noKpis?.code == .invalidArgument)
        #expect(noKpis?.message.contains("kpis") == true)
        let badZone = await #expect(throws: RPCError.self) {
          try await metrics.setSettings(.with { $0.settings.timeZone = "Mars/Olympus" }, metadata: admin)
        }
        #expect(badZone?.code == .invalidArgument)
        #expect(badZone?.message.contains("settings.time_zone") == true)
        let saved = try await metrics.setSettings(
          .with {
            $0.settings.timeZone = "Asia/Shanghai"; $0.settings.sla.urgentSeconds = 1800
          }, metadata: admin)
        #expect(saved.sla.urgentSeconds == 1800)
        #expect(saved.sla.lowSeconds == 86_400)
        #expect(try await metrics.getSettings(.init(), metadata: admin).timeZone == "Asia/Shanghai")

        // Cockpit targets: kept with the settings, checked, one per KPI.
        var withTargets = saved
        withTargets.targets = [
          .with {
            $0.kpi = .csat; $0.goal = 0.9; $0.tolerance = 0.05
          },
          .with {
            $0.kpi = .firstResponseTime; $0.goal = 1_800; $0.tolerance = 1_800
          },
        ]
        let targeted = try await metrics.setSettings(.with { $0.settings = withTargets }, metadata: admin)
        #expect(targeted.targets.map(\.kpi) == [.csat, .firstResponseTime])
        let read = try await metrics.getSettings(.init(), metadata: admin)
        #expect(read.targets == targeted.targets && read.timeZone == "Asia/Shanghai" && read.sla.urgentSeconds == 1800)
        for (bad, field) in [
          (
            Sightline_Metrics_V1_KpiTarget.with {
              $0.kpi = .csat; $0.goal = 90; $0.tolerance = 5
            }, "settings.targets[0]"
          ),
          (
            .with {
              $0.kpi = .volume; $0.goal = 100
            }, "settings.targets[0]"
          ),
          (
            .with {
              $0.kpi = .nps; $0.goal = 30; $0.tolerance = -1
            }, "settings.targets[0]"
          ),
          (.with { $0.goal = 1 }, "settings.targets[0].kpi"),
        ] {
          let refused = await #expect(throws: RPCError.self) {
            try await metrics.setSettings(.with { $0.settings.targets = [bad] }, metadata: admin)
          }
          #expect(refused?.code == .invalidArgument && refused?.message.hasPrefix(field) == true, "\(String(describing: refused))")
        }
        let twice = await #expect(throws: RPCError.self) {
          try await metrics.setSettings(.with { $0.settings.targets = [withTargets.targets[0], withTargets.targets[0]] }, metadata: admin)
        }
        #expect(twice?.message.contains("settings.targets[1].kpi") == true)
        #expect(
          try await metrics.getSettings(.init(), metadata: admin).targets == targeted.targets, "a refused change keeps the old settings")
        let reader = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client)
          .createKey(.with { $0.role = .reader }, metadata: admin)
        let denied = await #expect(throws: RPCError.self) {
          try await metrics.setSettings(.init(), metadata: SuiteMetadata.bearer(reader.secret))
        }
        #expect(denied?.code == .permissionDenied)
      }
    }
  }

  @Test func alertRulesAndTheLiveFeed() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let missingComparison = await #expect(throws: RPCError.self) {
          try await metrics.addAlertRule(.with { $0.rule.kpi = .complaintRate }, metadata: key)
        }
        #expect(missingComparison?.message.contains("rule.comparison") == true)
        let rule = try await metrics.addAlertRule(
          .with {
            $0.rule = .with {
              $0.name = "complaints"
              $0.kpi = .complaintRate
              $0.by = .businessLine
              $0.comparison = .greater
              $0.threshold = 0.5
              $0.minSample = 2
              $0.windowSeconds = 86_400
            }
          }, metadata: key)
        #expect(try await metrics.listAlertRules(.init(), metadata: key).rules.map(\.id) == [rule.id])
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = workedExampleEvents() }, metadata: key)
        // Wait for the consumer, then evaluate "at" the end of the example's day.
        _ = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.minOffset = ingested.offset
          }, metadata: key)
        let tenantID = try #require(TenantID(tenant.id))
        let received = try await withThrowingTaskGroup(of: Sightline_Metrics_V1_Alert?.self) { group in
          group.addTask {
            try await metrics.watchAlerts(.init(), metadata: key) { response in
              for try await message in response.messages { return message.alert }
              return nil
            }
          }
          group.addTask {
            // The watcher subscribes asynchronously: until it has seen the alert, close any
            // open one behind the evaluator's back and evaluate again, which reopens and
            // republishes it.
            let alerts = try suite.metrics.state.alerts(for: tenantID)
            while !Task.isCancelled {
              for var open in try alerts.alerts(openOnly: true, limit: 10) {
                open.resolvedMs = 0
                try alerts.save(open)
              }
              try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: RFC3339.parseMilliseconds("2026-03-03T00:00:00Z")!)
              try? await Task.sleep(for: .milliseconds(200))
            }
            return nil
          }
          var alert: Sightline_Metrics_V1_Alert?
          for try await value in group where value != nil {
            alert = value
            group.cancelAll()
          }
          return alert
        }
        // Line A: 2 complaints of 3 tickets (> 50 %); line B: 1 of 2 (not above).
        #expect(received?.dimensionValue == "A")
        #expect(received?.severity == .warning)
        let listed = try await metrics.listAlerts(.with { $0.openOnly = true }, metadata: key)
        #expect(listed.alerts.map(\.dimensionValue) == ["A"])
        _ = try await metrics.removeAlertRule(.with { $0.id = rule.id }, metadata: key)
        let gone = await #expect(throws: RPCError.self) {
          try await metrics.removeAlertRule(.with { $0.id = rule.id }, metadata: key)
        }
        #expect(gone?.code == .notFound)
      }
    }
  }
}
