import Foundation
import GRDB
import SightlineModel
import SightlineStorage
import Testing

@testable import MetricsService

/// Builds metrics state from hand-written events and reads KPIs back through the engine.
struct KpiFixture {
  let store: any MetricsStore
  /// The same tenant's alert rules and alerts.
  let alerts: any AlertStore
  private(set) var offset: Int64 = 0

  /// An empty tenant on `backend` (SQLite: in memory; PostgreSQL: a fresh tenant).
  init(_ backend: TestBackend = .sqlite) throws {
    switch backend {
    case .sqlite:
      let queue = try DatabaseQueue()
      try SQLiteMetricsStore.migrator.migrate(queue)
      store = SQLiteMetricsStore(writer: queue)
      alerts = SQLiteAlertStore(writer: queue)
    case .postgres:
      let tenant = TestBackend.freshTenant()
      let stores = try TestBackend.postgres.metricsStores(directory: NSTemporaryDirectory())
      store = try stores.metrics(for: tenant)
      alerts = try stores.alerts(for: tenant)
    }
  }

  static func ms(_ text: String) -> Int64 { RFC3339.parseMilliseconds(text)! }

  mutating func ticket(
    _ id: String, _ type: TicketEventType, _ time: String, customer: String = "", line: String = "",
    region: String = "", priority: TicketPriority = .normal, complaint: Bool = false, channel: String = "",
    handleMs: Int64? = nil
  ) throws {
    offset += 1
    let event = MetricsEvent.ticket(
      ticketID: id, customerID: customer, type: type, timeMs: Self.ms(time),
      attributes: TicketAttributes(channel: channel, region: region, businessLine: line, priority: priority, complaint: complaint),
      handleMs: handleMs)
    try store.apply([(offset, event)], throughOffset: offset)
  }

  mutating func survey(_ scale: SurveyScale, _ score: Int, _ time: String, ticket: String = "") throws {
    offset += 1
    let event = MetricsEvent.survey(
      responseID: "S\(offset)", customerID: "C9", ticketID: ticket, scale: scale, score: score, timeMs: Self.ms(time),
      channel: "")
    try store.apply([(offset, event)], throughOffset: offset)
  }

  func query(
    _ kpis: [KpiKind], from: String, to: String, interval: BucketInterval = .all, timeZone: String = "UTC",
    groupBy: [KpiDimension] = [], filters: [KpiDimension: [String]] = [:], now: String = "2026-03-10T00:00:00Z",
    levels: ServiceLevels? = nil, rollups: Bool = true
  ) throws -> [(cell: KpiCell, accumulator: KpiAccumulator)] {
    var settings = try store.settings()
    settings.timeZone = timeZone
    if let levels { settings.serviceLevels = levels }
    let buckets = try CalendarBuckets(startMs: Self.ms(from), endMs: Self.ms(to), interval: interval, timeZone: timeZone)
    var engine = KpiEngine(store: store, settings: settings, nowMs: Self.ms(now), buildLock: RollupBuildLock())
    engine.useRollups = rollups
    return try engine.compute(kpis: Set(kpis), buckets: buckets, filters: filters, groupBy: groupBy)
  }

  /// The single cell's result of `kpi` over 2026-03-02 (UTC).
  func day(_ kpi: KpiKind) throws -> KpiResult {
    let cells = try query([kpi], from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z")
    #expect(cells.count == 1)
    return cells[0].accumulator.result(kpi)
  }

  /// The five tickets worked by hand in docs/kpis.md ("The worked example"). Events arrive
  /// out of order on purpose: T5's resolution is ingested before its reply.
  static func worked(_ backend: TestBackend = .sqlite) throws -> KpiFixture {
    var f = try KpiFixture(backend)
    try f.ticket("T1", .created, "2026-03-02T09:00:00Z", customer: "C1", line: "A", region: "north", complaint: true)
    try f.ticket("T1", .agentReply, "2026-03-02T09:30:00Z")
    try f.ticket("T1", .resolved, "2026-03-02T12:00:00Z")
    try f.ticket("T2", .created, "2026-03-02T10:00:00Z", customer: "C2", line: "A", region: "south", priority: .urgent)
    try f.ticket("T2", .agentReply, "2026-03-02T12:00:00Z")
    try f.ticket("T2", .agentReply, "2026-03-02T13:00:00Z")
    try f.ticket("T2", .resolved, "2026-03-02T14:00:00Z")
    try f.ticket("T2", .reopened, "2026-03-02T15:00:00Z")
    try f.ticket("T2", .resolved, "2026-03-02T18:00:00Z")
    try f.ticket(
      "T3", .created, "2026-03-02T11:00:00Z", customer: "C1", line: "B", region: "north", priority: .high,
      complaint: true)
    try f.ticket("T4", .created, "2026-03-02T23:30:00Z", customer: "C3", line: "B", region: "south", priority: .low)
    try f.ticket("T4", .agentReply, "2026-03-03T00:30:00Z")
    try f.ticket("T4", .resolved, "2026-03-03T01:00:00Z")
    try f.ticket("T4", .reopened, "2026-03-03T02:00:00Z")
    try f.ticket("T4", .resolved, "2026-03-03T03:00:00Z")
    try f.ticket("T4", .reopened, "2026-03-03T04:00:00Z")
    try f.ticket("T5", .created, "2026-03-02T12:00:00Z", customer: "C2", line: "A", region: "north", complaint: true)
    try f.ticket("T5", .resolved, "2026-03-05T12:00:00Z")
    try f.ticket("T5", .agentReply, "2026-03-02T12:10:00Z")
    for score in [5, 4, 3, 1] { try f.survey(.csat, score, "2026-03-02T15:00:00Z") }
    for score in [10, 9, 7, 3] { try f.survey(.nps, score, "2026-03-02T16:00:00Z") }
    for score in [7, 5, 4] { try f.survey(.ces, score, "2026-03-02T17:00:00Z") }
    return f
  }
}
