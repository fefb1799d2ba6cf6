import Foundation
import PostgresNIO
public import SightlineModel
public import SightlinePostgres
import SightlineStorage

/// The PostgreSQL schema of the segmentation state: the tables of ``SegmentationSchema``
/// (same columns, so exports move between backends), each with `tenant_id` leading every
/// key and index, in the `segmentation` schema.
public enum SegmentationPostgresSchema: PostgresSchema {
  public static let component = "segmentation"
  /// Answers and texts keep the order they were stored in (`stored_seq`, what SQLite's
  /// rowid order gives there): the later stored of two answers at one time wins, and theme
  /// sentiments are sums of floating-point numbers, whose last digits depend on the order.
  public static let exportOrder = ["answer": "stored_seq", "feedback": "stored_seq"]
  public static let migrations = [
    PostgresMigration(
      version: 1, name: "segmentation state",
      statements: [
        """
        CREATE TABLE customer (
          tenant_id text NOT NULL, customer_id text NOT NULL, attributes text NOT NULL, signup_ms bigint, profile_ms bigint NOT NULL,
          first_profile_ms bigint NOT NULL, PRIMARY KEY (tenant_id, customer_id))
        """,
        """
        CREATE TABLE ticket (
          tenant_id text NOT NULL, ticket_id text NOT NULL, customer_id text NOT NULL DEFAULT '', created_ms bigint,
          complaint bigint NOT NULL DEFAULT 0, problem_type text NOT NULL DEFAULT '', last_resolved_ms bigint, status_open bigint,
          status_ms bigint, status_offset bigint, reply_count bigint NOT NULL DEFAULT 0, first_reply_ms bigint,
          reopen_count bigint NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, ticket_id))
        """,
        "CREATE INDEX ticket_by_customer ON ticket (tenant_id, customer_id)",
        """
        CREATE TABLE answer (
          tenant_id text NOT NULL, response_id text NOT NULL, customer_id text NOT NULL, ticket_id text NOT NULL, scale text NOT NULL,
          score bigint NOT NULL, time_ms bigint NOT NULL, comment text NOT NULL,
          stored_seq bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (tenant_id, response_id))
        """,
        "CREATE INDEX answer_by_customer ON answer (tenant_id, customer_id)",
        """
        CREATE TABLE purchase (
          tenant_id text NOT NULL, order_id text NOT NULL, customer_id text NOT NULL, amount_minor bigint NOT NULL,
          time_ms bigint NOT NULL, PRIMARY KEY (tenant_id, order_id))
        """,
        "CREATE INDEX purchase_by_customer ON purchase (tenant_id, customer_id)",
        """
        CREATE TABLE feedback (
          tenant_id text NOT NULL, id text NOT NULL, customer_id text NOT NULL, ticket_id text NOT NULL, source text NOT NULL,
          text text NOT NULL, time_ms bigint NOT NULL, rating bigint NOT NULL, stored_seq bigint GENERATED ALWAYS AS IDENTITY,
          PRIMARY KEY (tenant_id, id))
        """,
        """
        CREATE TABLE segment (
          tenant_id text NOT NULL, name text NOT NULL, expression text NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (tenant_id, name))
        """,
        """
        CREATE TABLE consumer (
          tenant_id text NOT NULL, id bigint NOT NULL CHECK (id = 1), applied_offset bigint NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        """
        CREATE TABLE setting (
          tenant_id text NOT NULL, name text NOT NULL, value double precision NOT NULL, PRIMARY KEY (tenant_id, name))
        """,
        """
        CREATE TABLE customer_change (
          tenant_id text NOT NULL, customer_id text NOT NULL, changed_offset bigint NOT NULL, PRIMARY KEY (tenant_id, customer_id))
        """,
        "CREATE INDEX customer_change_by_offset ON customer_change (tenant_id, changed_offset)",
      ],
      tenantTables: ["customer", "ticket", "answer", "purchase", "feedback", "segment", "consumer", "setting", "customer_change"]),
    // The ticket attributes that split text themes; tickets stored before keep '' until
    // their next event.
    PostgresMigration(
      version: 2, name: "ticket attributes for themes",
      statements: [
        """
        ALTER TABLE ticket ADD COLUMN business_line text NOT NULL DEFAULT '', ADD COLUMN product_module text NOT NULL DEFAULT '',
          ADD COLUMN channel text NOT NULL DEFAULT ''
        """
      ]),
  ]
}

/// Every tenant's segmentation state in one PostgreSQL database.
public typealias PostgresSegmentationStores = PostgresTenantStores<SegmentationPostgresSchema, SegmentationSchema>

extension PostgresTenantStores: SegmentationStorage where Schema == SegmentationPostgresSchema, Export == SegmentationSchema {
  public func segmentation(for tenant: TenantID) throws -> any SegmentationStore { try store(for: tenant) }
}

/// A tenant's segmentation state in PostgreSQL: the batch worked out in memory
/// (``SegmentationBatch``) from the rows it touches, written back with multi-row statements
/// with the offset reached and the customers it changed, in one transaction.
extension PostgresStore: SegmentationStore where Schema == SegmentationPostgresSchema {
  // MARK: Consumer

  public func appliedOffset() throws -> Int64 {
    try transaction { try appliedOffset($0) }
  }

  private func appliedOffset(_ session: PostgresSession, locking: Bool = false) throws -> Int64 {
    try session.value(
      PostgresQuery(
        unsafeSQL: "SELECT applied_offset FROM consumer WHERE tenant_id = $1 AND id = 1" + (locking ? " FOR UPDATE" : ""),
        binds: Self.bindings(tenant.rawValue)), as: Int64.self) ?? 0
  }

  public func apply(_ entries: [(offset: Int64, event: SegmentationEvent)], throughOffset: Int64, fence: LeaseFence) throws {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      try session.execute(
        "INSERT INTO consumer (tenant_id, id, applied_offset) VALUES (\(tenant.rawValue), 1, 0) ON CONFLICT (tenant_id, id) DO NOTHING")
      let applied = try appliedOffset(session, locking: true)
      var batch = SegmentationBatch(entries.filter { $0.offset > applied })
      let through = max(applied, throughOffset)
      if !batch.events.isEmpty {
        try load(&batch, session)
        batch.apply()
        try write(batch, session)
        let t = SQLValue.text(tenant.rawValue)
        try session.insert(
          into: "customer_change", columns: ["tenant_id", "customer_id", "changed_offset"],
          rows: batch.changedCustomers.map { [t, .text($0), .integer(through)] },
          tail: "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET changed_offset = excluded.changed_offset")
      }
      try session.execute("UPDATE consumer SET applied_offset = \(through) WHERE tenant_id = \(tenant.rawValue) AND id = 1")
      try session.notifyApplied(component: Schema.component, tenant: tenant, offset: through)
    }
  }

  private static let ticketColumns = [
    "ticket_id", "customer_id", "created_ms", "complaint", "problem_type", "last_resolved_ms", "status_open", "status_ms",
    "status_offset", "reply_count", "first_reply_ms", "reopen_count", "business_line", "product_module", "channel",
  ]

  private func load(_ batch: inout SegmentationBatch, _ session: PostgresSession) throws {
    var tickets: [TicketState] = []
    let ticketIDs = batch.ticketIDs
    if !ticketIDs.isEmpty {
      for row in try session.query(
        PostgresQuery(
          unsafeSQL: "SELECT \(Self.ticketColumns.joined(separator: ", ")) FROM ticket WHERE tenant_id = $1 AND ticket_id = ANY($2)",
          binds: Self.bindings(tenant.rawValue, Array(ticketIDs))))
      {
        let cells = row.makeRandomAccess()
        func int(_ index: Int) throws -> Int64? { try cells[index].decode(Int64?.self) }
        var ticket = TicketState(ticketID: try cells[0].decode(String.self))
        ticket.customerID = try cells[1].decode(String.self)
        ticket.createdMs = try int(2)
        ticket.attributes = TicketAttributes(
          channel: try cells[14].decode(String.self), businessLine: try cells[12].decode(String.self),
          productModule: try cells[13].decode(String.self), problemType: try cells[4].decode(String.self), complaint: try int(3) == 1)
        ticket.lastResolvedMs = try int(5)
        ticket.statusOpen = try int(6).map { $0 == 1 }
        ticket.statusMs = try int(7)
        ticket.statusOffset = try int(8)
        ticket.replyCount = Int(try int(9) ?? 0)
        ticket.firstReplyMs = try int(10)
        ticket.reopenCount = Int(try int(11) ?? 0)
        tickets.append(ticket)
      }
    }
    var profiles: [String: SegmentationBatch.Profile] = [:]
    let customerIDs = batch.profileCustomerIDs
    if !customerIDs.isEmpty {
      for row in try session.query(
        PostgresQuery(
          unsafeSQL: """
            SELECT customer_id, attributes, signup_ms, profile_ms, first_profile_ms FROM customer
            WHERE tenant_id = $1 AND customer_id = ANY($2)
            """, binds: Self.bindings(tenant.rawValue, Array(customerIDs))))
      {
        let (id, json, signup, profile, first) = try row.decode((String, String, Int64?, Int64, Int64).self)
        profiles[id] = SegmentationBatch.Profile(
          attributes: ProfileAttributesJSON.decode(json), signupMs: signup, profileMs: profile, firstProfileMs: first)
      }
    }
    batch.load(tickets: tickets, profiles: profiles)
  }

  private func write(_ batch: SegmentationBatch, _ session: PostgresSession) throws {
    let t = SQLValue.text(tenant.rawValue)
    try session.insert(
      into: "ticket", columns: ["tenant_id"] + Self.ticketColumns,
      rows: batch.changedTickets.map { ticket in
        [
          t, .text(ticket.ticketID), .text(ticket.customerID), .int(ticket.createdMs), .bool(ticket.attributes.complaint),
          .text(ticket.attributes.problemType), .int(ticket.lastResolvedMs), .bool(ticket.statusOpen), .int(ticket.statusMs),
          .int(ticket.statusOffset), .int(ticket.replyCount), .int(ticket.firstReplyMs), .int(ticket.reopenCount),
          .text(ticket.attributes.businessLine), .text(ticket.attributes.productModule), .text(ticket.attributes.channel),
        ]
      },
      tail: "ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
        + Self.ticketColumns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
    try session.insert(
      into: "customer", columns: ["tenant_id", "customer_id", "attributes", "signup_ms", "profile_ms", "first_profile_ms"],
      rows: try batch.changedProfiles.map { id, profile in
        [
          t, .text(id), .text(try ProfileAttributesJSON.encode(profile.attributes)), .int(profile.signupMs),
          .integer(profile.profileMs), .integer(profile.firstProfileMs),
        ]
      },
      tail: """
        ON CONFLICT (tenant_id, customer_id) DO UPDATE SET attributes = excluded.attributes, signup_ms = excluded.signup_ms,
          profile_ms = excluded.profile_ms, first_profile_ms = excluded.first_profile_ms
        """)
    let records = batch.newRecords
    try session.insert(
      into: "answer", columns: ["tenant_id", "response_id", "customer_id", "ticket_id", "scale", "score", "time_ms", "comment"],
      rows: records.answers.map {
        [
          t, .text($0.responseID), .text($0.customerID), .text($0.ticketID), .text($0.scale.rawValue), .int($0.score), .integer($0.timeMs),
          .text($0.comment),
        ]
      }, tail: "ON CONFLICT DO NOTHING")
    try session.insert(
      into: "feedback", columns: ["tenant_id", "id", "customer_id", "ticket_id", "source", "text", "time_ms", "rating"],
      rows: records.texts.map {
        [t, .text($0.id), .text($0.customerID), .text($0.ticketID), .text($0.source), .text($0.text), .integer($0.timeMs), .int($0.rating)]
      }, tail: "ON CONFLICT DO NOTHING")
    try session.insert(
      into: "purchase", columns: ["tenant_id", "order_id", "customer_id", "amount_minor", "time_ms"],
      rows: records.orders.map { [t, .text($0.id), .text($0.customerID), .integer($0.amountMinor), .integer($0.timeMs)] },
      tail: "ON CONFLICT DO NOTHING")
  }

  // MARK: Reads

  /// Customer facts as of the applied offset, read in one repeatable-read transaction, so
  /// the facts and the offset belong together.
  public func customerFacts(changedAfter offset: Int64?) throws -> CustomerFactsUpdate {
    try snapshot { session in
      let applied = try appliedOffset(session)
      guard let offset else {
        return CustomerFactsUpdate(offset: applied, customers: try facts(session, of: nil), changedIDs: nil)
      }
      let changed = try session.query(
        "SELECT customer_id FROM customer_change WHERE tenant_id = \(tenant.rawValue) AND changed_offset > \(offset)"
      ).map { try $0.decode(String.self) }.sorted()
      let customers = changed.isEmpty ? CustomerTable() : try facts(session, of: changed)
      return CustomerFactsUpdate(offset: applied, customers: customers, changedIDs: changed)
    }
  }

  /// The facts of the customers `ids` names (all when nil).
  private func facts(_ session: PostgresSession, of ids: [String]?) throws -> CustomerTable {
    var table = CustomerTable.Builder()
    func each(_ sql: String, orderBy order: String = "", _ body: (PostgresRandomAccessRow) throws -> Void) throws {
      var query = PostgresQuery(
        unsafeSQL: sql + " AND tenant_id = $1" + (ids == nil ? "" : " AND customer_id = ANY($2)")
          + (order.isEmpty ? "" : " ORDER BY \(order)"))
      query.binds.append(tenant.rawValue)
      if let ids { query.binds.append(ids) }
      try session.forEachRow(paging: query, body)
    }
    var parsed = ProfileAttributesJSON.Cache()
    try each("SELECT customer_id, attributes, signup_ms, first_profile_ms FROM customer WHERE TRUE") { cells in
      table.profile(
        try cells[0].decode(String.self), attributes: parsed.decode(try cells[1].decode(String.self)),
        signupMs: try cells[2].decode(Int64?.self), profileMs: try cells[3].decode(Int64.self))
    }
    try each(
      """
      SELECT customer_id, created_ms, complaint, status_open, last_resolved_ms, reply_count, reopen_count, first_reply_ms
      FROM ticket WHERE created_ms IS NOT NULL AND customer_id != ''
      """
    ) { cells in
      func int(_ index: Int) throws -> Int64? { try cells[index].decode(Int64?.self) }
      table.ticket(
        try cells[0].decode(String.self),
        .init(
          createdMs: try int(1) ?? 0, complaint: try int(2) == 1, resolvedMs: try int(3) == 0 ? try int(4) : nil,
          replyCount: Int(try int(5) ?? 0), reopenCount: Int(try int(6) ?? 0), firstReplyMs: try int(7)))
    }
    // Of a customer's answers at the same time the later stored wins (DerivedFigures), so
    // they come in the order they were stored, as SQLite's rowid order gives them there.
    try each("SELECT customer_id, scale, score, time_ms FROM answer WHERE TRUE", orderBy: "stored_seq") { cells in
      guard let scale = SurveyScale(rawValue: try cells[1].decode(String.self)) else { return }
      table.answer(
        try cells[0].decode(String.self),
        .init(scale: scale, score: Int(try cells[2].decode(Int64.self)), timeMs: try cells[3].decode(Int64.self)))
    }
    try each("SELECT customer_id, amount_minor, time_ms FROM purchase WHERE TRUE") { cells in
      table.purchase(
        try cells[0].decode(String.self), .init(amountMinor: try cells[1].decode(Int64.self), timeMs: try cells[2].decode(Int64.self)))
    }
    return table.build()
  }

  public func customerTexts(customerIDs: [String], sinceMs: Int64) throws -> [CustomerText] {
    guard !customerIDs.isEmpty else { return [] }
    return try transaction { session in
      try session.query(
        """
        SELECT customer_id, 'survey', comment, time_ms, ticket_id, scale, score FROM answer
        WHERE tenant_id = \(tenant.rawValue) AND comment != '' AND time_ms >= \(sinceMs) AND customer_id = ANY(\(customerIDs)::text[])
        UNION ALL
        SELECT customer_id, source, text, time_ms, ticket_id, '', rating FROM feedback
        WHERE tenant_id = \(tenant.rawValue) AND time_ms >= \(sinceMs) AND customer_id = ANY(\(customerIDs)::text[])
        ORDER BY 4 DESC
        """
      ).map { row in
        let (customer, source, text, time, ticket, scale, score) = try row.decode(
          (String, String, String, Int64, String, String, Int64).self)
        return CustomerText(
          customerID: customer, source: source, text: text, timeMs: time, ticketID: ticket, scale: scale, score: Int(score))
      }
    }
  }

  public func documents(startMs: Int64?, endMs: Int64?) throws -> [FeedbackDocument] {
    let (start, end) = (startMs ?? .min, endMs ?? .max)
    return try transaction { session in
      let feedback = try session.query(
        """
        SELECT f.id, f.customer_id, COALESCE(t.problem_type, ''), f.text, f.time_ms, f.rating,
          COALESCE(t.business_line, ''), COALESCE(t.product_module, ''), COALESCE(t.channel, '') FROM feedback AS f
        LEFT JOIN ticket AS t ON t.tenant_id = f.tenant_id AND t.ticket_id = f.ticket_id
        WHERE f.tenant_id = \(tenant.rawValue) AND f.time_ms >= \(start) AND f.time_ms < \(end) ORDER BY f.stored_seq
        """
      ).map { row in
        let (id, customer, problem, text, time, rating, line, module, channel) = try row.decode(
          (String, String, String, String, Int64, Int64, String, String, String).self)
        return FeedbackDocument(
          id: id, customerID: customer, problemType: problem, businessLine: line, productModule: module, channel: channel, text: text,
          timeMs: time, lowScore: FeedbackDocument.isLowRating(Int(rating)))
      }
      let comments = try session.query(
        """
        SELECT a.response_id, a.customer_id, COALESCE(t.problem_type, ''), a.comment, a.time_ms, a.scale, a.score,
          COALESCE(t.business_line, ''), COALESCE(t.product_module, ''), COALESCE(t.channel, '') FROM answer AS a
        LEFT JOIN ticket AS t ON t.tenant_id = a.tenant_id AND t.ticket_id = a.ticket_id
        WHERE a.tenant_id = \(tenant.rawValue) AND a.comment != '' AND a.time_ms >= \(start) AND a.time_ms < \(end)
        ORDER BY a.stored_seq
        """
      ).map { row in
        let (id, customer, problem, text, time, scale, score, line, module, channel) = try row.decode(
          (String, String, String, String, Int64, String, Int64, String, String, String).self)
        return FeedbackDocument(
          id: id, customerID: customer, problemType: problem, businessLine: line, productModule: module, channel: channel, text: text,
          timeMs: time,
          lowScore: FeedbackDocument.isLowScore(scale: scale, score: Int(score)))
      }
      return feedback + comments
    }
  }

  // MARK: Settings

  public func windows() throws -> SegmentWindows {
    try transaction { session in
      SegmentWindowRows.windows(
        from: try session.query("SELECT name, value FROM setting WHERE tenant_id = \(tenant.rawValue)").map {
          try $0.decode((String, Double).self)
        })
    }
  }

  public func setWindows(_ windows: SegmentWindows) throws {
    try transaction { session in
      try session.execute("DELETE FROM setting WHERE tenant_id = \(tenant.rawValue)")
      let t = SQLValue.text(tenant.rawValue)
      try session.insert(
        into: "setting", columns: ["tenant_id", "name", "value"],
        rows: SegmentWindowRows.rows(windows).map { [t, .text($0.name), .real($0.value)] })
    }
  }

  // MARK: Segments

  public func saveSegment(name: String, expression: String) throws -> Int64 {
    let now = WallClock.now
    try transaction { session in
      try session.execute(
        """
        INSERT INTO segment (tenant_id, name, expression, created_ms) VALUES (\(tenant.rawValue), \(name), \(expression), \(now))
        ON CONFLICT (tenant_id, name) DO UPDATE SET expression = excluded.expression, created_ms = excluded.created_ms
        """)
    }
    return now
  }

  public func segments() throws -> [(name: String, expression: String, createdMs: Int64)] {
    try transaction { session in
      try session.query("SELECT name, expression, created_ms FROM segment WHERE tenant_id = \(tenant.rawValue) ORDER BY name").map {
        try $0.decode((String, String, Int64).self)
      }
    }
  }

  public func deleteSegment(name: String) throws -> Bool {
    try transaction { session in
      try session.execute("DELETE FROM segment WHERE tenant_id = \(tenant.rawValue) AND name = \(name)") > 0
    }
  }

  private static func bindings(_ tenant: String, _ keys: [String]? = nil) -> PostgresBindings {
    var bindings = PostgresBindings()
    bindings.append(tenant)
    if let keys { bindings.append(keys) }
    return bindings
  }
}
