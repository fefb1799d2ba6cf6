import Foundation
import SightlineModel
import Testing

@testable import MetricsService

/// `ExplainChange` over a real metrics store, on both backends: the change found where it
/// was planted, the terms adding up, rollups and scans agreeing, groups and drill-downs.
@Suite("Explaining a change: the store")
struct ExplainChangeTests {
  static let regions = ["east", "north", "south"]

  /// A baseline week (2026-03-02) and a current week (2026-03-09): 60 tickets per region
  /// and week over two lines; 5 % complaints everywhere, except south's current week
  /// (35 %). First replies come after 10 minutes, south's current ones after 2 hours.
  static func fixture(_ backend: TestBackend) throws -> KpiFixture {
    var f = try KpiFixture(backend)
    for (week, start) in [(0, 2), (1, 9)] {
      for region in regions {
        let spike = week == 1 && region == "south"
        for i in 0..<60 {
          let id = "w\(week)-\(region)-\(i)"
          let created = String(format: "2026-03-%02dT%02d:00:00Z", start + i % 7, 8 + i % 10)
          try f.ticket(
            id, .created, created, customer: id, line: i % 2 == 0 ? "L1" : "L2", region: region,
            complaint: i < (spike ? 21 : 3))
          let reply = KpiFixture.ms(created) + (spike ? 7_200_000 : 600_000)
          try f.ticket(id, .agentReply, RFC3339.format(milliseconds: reply), customer: id)
        }
      }
    }
    return f
  }

  static func explanation(
    _ f: KpiFixture, _ kpi: KpiKind, sides: ChangeSides, rollups: Bool = true
  ) throws -> ChangeExplanation {
    var engine = KpiEngine(
      store: f.store, settings: .defaults, nowMs: KpiFixture.ms("2026-03-20T00:00:00Z"), buildLock: RollupBuildLock())
    engine.useRollups = rollups
    return ChangeExplanation(engine: engine, kpi: kpi, sides: sides, filters: [:], minSample: 30, timeZone: "UTC")
  }

  static let weeks = ChangeSides.periods(
    baseline: (KpiFixture.ms("2026-03-02T00:00:00Z"), KpiFixture.ms("2026-03-09T00:00:00Z")),
    current: (KpiFixture.ms("2026-03-09T00:00:00Z"), KpiFixture.ms("2026-03-16T00:00:00Z")))

  @Test("the complaint spike is explained by the south region, by its rate, to the last digit", arguments: TestBackend.all)
  func spikeIsFoundWhereItWasPlanted(_ backend: TestBackend) throws {
    let f = try Self.fixture(backend)
    let (ranked, drill, percentiles) = try Self.explanation(f, .complaintRate, sides: Self.weeks)
      .run(dimensions: [.businessLine, .region, .priority])
    #expect(ranked.map(\.dimension).first == .region)
    let region = ranked[0].change
    // 9/180 → 27/180: +0.1, all of it south's rate (shares stay a third each).
    #expect(abs(region.change - 0.1) < 1e-15)
    #expect(region.topContributors.map(\.value) == ["south"])
    #expect(abs(region.segments[0].rateEffect - 0.1) < 1e-15 && region.segments[0].mixEffect == 0)
    #expect(region.segments[0].adjustedPValue! < 0.001)
    #expect(region.segments.dropFirst().allSatisfy { $0.effect == 0 })
    for dimension in ranked {
      #expect(abs(dimension.change.segments.reduce(0) { $0 + $1.effect } - 0.1) < 1e-15, "\(dimension.dimension)")
    }
    // A dimension the change does not follow scores no better than its size.
    #expect(ranked.first { $0.dimension == .businessLine }!.change.score < 0.05)
    // Drill-down: within south, by the next-ranked dimension.
    let within = try #require(drill)
    #expect(within.dimension == .region && within.value == "south")
    #expect(abs(within.explained.change.change - 0.3) < 1e-15)
    #expect(percentiles.isEmpty, "a share has no percentiles")
  }

  @Test("a mean time splits as a ratio of sums, and its median gets the change had the mix stayed", arguments: TestBackend.all)
  func timesSplitAndPercentilesGetACounterfactual(_ backend: TestBackend) throws {
    let f = try Self.fixture(backend)
    let (ranked, _, percentiles) = try Self.explanation(f, .firstResponseTime, sides: Self.weeks)
      .run(dimensions: [.region])
    // Means: 600 s → (120 × 600 + 60 × 7200) / 180 = 2800 s.
    #expect(abs(ranked[0].change.change - 2200) < 1e-9)
    #expect(ranked[0].change.topContributors.first?.value == "south")
    #expect(percentiles.map(\.q) == [0.5, 0.9])
    #expect(percentiles[0].baseline == 600 && percentiles[0].current == 600)
    #expect(percentiles[1].current == 7200)
    // The mix did not move, so reweighting to it changes nothing.
    #expect(percentiles.allSatisfy { $0.atBaselineMix == $0.current })
  }

  @Test(
    "whole days from rollups and partial days scanned together give the same split as a scan of every ticket",
    arguments: TestBackend.all)
  func rollupsAgreeWithTheScan(_ backend: TestBackend) throws {
    let f = try Self.fixture(backend)
    let hour: Int64 = 3_600_000
    let start = KpiFixture.ms("2026-03-02T00:00:00Z")
    // Whole days; then periods starting mid-day (partial days at both ends of each side);
    // then two groups over a range of partial days around whole ones.
    let sides: [ChangeSides] = [
      Self.weeks,
      .periods(baseline: (start + 13 * hour, start + 181 * hour), current: (start + 181 * hour, start + 349 * hour)),
      .groups(dimension: .businessLine, current: ["L1"], baseline: nil, range: (start + 53 * hour, start + 281 * hour)),
    ]
    for side in sides {
      // Every default dimension (rollups serve them) and the customer (they do not).
      let dimensions = ChangeExplanation.defaultDimensions(for: side) + [.customer]
      // A share and a mean time (with percentiles); on PostgreSQL, a server shared with the
      // rest of the run, the share only.
      for kpi in backend == .postgres ? [KpiKind.complaintRate] : [.complaintRate, .firstResponseTime] {
        let fromRollups = try Self.explanation(f, kpi, sides: side).run(dimensions: dimensions)
        let scanned = try Self.explanation(f, kpi, sides: side, rollups: false).run(dimensions: dimensions)
        let label = "\(kpi), \(side.ranges)"
        #expect(fromRollups.ranked.map(\.dimension) == scanned.ranked.map(\.dimension), "\(label)")
        #expect(fromRollups.ranked.map(\.change) == scanned.ranked.map(\.change), "\(label)")
        #expect(fromRollups.drill?.explained.change == scanned.drill?.explained.change, "\(label)")
        #expect(fromRollups.percentiles.map(\.current) == scanned.percentiles.map(\.current), "\(label)")
      }
    }
  }

  @Test("dimensions read together in one scan split exactly as each read alone", arguments: TestBackend.all)
  func jointReadsEqualSingleReads(_ backend: TestBackend) throws {
    let f = try Self.fixture(backend)
    let explanation = try Self.explanation(f, .complaintRate, sides: Self.weeks)
    let dimensions: [KpiDimension] = [.customerTier, .customerType, .region]
    let joint = try explanation.read(by: dimensions, filters: [:], portion: .all)
    for dimension in dimensions {
      let alone = try explanation.read(by: [dimension], filters: [:], portion: .all)[dimension]!
      let a = explanation.explain(by: dimension, segments: joint[dimension]!).change
      let b = explanation.explain(by: dimension, segments: alone).change
      #expect(a == b, "\(dimension)")
    }
    #expect(joint[.region]!.count == 3)
  }

  @Test("two groups over one period: a line against the rest, and against named lines", arguments: TestBackend.all)
  func groupsCompareOverOnePeriod(_ backend: TestBackend) throws {
    let f = try Self.fixture(backend)
    var f2 = f
    // L3, with no complaints at all, in the current week only.
    for i in 0..<40 {
      try f2.ticket("l3-\(i)", .created, "2026-03-10T10:00:00Z", customer: "l3-\(i)", line: "L3", region: "east")
    }
    let range = (KpiFixture.ms("2026-03-09T00:00:00Z"), KpiFixture.ms("2026-03-16T00:00:00Z"))
    let rest = try Self.explanation(
      f2, .complaintRate, sides: .groups(dimension: .businessLine, current: ["L3"], baseline: nil, range: range)
    ).run(dimensions: [.region])
    // L3: 0/40 against L1+L2: 27/180.
    #expect(abs(rest.ranked[0].change.change - (0 - 27.0 / 180)) < 1e-15)
    let named = try Self.explanation(
      f2, .complaintRate, sides: .groups(dimension: .businessLine, current: ["L3"], baseline: ["L1"], range: range)
    ).run(dimensions: [.region])
    let l1 = named.ranked[0].change.segments.reduce(0.0) { $0 + $1.baseline.count }
    #expect(l1 == 90)
    // Only east has L3 tickets: north and south leave.
    #expect(Set(named.ranked[0].change.segments.filter { $0.presence == .leaving }.map(\.value)) == ["north", "south"])
  }
}
