import Foundation
import GRDB
import SightlineLauncher
import SightlineStorage
import SightlineTesting
import Testing

@testable import MetricsService
@testable import SightlineModel

/// Daily rollups must answer exactly what a scan of the per-ticket state answers, also
/// after late and out-of-order events changed days already rolled up, and after the
/// settings changed.
@Suite("Daily rollups")
struct RollupTests {
  static let start = RFC3339.parseMilliseconds("2026-03-01T00:00:00Z")!
  static let day: Int64 = 86_400_000
  static let hour: Int64 = 3_600_000

  /// Seeded tickets over 20 days with replies, resolutions, reopens, survey answers (some
  /// without a ticket) and profiles, in shuffled order.
  static func randomEvents(seed: UInt64, tickets: Int) -> [MetricsEvent] {
    var random = SeededRandom(seed: seed)
    var events: [MetricsEvent] = []
    for index in 0..<tickets {
      let ticket = "T\(index)"
      let customer = "C\(Int.random(in: 0..<40, using: &random))"
      let created = start + Int64.random(in: 0..<(20 * day - 15 * hour), using: &random)
      let agent = Bool.random(using: &random) ? "a\(Int.random(in: 0..<6, using: &random))" : ""
      let attributes = TicketAttributes(
        channel: ["email", "phone", "wechat"].randomElement(using: &random)!, region: "r\(Int.random(in: 0..<3, using: &random))",
        businessLine: "L\(Int.random(in: 0..<4, using: &random))", agent: agent,
        priority: TicketPriority.allCases.randomElement(using: &random)!, complaint: Int.random(in: 0..<5, using: &random) == 0)
      func add(_ type: TicketEventType, _ time: Int64, agent: String = "") {
        var eventAttributes = attributes
        eventAttributes.agent = agent
        events.append(
          .ticket(
            ticketID: ticket, customerID: customer, type: type, timeMs: time, attributes: type == .created ? attributes : eventAttributes))
      }
      add(.created, created)
      var time = created
      if Int.random(in: 0..<100, using: &random) < 85 {
        for _ in 0..<Int.random(in: 1...3, using: &random) {
          time += Int64.random(in: 60_000...(30 * hour), using: &random)
          add(.agentReply, time, agent: "a\(Int.random(in: 0..<6, using: &random))")
        }
      }
      if Int.random(in: 0..<100, using: &random) < 70 {
        time += Int64.random(in: 60_000...(60 * hour), using: &random)
        add(.resolved, time)
        if Int.random(in: 0..<5, using: &random) == 0 {
          add(.reopened, time + hour)
          add(.resolved, time + 5 * hour)
        }
      }
      if Bool.random(using: &random) {
        let scale = [SurveyScale.csat, .nps, .ces].randomElement(using: &random)!
        let score =
          switch scale {
          case .csat: Int.random(in: 1...5, using: &random)
          case .nps: Int.random(in: 0...10, using: &random)
          case .ces: Int.random(in: 1...7, using: &random)
          }
        let withTicket = Int.random(in: 0..<4, using: &random) != 0
        events.append(
          .survey(
            responseID: "S\(index)", customerID: customer, ticketID: withTicket ? ticket : "", scale: scale, score: score,
            timeMs: time + hour, channel: withTicket ? "" : "sms"))
      }
    }
    // Every seventh customer has no profile (tier and type ""); the rest have one of three
    // tiers and two types.
    for customer in 0..<40 where customer % 7 != 0 {
      events.append(
        .profile(
          customerID: "C\(customer)", type: customer % 2 == 0 ? "person" : "company", tier: ["gold", "silver", "basic"][customer % 3],
          region: "r\(customer % 3)", timeMs: start))
    }
    events.shuffle(using: &random)
    return events
  }

  static func store() throws -> SQLiteMetricsStore {
    let queue = try DatabaseQueue()
    try SQLiteMetricsStore.migrator.migrate(queue)
    return SQLiteMetricsStore(writer: queue)
  }

  /// A fresh tenant's metrics store on `backend` (SQLite in memory).
  static func store(_ backend: TestBackend) throws -> any MetricsStore {
    switch backend {
    case .sqlite: try store()
    case .postgres: try backend.metricsStores(directory: NSTemporaryDirectory()).metrics(for: TestBackend.freshTenant())
    }
  }

  /// Queries with and without rollups must agree on every KPI of every cell.
  /// `quick`: one range, daily buckets and three queries, for stores slow on purpose.
  /// `oneRange`: every query, on the mid-day range only, by day and whole (a server
  /// database shared with the rest of the run, which must not be flooded).
  static func expectRollupsEqualScan(
    _ store: any MetricsStore, nowMs: Int64, comment: String, quick: Bool = false, oneRange: Bool = false
  ) throws {
    let settings = try store.settings()
    let queries: [(groupBy: [KpiDimension], filters: [KpiDimension: [String]])] = [
      ([], [:]), ([.businessLine], [:]), ([.region], [.region: ["r1", "r2"]]), ([.agent], [:]), ([.priority], [:]),
      ([.channel], [:]), ([.region], [:]), ([], [.businessLine: ["L2"]]), ([.customerTier], [:]),
      ([.customerType], [.customerType: ["company"]]), ([], [.customerTier: ["silver", ""]]),
      // Two dimensions: a drill-down (one value of the first pair dimension), a filter on
      // the second, several values, no grouping; and agent, which has no pairs (scanned).
      ([.region], [.businessLine: ["L2"]]), ([.businessLine], [.region: ["r1"]]),
      ([.customerTier], [.priority: ["high", "urgent"], .customerTier: ["gold", ""]]),
      ([], [.channel: ["email"], .customerType: ["person"]]), ([.agent], [.businessLine: ["L1"]]),
      ([.region, .businessLine], [:]), ([.customerType, .priority], [.priority: ["low", "normal"]]),
    ].prefix(quick ? 3 : .max).map { $0 }
    let ranges: [(Int64, Int64)] = [(start + day + 5 * hour, start + 19 * day + 13 * hour), (start, start + 21 * day)]
      .prefix(quick || oneRange ? 1 : 2).map { $0 }
    for (from, to) in ranges {
      for interval in quick ? [BucketInterval.day] : oneRange ? [.day, .all] : [.day, .week, .all] {
        let buckets = try CalendarBuckets(startMs: from, endMs: to, interval: interval, timeZone: settings.timeZone)
        for query in queries {
          var engine = KpiEngine(store: store, settings: settings, nowMs: nowMs, buildLock: RollupBuildLock())
          let fromRollups = try engine.compute(
            kpis: Set(KpiKind.allCases), buckets: buckets, filters: query.filters, groupBy: query.groupBy)
          engine.useRollups = false
          let scanned = try engine.compute(
            kpis: Set(KpiKind.allCases), buckets: buckets, filters: query.filters, groupBy: query.groupBy)
          let label = "\(comment), \(interval), by \(query.groupBy), where \(query.filters), from \(from)"
          try #require(fromRollups.map(\.cell) == scanned.map(\.cell), "cells differ: \(label)")
          for (rolled, scan) in zip(fromRollups, scanned) {
            for kpi in KpiKind.allCases {
              #expect(rolled.accumulator.result(kpi) == scan.accumulator.result(kpi), "\(kpi) in \(rolled.cell): \(label)")
            }
          }
        }
      }
    }
  }

  @Test("pair rows keep any two values apart, and queries on two dimensions read the pair")
  func pairRows() throws {
    for (first, second) in [("L1", "r2"), ("", ""), ("12:3", ":4"), ("华东", "金卡"), ("a", ""), ("", "b")] {
      let value = RollupSeries.pairValue(first, second)
      let split = try #require(RollupSeries.splitPair(value))
      #expect(split == (first, second))
      #expect(value.hasPrefix(RollupSeries.pairPrefix(first)))
    }
    #expect(!RollupSeries.pairValue("1", "23").hasPrefix(RollupSeries.pairPrefix("12")))
    #expect(RollupSeries.splitPair("no colon") == nil)

    let drill = try #require(DailyRollups.plan(filters: [.businessLine: ["L2"]], groupBy: [.region]))
    #expect(drill.series == .pair(.businessLine, .region))
    #expect(drill.groupedBy == [1])
    #expect(drill.valuePrefix == RollupSeries.pairPrefix("L2"))
    let reversed = try #require(DailyRollups.plan(filters: [.region: ["r1"]], groupBy: [.businessLine]))
    #expect(reversed.series == .pair(.businessLine, .region))
    #expect(reversed.groupedBy == [0])
    #expect(reversed.valuePrefix == "")
    // Two groups' segments (an experiment's treated lines against the rest): both label.
    let grouped = try #require(DailyRollups.plan(filters: [:], groupBy: [.region, .businessLine]))
    #expect(grouped.series == .pair(.businessLine, .region))
    #expect(grouped.groupedBy == [1, 0])
    #expect(DailyRollups.plan(filters: [.businessLine: ["L2"]], groupBy: [.agent]) == nil)
    #expect(DailyRollups.plan(filters: [.businessLine: ["L2"], .region: ["r1"]], groupBy: [.channel]) == nil)
    #expect(DailyRollups.plan(filters: [:], groupBy: [.customer]) == nil)
  }

  @Test("missing days are built in runs of consecutive days, at most 31 each")
  func missingDaysFormRuns() {
    let hour: Int64 = 3_600_000
    // Days of 24 h, one of 23 h (a change to summer time), a gap, then 40 days.
    var days: [DailyRollups.Day] = []
    var start: Int64 = 0
    for length in [24, 23, 24] {
      days.append(.init(startMs: start, endMs: start + Int64(length) * hour))
      start += Int64(length) * hour
    }
    start += 24 * hour
    for _ in 0..<40 {
      days.append(.init(startMs: start, endMs: start + 24 * hour))
      start += 24 * hour
    }
    let runs = DailyRollups.runs(of: days.reversed(), longest: 31)
    #expect(runs.map(\.count) == [3, 31, 9])
    #expect(runs.flatMap { $0 }.map(\.startMs) == days.map(\.startMs))
    #expect(DailyRollups.runs(of: [], longest: 31).isEmpty)
  }

  @Test(
    "answers equal a scan, before and after late events, profile changes and the settings change", arguments: TestBackend.all)
  func rollupsEqualScan(_ backend: TestBackend) throws {
    let store = try Self.store(backend)
    let events = Self.randomEvents(seed: 7, tickets: 600)
    let nowMs = Self.start + 19 * Self.day + 10 * Self.hour
    let early = events.count * 7 / 10
    var offset: Int64 = 0
    func apply(_ slice: ArraySlice<MetricsEvent>) throws {
      for batch in Array(slice).chunked(50) {
        try store.apply(
          batch.map {
            offset += 1; return (offset, $0)
          }, throughOffset: offset)
      }
    }
    try apply(events[..<early])
    try Self.expectRollupsEqualScan(store, nowMs: nowMs, comment: "first 70 %", oneRange: backend == .postgres)
    let settings = try store.settings()
    let whole = try CalendarBuckets(startMs: Self.start, endMs: Self.start + 21 * Self.day, interval: .all, timeZone: "UTC")
    var scan = KpiEngine(store: store, settings: settings, nowMs: nowMs, buildLock: RollupBuildLock())
    scan.useRollups = false
    let before = try scan.compute(kpis: [.volume, .firstResponseTime, .csat], buckets: whole, filters: [:], groupBy: [])

    // The rest arrives late and out of order: replies, resolutions and answers for days
    // whose rollups exist, and tickets that make earlier ones repeat contacts.
    try apply(events[early...])
    let after = try scan.compute(kpis: [.volume, .firstResponseTime, .csat], buckets: whole, filters: [:], groupBy: [])
    #expect(after[0].accumulator.result(.volume).value > before[0].accumulator.result(.volume).value)
    #expect(after[0].accumulator.result(.firstResponseTime) != before[0].accumulator.result(.firstResponseTime))
    try Self.expectRollupsEqualScan(store, nowMs: nowMs, comment: "all events", oneRange: backend == .postgres)

    // Profiles move tickets and answers already rolled up to another tier or type: C1 goes
    // from silver to gold, C2 from person to company, C7 gets a first profile (silver), C3
    // loses its tier. C4 moves its answers without a ticket region to another region.
    func volume(_ filters: [KpiDimension: [String]]) throws -> Double {
      try scan.compute(kpis: [.volume], buckets: whole, filters: filters, groupBy: [])[0].accumulator.result(.volume).value
    }
    let expectedSilver = try volume([.customerTier: ["silver"]]) - volume([.customer: ["C1"]]) + volume([.customer: ["C7"]])
    let profileTime = Self.start + 2 * Self.day
    try store.apply(
      [
        (offset + 1, .profile(customerID: "C1", type: "company", tier: "gold", region: "r1", timeMs: profileTime)),
        (offset + 2, .profile(customerID: "C2", type: "company", tier: "basic", region: "r2", timeMs: profileTime)),
        (offset + 3, .profile(customerID: "C7", type: "person", tier: "silver", region: "r1", timeMs: profileTime)),
        (offset + 4, .profile(customerID: "C3", type: "company", tier: "", region: "r0", timeMs: profileTime)),
        (offset + 5, .profile(customerID: "C4", type: "person", tier: "silver", region: "r9", timeMs: profileTime)),
      ], throughOffset: offset + 5)
    offset += 5
    #expect(try volume([.customerTier: ["silver"]]) == expectedSilver)
    try Self.expectRollupsEqualScan(store, nowMs: nowMs, comment: "after profile changes", oneRange: backend == .postgres)

    // Another time zone lays out other days; other SLA targets judge tickets again.
    var changed = KpiSettings.defaults
    changed.timeZone = "Asia/Kolkata"
    changed.slaTargetMs[.low] = 3 * Self.day
    changed.repeatWindowMs = 2 * Self.day
    try store.setSettings(changed)
    try Self.expectRollupsEqualScan(store, nowMs: nowMs, comment: "Asia/Kolkata", oneRange: backend == .postgres)
  }

  @Test("the warmer builds every day ahead of queries, and a late event makes it rebuild that day")
  func warmerBuildsAhead() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let state = MetricsLogConsumer(dataDirectory: directory)
    let tenant = TenantID("warm")!
    let store = try state.store(for: tenant)
    let events = Self.randomEvents(seed: 5, tickets: 100)
    try store.apply(events.enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: Int64(events.count))
    let nowMs = Self.start + 25 * Self.day
    try RollupWarmer.warm(state: state, tenant: tenant, nowMs: nowMs)
    let built = try store.invalidateChangedRollups().days
    for day in 0..<25 { #expect(built[Self.start + Int64(day) * Self.day]?.endMs == Self.start + Int64(day + 1) * Self.day, "day \(day)") }
    #expect(built.count == 400, "the horizon's whole days")

    // A late reply for a ticket of day 3 drops that day (and only it) until warmed again.
    let late = events.first {
      if case .ticket(_, _, .created, let time, _, _) = $0 { time / Self.day == Self.start / Self.day + 3 } else { false }
    }
    guard case .ticket(let ticketID, let customerID, _, let created, let attributes, _) = try #require(late) else { return }
    try store.apply(
      [
        (
          Int64(events.count + 1),
          .ticket(ticketID: ticketID, customerID: customerID, type: .agentReply, timeMs: created + 60_000, attributes: attributes)
        )
      ], throughOffset: Int64(events.count + 1))
    let afterLate = try store.invalidateChangedRollups().days
    #expect(afterLate.count == 399 && afterLate[Self.start + 3 * Self.day] == nil)
    try RollupWarmer.warm(state: state, tenant: tenant, nowMs: nowMs)
    #expect(try store.invalidateChangedRollups().days.count == 400)
  }

  @Test("busy days keep percentiles within 1 % and everything else exact")
  func busyDaysUseHistograms() throws {
    let store = try Self.store()
    var random = SeededRandom(seed: 11)
    var entries: [(Int64, MetricsEvent)] = []
    for index in 0..<3_000 {
      let created = Self.start + Int64(index) * 20_000
      // Log-normal-ish first responses from seconds to days.
      let response = Int64(exp(Double.random(in: 0...12, using: &random)) * 1000)
      let attributes = TicketAttributes(businessLine: "L\(index % 2)")
      entries.append(
        (
          Int64(entries.count + 1),
          .ticket(ticketID: "T\(index)", customerID: "C\(index)", type: .created, timeMs: created, attributes: attributes)
        ))
      entries.append(
        (
          Int64(entries.count + 1),
          .ticket(ticketID: "T\(index)", customerID: "C\(index)", type: .agentReply, timeMs: created + response, attributes: attributes)
        ))
    }
    try store.apply(entries, throughOffset: Int64(entries.count))
    let buckets = try CalendarBuckets(startMs: Self.start, endMs: Self.start + 3 * Self.day, interval: .all, timeZone: "UTC")
    var engine = KpiEngine(store: store, settings: .defaults, nowMs: Self.start + 10 * Self.day, buildLock: RollupBuildLock())
    let rolled = try engine.compute(kpis: [.firstResponseTime, .volume], buckets: buckets, filters: [:], groupBy: [.businessLine])
    engine.useRollups = false
    let scanned = try engine.compute(kpis: [.firstResponseTime, .volume], buckets: buckets, filters: [:], groupBy: [.businessLine])
    #expect(rolled.count == 2)
    for (fromRollups, scan) in zip(rolled, scanned) {
      let approximate = fromRollups.accumulator.result(.firstResponseTime)
      let exact = scan.accumulator.result(.firstResponseTime)
      #expect(approximate.value == exact.value)
      #expect(approximate.sampleSize == exact.sampleSize)
      #expect(approximate.median != exact.median, "more than 256 a day: the rollup holds a histogram")
      #expect(abs(approximate.median! - exact.median!) <= 0.01 * exact.median!)
      #expect(abs(approximate.p90! - exact.p90!) <= 0.01 * exact.p90!)
    }
  }

  @Test("time distributions: exact while small, histogram within 1 %, and a lossless encoding")
  func timeDistribution() throws {
    var random = SeededRandom(seed: 3)
    var exact = TimeDistribution()
    var values: [Int64] = [0, -1_500, 1, 999]
    for _ in 0..<5_000 { values.append(Int64(exp(Double.random(in: 0...16, using: &random)))) }
    for value in values { exact.add(value) }
    #expect(exact.isExact)

    // Encoding a large distribution turns it into a histogram; decoding gives it back.
    var small = TimeDistribution()
    for value in values.prefix(100) { small.add(value) }
    var accumulator = KpiAccumulator()
    accumulator.add(
      ticket: TicketFacts(createdMs: 0, firstReplyMs: 10_000, lastResolvedMs: 20_000, isResolved: true), settings: .defaults, nowMs: nil)
    let decoded = try KpiAccumulator(encoded: accumulator.encoded())
    for kpi in KpiKind.allCases { #expect(decoded.result(kpi) == accumulator.result(kpi)) }

    var words: [Int64] = []
    exact.encode(into: &words)
    small.encode(into: &words)
    var position = 0
    let (histogram, smallAgain) = try words.withUnsafeBufferPointer { buffer in
      (try TimeDistribution(decoding: buffer, at: &position), try TimeDistribution(decoding: buffer, at: &position))
    }
    #expect(position == words.count)
    #expect(!histogram.isExact && smallAgain.isExact)
    #expect(smallAgain == small)
    #expect(histogram.count == exact.count && histogram.sumMs == exact.sumMs)
    for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0] {
      let truth = exact.percentile(q)!
      #expect(abs(histogram.percentile(q)! - truth) <= 0.01 * abs(truth) + 1e-9, "q \(q)")
    }

    // Merging a histogram into exact values gives a histogram over all of them.
    var merged = small
    merged.merge(histogram)
    #expect(merged.count == small.count + exact.count && !merged.isExact)
    #expect(throws: RollupDecodingError.self) { try KpiAccumulator(encoded: [1, 2, 3]) }
  }
}

extension Array {
  /// Consecutive slices of at most `size` elements.
  func chunked(_ size: Int) -> [[Element]] {
    stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
  }
}
