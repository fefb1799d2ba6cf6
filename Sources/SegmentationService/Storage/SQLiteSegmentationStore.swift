import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The SQLite schema of the segmentation state.
public enum SegmentationSchema: SQLiteSchema {
  public static let migrations = [
    SQLiteMigration(
      "v1",
      """
      CREATE TABLE customer (
        customer_id TEXT PRIMARY KEY, attributes TEXT NOT NULL, signup_ms INTEGER, profile_ms INTEGER NOT NULL,
        first_profile_ms INTEGER NOT NULL
      );
      CREATE TABLE ticket (
        ticket_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL DEFAULT '', created_ms INTEGER,
        complaint INTEGER NOT NULL DEFAULT 0, problem_type TEXT NOT NULL DEFAULT '',
        last_resolved_ms INTEGER, status_open INTEGER, status_ms INTEGER, status_offset INTEGER,
        reply_count INTEGER NOT NULL DEFAULT 0, first_reply_ms INTEGER, reopen_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX ticket_by_customer ON ticket(customer_id);
      CREATE TABLE answer (
        response_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, ticket_id TEXT NOT NULL, scale TEXT NOT NULL,
        score INTEGER NOT NULL, time_ms INTEGER NOT NULL, comment TEXT NOT NULL
      );
      CREATE TABLE purchase (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount_minor INTEGER NOT NULL, time_ms INTEGER NOT NULL);
      CREATE TABLE feedback (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, ticket_id TEXT NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL,
        time_ms INTEGER NOT NULL, rating INTEGER NOT NULL
      );
      CREATE TABLE segment (name TEXT PRIMARY KEY, expression TEXT NOT NULL, created_ms INTEGER NOT NULL);
      CREATE TABLE consumer (id INTEGER PRIMARY KEY CHECK (id = 1), applied_offset INTEGER NOT NULL);
      """),
    SQLiteMigration("v2-settings", "CREATE TABLE setting (name TEXT PRIMARY KEY, value REAL NOT NULL)"),
    // Which customers each batch changed, so a reader brings its customer facts up to
    // date by loading only those (docs/segments.md, "Scale").
    SQLiteMigration(
      "v3-customer-changes",
      """
      CREATE TABLE customer_change (customer_id TEXT PRIMARY KEY, changed_offset INTEGER NOT NULL);
      CREATE INDEX customer_change_by_offset ON customer_change(changed_offset);
      CREATE INDEX answer_by_customer ON answer(customer_id);
      CREATE INDEX purchase_by_customer ON purchase(customer_id);
      """),
    // The ticket attributes that split text themes; tickets stored before keep '' until
    // their next event.
    SQLiteMigration(
      "v4-ticket-attributes",
      """
      ALTER TABLE ticket ADD COLUMN business_line TEXT NOT NULL DEFAULT '';
      ALTER TABLE ticket ADD COLUMN product_module TEXT NOT NULL DEFAULT '';
      ALTER TABLE ticket ADD COLUMN channel TEXT NOT NULL DEFAULT '';
      """),
  ]
}

/// The segmentation service's per-tenant state: profiles, each customer's tickets, answers,
/// orders and texts, saved segments and the consumer's offset (stored with the state in
/// one transaction, as metrics does).
public typealias SQLiteSegmentationStore = SQLiteStore<SegmentationSchema>

extension SQLiteStore: SegmentationStore where Schema == SegmentationSchema {

  // MARK: - Consumer

  public func appliedOffset() throws -> Int64 {
    try writer.read { db in try Int64.fetchOne(db, sql: "SELECT applied_offset FROM consumer WHERE id = 1") ?? 0 }
  }

  /// Applies entries above the stored offset and stores `throughOffset`, in one
  /// transaction: the batch is worked out in memory (``SegmentationBatch``) from the
  /// tickets and profiles it touches, loaded with one statement each, and written back
  /// with multi-row statements.
  /// The fence is not checked: one process is the only writer of a tenant's SQLite file.
  public func apply(_ entries: [(offset: Int64, event: SegmentationEvent)], throughOffset: Int64, fence: LeaseFence) throws {
    try writeDerivedState { db in
      let applied = try Int64.fetchOne(db, sql: "SELECT applied_offset FROM consumer WHERE id = 1") ?? 0
      var batch = SegmentationBatch(entries.filter { $0.offset > applied })
      let through = max(applied, throughOffset)
      if !batch.events.isEmpty {
        try Self.load(&batch, db)
        batch.apply()
        try Self.write(batch, db)
        try db.insertRows(
          "INSERT INTO customer_change (customer_id, changed_offset)", columns: 2,
          rows: batch.changedCustomers.map { [$0, through] },
          tail: "ON CONFLICT(customer_id) DO UPDATE SET changed_offset = excluded.changed_offset")
      }
      try db.execute(
        sql:
          "INSERT INTO consumer (id, applied_offset) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET applied_offset = excluded.applied_offset",
        arguments: [through])
    }
  }

  private static let ticketColumns = """
    ticket_id, customer_id, created_ms, complaint, problem_type, last_resolved_ms, status_open, status_ms,
    status_offset, reply_count, first_reply_ms, reopen_count, business_line, product_module, channel
    """

  private static func load(_ batch: inout SegmentationBatch, _ db: Database) throws {
    var tickets: [TicketState] = []
    try db.forEachRow(
      "SELECT \(ticketColumns) FROM ticket WHERE ticket_id IN (SELECT value FROM json_each(?))", keys: batch.ticketIDs
    ) { row in
      var ticket = TicketState(ticketID: row[0])
      ticket.customerID = row[1]
      ticket.createdMs = row[2]
      ticket.attributes = TicketAttributes(
        channel: row[14], businessLine: row[12], productModule: row[13], problemType: row[4], complaint: row[3])
      ticket.lastResolvedMs = row[5]
      ticket.statusOpen = row[6]
      ticket.statusMs = row[7]
      ticket.statusOffset = row[8]
      ticket.replyCount = row[9]
      ticket.firstReplyMs = row[10]
      ticket.reopenCount = row[11]
      tickets.append(ticket)
    }
    var profiles: [String: SegmentationBatch.Profile] = [:]
    try db.forEachRow(
      """
      SELECT customer_id, attributes, signup_ms, profile_ms, first_profile_ms FROM customer
      WHERE customer_id IN (SELECT value FROM json_each(?))
      """, keys: batch.profileCustomerIDs
    ) { row in
      profiles[row[0]] = SegmentationBatch.Profile(
        attributes: ProfileAttributesJSON.decode(row[1]), signupMs: row[2], profileMs: row[3], firstProfileMs: row[4])
    }
    batch.load(tickets: tickets, profiles: profiles)
  }

  private static func write(_ batch: SegmentationBatch, _ db: Database) throws {
    try db.insertRows(
      "INSERT INTO ticket (\(ticketColumns))", columns: 15,
      rows: batch.changedTickets.map { t -> [(any DatabaseValueConvertible)?] in
        [
          t.ticketID, t.customerID, t.createdMs, t.attributes.complaint, t.attributes.problemType, t.lastResolvedMs,
          t.statusOpen, t.statusMs, t.statusOffset, t.replyCount, t.firstReplyMs, t.reopenCount,
          t.attributes.businessLine, t.attributes.productModule, t.attributes.channel,
        ]
      },
      tail: """
        ON CONFLICT(ticket_id) DO UPDATE SET customer_id = excluded.customer_id, created_ms = excluded.created_ms,
          complaint = excluded.complaint, problem_type = excluded.problem_type,
          last_resolved_ms = excluded.last_resolved_ms, status_open = excluded.status_open,
          status_ms = excluded.status_ms, status_offset = excluded.status_offset, reply_count = excluded.reply_count,
          first_reply_ms = excluded.first_reply_ms, reopen_count = excluded.reopen_count,
          business_line = excluded.business_line, product_module = excluded.product_module, channel = excluded.channel
        """)
    try db.insertRows(
      "INSERT INTO customer (customer_id, attributes, signup_ms, profile_ms, first_profile_ms)", columns: 5,
      rows: try batch.changedProfiles.map { id, profile -> [(any DatabaseValueConvertible)?] in
        [id, try ProfileAttributesJSON.encode(profile.attributes), profile.signupMs, profile.profileMs, profile.firstProfileMs]
      },
      tail: """
        ON CONFLICT(customer_id) DO UPDATE SET attributes = excluded.attributes, signup_ms = excluded.signup_ms,
          profile_ms = excluded.profile_ms, first_profile_ms = excluded.first_profile_ms
        """)
    let records = batch.newRecords
    let answers = records.answers.map { a -> [(any DatabaseValueConvertible)?] in
      [a.responseID, a.customerID, a.ticketID, a.scale.rawValue, a.score, a.timeMs, a.comment]
    }
    let texts = records.texts.map { t -> [(any DatabaseValueConvertible)?] in
      [t.id, t.customerID, t.ticketID, t.source, t.text, t.timeMs, t.rating]
    }
    let orders = records.orders.map { o -> [(any DatabaseValueConvertible)?] in [o.id, o.customerID, o.amountMinor, o.timeMs] }
    // OR IGNORE: the first of an id wins, as a re-delivered event must change nothing.
    try db.insertRows(
      "INSERT OR IGNORE INTO answer (response_id, customer_id, ticket_id, scale, score, time_ms, comment)", columns: 7,
      rows: answers)
    try db.insertRows(
      "INSERT OR IGNORE INTO feedback (id, customer_id, ticket_id, source, text, time_ms, rating)", columns: 7, rows: texts)
    try db.insertRows(
      "INSERT OR IGNORE INTO purchase (order_id, customer_id, amount_minor, time_ms)", columns: 4, rows: orders)
  }

  // MARK: - Reads

  /// Customer facts as of the applied offset, read in one transaction: every customer, or
  /// with `changedAfter`, only those batches after that offset changed.
  public func customerFacts(changedAfter offset: Int64?) throws -> CustomerFactsUpdate {
    try writer.read { db in
      let applied = try Int64.fetchOne(db, sql: "SELECT applied_offset FROM consumer WHERE id = 1") ?? 0
      guard let offset else {
        return CustomerFactsUpdate(offset: applied, customers: try Self.facts(db, of: nil), changedIDs: nil)
      }
      let changed = try String.fetchAll(
        db, sql: "SELECT customer_id FROM customer_change WHERE changed_offset > ?", arguments: [offset]
      ).sorted()
      let customers = changed.isEmpty ? CustomerTable() : try Self.facts(db, of: changed)
      return CustomerFactsUpdate(offset: applied, customers: customers, changedIDs: changed)
    }
  }

  /// The facts of the customers `ids` names (all when nil): every customer known from a
  /// profile or any activity.
  private static func facts(_ db: Database, of ids: [String]?) throws -> CustomerTable {
    var table = CustomerTable.Builder()
    func each(_ sql: String, _ body: (Row) throws -> Void) throws {
      if let ids {
        try db.forEachRow(
          sql + (sql.contains(" WHERE ") ? " AND" : " WHERE") + " customer_id IN (SELECT value FROM json_each(?))", keys: ids, body)
      } else {
        let rows = try Row.fetchCursor(db, sql: sql)
        while let row = try rows.next() { try body(row) }
      }
    }
    var parsed = ProfileAttributesJSON.Cache()
    try each("SELECT customer_id, attributes, signup_ms, first_profile_ms FROM customer") { row in
      table.profile(row[0], attributes: parsed.decode(row[1]), signupMs: row[2], profileMs: row[3])
    }
    try each(
      """
      SELECT customer_id, created_ms, complaint, status_open, last_resolved_ms, reply_count, reopen_count, first_reply_ms
      FROM ticket WHERE created_ms IS NOT NULL AND customer_id != ''
      """
    ) { row in
      let open: Int? = row[3]
      table.ticket(
        row[0],
        .init(
          createdMs: row[1], complaint: row[2], resolvedMs: open == 0 ? row[4] : nil, replyCount: row[5], reopenCount: row[6],
          firstReplyMs: row[7]))
    }
    try each("SELECT customer_id, scale, score, time_ms FROM answer") { row in
      guard let scale = SurveyScale(rawValue: row[1]) else { return }
      table.answer(row[0], .init(scale: scale, score: row[2], timeMs: row[3]))
    }
    try each("SELECT customer_id, amount_minor, time_ms FROM purchase") { row in
      table.purchase(row[0], .init(amountMinor: row[1], timeMs: row[2]))
    }
    return table.build()
  }

  /// Feedback texts and survey comments written in [start, end) (all time when nil).
  public func customerTexts(customerIDs: [String], sinceMs: Int64) throws -> [CustomerText] {
    guard !customerIDs.isEmpty else { return [] }
    // The customers go in as one JSON list: one statement, however many there are.
    let ids = String(decoding: try JSONEncoder().encode(customerIDs), as: UTF8.self)
    return try writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT customer_id, 'survey', comment, time_ms, ticket_id, scale, score FROM answer
          WHERE comment != '' AND time_ms >= ? AND customer_id IN (SELECT value FROM json_each(?))
          UNION ALL
          SELECT customer_id, source, text, time_ms, ticket_id, '', rating FROM feedback
          WHERE time_ms >= ? AND customer_id IN (SELECT value FROM json_each(?))
          ORDER BY 4 DESC
          """, arguments: [sinceMs, ids, sinceMs, ids]
      ).map { row in
        CustomerText(customerID: row[0], source: row[1], text: row[2], timeMs: row[3], ticketID: row[4], scale: row[5], score: row[6])
      }
    }
  }

  public func documents(startMs: Int64?, endMs: Int64?) throws -> [FeedbackDocument] {
    try writer.read { db in
      let (start, end) = (startMs ?? .min, endMs ?? .max)
      let feedback = try Row.fetchAll(
        db,
        sql: """
          SELECT f.id, f.customer_id, COALESCE(t.problem_type, ''), f.text, f.time_ms, f.rating,
          COALESCE(t.business_line, ''), COALESCE(t.product_module, ''), COALESCE(t.channel, '') FROM feedback AS f
          LEFT JOIN ticket AS t ON t.ticket_id = f.ticket_id WHERE f.time_ms >= ? AND f.time_ms < ?
          """, arguments: [start, end]
      ).map { row -> FeedbackDocument in
        FeedbackDocument(
          id: row[0], customerID: row[1], problemType: row[2], businessLine: row[6], productModule: row[7], channel: row[8],
          text: row[3], timeMs: row[4], lowScore: FeedbackDocument.isLowRating(row[5]))
      }
      let comments = try Row.fetchAll(
        db,
        sql: """
          SELECT a.response_id, a.customer_id, COALESCE(t.problem_type, ''), a.comment, a.time_ms, a.scale, a.score,
          COALESCE(t.business_line, ''), COALESCE(t.product_module, ''), COALESCE(t.channel, '') FROM answer AS a
          LEFT JOIN ticket AS t ON t.ticket_id = a.ticket_id WHERE a.comment != '' AND a.time_ms >= ? AND a.time_ms < ?
          """, arguments: [start, end]
      ).map { row -> FeedbackDocument in
        FeedbackDocument(
          id: row[0], customerID: row[1], problemType: row[2], businessLine: row[7], productModule: row[8], channel: row[9],
          text: row[3], timeMs: row[4], lowScore: FeedbackDocument.isLowScore(scale: row[5], score: row[6]))
      }
      return feedback + comments
    }
  }

  // MARK: - Settings

  /// The tenant's segment windows (defaults until set).
  public func windows() throws -> SegmentWindows {
    try writer.read { db in
      SegmentWindowRows.windows(
        from: try Row.fetchAll(db, sql: "SELECT name, value FROM setting").map { row -> (String, Double) in (row[0], row[1]) })
    }
  }

  /// Replaces the tenant's segment windows.
  public func setWindows(_ windows: SegmentWindows) throws {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM setting")
      for (name, value) in SegmentWindowRows.rows(windows) {
        try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, ?)", arguments: [name, value])
      }
    }
  }

  // MARK: - Segments

  public func saveSegment(name: String, expression: String) throws -> Int64 {
    let now = WallClock.now
    try writer.write { db in
      try db.execute(
        sql:
          "INSERT INTO segment (name, expression, created_ms) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET expression = excluded.expression, created_ms = excluded.created_ms",
        arguments: [name, expression, now])
    }
    return now
  }

  public func segments() throws -> [(name: String, expression: String, createdMs: Int64)] {
    try writer.read { db in
      try Row.fetchAll(db, sql: "SELECT name, expression, created_ms FROM segment ORDER BY name").map { ($0[0], $0[1], $0[2]) }
    }
  }

  public func deleteSegment(name: String) throws -> Bool {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM segment WHERE name = ?", arguments: [name])
      return db.changesCount > 0
    }
  }
}
