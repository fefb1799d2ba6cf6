import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The fold: each batch of log entries becomes per-ticket state (first reply, last
/// resolution, reply and reopen counts, status, next contact), survey answers and
/// profiles, together with the offset reached and the hours the batch changed (for the
/// rollups), in one transaction.
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
  public func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64) throws -> Int64 {
    try writer.write { db in
      let applied = try Self.appliedOffset(db)
      var changed = ChangedHours()
      for entry in entries where entry.offset > applied {
        try Self.apply(entry.event, offset: entry.offset, changed: &changed, db)
      }
      try changed.mark(db)
      let reached = max(applied, throughOffset)
      try db.run(
        "INSERT INTO consumer (id, applied_offset) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET applied_offset = excluded.applied_offset",
        arguments: [reached])
      return reached
    }
  }

  private static func apply(_ event: MetricsEvent, offset: Int64, changed: inout ChangedHours, _ db: Database) throws {
    switch event {
    case .ticket(let ticketID, let customerID, let type, let timeMs, let attributes):
      try applyTicketEvent(
        ticketID: ticketID, customerID: customerID, type: type, timeMs: timeMs,
        attributes: attributes, offset: offset, changed: &changed, db)
    case .survey(let responseID, let customerID, let ticketID, let scale, let score, let timeMs, let channel):
      try db.run(
        "INSERT OR IGNORE INTO survey (response_id, customer_id, ticket_id, scale, score, time_ms, channel) VALUES (?, ?, ?, ?, ?, ?, ?)",
        arguments: [responseID, customerID, ticketID, scale.rawValue, score, timeMs, channel])
      if db.changesCount > 0 { changed.insert(timeMs) }
    case .profile(let customerID, let type, let tier, let region, let timeMs):
      // The latest profile (by its own time) wins, whatever the arrival order.
      try db.run(
        """
        INSERT INTO customer (customer_id, type, tier, region, profile_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(customer_id) DO UPDATE SET type = excluded.type, tier = excluded.tier,
          region = excluded.region, profile_ms = excluded.profile_ms
        WHERE excluded.profile_ms >= customer.profile_ms
        """,
        arguments: [customerID, type, tier, region, timeMs])
      // Answers without a ticket region take the profile's.
      if db.changesCount > 0 {
        try changed.insert(db, "SELECT time_ms FROM survey WHERE customer_id = ?", [customerID])
      }
    case .other:
      break
    }
  }

  private static func applyTicketEvent(
    ticketID: String, customerID: String, type: TicketEventType, timeMs: Int64, attributes: TicketAttributes,
    offset: Int64, changed: inout ChangedHours, _ db: Database
  ) throws {
    try db.run("INSERT OR IGNORE INTO ticket (ticket_id) VALUES (?)", arguments: [ticketID])
    // Every change marks the creation hour of the ticket, so its day is rolled up again;
    // a change of the ticket's dimensions also marks its survey answers' hours.
    switch type {
    case .created:
      // The day the ticket was on so far (its status changes; it may move to another day).
      try changed.insert(db, "SELECT created_ms FROM ticket WHERE ticket_id = ?", [ticketID])
      // The earliest `created` event defines the ticket (a second one, under another event
      // id, is a correction only if it is earlier).
      try db.run(
        """
        UPDATE ticket SET created_ms = :time, customer_id = :customer, channel = :channel, region = :region,
          business_line = :line, agent = CASE WHEN :agent != '' THEN :agent ELSE agent END,
          product_module = :module, problem_type = :problem, priority = :priority, complaint = :complaint
        WHERE ticket_id = :ticket AND (created_ms IS NULL OR created_ms > :time)
        """,
        arguments: [
          "time": timeMs, "customer": customerID, "channel": attributes.channel, "region": attributes.region,
          "line": attributes.businessLine, "agent": attributes.agent, "module": attributes.productModule,
          "problem": attributes.problemType, "priority": attributes.priority.rawValue,
          "complaint": attributes.complaint, "ticket": ticketID,
        ])
      if db.changesCount > 0 {
        // Repeat contacts: recompute "the same customer's next ticket" for this customer's
        // tickets (a handful), which stays right whatever order tickets arrive in.
        try db.run(
          """
          UPDATE ticket SET next_contact_ms = (
            SELECT MIN(other.created_ms) FROM ticket AS other
            WHERE other.customer_id = ticket.customer_id AND other.created_ms > ticket.created_ms)
          WHERE customer_id = ? AND created_ms IS NOT NULL
          """,
          arguments: [customerID])
        changed.insert(timeMs)
        try changed.insert(db, "SELECT created_ms FROM ticket WHERE customer_id = ?", [customerID])
        try changed.insert(db, "SELECT time_ms FROM survey WHERE ticket_id = ?", [ticketID])
      }
      try recordStatus(ticketID: ticketID, open: true, timeMs: timeMs, offset: offset, db)
    case .agentReply:
      try changed.insert(
        db,
        """
        UPDATE ticket SET reply_count = reply_count + 1,
          first_reply_ms = CASE WHEN first_reply_ms IS NULL OR first_reply_ms > :time THEN :time ELSE first_reply_ms END,
          agent = CASE WHEN agent = '' THEN :agent ELSE agent END
        WHERE ticket_id = :ticket RETURNING created_ms
        """,
        ["time": timeMs, "agent": attributes.agent, "ticket": ticketID])
      // The reply may give the ticket its agent.
      if !attributes.agent.isEmpty {
        try changed.insert(db, "SELECT time_ms FROM survey WHERE ticket_id = ?", [ticketID])
      }
    case .resolved:
      try changed.insert(
        db,
        """
        UPDATE ticket SET
          first_resolved_ms = CASE WHEN first_resolved_ms IS NULL OR first_resolved_ms > :time THEN :time ELSE first_resolved_ms END,
          last_resolved_ms = CASE WHEN last_resolved_ms IS NULL OR last_resolved_ms < :time THEN :time ELSE last_resolved_ms END
        WHERE ticket_id = :ticket RETURNING created_ms
        """,
        ["time": timeMs, "ticket": ticketID])
      try recordStatus(ticketID: ticketID, open: false, timeMs: timeMs, offset: offset, db)
    case .reopened:
      try changed.insert(db, "UPDATE ticket SET reopen_count = reopen_count + 1 WHERE ticket_id = ? RETURNING created_ms", [ticketID])
      try recordStatus(ticketID: ticketID, open: true, timeMs: timeMs, offset: offset, db)
    case .customerReply:
      break
    }
  }

  /// Keeps the status history (for backlog) and the current status: that of the latest
  /// status event by event time, ties broken by log order.
  private static func recordStatus(ticketID: String, open: Bool, timeMs: Int64, offset: Int64, _ db: Database) throws {
    try db.run(
      "INSERT OR IGNORE INTO status_event (ticket_id, log_offset, time_ms, open) VALUES (?, ?, ?, ?)",
      arguments: [ticketID, offset, timeMs, open])
    try db.run(
      """
      UPDATE ticket SET status_open = :open, status_ms = :time, status_offset = :offset
      WHERE ticket_id = :ticket AND (status_ms IS NULL OR status_ms < :time OR (status_ms = :time AND status_offset < :offset))
      """,
      arguments: ["open": open, "time": timeMs, "offset": offset, "ticket": ticketID])
  }
}

extension Database {
  /// Executes `sql` through the connection's statement cache: the consumer runs the same
  /// few statements for every event, so preparing them once matters.
  fileprivate func run(_ sql: String, arguments: StatementArguments = StatementArguments()) throws {
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }
}
