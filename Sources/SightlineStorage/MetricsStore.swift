import Foundation
public import GRDB
public import SightlineModel

/// Which rows a KPI read selects and how it labels them: a time range, filters (every one
/// must hold; values of one filter are alternatives) and the dimensions to group by.
public struct KpiSelection: Sendable {
  /// Range start (inclusive) and end (exclusive), Unix ms.
  public var startMs: Int64
  public var endMs: Int64
  /// Dimension → accepted values.
  public var filters: [KpiDimension: [String]]
  /// Dimensions whose values label each row, in order.
  public var groupBy: [KpiDimension]
  /// Only tickets without an agent reply (for judging SLA breaches of unanswered tickets).
  public var unansweredOnly = false

  /// A selection from its parts.
  public init(startMs: Int64, endMs: Int64, filters: [KpiDimension: [String]] = [:], groupBy: [KpiDimension] = []) {
    self.startMs = startMs
    self.endMs = endMs
    self.filters = filters
    self.groupBy = groupBy
  }
}

/// The metrics service's per-tenant state: tickets folded from their events, status
/// history (for backlog), survey answers, customers' tier and type, the consumer's offset,
/// KPI settings, alert rules and alerts.
///
/// The consumer applies each batch of log entries and the offset reached in one
/// transaction (``apply(_:throughOffset:)``), so a crash or restart neither loses nor
/// double counts an event. Ticket rows hold per-ticket facts (first reply, last
/// resolution, reply and reopen counts, status, next contact), so late and out-of-order
/// events simply update the ticket they belong to, and KPIs stay exact.
public struct MetricsStore: Sendable {
  /// The database.
  public let writer: any DatabaseWriter

  /// A store on `writer`, which must have been migrated with ``migrator``.
  public init(writer: any DatabaseWriter) { self.writer = writer }

  /// The schema. Migrations never change once shipped; add new ones.
  public static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE ticket (
            ticket_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL DEFAULT '',
            created_ms INTEGER,
            channel TEXT NOT NULL DEFAULT '',
            region TEXT NOT NULL DEFAULT '',
            business_line TEXT NOT NULL DEFAULT '',
            agent TEXT NOT NULL DEFAULT '',
            product_module TEXT NOT NULL DEFAULT '',
            problem_type TEXT NOT NULL DEFAULT '',
            priority TEXT NOT NULL DEFAULT 'normal',
            complaint INTEGER NOT NULL DEFAULT 0,
            first_reply_ms INTEGER,
            reply_count INTEGER NOT NULL DEFAULT 0,
            first_resolved_ms INTEGER,
            last_resolved_ms INTEGER,
            reopen_count INTEGER NOT NULL DEFAULT 0,
            status_open INTEGER,
            status_ms INTEGER,
            status_offset INTEGER,
            next_contact_ms INTEGER
          );
          CREATE INDEX ticket_by_created ON ticket(created_ms);
          CREATE INDEX ticket_by_customer ON ticket(customer_id, created_ms);
          CREATE TABLE status_event (
            ticket_id TEXT NOT NULL,
            log_offset INTEGER NOT NULL,
            time_ms INTEGER NOT NULL,
            open INTEGER NOT NULL,
            PRIMARY KEY (ticket_id, log_offset)
          ) WITHOUT ROWID;
          CREATE TABLE survey (
            response_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            scale TEXT NOT NULL,
            score INTEGER NOT NULL,
            time_ms INTEGER NOT NULL,
            channel TEXT NOT NULL
          );
          CREATE INDEX survey_by_time ON survey(time_ms);
          CREATE TABLE customer (
            customer_id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            tier TEXT NOT NULL,
            region TEXT NOT NULL,
            profile_ms INTEGER NOT NULL
          );
          CREATE TABLE consumer (id INTEGER PRIMARY KEY CHECK (id = 1), applied_offset INTEGER NOT NULL);
          CREATE TABLE setting (name TEXT PRIMARY KEY, value TEXT NOT NULL);
          CREATE TABLE alert_rule (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kpi TEXT NOT NULL,
            by_dimension TEXT,
            window_ms INTEGER NOT NULL,
            comparison TEXT,
            threshold REAL NOT NULL,
            anomaly INTEGER NOT NULL,
            min_sample INTEGER NOT NULL,
            created_ms INTEGER NOT NULL
          );
          CREATE TABLE alert (
            id TEXT PRIMARY KEY,
            rule_id TEXT NOT NULL,
            kpi TEXT NOT NULL,
            dimension TEXT,
            dimension_value TEXT NOT NULL,
            value REAL NOT NULL,
            sample_size INTEGER NOT NULL,
            expected_low REAL NOT NULL,
            expected_high REAL NOT NULL,
            severity TEXT NOT NULL,
            opened_ms INTEGER NOT NULL,
            resolved_ms INTEGER,
            window_start_ms INTEGER NOT NULL,
            window_end_ms INTEGER NOT NULL,
            message TEXT NOT NULL
          );
          CREATE INDEX alert_open ON alert(rule_id, dimension_value, resolved_ms);
          """)
    }
    migrator.registerMigration("v2-daily-rollups") { db in
      try db.execute(sql: rollupSchema)
    }
    migrator.registerMigration("v3-rollup-settings") { db in
      // The settings a day was built under: a build racing a settings change must not
      // leave a day counted under the old ones.
      try db.execute(sql: "ALTER TABLE rollup_day ADD COLUMN settings TEXT NOT NULL DEFAULT ''")
    }
    return migrator
  }

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
      try applyTicketEvent(ticketID: ticketID, customerID: customerID, type: type, timeMs: timeMs,
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

  // MARK: - Reads for KPIs

  /// Calls `body` with each ticket created in the selection's range that passes its
  /// filters, and the ticket's values of the grouping dimensions.
  public func forEachTicket(_ selection: KpiSelection, _ body: (TicketFacts, [String]) throws -> Void) throws {
    let (conditions, arguments) = Self.filterSQL(selection.filters, source: .ticket)
    let groups = selection.groupBy.map { Self.expression($0, source: .ticket) }
    let unanswered = selection.unansweredOnly ? " AND t.first_reply_ms IS NULL" : ""
    let sql = """
      SELECT t.created_ms, t.priority, t.complaint, t.first_reply_ms, t.reply_count, t.first_resolved_ms,
        t.last_resolved_ms, t.reopen_count, t.status_open, t.next_contact_ms\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t\(Self.customerJoin(selection.filters, selection.groupBy))
      WHERE t.created_ms >= ? AND t.created_ms < ?\(unanswered)\(conditions)
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + arguments))
      while let row = try rows.next() {
        let facts = TicketFacts(
          createdMs: row[0], priority: TicketPriority(rawValue: row[1]) ?? .normal, complaint: row[2],
          firstReplyMs: row[3], replyCount: row[4], firstResolvedMs: row[5], lastResolvedMs: row[6],
          reopenCount: row[7], isResolved: (row[8] as Int?) == 0, nextContactMs: row[9])
        try body(facts, (0..<groups.count).map { row[10 + $0] ?? "" })
      }
    }
  }

  /// Calls `body` with each survey answer given in the selection's range that passes its
  /// filters (ticket dimensions come from the answer's ticket, if it names one).
  public func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws {
    let (conditions, arguments) = Self.filterSQL(selection.filters, source: .survey)
    let groups = selection.groupBy.map { Self.expression($0, source: .survey) }
    let sql = """
      SELECT s.scale, s.score, s.time_ms\(groups.map { ", " + $0 }.joined())
      FROM survey AS s LEFT JOIN ticket AS t ON t.ticket_id = s.ticket_id
        LEFT JOIN customer AS c ON c.customer_id = s.customer_id
      WHERE s.time_ms >= ? AND s.time_ms < ?\(conditions)
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + arguments))
      while let row = try rows.next() {
        guard let scale = SurveyScale(rawValue: row[0]) else { continue }
        try body(SurveyFact(scale: scale, score: row[1]), row[2], (0..<groups.count).map { row[3 + $0] ?? "" })
      }
    }
  }

  /// Calls `body` with the status history (time-ordered (time, open) pairs) of every ticket
  /// passing the filters that was created before `beforeMs` and may be open at or after
  /// `sinceMs` (tickets whose last status event is a resolution before `sinceMs` are closed
  /// from then on and are skipped).
  public func forEachStatusHistory(
    filters: [KpiDimension: [String]], groupBy: [KpiDimension], sinceMs: Int64, beforeMs: Int64,
    _ body: ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
  ) throws {
    let (conditions, arguments) = Self.filterSQL(filters, source: .ticket)
    let groups = groupBy.map { Self.expression($0, source: .ticket) }
    let sql = """
      SELECT t.ticket_id, s.time_ms, s.open\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t LEFT JOIN customer AS c ON c.customer_id = t.customer_id
        JOIN status_event AS s ON s.ticket_id = t.ticket_id
      WHERE t.created_ms IS NOT NULL AND t.created_ms < ? AND (t.status_open = 1 OR t.status_ms >= ?)\(conditions)
      ORDER BY t.ticket_id, s.time_ms, s.log_offset
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([beforeMs, sinceMs] + arguments))
      var current: String?
      var history: [(timeMs: Int64, open: Bool)] = []
      var labels: [String] = []
      while let row = try rows.next() {
        let ticket: String = row[0]
        if ticket != current {
          if current != nil { try body(history, labels) }
          current = ticket
          history.removeAll(keepingCapacity: true)
          labels = (0..<groups.count).map { row[3 + $0] ?? "" }
        }
        history.append((row[1], row[2]))
      }
      if current != nil { try body(history, labels) }
    }
  }

  /// The join to customers, only when a customer dimension is read (it costs a lookup per
  /// ticket).
  private static func customerJoin(_ filters: [KpiDimension: [String]], _ groupBy: [KpiDimension]) -> String {
    let needed = [KpiDimension.customerTier, .customerType].contains { filters[$0] != nil || groupBy.contains($0) }
    return needed ? " LEFT JOIN customer AS c ON c.customer_id = t.customer_id" : ""
  }

  /// Where a dimension's value comes from.
  private enum Source { case ticket, survey }

  /// The SQL expression of `dimension` for rows of `source` (aliases: t ticket, c
  /// customer, s survey). A survey takes its channel from itself (else its ticket), its
  /// region from its ticket (else the customer's profile), the rest from its ticket.
  private static func expression(_ dimension: KpiDimension, source: Source) -> String {
    switch (dimension, source) {
    case (.channel, .ticket): "t.channel"
    case (.channel, .survey): "COALESCE(NULLIF(s.channel, ''), t.channel, '')"
    case (.region, .ticket): "t.region"
    case (.region, .survey): "COALESCE(NULLIF(t.region, ''), c.region, '')"
    case (.businessLine, _): "COALESCE(t.business_line, '')"
    case (.agent, _): "COALESCE(t.agent, '')"
    case (.productModule, _): "COALESCE(t.product_module, '')"
    case (.problemType, _): "COALESCE(t.problem_type, '')"
    case (.priority, _): "COALESCE(t.priority, '')"
    case (.customerTier, _): "COALESCE(c.tier, '')"
    case (.customerType, _): "COALESCE(c.type, '')"
    case (.customer, .ticket): "t.customer_id"
    case (.customer, .survey): "s.customer_id"
    }
  }

  private static func filterSQL(_ filters: [KpiDimension: [String]], source: Source) -> (String, [any DatabaseValueConvertible]) {
    var sql = ""
    var arguments: [any DatabaseValueConvertible] = []
    for dimension in KpiDimension.allCases {
      guard let values = filters[dimension], !values.isEmpty else { continue }
      sql += " AND \(expression(dimension, source: source)) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))"
      arguments += values
    }
    return (sql, arguments)
  }

  // MARK: - Settings

  /// The tenant's KPI settings (defaults until set).
  public func settings() throws -> KpiSettings {
    try writer.read { db in
      var settings = KpiSettings.defaults
      for row in try Row.fetchAll(db, sql: "SELECT name, value FROM setting") {
        let name: String = row[0]
        let value: String = row[1]
        switch name {
        case "time_zone": settings.timeZone = value
        case "complaint_target_ms": settings.complaintTargetMs = Int64(value) ?? settings.complaintTargetMs
        case "repeat_window_ms": settings.repeatWindowMs = Int64(value) ?? settings.repeatWindowMs
        default:
          if name.hasPrefix("sla_"), let priority = TicketPriority(rawValue: String(name.dropFirst(4))),
            let ms = Int64(value)
          {
            settings.slaTargetMs[priority] = ms
          } else if name.hasPrefix("target_"), let kind = KpiKind(rawValue: String(name.dropFirst(7))) {
            // "goal tolerance"
            let numbers = value.split(separator: " ").compactMap { Double($0) }
            if numbers.count == 2 { settings.targets[kind] = KpiTarget(goal: numbers[0], tolerance: numbers[1]) }
          }
        }
      }
      return settings
    }
  }

  /// Replaces the tenant's KPI settings.
  public func setSettings(_ settings: KpiSettings) throws {
    let previous = try self.settings()
    try writer.write { db in
      // Rollups hold SLA, complaint and repeat-contact counts under the old settings, and
      // days of the old time zone; cockpit targets change none of them.
      if previous.fingerprint != settings.fingerprint { try Self.dropRollups(db) }
      try db.execute(sql: "DELETE FROM setting")
      var pairs: [(String, String)] = [
        ("time_zone", settings.timeZone), ("complaint_target_ms", String(settings.complaintTargetMs)),
        ("repeat_window_ms", String(settings.repeatWindowMs)),
      ]
      for priority in TicketPriority.allCases { pairs.append(("sla_\(priority.rawValue)", String(settings.slaTarget(priority)))) }
      for (kind, target) in settings.targets { pairs.append(("target_\(kind.rawValue)", "\(target.goal) \(target.tolerance)")) }
      for (name, value) in pairs {
        try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, ?)", arguments: [name, value])
      }
    }
  }
}

extension Database {
  /// Executes `sql` through the connection's statement cache: the consumer runs the same
  /// few statements for every event, so preparing them once matters.
  fileprivate func run(_ sql: String, arguments: StatementArguments = StatementArguments()) throws {
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }
}
