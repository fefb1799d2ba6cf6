import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The fold in SQLite: each batch of log entries is worked out in memory
/// (``MetricsBatch``) from rows loaded with a few set-based reads, and written back with
/// multi-row statements, together with the offset reached and the hours the batch changed
/// (for the rollups), in one transaction.
extension SQLiteMetricsStore {
  // MARK: - Consumer

  /// The last log offset applied (0 before the first batch).
  public func appliedOffset() throws -> Int64 {
    try writer.read { db in try Self.appliedOffset(db) }
  }

  private static func appliedOffset(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(db, sql: "SELECT applied_offset FROM consumer WHERE id = 1") ?? 0
  }

  /// Applies `entries` (log offset and event, in offset order) and records `throughOffset`
  /// in the same transaction. Entries at or below the stored offset are skipped, so
  /// re-delivery after a reconnect changes nothing. Returns the offset now applied.
  @discardableResult
  /// The fence is not checked: one process is the only writer of a tenant's SQLite file.
  public func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64, fence: LeaseFence) throws -> Int64 {
    try writeDerivedState { db in
      let applied = try Self.appliedOffset(db)
      var batch = MetricsBatch(entries.filter { $0.offset > applied })
      if !batch.events.isEmpty {
        try Self.load(&batch, db)
        batch.apply()
        var times: [Int64] = []
        for rows in batch.storedRowsToMark {
          try db.forEachRow(
            "SELECT \(rows.timeColumn) FROM \(rows.table) WHERE \(rows.keyColumn) IN \(Self.keys) AND \(rows.timeColumn) IS NOT NULL",
            keys: rows.keys
          ) { times.append($0[0]) }
        }
        batch.markHours(times)
        try Self.write(batch, db)
      }
      let reached = max(applied, throughOffset)
      try db.execute(
        sql:
          "INSERT INTO consumer (id, applied_offset) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET applied_offset = excluded.applied_offset",
        arguments: [reached])
      return reached
    }
  }

  /// The key set of a set-based statement (``GRDB/Database/forEachRow(_:keys:_:)``).
  private static let keys = "(SELECT value FROM json_each(?))"

  private static let ticketColumns = """
    ticket_id, customer_id, created_ms, channel, region, business_line, agent, product_module, problem_type,
    priority, complaint, first_reply_ms, reply_count, first_resolved_ms, last_resolved_ms, reopen_count,
    status_open, status_ms, status_offset, next_contact_ms, handle_ms, handled_replies
    """

  /// Loads the batch's tickets, all the tickets of the customers whose next contacts it may
  /// change, the profiles it may replace and which of its answers are already stored.
  private static func load(_ batch: inout MetricsBatch, _ db: Database) throws {
    var byID: [TicketState] = []
    try db.forEachRow("SELECT \(ticketColumns) FROM ticket WHERE ticket_id IN \(keys)", keys: batch.ticketIDs) {
      byID.append(ticket($0))
    }
    batch.load(tickets: byID)
    let customers = batch.customersToLoad(Dictionary(byID.map { ($0.ticketID, $0) }, uniquingKeysWith: { a, _ in a }))
    var byCustomer: [TicketState] = []
    try db.forEachRow(
      "SELECT \(ticketColumns) FROM ticket WHERE customer_id IN \(keys) AND created_ms IS NOT NULL", keys: customers
    ) { byCustomer.append(ticket($0)) }
    batch.load(tickets: byCustomer)
    var profiles: [String: MetricsBatch.Profile] = [:]
    try db.forEachRow(
      "SELECT customer_id, type, tier, region, profile_ms FROM customer WHERE customer_id IN \(keys)",
      keys: batch.profileCustomerIDs
    ) { row in
      profiles[row[0]] = MetricsBatch.Profile(type: row[1], tier: row[2], region: row[3], profileMs: row[4])
    }
    batch.load(profiles: profiles)
    var answers: [String] = []
    try db.forEachRow("SELECT response_id FROM survey WHERE response_id IN \(keys)", keys: batch.answerIDs) {
      answers.append($0[0])
    }
    batch.load(storedAnswers: answers)
  }

  private static func ticket(_ row: Row) -> TicketState {
    var ticket = TicketState(ticketID: row[0])
    ticket.customerID = row[1]
    ticket.createdMs = row[2]
    ticket.attributes = TicketAttributes(
      channel: row[3], region: row[4], businessLine: row[5], agent: row[6], productModule: row[7], problemType: row[8],
      priority: TicketPriority(rawValue: row[9]) ?? .normal, complaint: row[10])
    ticket.firstReplyMs = row[11]
    ticket.replyCount = row[12]
    ticket.firstResolvedMs = row[13]
    ticket.lastResolvedMs = row[14]
    ticket.reopenCount = row[15]
    ticket.statusOpen = row[16]
    ticket.statusMs = row[17]
    ticket.statusOffset = row[18]
    ticket.nextContactMs = row[19]
    ticket.handleMs = row[20]
    ticket.handledReplies = row[21]
    return ticket
  }

  /// Writes the changed tickets, touching as few index entries as it can: new tickets are
  /// inserted; a ticket whose creation or customer moved is rewritten whole; any other
  /// change sets only the columns no index reads (plus the first reply, which the index of
  /// unanswered tickets reads, when that moved).
  private static func writeTickets(_ batch: MetricsBatch, _ db: Database) throws {
    typealias Values = [(any DatabaseValueConvertible)?]
    var inserted: [Values] = []
    var facts: [Values] = []
    var factsAndFirstReply: [Values] = []
    for ticket in batch.changedTickets {
      let a = ticket.attributes
      let row: Values = [
        ticket.ticketID, ticket.customerID, ticket.createdMs, a.channel, a.region, a.businessLine, a.agent, a.productModule,
        a.problemType, a.priority.rawValue, a.complaint, ticket.firstReplyMs, ticket.replyCount, ticket.firstResolvedMs,
        ticket.lastResolvedMs, ticket.reopenCount, ticket.statusOpen, ticket.statusMs, ticket.statusOffset,
        ticket.nextContactMs, ticket.handleMs, ticket.handledReplies,
      ]
      guard let stored = batch.loadedTickets[ticket.ticketID], stored.customerID == ticket.customerID,
        stored.createdMs == ticket.createdMs
      else {
        inserted.append(row)
        continue
      }
      // The key, then the columns of `factColumns` (and the first reply).
      let update: Values = [row[0]] + row[3...10] + row[12...21]
      if stored.firstReplyMs == ticket.firstReplyMs { facts.append(update) } else { factsAndFirstReply.append(update + [row[11]]) }
    }
    try db.insertRows(
      "INSERT INTO ticket (\(ticketColumns))", columns: 22, rows: inserted,
      tail: "ON CONFLICT(ticket_id) DO UPDATE SET "
        + ticketColumns.split(separator: ",").dropFirst().map {
          let column = $0.trimmingCharacters(in: .whitespacesAndNewlines)
          return "\(column) = excluded.\(column)"
        }.joined(separator: ", "))
    try db.updateRows("ticket", key: "ticket_id", columns: factColumns, rows: facts)
    try db.updateRows("ticket", key: "ticket_id", columns: factColumns + ["first_reply_ms"], rows: factsAndFirstReply)
  }

  /// Ticket columns no index reads.
  private static let factColumns = [
    "channel", "region", "business_line", "agent", "product_module", "problem_type", "priority", "complaint",
    "reply_count", "first_resolved_ms", "last_resolved_ms", "reopen_count", "status_open", "status_ms", "status_offset",
    "next_contact_ms", "handle_ms", "handled_replies",
  ]

  /// Writes what the batch changed: tickets, status events, answers, profiles and the
  /// hours to roll up again.
  private static func write(_ batch: MetricsBatch, _ db: Database) throws {
    try writeTickets(batch, db)
    try db.insertRows(
      "INSERT OR IGNORE INTO status_event (ticket_id, log_offset, time_ms, open)", columns: 4,
      rows: batch.statusEvents.map { [$0.ticketID, $0.offset, $0.timeMs, $0.open] })
    try db.insertRows(
      "INSERT OR IGNORE INTO survey (response_id, customer_id, ticket_id, scale, score, time_ms, channel)", columns: 7,
      rows: batch.newAnswers.map { [$0.responseID, $0.customerID, $0.ticketID, $0.scale.rawValue, $0.score, $0.timeMs, $0.channel] })
    try db.insertRows(
      "INSERT INTO customer (customer_id, type, tier, region, profile_ms)", columns: 5,
      rows: batch.changedProfiles.map { [$0.customerID, $0.profile.type, $0.profile.tier, $0.profile.region, $0.profile.profileMs] },
      tail: """
        ON CONFLICT(customer_id) DO UPDATE SET type = excluded.type, tier = excluded.tier, region = excluded.region,
          profile_ms = excluded.profile_ms
        """)
    try db.insertRows(
      "INSERT OR IGNORE INTO dirty_hour (hour)", columns: 1, rows: batch.changedHours.map { [$0] }, rowsPerStatement: 256)
  }
}
