import Foundation
import GRDB
import SightlineRPC
import SightlineStorage
import Testing

@testable import MetricsService
@testable import SightlineModel

/// The metrics consumer folds a batch in memory (`MetricsBatch`): the result must not
/// depend on where batches begin and end, must equal a reference computed straight from
/// the events, and must mark every hour whose rollups it changed.
///
/// The long folds run on a dispatch thread (`BlockingWork`): seconds of synchronous SQLite
/// on a thread of the cooperative pool (two on this machine) would starve the in-process
/// suites that other tests run in parallel.
@Suite("Batch fold")
struct BatchFoldTests {
  /// RollupTests' random events, plus corrections: a second `created` event for some
  /// tickets, earlier and for another customer (the ticket moves between customers), and
  /// status events tied in time (the log offset decides).
  static func events(seed: UInt64) -> [MetricsEvent] {
    var events = RollupTests.randomEvents(seed: seed, tickets: 400)
    var random = SeededRandom(seed: seed + 1)
    for index in stride(from: 0, to: 400, by: 9) {
      let attributes = TicketAttributes(channel: "phone", region: "r9", businessLine: "L9", agent: "", complaint: true)
      let time = RollupTests.start + Int64.random(in: 0..<(2 * RollupTests.day), using: &random)
      let moved = MetricsEvent.ticket(
        ticketID: "T\(index)", customerID: "C\(Int.random(in: 0..<40, using: &random))", type: .created, timeMs: time,
        attributes: attributes)
      let tie = MetricsEvent.ticket(
        ticketID: "T\(index)", customerID: "", type: .resolved, timeMs: time, attributes: TicketAttributes())
      events.insert(contentsOf: [moved, tie], at: Int.random(in: 0...events.count, using: &random))
    }
    return events
  }

  static func fold(_ events: [MetricsEvent], batches size: Int) throws -> SQLiteMetricsStore {
    let store = try RollupTests.store()
    var offset: Int64 = 0
    for batch in events.chunked(size) {
      try store.apply(
        batch.map {
          offset += 1; return (offset, $0)
        }, throughOffset: offset)
    }
    return store
  }

  /// Every stored row of the fold's tables, as text.
  static func dump(_ store: SQLiteMetricsStore) throws -> [String] {
    try store.writer.read { db in
      try [
        "ticket ORDER BY ticket_id", "status_event ORDER BY ticket_id, log_offset", "survey ORDER BY response_id",
        "customer ORDER BY customer_id", "consumer",
      ].flatMap { table in
        try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { "\(table): \($0)" }
      }
    }
  }

  @Test("the same state whatever the batch boundaries")
  func batchBoundariesDoNotMatter() async throws {
    let events = Self.events(seed: 11)
    let sizes = [1, 7, 500, events.count]
    let dumps = try await BlockingWork.run { try sizes.map { try Self.dump(Self.fold(events, batches: $0)) } }
    let one = dumps[0]
    #expect(one.count > 1_000)
    for (size, other) in zip(sizes, dumps).dropFirst() {
      #expect(
        other == one, "batches of \(size): first difference \(zip(one, other).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "count")")
    }
  }

  @Test("tickets equal a reference computed straight from the events")
  func ticketsEqualReference() async throws {
    let events = Self.events(seed: 12)
    let store = try await BlockingWork.run { try Self.fold(events, batches: 300) }
    struct Expected: Equatable {
      var customer = ""
      var created: Int64?
      var replies = 0
      var firstReply: Int64?
      var lastResolved: Int64?
      var reopens = 0
      var status: (time: Int64, offset: Int64, open: Bool)?
      var next: Int64?
      static func == (a: Self, b: Self) -> Bool {
        a.customer == b.customer && a.created == b.created && a.replies == b.replies && a.firstReply == b.firstReply
          && a.lastResolved == b.lastResolved && a.reopens == b.reopens && a.status?.open == b.status?.open
          && a.status?.time == b.status?.time && a.next == b.next
      }
    }
    var expected: [String: Expected] = [:]
    for (index, event) in events.enumerated() {
      guard case .ticket(let id, let customer, let type, let time, _, _) = event else { continue }
      let offset = Int64(index + 1)
      var ticket = expected[id] ?? Expected()
      switch type {
      case .created:
        if ticket.created.map({ time < $0 }) ?? true { (ticket.created, ticket.customer) = (time, customer) }
      case .agentReply: (ticket.replies, ticket.firstReply) = (ticket.replies + 1, min(ticket.firstReply ?? time, time))
      case .resolved: ticket.lastResolved = max(ticket.lastResolved ?? time, time)
      case .reopened: ticket.reopens += 1
      case .customerReply: break
      }
      if type == .created || type == .resolved || type == .reopened,
        ticket.status.map({ ($0.time, $0.offset) < (time, offset) }) ?? true
      {
        ticket.status = (time, offset, type != .resolved)
      }
      expected[id] = ticket
    }
    for (id, ticket) in expected {
      guard let created = ticket.created else { continue }
      expected[id]!.next = expected.values.filter { $0.customer == ticket.customer }.compactMap(\.created).filter { $0 > created }.min()
    }
    let stored = try store.writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT ticket_id, customer_id, created_ms, reply_count, first_reply_ms, last_resolved_ms, reopen_count,
            status_ms, status_open, next_contact_ms FROM ticket
          """)
    }
    #expect(stored.count == expected.count)
    for row in stored {
      let id: String = row[0]
      var ticket = Expected(
        customer: row[1], created: row[2], replies: row[3], firstReply: row[4], lastResolved: row[5], reopens: row[6])
      if let time: Int64 = row[7] { ticket.status = (time, 0, row[8]) }
      ticket.next = row[9]
      #expect(ticket == expected[id], "ticket \(id)")
    }
  }

  @Test("rollups stay exact when whole batches land on days already rolled up")
  func wholeBatchesKeepRollupsExact() throws {
    // On the test's own thread, as RollupTests: its checks are `#expect`s inside the
    // comparison, which need the test's task.
    let events = Self.events(seed: 13)
    let store = try RollupTests.store()
    let nowMs = RollupTests.start + 19 * RollupTests.day
    let early = events.count * 6 / 10
    try store.apply(events[..<early].enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: Int64(early))
    try RollupTests.expectRollupsEqualScan(store, nowMs: nowMs, comment: "one batch")
    try store.apply(
      events[early...].enumerated().map { (Int64(early + $0.offset + 1), $0.element) }, throughOffset: Int64(events.count))
    try RollupTests.expectRollupsEqualScan(store, nowMs: nowMs, comment: "the rest in one late batch")
  }
}
