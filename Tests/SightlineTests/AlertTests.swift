import Foundation
import GRDB
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
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

  /// A complaint ceiling of 20 %: judged every hour over the fixture's days (complaints
  /// come first in a day), only north's spike of 03-29 breaches it.
  static let ceiling = AlertRuleRecord(
    id: "ceiling", name: "complaint ceiling", kpi: .complaintRate, by: .region, windowMs: 86_400_000, comparison: .greater,
    threshold: 0.2, anomaly: false, minSample: 20)

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
    // Baseline median 5 % (1, 2, 3 and 2 of 40); the band is ± 3 × the binomial error of
    // the difference at the pooled rate, (8 + 2) / (160 + 4), over 40 and 160 tickets.
    let pooled = 10.0 / 164
    let scale = (pooled * (1 - pooled) * (1.0 / 40 + 1.0 / 160)).squareRoot()
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

  @Test("a few complaints against weeks without any are noise; a real spike is not", arguments: TestBackend.all)
  func smallCountsAgainstAnEmptyBaseline(_ backend: TestBackend) throws {
    var f = try KpiFixture(backend)
    for day in ["2026-03-01", "2026-03-08", "2026-03-15", "2026-03-22"] { try Self.day(&f, day, complaints: [:]) }
    // 3 of 40 lies beyond the band (median 0), but at the pooled rate 2/164 it happens
    // 1.3 % of the time: an anomaly rule judged every hour would page on it weekly.
    try Self.day(&f, "2026-03-29", complaints: ["north": 3, "south": 12])
    let alerts = f.alerts
    try alerts.add(Self.rule(anomaly: true))
    let opened = try Self.evaluator(f, alerts: alerts, now: "2026-03-30T00:00:00Z").evaluate()
    #expect(opened.map(\.dimensionValue) == ["south"])
    let rate = 2.0 / 164
    #expect(Distributions.binomialUpperTail(3, n: 40, p: rate) > Distributions.normalCDF(-3))
    #expect(Distributions.binomialUpperTail(12, n: 40, p: rate) < Distributions.normalCDF(-3))
  }

  @Test("history that arrives late gets the alerts it would have raised, once", arguments: TestBackend.all)
  func backfillSavesWhatTheReplayFinds(_ backend: TestBackend) throws {
    var f = try Self.history(today: ["north": 16, "south": 3, "east": 2], backend)
    try Self.day(&f, "2026-03-30", complaints: ["north": 2, "south": 2, "east": 2])
    try Self.day(&f, "2026-03-31", complaints: ["north": 2, "south": 2, "east": 2])
    let alerts = f.alerts
    let rule = Self.ceiling
    try alerts.add(rule)
    // Now, the window (03-31) is in range everywhere: the live round opens nothing.
    let evaluator = try Self.evaluator(f, alerts: alerts, now: "2026-04-01T00:00:00Z")
    #expect(try evaluator.evaluate().isEmpty)
    // The history from 03-22 arrived: north's spike of 03-29 is an alert, opened and
    // resolved where the replay (every 3 h) finds it.
    let from = KpiFixture.ms("2026-03-22T00:00:00Z")
    let saved = try AlertBackfill(evaluator: evaluator).run(fromMs: from)
    let (episodes, _) = try AlertReplay(evaluator: evaluator).run(
      rule, fromMs: from, toMs: KpiFixture.ms("2026-04-01T00:00:00Z"), stepMs: AlertBackfill.step(for: rule))
    #expect(saved.map(\.dimensionValue) == ["north"])
    #expect(episodes.map(\.group) == ["north"])
    let alert = try #require(saved.first)
    #expect(alert.openedMs == episodes[0].openedMs && alert.resolvedMs == episodes[0].resolvedMs)
    #expect(alert.resolvedMs != nil)
    #expect(alert.openedMs > KpiFixture.ms("2026-03-29T00:00:00Z") && alert.resolvedMs! < KpiFixture.ms("2026-04-01T00:00:00Z"))
    #expect(alert.contributors.first?.value == "north")
    #expect(try alerts.alerts(openOnly: false, limit: 10) == [alert], "stored as it was returned")
    // A second backfill (the same history arriving again) adds nothing.
    #expect(try AlertBackfill(evaluator: evaluator).run(fromMs: from).isEmpty)
    #expect(try alerts.alerts(openOnly: false, limit: 10).count == 1)
  }

  @Test("a backfill keeps a spike still going open from its start, and leaves live alerts alone", arguments: TestBackend.all)
  func backfillRespectsLiveAlerts(_ backend: TestBackend) throws {
    let f = try Self.history(today: ["north": 16, "south": 3, "east": 2], backend)
    let alerts = f.alerts
    let from = KpiFixture.ms("2026-03-22T00:00:00Z")
    let now = "2026-03-29T20:00:00Z"
    let rule = Self.ceiling
    try alerts.add(rule)
    // The episode still going is saved open from when it began, hours before now ...
    let saved = try AlertBackfill(evaluator: try Self.evaluator(f, alerts: alerts, now: now)).run(fromMs: from)
    #expect(saved.map(\.dimensionValue) == ["north"])
    #expect(saved.first?.resolvedMs == nil && saved.first!.openedMs < KpiFixture.ms(now))
    // ... and the live round then keeps it, opening nothing.
    #expect(try Self.evaluator(f, alerts: alerts, now: now).evaluate().isEmpty)
    #expect(try alerts.openAlert(ruleID: rule.id, dimensionValue: "north")?.id == saved.first?.id)
    // A rule whose live round opened the alert first: the backfill finds it covered.
    var second = rule
    second.id = "ceiling-2"
    try alerts.add(second)
    #expect(try Self.evaluator(f, alerts: alerts, now: now).evaluate().map(\.ruleID) == ["ceiling-2"])
    #expect(try AlertBackfill(evaluator: try Self.evaluator(f, alerts: alerts, now: now)).run(fromMs: from).isEmpty)
    #expect(try alerts.alerts(openOnly: false, limit: 10).count == 2)
  }

  @Test func theConsumerNotesTheEarliestEventTimeAppliedUntilTheSchedulerTakesIt() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let consumer = MetricsLogConsumer(dataDirectory: directory)
    let tenant = try #require(TenantID("t_0123456789abcdef"))
    func entry(_ offset: Int64, _ time: String, survey: Bool = false) -> Sightline_Ingestion_V1_LogEntry {
      .with {
        $0.offset = offset
        $0.eventTimeUnixMs = KpiFixture.ms(time)
        if survey {
          $0.event = .with { $0.surveyResponse = .with { $0.ticketID = "r\(offset)" } }
        } else {
          $0.event = .with { $0.customerProfile = .with { $0.customerID = "c\(offset)" } }
        }
      }
    }
    try consumer.apply(
      [entry(1, "2026-03-02T00:00:00Z", survey: true), entry(2, "2026-01-01T00:00:00Z"), entry(3, "2026-03-01T00:00:00Z", survey: true)],
      throughOffset: 3, tenant: tenant, fence: .sole)
    // Profiles are not counted by time; the earliest answer is.
    #expect(consumer.takeEarliestArrival(tenant, quietPeriod: .seconds(3_600)) == nil, "not quiet yet")
    #expect(consumer.takeEarliestArrival(tenant) == KpiFixture.ms("2026-03-01T00:00:00Z"))
    #expect(consumer.takeEarliestArrival(tenant) == nil, "taken")
    consumer.restoreEarliestArrival(tenant, 42)
    #expect(consumer.takeEarliestArrival(tenant) == 42)
    // Once the rules change, only what was ingested after counts: a rule added after an
    // import does not backfill it, even while the import is still being folded.
    consumer.rulesChanged(tenant)
    var before = entry(5, "2025-06-01T00:00:00Z", survey: true)
    before.ingestedAt = Google_Protobuf_Timestamp(unixMilliseconds: WallClock.now - 60_000)
    var after = entry(6, "2025-07-01T00:00:00Z", survey: true)
    after.ingestedAt = Google_Protobuf_Timestamp(unixMilliseconds: WallClock.now + 60_000)
    try consumer.apply([before], throughOffset: 5, tenant: tenant, fence: .sole)
    #expect(consumer.takeEarliestArrival(tenant) == nil)
    try consumer.apply([after], throughOffset: 6, tenant: tenant, fence: .sole)
    #expect(consumer.takeEarliestArrival(tenant) == KpiFixture.ms("2025-07-01T00:00:00Z"))
    // A tenant known to have no rules notes nothing.
    consumer.markWithoutRules(tenant, ifUnchangedSince: consumer.ruleChanges(tenant))
    try consumer.apply([entry(7, "2025-01-01T00:00:00Z", survey: true)], throughOffset: 7, tenant: tenant, fence: .sole)
    #expect(consumer.takeEarliestArrival(tenant) == nil)
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
