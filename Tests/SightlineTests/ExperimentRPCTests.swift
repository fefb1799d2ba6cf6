import Foundation
import GRPCCore
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// The dashboard-rollout experiment end to end: demo data through the gateway, the
/// experiments service asks metrics for unit aggregates over mTLS, and finds the planted
/// effect.
@Suite(.serialized) struct ExperimentRPCTests {
  static func rolloutExperiment(_ scenario: DemoScenario) -> Sightline_Experiments_V1_Experiment {
    .with {
      $0.name = "dashboard rollout"
      $0.hypothesis = "Lines with the cockpit answer faster and satisfy more customers"
      $0.unit = .businessLine
      $0.explicit = .with {
        $0.treatment = scenario.treatedLines; $0.control = scenario.controlLines
      }
      $0.start = Google_Protobuf_Timestamp(seconds: scenario.rolloutMs / 1000, nanos: 0)
      $0.end = Google_Protobuf_Timestamp(seconds: scenario.endMs / 1000, nanos: 0)
      $0.prePeriodDays = Int32(scenario.rolloutDay)
      $0.primary = [.with { $0.kpi = .firstResponseTime }, .with { $0.kpi = .csat }]
      $0.guardrails = [.with { $0.kpi = .complaintRate }]
    }
  }

  @Test func theRolloutExperimentFindsThePlantedFasterFirstResponse() async throws {
    var scenario = DemoScenario(endMs: todayMidnightMs())
    scenario.days = 80
    scenario.rolloutDay = 40
    scenario.customers = 1_000
    scenario.ticketsPerLineDay = 5
    let events = DemoDataset(scenario).events
    let experiment = Self.rolloutExperiment(scenario)
    let endMs = scenario.endMs
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let offset = try await ingestThroughGateway(events, client: client, key: key)
        let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
        let created = try await experiments.createExperiment(.with { $0.experiment = experiment }, metadata: key)
        #expect(created.primary.map(\.goodDirection) == [.down, .up], "directions default from the KPI")
        let duplicate = await #expect(throws: RPCError.self) {
          try await experiments.createExperiment(.with { $0.experiment = experiment }, metadata: key)
        }
        #expect(duplicate?.code == .alreadyExists)

        let evaluation = try await experiments.evaluate(
          .with {
            $0.name = "dashboard rollout"; $0.minOffset = offset
          }, metadata: key)
        let frt = try #require(evaluation.results.first { $0.metric.kpi == .firstResponseTime })
        #expect(frt.method == .permutation)
        #expect(frt.controlUnits == 10 && frt.treatmentUnits == 10)
        #expect(frt.effect < 0)
        #expect(frt.verdict == .better)
        #expect(evaluation.running == false)
        // The planted −15 % lies inside the relative interval; the p-value is exact.
        #expect(frt.relativeCiLow < -0.15 && -0.15 < frt.relativeCiHigh, "\(frt.relativeCiLow)...\(frt.relativeCiHigh)")
        #expect(frt.pValue < 0.001)
        #expect(frt.probabilityBetter > 0.99)
        // Two primaries: Holm doubles the smaller p; Benjamini-Hochberg never exceeds Holm.
        #expect(frt.pValueAdjusted == min(1, 2 * frt.pValue))
        #expect(frt.pValueBh <= frt.pValueAdjusted && frt.pValueBh >= frt.pValue)
        let csat = try #require(evaluation.results.first { $0.metric.kpi == .csat })
        #expect(csat.ciLow < 0.04 && 0.04 < csat.ciHigh, "CSAT +4 points is plausible")
        #expect(evaluation.verdict == .better)
        #expect(evaluation.balancePValues.allSatisfy { $0 > 0.05 }, "lines were alike before the rollout")
        #expect(!evaluation.warnings.contains { $0.code == "pre_period_imbalance" })
        #expect(evaluation.results.first { $0.guardrail }?.verdict != .worse)

        // An interim look while running uses the always-valid interval, which is wider.
        let interim = try await experiments.evaluate(
          .with {
            $0.name = "dashboard rollout"; $0.asOf = Google_Protobuf_Timestamp(seconds: (endMs - 10 * 86_400_000) / 1000, nanos: 0)
          },
          metadata: key)
        #expect(interim.running)
        #expect(interim.warnings.contains { $0.code == "running" })
        let interimFRT = try #require(interim.results.first { $0.metric.kpi == .firstResponseTime })
        #expect(interimFRT.sequentialCiHigh - interimFRT.sequentialCiLow > interimFRT.ciHigh - interimFRT.ciLow)

        // Other methods on request.
        for method in [Sightline_Experiments_V1_Method.welch, .did, .cuped] {
          let other = try await experiments.evaluate(
            .with {
              $0.name = "dashboard rollout"; $0.method = method
            }, metadata: key)
          let result = try #require(other.results.first { $0.metric.kpi == .firstResponseTime })
          #expect(result.method == method)
          #expect(result.effect < 0)
        }

        let plan = try await experiments.plan(.with { $0.experiment = experiment }, metadata: key)
        #expect(plan.mde.count == 2 && plan.mde.allSatisfy { $0 > 0 })
      }
    }
  }
}

extension ExperimentRPCTests {
  /// The picture behind the verdict (EvaluateRequest.include_series): each primary metric's
  /// treated and control values by day over the pre- and post-periods. Each day's sample
  /// sizes add up to what a KPI query grouped by line gives for the arms' lines (another
  /// read path), and the planted −15 % first response shows after the rollout only.
  @Test func theArmsSeriesShowsThePlantedEffectAfterTheRolloutOnly() async throws {
    var planned = DemoScenario(endMs: todayMidnightMs())
    planned.days = 40
    planned.rolloutDay = 20
    planned.customers = 400
    planned.ticketsPerLineDay = 4
    let scenario = planned
    let events = DemoDataset(scenario).events
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let offset = try await ingestThroughGateway(events, client: client, key: key)
        let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
        _ = try await experiments.createExperiment(.with { $0.experiment = Self.rolloutExperiment(scenario) }, metadata: key)
        let evaluation = try await experiments.evaluate(
          .with {
            $0.name = "dashboard rollout"; $0.minOffset = offset; $0.includeSeries = true
          }, metadata: key)
        #expect(evaluation.series.map(\.kpi) == [.firstResponseTime, .csat] && evaluation.seriesNote.isEmpty)
        let frt = try #require(evaluation.series.first)
        #expect(frt.interval == .day && frt.points.count == 40, "\(frt.points.count) days")
        let rollout = scenario.rolloutMs
        let days = frt.points.map(\.start.unixMilliseconds)
        #expect(days == days.sorted() && days.first == rollout - 20 * 86_400_000 && days.contains(rollout))

        // Each arm's daily sample sizes add up to the line-grouped query's over the range.
        let byLine = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
          .with {
            $0.kpis = [.firstResponseTime]
            $0.range = .with {
              $0.start = Google_Protobuf_Timestamp(unixMilliseconds: days.first!)
              $0.end = Google_Protobuf_Timestamp(unixMilliseconds: scenario.endMs)
            }
            $0.groupBy = [.businessLine]
            $0.interval = .all
          }, metadata: key)
        func answered(_ lines: [String]) -> Int64 {
          byLine.rows.filter { lines.contains($0.groupValues[0]) }.reduce(0) { $0 + $1.values[0].sampleSize }
        }
        #expect(frt.points.reduce(0) { $0 + $1.treatmentN } == answered(scenario.treatedLines))
        #expect(frt.points.reduce(0) { $0 + $1.controlN } == answered(scenario.controlLines))

        // Treated over control, mean of the days: about 15 % lower after the rollout than
        // before (the lines' own levels differ; the change is what was planted).
        func ratio(_ points: ArraySlice<Sightline_Experiments_V1_ArmPoint>) -> Double {
          let usable = points.filter { $0.treatmentN > 0 && $0.controlN > 0 }
          return usable.reduce(0) { $0 + $1.treatment } / usable.reduce(0) { $0 + $1.control }
        }
        let split = try #require(frt.points.firstIndex { $0.start.unixMilliseconds >= rollout })
        let (before, after) = (ratio(frt.points[..<split]), ratio(frt.points[split...]))
        #expect(abs(after / before - 0.85) < 0.06, "before \(before), after \(after)")

        // Without include_series the reply carries none; a hash assignment says why not.
        let plain = try await experiments.evaluate(.with { $0.name = "dashboard rollout" }, metadata: key)
        #expect(plain.series.isEmpty && plain.seriesNote.isEmpty)
        var hashed = Self.rolloutExperiment(scenario)
        hashed.name = "callback pilot"
        hashed.unit = .customer
        hashed.hash = .with {
          $0.salt = "s"; $0.treatmentShare = 0.5
        }
        hashed.primary = [.with { $0.kpi = .csat }]
        _ = try await experiments.createExperiment(.with { $0.experiment = hashed }, metadata: key)
        let pilot = try await experiments.evaluate(
          .with {
            $0.name = "callback pilot"; $0.includeSeries = true
          }, metadata: key)
        #expect(pilot.series.isEmpty && pilot.seriesNote.contains("hash assignment"), "\(pilot.seriesNote)")
      }
    }
  }
}

@Suite(.serialized) struct ExperimentValidationTests {
  @Test func badDefinitionsNameTheFieldAndUnknownExperimentsAreNotFound() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
        let valid = ExperimentRPCTests.rolloutExperiment(DemoScenario(endMs: todayMidnightMs()))
        let cases: [(String, (inout Sightline_Experiments_V1_Experiment) -> Void)] = [
          ("experiment.name", { $0.name = "" }),
          ("experiment.unit", { $0.unit = .unspecified }),
          ("experiment.explicit", { $0.explicit.control.append("L01") }),
          (
            "experiment.hash.treatment_share",
            {
              $0.hash = .with {
                $0.salt = "s"; $0.treatmentShare = 1.5
              }
            }
          ),
          ("experiment.end", { $0.end = Google_Protobuf_Timestamp(seconds: $0.start.seconds - 1, nanos: 0) }),
          ("experiment.primary", { $0.primary = [] }),
          ("experiment.guardrails[0].kpi", { $0.guardrails = [.with { $0.kpi = .unspecified }] }),
        ]
        for (field, breakIt) in cases {
          var broken = valid
          breakIt(&broken)
          let experiment = broken
          let error = await #expect(throws: RPCError.self) {
            try await experiments.createExperiment(.with { $0.experiment = experiment }, metadata: key)
          }
          #expect(error?.code == .invalidArgument)
          #expect(error?.message.hasPrefix(field) == true, "\(field): \(error?.message ?? "")")
        }
        let missing = await #expect(throws: RPCError.self) {
          try await experiments.evaluate(.with { $0.name = "nope" }, metadata: key)
        }
        #expect(missing?.code == .notFound)
        let listed = try await experiments.listExperiments(.init(), metadata: key)
        #expect(listed.experiments.isEmpty)
      }
    }
  }
}
