import Foundation
import GRDB
import SightlineModel
import SightlineStorage
import Testing

@testable import MetricsService

@Suite("KPIs against hand-computed values")
struct KpiFixtureTests {
  @Test("volume, unanswered and the time KPIs with exact median and p90", arguments: TestBackend.all)
  func timesAndCounts(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    #expect(try f.day(.volume) == KpiResult(value: 5, sampleSize: 5))
    #expect(try f.day(.unanswered) == KpiResult(value: 1, sampleSize: 5))
    // First responses 600, 1800, 3600, 7200 s (T3 has none).
    #expect(try f.day(.firstResponseTime) == KpiResult(value: 3300, sampleSize: 4, median: 2700, p90: 6120))
    // Resolved now: T1 (3 h), T2 (last resolution 8 h), T5 (72 h); T4 is open again.
    #expect(try f.day(.resolutionTime) == KpiResult(value: 99600, sampleSize: 3, median: 28800, p90: 213120))
  }

  @Test("shares: fcr, reopen, SLA, complaints, closure, repeat contact", arguments: TestBackend.all)
  func shares(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    #expect(try f.day(.fcrRate) == KpiResult(value: 2.0 / 3, sampleSize: 3))
    #expect(try f.day(.reopenRate) == KpiResult(value: 0.5, sampleSize: 4))
    #expect(try f.day(.slaFirstResponse) == KpiResult(value: 0.6, sampleSize: 5))
    #expect(try f.day(.complaintRate) == KpiResult(value: 0.6, sampleSize: 5))
    #expect(try f.day(.complaintClosureRate) == KpiResult(value: 1.0 / 3, sampleSize: 3))
    #expect(try f.day(.repeatContactRate) == KpiResult(value: 0.4, sampleSize: 5))
  }

  @Test("surveys: csat share and mean, nps, ces mean and share 5-7", arguments: TestBackend.all)
  func surveys(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    #expect(try f.day(.csat) == KpiResult(value: 0.5, sampleSize: 4, secondary: 3.25))
    #expect(try f.day(.nps) == KpiResult(value: 25, sampleSize: 4))
    #expect(try f.day(.ces) == KpiResult(value: 16.0 / 3, sampleSize: 3, secondary: 2.0 / 3))
  }

  @Test("an unanswered ticket inside its SLA target counts in neither met nor breached", arguments: TestBackend.all)
  func slaStillRunning(_ backend: TestBackend) throws {
    var f = try KpiFixture(backend)
    try f.ticket("U1", .created, "2026-03-02T09:00:00Z", customer: "C1", priority: .low)
    let early = try f.query(
      [.slaFirstResponse], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
      now: "2026-03-02T10:00:00Z")
    #expect(early[0].accumulator.result(.slaFirstResponse).sampleSize == 0)
    let late = try f.query(
      [.slaFirstResponse], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
      now: "2026-03-03T10:00:00Z")
    #expect(late[0].accumulator.result(.slaFirstResponse) == KpiResult(value: 0, sampleSize: 1))
  }

  @Test("backlog at each day's end counts only events up to that moment", arguments: TestBackend.all)
  func backlog(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    let cells = try f.query([.backlog], from: "2026-03-02T00:00:00Z", to: "2026-03-06T00:00:00Z", interval: .day)
    // End of 03-02: T3, T4, T5 open. 03-03: T4 reopened again. 03-05: T5 resolved at noon.
    #expect(cells.map { $0.accumulator.result(.backlog).value } == [3, 3, 3, 2])
  }

  @Test("days are aligned in the tenant's time zone", arguments: TestBackend.all)
  func timeZoneBoundaries(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    // Asia/Shanghai is UTC+8: T4 (23:30 UTC) is created on the local 3rd, the rest on the 2nd.
    let cells = try f.query(
      [.volume], from: "2026-03-01T16:00:00Z", to: "2026-03-03T16:00:00Z", interval: .day,
      timeZone: "Asia/Shanghai")
    #expect(cells.map { $0.accumulator.result(.volume).value } == [4, 1])
    #expect(cells.map(\.cell.bucket) == [0, 1])
    let utc = try f.query([.volume], from: "2026-03-01T16:00:00Z", to: "2026-03-03T16:00:00Z", interval: .day)
    #expect(utc.map { $0.accumulator.result(.volume).value } == [0, 5, 0])
  }

  @Test("group by and filters; an empty group gives no rows, an empty range a zero row", arguments: TestBackend.all)
  func groupsAndFilters(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    let byLine = try f.query(
      [.volume, .complaintRate], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
      groupBy: [.businessLine])
    #expect(byLine.map(\.cell.group) == [["A"], ["B"]])
    #expect(byLine.map { $0.accumulator.result(.volume).value } == [3, 2])
    #expect(byLine.map { $0.accumulator.result(.complaintRate).value } == [2.0 / 3, 0.5])
    let north = try f.query(
      [.volume], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
      filters: [.region: ["north"], .businessLine: ["A"]])
    #expect(north[0].accumulator.result(.volume).value == 2)
    let nothing = try f.query(
      [.volume], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
      groupBy: [.businessLine], filters: [.businessLine: ["Z"]])
    #expect(nothing.isEmpty)
    let empty = try f.query([.volume, .firstResponseTime], from: "2026-04-02T00:00:00Z", to: "2026-04-03T00:00:00Z")
    #expect(empty.count == 1)
    #expect(empty[0].accumulator.result(.firstResponseTime).sampleSize == 0)
  }

  @Test("surveys take ticket dimensions from their ticket", arguments: TestBackend.all)
  func surveyDimensions(_ backend: TestBackend) throws {
    var f = try KpiFixture.worked(backend)
    try f.survey(.csat, 2, "2026-03-02T20:00:00Z", ticket: "T3")
    let byLine = try f.query([.csat], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z", groupBy: [.businessLine])
    #expect(byLine.map(\.cell.group) == [[""], ["B"]])
    #expect(byLine[1].accumulator.result(.csat) == KpiResult(value: 0, sampleSize: 1, secondary: 2))
  }

  @Test("sufficient statistics match the KPI values", arguments: TestBackend.all)
  func sufficientStatistics(_ backend: TestBackend) throws {
    let f = try KpiFixture.worked(backend)
    let cell = try f.query(KpiKind.allCases, from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z")[0].accumulator
    #expect(
      cell.sufficientStatistics(.firstResponseTime)
        == SufficientStatistics(
          count: 4, sum: 13200, sumSquares: 600 * 600 + 1800 * 1800 + 3600 * 3600 + 7200 * 7200))
    #expect(cell.sufficientStatistics(.csat) == SufficientStatistics(count: 4, sum: 2, sumSquares: 2))
    #expect(cell.sufficientStatistics(.nps) == SufficientStatistics(count: 4, sum: 100, sumSquares: 30_000))
    for kpi in KpiKind.allCases where kpi.isRate {
      #expect(cell.sufficientStatistics(kpi).mean ?? 0 == cell.result(kpi).value, "\(kpi)")
    }
  }

  @Test("re-applying already applied entries (a reconnect) changes nothing", arguments: TestBackend.all)
  func replayIsIgnored(_ backend: TestBackend) throws {
    var f = try KpiFixture.worked(backend)
    let before = try f.day(.reopenRate)
    // Offsets 1...5 again, as a resubscription from an old offset would deliver them.
    try f.store.apply(
      [
        (
          2,
          .ticket(
            ticketID: "T1", customerID: "", type: .agentReply, timeMs: KpiFixture.ms("2026-03-02T09:40:00Z"),
            attributes: TicketAttributes())
        )
      ], throughOffset: 2)
    #expect(try f.day(.reopenRate) == before)
    #expect(try f.day(.fcrRate) == KpiResult(value: 2.0 / 3, sampleSize: 3))
    try f.ticket("T1", .reopened, "2026-03-02T13:00:00Z")
    #expect(try f.day(.reopenRate) == KpiResult(value: 0.75, sampleSize: 4))
  }
}

@Suite("Percentiles and calendars")
struct PercentileTests {
  @Test("linear interpolation matches numpy's default")
  func numpyLinear() {
    // numpy.percentile([1, 2, 3, 4], [50, 90]) == [2.5, 3.7]; of [7]: 7.
    #expect(Percentile.linear(sorted: [1, 2, 3, 4], 0.5) == 2.5)
    #expect(abs(Percentile.linear(sorted: [1, 2, 3, 4], 0.9)! - 3.7) < 1e-12)
    #expect(Percentile.linear(sorted: [7], 0.9) == 7)
    #expect(Percentile.linear(sorted: [], 0.5) == nil)
  }

  @Test("weeks start on Monday and months on the 1st in the tenant's zone")
  func calendar() throws {
    let weeks = try CalendarBuckets(
      startMs: KpiFixture.ms("2026-03-04T00:00:00Z"), endMs: KpiFixture.ms("2026-03-20T00:00:00Z"), interval: .week,
      timeZone: "UTC")
    #expect(weeks.starts == ["2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z"].map(KpiFixture.ms))
    let months = try CalendarBuckets(
      startMs: KpiFixture.ms("2026-01-15T00:00:00Z"), endMs: KpiFixture.ms("2026-03-01T00:00:00Z"), interval: .month,
      timeZone: "Asia/Shanghai")
    #expect(months.starts == ["2025-12-31T16:00:00Z", "2026-01-31T16:00:00Z", "2026-02-28T16:00:00Z"].map(KpiFixture.ms))
    #expect(months.index(of: KpiFixture.ms("2026-02-10T00:00:00Z")) == 1)
    #expect(months.index(of: KpiFixture.ms("2026-03-01T00:00:00Z")) == nil)
    #expect(throws: BucketError.self) {
      try CalendarBuckets(startMs: 0, endMs: 1, interval: .day, timeZone: "Mars/Olympus")
    }
  }
}
