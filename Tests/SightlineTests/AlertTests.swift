import Foundation
import GRDB
import SightlineModel
import SightlineStorage
import Testing

@testable import MetricsService

@Suite("Alerts")
struct AlertTests {
  static let regions = ["east", "north", "south"]

  /// 40 tickets per region on `day`, of which `complaints[region]` are complaints.
  static func day(_ f: inout KpiFixture, _ day: String, complaints: [String: Int]) throws {
    for region in regions {
      for i in 0..<40 {
        let id = "\(day)-\(region)-\(i)"
        try f.ticket(
          id, .created, "\(day)T\(String(format: "%02d", i % 24)):15:00Z", customer: id, region: region,
          complaint: i < complaints[region, default: 0])
      }
    }
  }

  /// Four baseline weeks (same weekday) with about 5 % complaints everywhere, then `today`.
  static func history(today: [String: Int], _ backend: TestBackend) throws -> KpiFixture {
    var f = try KpiFixture(backend)
    for (day, count) in [("2026-03-01", 1), ("2026-03-08", 2), ("2026-03-15", 3), ("2026-03-22", 2)] {
      try Self.day(&f, day, complaints: Dictionary(uniqueKeysWithValues: regions.map { ($0, count) }))
    }
    try Self.day(&f, "2026-03-29", complaints: today)
    return f
  }

  static func evaluator(_ f: KpiFixture, alerts: any AlertStore, now: String) throws -> AlertEvaluator {
    AlertEvaluator(
      store: f.store, alerts: alerts, settings: .defaults, nowMs: KpiFixture.ms(now), buildLock: RollupBuildLock())
  }

  static func rule(anomaly: Bool) -> AlertRuleRecord {
    AlertRuleRecord(
      id: anomaly ? "anomaly" : "threshold", name: "complaints", kpi: .complaintRate, by: .region, windowMs: 86_400_000,
      comparison: anomaly ? nil : .greater, threshold: 0.08, anomaly: anomaly, minSample: 20)
  }

  @Test("an injected complaint spike in one region raises exactly that anomaly alert", arguments: TestBackend.all)
  func spikeRaisesOneAnomaly(_ backend: TestBackend) throws {
    let f = try Self.history(today: ["north": 16, "south": 3, "east": 2], backend)
    let alerts = f.alerts
    try alerts.add(Self.rule(anomaly: true))
    let opened = try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z").evaluate()
    #expect(opened.map(\.dimensionValue) == ["north"])
    let alert = try #require(opened.first)
    #expect(alert.value == 0.4)
    #expect(alert.sampleSize == 40)
    #expect(alert.severity == .critical)
    // Baseline median 5 %; the band is ± 3 × the binomial error sqrt(0.05·0.95/40).
    let scale = (0.05 * 0.95 / 40).squareRoot()
    #expect(abs(alert.expectedHigh - (0.05 + 3 * scale)) < 1e-12)
    #expect(alert.message.contains("region=north"))
    // What moved the tenant's complaint rate against the same day a week before (2 of 40
    // everywhere): north's own rate, (16 − 2) / 40 of its third; south's 3 adds a little.
    #expect(alert.contributors.map(\.value) == ["north", "south"])
    #expect(alert.contributors.allSatisfy { $0.dimension == .region && $0.mixEffect == 0 })
    #expect(abs(alert.contributors[0].effect - 14.0 / 120) < 1e-12)
    #expect(try alerts.alert(id: alert.id)?.contributors == alert.contributors, "stored and read back")
    // Evaluating again announces nothing new: the alert is already open.
    #expect(try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z").evaluate().isEmpty)
    #expect(try alerts.alerts(openOnly: true, limit: 10).count == 1)
  }

  @Test("a replay over history opens exactly where and when the live evaluation does, writing nothing", arguments: TestBackend.all)
  func replayMatchesTheLiveEvaluation(_ backend: TestBackend) throws {
    let f = try Self.history(today: ["north": 16, "south": 3, "east": 2], backend)
    let alerts = f.alerts
    for anomaly in [true, false] {
      let rule = Self.rule(anomaly: anomaly)
      try alerts.add(rule)
      let evaluator = try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z")
      // Judged at every midnight of March: only the window of 03-29 breaches, for north.
      let (episodes, evaluations) = try AlertReplay(evaluator: evaluator).run(
        rule, fromMs: KpiFixture.ms("2026-03-01T00:00:00Z"), toMs: KpiFixture.ms("2026-03-30T00:00:00Z"), stepMs: 86_400_000)
      #expect(evaluations == 29)
      #expect(episodes.map(\.group) == ["north"], "\(rule.id)")
      let episode = try #require(episodes.first)
      #expect(episode.openedMs == KpiFixture.ms("2026-03-30T00:00:00Z") && episode.resolvedMs == nil)
      #expect(try alerts.alerts(openOnly: false, limit: 10).filter { $0.ruleID == rule.id }.isEmpty, "a replay writes no alert")
      // The live evaluation at that moment opens the same alert.
      let live = try #require(try evaluator.evaluate().first { $0.ruleID == rule.id })
      #expect(live.dimensionValue == episode.group && live.value == episode.value && live.sampleSize == episode.sampleSize)
      #expect(live.expectedLow == episode.expectedLow && live.expectedHigh == episode.expectedHigh)
      #expect(live.severity == episode.severity && live.contributors == episode.contributors)
      _ = try alerts.removeRule(id: rule.id)
    }
  }

  @Test("a quiet series raises no alert", arguments: TestBackend.all)
  func quietSeriesIsSilent(_ backend: TestBackend) throws {
    let f = try Self.history(today: ["north": 3, "south": 1, "east": 2], backend)
    let alerts = f.alerts
    try alerts.add(Self.rule(anomaly: true))
    try alerts.add(Self.rule(anomaly: false))
    #expect(try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z").evaluate().isEmpty)
  }

  @Test("a threshold alert opens, stays open through a thin window, and resolves when back in range", arguments: TestBackend.all)
  func thresholdLifecycle(_ backend: TestBackend) throws {
    var f = try Self.history(today: ["north": 16, "south": 3, "east": 2], backend)
    let alerts = f.alerts
    try alerts.add(Self.rule(anomaly: false))
    let opened = try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z").evaluate()
    #expect(opened.map(\.dimensionValue) == ["north"])
    #expect(opened.first?.expectedHigh == 0.08)
    // Three tickets on the next day are below min_sample: not judged, the alert stays open.
    for i in 0..<3 { try f.ticket("thin\(i)", .created, "2026-03-30T10:00:00Z", customer: "x", region: "north") }
    #expect(try Self.evaluator(f, alerts: alerts, now: "2026-03-31T00:00:00Z").evaluate().isEmpty)
    try Self.day(&f, "2026-03-31", complaints: ["north": 1])
    let resolved = try Self.evaluator(f, alerts: alerts, now: "2026-04-01T00:00:00Z").evaluate()
    #expect(resolved.map(\.dimensionValue) == ["north"])
    #expect(resolved.first?.resolvedMs == KpiFixture.ms("2026-04-01T00:00:00Z"))
    #expect(try alerts.alerts(openOnly: true, limit: 10).isEmpty)
    #expect(try alerts.alerts(openOnly: false, limit: 10).count == 1)
  }

  @Test("robust baseline: median ± k·1.4826·MAD, never narrower than the floor")
  func robustBaseline() throws {
    let baseline = try #require(RobustBaseline(history: [10, 12, 11, 30], floor: 0.1))
    // median 11.5; |x - m| = 1.5, 0.5, 0.5, 18.5 → MAD 1.0
    #expect(baseline.median == 11.5)
    #expect(abs(baseline.scale - 1.4826) < 1e-12)
    #expect(RobustBaseline(history: [5, 5, 5], floor: 0.2)?.scale == 0.2)
    #expect(RobustBaseline(history: [5, 5], floor: 0.2) == nil)
  }
}
