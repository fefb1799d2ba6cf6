import Foundation
import NIOCore
import PostgresNIO
public import SightlineModel
public import SightlinePostgres
import SightlineStorage

/// The PostgreSQL schema of the metrics state, rollups, alert rules and alerts: the tables
/// of ``MetricsSchema`` (same columns, so exports move between backends), each with
/// `tenant_id` leading every key and index, in the `metrics` schema.
public enum MetricsPostgresSchema: PostgresSchema {
  public static let component = "metrics"
  static let tables = [
    "ticket", "status_event", "survey", "customer", "consumer", "setting", "alert_rule", "alert", "rollup", "rollup_day", "dirty_hour",
  ]
  public static let migrations = [
    PostgresMigration(
      version: 1, name: "metrics state",
      statements: [
        """
        CREATE TABLE ticket (
          tenant_id text NOT NULL, ticket_id text NOT NULL, customer_id text NOT NULL DEFAULT '', created_ms bigint,
          channel text NOT NULL DEFAULT '', region text NOT NULL DEFAULT '', business_line text NOT NULL DEFAULT '',
          agent text NOT NULL DEFAULT '', product_module text NOT NULL DEFAULT '', problem_type text NOT NULL DEFAULT '',
          priority text NOT NULL DEFAULT 'normal', complaint bigint NOT NULL DEFAULT 0, first_reply_ms bigint,
          reply_count bigint NOT NULL DEFAULT 0, first_resolved_ms bigint, last_resolved_ms bigint,
          reopen_count bigint NOT NULL DEFAULT 0, status_open bigint, status_ms bigint, status_offset bigint, next_contact_ms bigint,
          PRIMARY KEY (tenant_id, ticket_id))
        """,
        "CREATE INDEX ticket_by_created ON ticket (tenant_id, created_ms)",
        "CREATE INDEX ticket_by_customer ON ticket (tenant_id, customer_id, created_ms)",
        "CREATE INDEX ticket_unanswered ON ticket (tenant_id, created_ms) WHERE first_reply_ms IS NULL",
        """
        CREATE TABLE status_event (
          tenant_id text NOT NULL, ticket_id text NOT NULL, log_offset bigint NOT NULL, time_ms bigint NOT NULL, open bigint NOT NULL,
          PRIMARY KEY (tenant_id, ticket_id, log_offset))
        """,
        """
        CREATE TABLE survey (
          tenant_id text NOT NULL, response_id text NOT NULL, customer_id text NOT NULL, ticket_id text NOT NULL,
          scale text NOT NULL, score bigint NOT NULL, time_ms bigint NOT NULL, channel text NOT NULL,
          PRIMARY KEY (tenant_id, response_id))
        """,
        "CREATE INDEX survey_by_time ON survey (tenant_id, time_ms)",
        "CREATE INDEX survey_by_ticket ON survey (tenant_id, ticket_id)",
        "CREATE INDEX survey_by_customer ON survey (tenant_id, customer_id)",
        """
        CREATE TABLE customer (
          tenant_id text NOT NULL, customer_id text NOT NULL, type text NOT NULL, tier text NOT NULL, region text NOT NULL,
          profile_ms bigint NOT NULL, PRIMARY KEY (tenant_id, customer_id))
        """,
        """
        CREATE TABLE consumer (
          tenant_id text NOT NULL, id bigint NOT NULL CHECK (id = 1), applied_offset bigint NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        "CREATE TABLE setting (tenant_id text NOT NULL, name text NOT NULL, value text NOT NULL, PRIMARY KEY (tenant_id, name))",
        """
        CREATE TABLE alert_rule (
          tenant_id text NOT NULL, id text NOT NULL, name text NOT NULL, kpi text NOT NULL, by_dimension text,
          window_ms bigint NOT NULL, comparison text, threshold double precision NOT NULL, anomaly bigint NOT NULL,
          min_sample bigint NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        """
        CREATE TABLE alert (
          tenant_id text NOT NULL, id text NOT NULL, rule_id text NOT NULL, kpi text NOT NULL, dimension text,
          dimension_value text NOT NULL, value double precision NOT NULL, sample_size bigint NOT NULL,
          expected_low double precision NOT NULL, expected_high double precision NOT NULL, severity text NOT NULL,
          opened_ms bigint NOT NULL, resolved_ms bigint, window_start_ms bigint NOT NULL, window_end_ms bigint NOT NULL,
          message text NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        "CREATE INDEX alert_open ON alert (tenant_id, rule_id, dimension_value, resolved_ms)",
        """
        CREATE TABLE rollup (
          tenant_id text NOT NULL, dimension text NOT NULL, part text NOT NULL, day_start_ms bigint NOT NULL,
          day_end_ms bigint NOT NULL, value text NOT NULL, summary bytea NOT NULL,
          PRIMARY KEY (tenant_id, dimension, part, day_start_ms, value))
        """,
        """
        CREATE TABLE rollup_day (
          tenant_id text NOT NULL, day_start_ms bigint NOT NULL, day_end_ms bigint NOT NULL, settings text NOT NULL DEFAULT '',
          PRIMARY KEY (tenant_id, day_start_ms))
        """,
        "CREATE INDEX rollup_day_by_end ON rollup_day (tenant_id, day_end_ms)",
        "CREATE TABLE dirty_hour (tenant_id text NOT NULL, hour bigint NOT NULL, PRIMARY KEY (tenant_id, hour))",
      ],
      tenantTables: tables),
    PostgresMigration(
      version: 2, name: "rollup generations",
      statements: [
        // Not part of an export: a counter that only orders the rollup builds of replicas.
        "CREATE TABLE rollup_generation (tenant_id text NOT NULL PRIMARY KEY, generation bigint NOT NULL)"
      ],
      tenantTables: ["rollup_generation"]),
    PostgresMigration(
      version: 3, name: "alert contributors",
      statements: ["ALTER TABLE alert ADD COLUMN contributors text NOT NULL DEFAULT ''"],
      tenantTables: []),
    PostgresMigration(
      version: 4, name: "rollup rows by day",
      // Dropping or replacing a day's rows (the key leads with the series) without reading
      // all of the tenant's.
      statements: ["CREATE INDEX rollup_by_day ON rollup (tenant_id, day_start_ms)"],
      tenantTables: []),
    PostgresMigration(
      version: 5, name: "ticket handle time",
      // Agents' handle time per ticket, from the replies that carry one (docs/workload.md).
      statements: [
        "ALTER TABLE ticket ADD COLUMN handle_ms bigint NOT NULL DEFAULT 0",
        "ALTER TABLE ticket ADD COLUMN handled_replies bigint NOT NULL DEFAULT 0",
      ],
      tenantTables: []),
    PostgresMigration(
      version: 6, name: "alert rule kind",
      // What a rule watches: a KPI, or the staffing gap ahead (docs/workload.md).
      statements: ["ALTER TABLE alert_rule ADD COLUMN kind text NOT NULL DEFAULT 'kpi'"],
      tenantTables: []),
    PostgresMigration(
      version: 7, name: "open tickets",
      // The open tickets of the last days, whose resolution SLA a query judges (docs/kpis.md).
      statements: ["CREATE INDEX ticket_open ON ticket (tenant_id, created_ms) WHERE status_open = 1"],
      tenantTables: []),
    PostgresMigration(
      version: 8, name: "cases",
      // Cases, their history and the case rules (docs/cases.md).
      statements: [
        """
        CREATE TABLE service_case (
          tenant_id text NOT NULL, id text NOT NULL, title text NOT NULL, source text NOT NULL, source_ref text NOT NULL,
          owner text NOT NULL, due_ms bigint NOT NULL, due_business bigint NOT NULL, status text NOT NULL,
          overdue bigint NOT NULL, scope text NOT NULL, action text NOT NULL, opened_ms bigint NOT NULL,
          first_action_ms bigint, closed_ms bigint, version bigint NOT NULL, follow_up_attempts bigint NOT NULL,
          first_follow_up_ms bigint, answer_scale text NOT NULL, answer_score bigint, answer_ms bigint,
          PRIMARY KEY (tenant_id, id))
        """,
        "CREATE INDEX case_by_opened ON service_case (tenant_id, opened_ms)",
        "CREATE INDEX case_by_due ON service_case (tenant_id, status, due_ms)",
        """
        CREATE TABLE case_change (
          tenant_id text NOT NULL, case_id text NOT NULL, version bigint NOT NULL, at_ms bigint NOT NULL, actor text NOT NULL,
          kind text NOT NULL, detail text NOT NULL, PRIMARY KEY (tenant_id, case_id, version))
        """,
        """
        CREATE TABLE case_rules (
          tenant_id text NOT NULL, id bigint NOT NULL CHECK (id = 1), document text NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        "CREATE INDEX survey_by_customer_time ON survey (tenant_id, customer_id, time_ms)",
      ],
      tenantTables: ["service_case", "case_change", "case_rules"]),
    PostgresMigration(
      version: 9, name: "delivery",
      // Endpoints and the outbox of messages about alerts and cases (docs/delivery.md).
      statements: [
        """
        CREATE TABLE delivery_endpoint (
          tenant_id text NOT NULL, id text NOT NULL, name text NOT NULL, kind text NOT NULL, url text NOT NULL,
          secret text NOT NULL, events text NOT NULL, language text NOT NULL, enabled bigint NOT NULL,
          disabled_reason text NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (tenant_id, id))
        """,
        """
        CREATE TABLE outbox_event (
          tenant_id text NOT NULL, id text NOT NULL, kind text NOT NULL, at_ms bigint NOT NULL, payload text NOT NULL,
          fanned_out bigint NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (tenant_id, id))
        """,
        "CREATE INDEX outbox_to_fan_out ON outbox_event (tenant_id, at_ms) WHERE fanned_out = 0",
        """
        CREATE TABLE delivery (
          tenant_id text NOT NULL, event_id text NOT NULL, endpoint_id text NOT NULL, status text NOT NULL,
          attempts bigint NOT NULL, created_ms bigint NOT NULL, next_ms bigint NOT NULL, last_attempt_ms bigint,
          last_error text NOT NULL, delivered_ms bigint, folded_into text NOT NULL,
          PRIMARY KEY (tenant_id, event_id, endpoint_id))
        """,
        "CREATE INDEX delivery_due ON delivery (tenant_id, status, next_ms)",
        "CREATE INDEX delivery_by_endpoint ON delivery (tenant_id, endpoint_id, last_attempt_ms)",
        "CREATE INDEX delivery_by_created ON delivery (tenant_id, created_ms)",
      ],
      tenantTables: ["delivery_endpoint", "outbox_event", "delivery"]),
    PostgresMigration(
      version: 10, name: "case verification",
      // The verified effects of cases' actions, one per horizon (docs/cases.md, "Verified effect").
      statements: [
        """
        CREATE TABLE case_verification (
          tenant_id text NOT NULL, case_id text NOT NULL, horizon_days bigint NOT NULL, document text NOT NULL,
          PRIMARY KEY (tenant_id, case_id, horizon_days))
        """
      ],
      tenantTables: ["case_verification"]),
    PostgresMigration(
      version: 11, name: "verification per action",
      // A case's action can be replaced: each action's horizons are verified on their own,
      // so a verification names the action (its effective time) it judged.
      statements: [
        "ALTER TABLE case_verification ADD COLUMN action_ms bigint NOT NULL DEFAULT 0",
        // Row-level security is forced on the owner too: lifted for this one update of every
        // tenant's rows, inside the migration's transaction.
        "ALTER TABLE case_verification NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE service_case NO FORCE ROW LEVEL SECURITY",
        """
        UPDATE case_verification v SET action_ms = ((c.action::jsonb) ->> 'effectiveMs')::bigint
        FROM service_case c WHERE c.tenant_id = v.tenant_id AND c.id = v.case_id AND c.action <> ''
        """,
        "ALTER TABLE case_verification FORCE ROW LEVEL SECURITY",
        "ALTER TABLE service_case FORCE ROW LEVEL SECURITY",
        "ALTER TABLE case_verification ALTER COLUMN action_ms DROP DEFAULT",
        "ALTER TABLE case_verification DROP CONSTRAINT case_verification_pkey",
        "ALTER TABLE case_verification ADD PRIMARY KEY (tenant_id, case_id, action_ms, horizon_days)",
      ]),
  ]
}

/// Every tenant's metrics state and alerts in one PostgreSQL database.
public typealias PostgresMetricsStores = PostgresTenantStores<MetricsPostgresSchema, MetricsSchema>

extension PostgresTenantStores: MetricsStorage where Schema == MetricsPostgresSchema, Export == MetricsSchema {
  public func metrics(for tenant: TenantID) throws -> any MetricsStore { try store(for: tenant) }
  public func alerts(for tenant: TenantID) throws -> any AlertStore { try store(for: tenant) }
  public func cases(for tenant: TenantID) throws -> any CaseStore { try store(for: tenant) }
  public func deliveries(for tenant: TenantID) throws -> any DeliveryStore { try store(for: tenant) }
  public var sharedByReplicas: Bool { true }
  /// Announced on the control database, where every replica listens.
  public func announce(_ announcement: AlertAnnouncement) throws {
    _ = try shards.main.withSession { session in
      try session.execute("SELECT pg_notify(\(AlertAnnouncementChannel.name), \(AlertAnnouncementChannel.payload(announcement)))")
    }
  }
}

/// The `NOTIFY` channel of ``AlertAnnouncement``s: "rules TENANT", "alert TENANT ID" or
/// "cases TENANT".
public enum AlertAnnouncementChannel {
  public static let name = "sightline_alerts"

  static func payload(_ announcement: AlertAnnouncement) -> String {
    switch announcement {
    case .rulesChanged(let tenant): "rules \(tenant.rawValue)"
    case .alertChanged(let tenant, let id): "alert \(tenant.rawValue) \(id)"
    case .casesChanged(let tenant): "cases \(tenant.rawValue)"
    }
  }

  /// The announcement of a payload; nil for a malformed one.
  public static func parse(_ payload: String) -> AlertAnnouncement? {
    let parts = payload.split(separator: " ").map(String.init)
    switch (parts.first, parts.count) {
    case ("rules", 2): return TenantID(parts[1]).map { .rulesChanged($0) }
    case ("alert", 3): return TenantID(parts[1]).map { .alertChanged($0, id: parts[2]) }
    case ("cases", 2): return TenantID(parts[1]).map { .casesChanged($0) }
    default: return nil
    }
  }
}

/// A tenant's metrics state in PostgreSQL. The fold works out each batch in memory
/// (``MetricsBatch``, as on SQLite) from rows loaded with a few `= ANY($keys)` reads, and
/// writes it back with multi-row statements together with the offset reached, in one
/// transaction: a crash or restart neither loses nor double counts an event.
extension PostgresStore: MetricsStore where Schema == MetricsPostgresSchema {
  // MARK: Fold

  public func appliedOffset() throws -> Int64 {
    try transaction { session in
      try session.value("SELECT applied_offset FROM consumer WHERE tenant_id = \(tenant.rawValue) AND id = 1", as: Int64.self) ?? 0
    }
  }

  @discardableResult
  public func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64, fence: LeaseFence) throws -> Int64 {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      // The consumer row, locked: two folders of one tenant (a lease handed over while the
      // old owner still works) apply one after the other, each seeing the other's offset.
      try session.execute(
        "INSERT INTO consumer (tenant_id, id, applied_offset) VALUES (\(tenant.rawValue), 1, 0) ON CONFLICT (tenant_id, id) DO NOTHING")
      let applied =
        try session.value(
          "SELECT applied_offset FROM consumer WHERE tenant_id = \(tenant.rawValue) AND id = 1 FOR UPDATE", as: Int64.self) ?? 0
      var batch = MetricsBatch(entries.filter { $0.offset > applied })
      if !batch.events.isEmpty {
        try load(&batch, session)
        batch.apply()
        var times: [Int64] = []
        for rows in batch.storedRowsToMark {
          times += try session.query(
            PostgresQuery(
              unsafeSQL: """
                SELECT \(rows.timeColumn) FROM \(rows.table)
                WHERE tenant_id = $1 AND \(rows.keyColumn) = ANY($2) AND \(rows.timeColumn) IS NOT NULL
                """,
              binds: bindings(tenant.rawValue, rows.keys))
          ).map { try $0.decode(Int64.self) }
        }
        batch.markHours(times)
        try write(batch, session)
      }
      let reached = max(applied, throughOffset)
      try session.execute("UPDATE consumer SET applied_offset = \(reached) WHERE tenant_id = \(tenant.rawValue) AND id = 1")
      try session.notifyApplied(component: Schema.component, tenant: tenant, offset: reached)
      return reached
    }
  }

  private static var ticketColumns: [String] {
    [
      "ticket_id", "customer_id", "created_ms", "channel", "region", "business_line", "agent", "product_module", "problem_type",
      "priority", "complaint", "first_reply_ms", "reply_count", "first_resolved_ms", "last_resolved_ms", "reopen_count",
      "status_open", "status_ms", "status_offset", "next_contact_ms", "handle_ms", "handled_replies",
    ]
  }

  private func tickets(where condition: String, keys: some Collection<String>, _ session: PostgresSession) throws -> [TicketState] {
    guard !keys.isEmpty else { return [] }
    return try session.query(
      PostgresQuery(
        unsafeSQL: "SELECT \(Self.ticketColumns.joined(separator: ", ")) FROM ticket WHERE tenant_id = $1 AND \(condition)",
        binds: bindings(tenant.rawValue, Array(keys)))
    ).map(Self.ticket)
  }

  /// Loads the batch's tickets, all the tickets of the customers whose next contacts it may
  /// change, the profiles it may replace and which of its answers are already stored.
  private func load(_ batch: inout MetricsBatch, _ session: PostgresSession) throws {
    let byID = try tickets(where: "ticket_id = ANY($2)", keys: batch.ticketIDs, session)
    batch.load(tickets: byID)
    let customers = batch.customersToLoad(Dictionary(byID.map { ($0.ticketID, $0) }, uniquingKeysWith: { a, _ in a }))
    batch.load(tickets: try tickets(where: "customer_id = ANY($2) AND created_ms IS NOT NULL", keys: customers, session))
    var profiles: [String: MetricsBatch.Profile] = [:]
    let profileIDs = batch.profileCustomerIDs
    if !profileIDs.isEmpty {
      for row in try session.query(
        "SELECT customer_id, type, tier, region, profile_ms FROM customer WHERE tenant_id = \(tenant.rawValue) AND customer_id = ANY(\(Array(profileIDs)))"
      ) {
        let (id, type, tier, region, ms) = try row.decode((String, String, String, String, Int64).self)
        profiles[id] = MetricsBatch.Profile(type: type, tier: tier, region: region, profileMs: ms)
      }
    }
    batch.load(profiles: profiles)
    let answerIDs = batch.answerIDs
    if !answerIDs.isEmpty {
      batch.load(
        storedAnswers: try session.query(
          "SELECT response_id FROM survey WHERE tenant_id = \(tenant.rawValue) AND response_id = ANY(\(answerIDs))"
        ).map { try $0.decode(String.self) })
    }
  }

  private static func ticket(_ row: PostgresRow) throws -> TicketState {
    let cells = row.makeRandomAccess()
    func int(_ index: Int) throws -> Int64? { try cells[index].decode(Int64?.self) }
    var ticket = TicketState(ticketID: try cells[0].decode(String.self))
    ticket.customerID = try cells[1].decode(String.self)
    ticket.createdMs = try int(2)
    ticket.attributes = TicketAttributes(
      channel: try cells[3].decode(String.self), region: try cells[4].decode(String.self),
      businessLine: try cells[5].decode(String.self), agent: try cells[6].decode(String.self),
      productModule: try cells[7].decode(String.self), problemType: try cells[8].decode(String.self),
      priority: TicketPriority(rawValue: try cells[9].decode(String.self)) ?? .normal, complaint: try int(10) == 1)
    ticket.firstReplyMs = try int(11)
    ticket.replyCount = Int(try int(12) ?? 0)
    ticket.firstResolvedMs = try int(13)
    ticket.lastResolvedMs = try int(14)
    ticket.reopenCount = Int(try int(15) ?? 0)
    ticket.statusOpen = try int(16).map { $0 == 1 }
    ticket.statusMs = try int(17)
    ticket.statusOffset = try int(18)
    ticket.nextContactMs = try int(19)
    ticket.handleMs = try int(20) ?? 0
    ticket.handledReplies = Int(try int(21) ?? 0)
    return ticket
  }

  /// Writes what the batch changed: tickets (whole rows, upserted), status events,
  /// answers, profiles and the hours to roll up again.
  private func write(_ batch: MetricsBatch, _ session: PostgresSession) throws {
    let t = SQLValue.text(tenant.rawValue)
    try session.insert(
      into: "ticket", columns: ["tenant_id"] + Self.ticketColumns,
      rows: batch.changedTickets.map { ticket in
        let a = ticket.attributes
        return [
          t, .text(ticket.ticketID), .text(ticket.customerID), .int(ticket.createdMs), .text(a.channel), .text(a.region),
          .text(a.businessLine), .text(a.agent), .text(a.productModule), .text(a.problemType), .text(a.priority.rawValue),
          .bool(a.complaint), .int(ticket.firstReplyMs), .int(ticket.replyCount), .int(ticket.firstResolvedMs),
          .int(ticket.lastResolvedMs), .int(ticket.reopenCount), .bool(ticket.statusOpen), .int(ticket.statusMs),
          .int(ticket.statusOffset), .int(ticket.nextContactMs), .integer(ticket.handleMs), .int(ticket.handledReplies),
        ]
      },
      tail: "ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
        + Self.ticketColumns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
    try session.insert(
      into: "status_event", columns: ["tenant_id", "ticket_id", "log_offset", "time_ms", "open"],
      rows: batch.statusEvents.map { [t, .text($0.ticketID), .integer($0.offset), .integer($0.timeMs), .bool($0.open)] },
      tail: "ON CONFLICT DO NOTHING")
    try session.insert(
      into: "survey", columns: ["tenant_id", "response_id", "customer_id", "ticket_id", "scale", "score", "time_ms", "channel"],
      rows: batch.newAnswers.map {
        [
          t, .text($0.responseID), .text($0.customerID), .text($0.ticketID), .text($0.scale.rawValue), .int($0.score),
          .integer($0.timeMs), .text($0.channel),
        ]
      },
      tail: "ON CONFLICT DO NOTHING")
    try session.insert(
      into: "customer", columns: ["tenant_id", "customer_id", "type", "tier", "region", "profile_ms"],
      rows: batch.changedProfiles.map {
        [t, .text($0.customerID), .text($0.profile.type), .text($0.profile.tier), .text($0.profile.region), .integer($0.profile.profileMs)]
      },
      tail: """
        ON CONFLICT (tenant_id, customer_id) DO UPDATE SET type = excluded.type, tier = excluded.tier, region = excluded.region,
          profile_ms = excluded.profile_ms
        """)
    try session.insert(
      into: "dirty_hour", columns: ["tenant_id", "hour"], rows: batch.changedHours.map { [t, .integer($0)] },
      tail: "ON CONFLICT DO NOTHING")
  }

  // MARK: KPI reads

  public func forEachTicket(_ selection: KpiSelection, _ body: (TicketFacts, [String]) throws -> Void) throws {
    var builder = KpiReadSQL(.postgres)
    let (sql, values) = builder.tickets(selection)
    let groups = selection.groupBy.count
    try read(sql, [.integer(selection.startMs), .integer(selection.endMs)] + values.map(SQLValue.text)) { cells in
      func int(_ index: Int) throws -> Int64? { try cells[index].decode(Int64?.self) }
      var facts = TicketFacts(
        createdMs: try int(0) ?? 0, priority: TicketPriority(rawValue: try cells[1].decode(String.self)) ?? .normal,
        complaint: try int(2) == 1, firstReplyMs: try int(3), replyCount: Int(try int(4) ?? 0), firstResolvedMs: try int(5),
        lastResolvedMs: try int(6), reopenCount: Int(try int(7) ?? 0), isResolved: try int(8) == 0, nextContactMs: try int(9),
        handleMs: try int(10) ?? 0, handledReplies: Int(try int(11) ?? 0))
      if selection.ticketLines {
        facts.businessLine = try cells[KpiReadSQL.ticketFactColumns + groups].decode(String?.self) ?? ""
        facts.channel = try cells[KpiReadSQL.ticketFactColumns + groups + 1].decode(String?.self) ?? ""
      }
      try body(facts, try (0..<groups).map { try cells[KpiReadSQL.ticketFactColumns + $0].decode(String?.self) ?? "" })
    }
  }

  public func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws {
    var builder = KpiReadSQL(.postgres)
    let (sql, values) = builder.surveys(selection)
    let groups = selection.groupBy.count + (selection.surveyServiceTime ? 1 : 0)
    try read(sql, [.integer(selection.startMs), .integer(selection.endMs)] + values.map(SQLValue.text)) { cells in
      guard let scale = SurveyScale(rawValue: try cells[0].decode(String.self)) else { return }
      try body(
        SurveyFact(scale: scale, score: Int(try cells[1].decode(Int64.self))), try cells[2].decode(Int64.self),
        try (0..<groups).map { try cells[3 + $0].decode(String?.self) ?? "" })
    }
  }

  public func forEachStatusHistory(
    filters: [KpiDimension: [String]], groupBy: [KpiDimension], sinceMs: Int64, beforeMs: Int64,
    _ body: ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
  ) throws {
    var builder = KpiReadSQL(.postgres)
    let (sql, values) = builder.statusHistories(filters: filters, groupBy: groupBy)
    var histories = StatusHistories(groups: groupBy.count)
    try read(sql, [.integer(beforeMs), .integer(sinceMs)] + values.map(SQLValue.text)) { cells in
      var labelError: (any Error)?
      try histories.add(
        ticket: try cells[0].decode(String.self), timeMs: try cells[1].decode(Int64.self), open: try cells[2].decode(Int64.self) == 1,
        label: { index in
          do { return try cells[3 + index].decode(String?.self) ?? "" } catch {
            labelError = error
            return ""
          }
        }, to: body)
      if let labelError { throw labelError }
    }
    try histories.finish(to: body)
  }

  /// Runs a KPI read (`$1` the tenant, then `values`) in the tenant's transaction, calling
  /// `row` with each result row, page by page.
  private func read(_ sql: String, _ values: [SQLValue], _ row: (PostgresRandomAccessRow) throws -> Void) throws {
    try transaction { session in
      var bindings = PostgresBindings()
      bindings.append(tenant.rawValue)
      for value in values { value.bind(to: &bindings) }
      try session.forEachRow(paging: PostgresQuery(unsafeSQL: sql, binds: bindings), row)
    }
  }

  // MARK: Settings

  public func settings() throws -> KpiSettings {
    try transaction { session in try settings(session) }
  }

  private func settings(_ session: PostgresSession) throws -> KpiSettings {
    KpiSettingRows.settings(
      from: try session.query("SELECT name, value FROM setting WHERE tenant_id = \(tenant.rawValue)").map {
        try $0.decode((String, String).self)
      })
  }

  public func setSettings(_ settings: KpiSettings) throws {
    try transaction { session in
      // Rollups hold SLA, complaint and repeat-contact counts under the old settings, and
      // days of the old time zone; cockpit targets change none of them.
      if try self.settings(session).fingerprint != settings.fingerprint { try dropRollups(session) }
      try session.execute("DELETE FROM setting WHERE tenant_id = \(tenant.rawValue)")
      let t = SQLValue.text(tenant.rawValue)
      try session.insert(
        into: "setting", columns: ["tenant_id", "name", "value"],
        rows: KpiSettingRows.rows(settings).map { [t, .text($0.name), .text($0.value)] })
    }
  }

  // MARK: Rollups

  private func dropRollups(_ session: PostgresSession) throws {
    for table in ["rollup", "rollup_day", "dirty_hour"] {
      try session.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE tenant_id = $1", binds: bindings(tenant.rawValue)))
    }
  }

  /// Replicas share the rollups, and each runs this before building and reading: the
  /// generation row orders them. Invalidation bumps it (when there are marks to clear)
  /// before it drops anything, so its row lock waits for any store in flight (which holds
  /// the row `FOR SHARE`) and its deletes then see that store's day; a store checks the
  /// generation it built under is still current, so it never lands a day read before a
  /// change whose mark another replica cleared meanwhile.
  public func invalidateChangedRollups() throws -> BuiltRollups {
    try transaction { session in
      try ensureGenerationRow(session)
      try session.execute(
        """
        UPDATE rollup_generation SET generation = generation + 1
        WHERE tenant_id = \(tenant.rawValue) AND EXISTS (SELECT 1 FROM dirty_hour WHERE tenant_id = \(tenant.rawValue))
        """)
      // The stale days first, then deletes by that list: as one `IN (subquery)` the planner
      // could run the range join once per rollup row (fresh tables have no statistics),
      // which took over 20 s after an import on a loaded machine.
      let stale = try session.query(
        """
        SELECT DISTINCT d.day_start_ms FROM dirty_hour AS h JOIN rollup_day AS d
          ON d.tenant_id = h.tenant_id AND d.day_end_ms > h.hour * 3600000 AND d.day_start_ms < (h.hour + 1) * 3600000
        WHERE h.tenant_id = \(tenant.rawValue)
        """
      ).map { try $0.decode(Int64.self) }
      if !stale.isEmpty {
        try session.execute("DELETE FROM rollup WHERE tenant_id = \(tenant.rawValue) AND day_start_ms = ANY(\(stale))")
        try session.execute("DELETE FROM rollup_day WHERE tenant_id = \(tenant.rawValue) AND day_start_ms = ANY(\(stale))")
      }
      try session.execute("DELETE FROM dirty_hour WHERE tenant_id = \(tenant.rawValue)")
      let generation =
        try session.value(
          "SELECT generation FROM rollup_generation WHERE tenant_id = \(tenant.rawValue)", as: Int64.self) ?? 0
      return BuiltRollups(days: try builtDays(session, fromMs: .min, toMs: .max), generation: generation)
    }
  }

  private func ensureGenerationRow(_ session: PostgresSession) throws {
    try session.execute(
      "INSERT INTO rollup_generation (tenant_id, generation) VALUES (\(tenant.rawValue), 0) ON CONFLICT (tenant_id) DO NOTHING")
  }

  public func unchangedRollupDays(fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay] {
    try snapshot { session in
      let hours = BuiltDay.markedHours(fromMs: fromMs, toMs: toMs)
      let marked = try session.query(
        """
        SELECT hour FROM dirty_hour
        WHERE tenant_id = \(tenant.rawValue) AND hour >= \(hours.lowerBound) AND hour <= \(hours.upperBound)
        """
      ).map { try $0.decode(Int64.self) }
      return BuiltDay.unchanged(try builtDays(session, fromMs: fromMs, toMs: toMs), markedHours: marked)
    }
  }

  private func builtDays(_ session: PostgresSession, fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay] {
    var days: [Int64: BuiltDay] = [:]
    for row in try session.query(
      """
      SELECT day_start_ms, day_end_ms, settings FROM rollup_day
      WHERE tenant_id = \(tenant.rawValue) AND day_start_ms >= \(fromMs) AND day_start_ms < \(toMs)
      """)
    {
      let (start, end, settings) = try row.decode((Int64, Int64, String).self)
      days[start] = BuiltDay(endMs: end, settings: settings)
    }
    return days
  }

  public func storeRollups(dayStartMs: Int64, dayEndMs: Int64, settings: String, rows: [RollupEntry], generation: Int64) throws {
    try transaction { session in
      try ensureGenerationRow(session)
      let current = try session.value(
        "SELECT generation FROM rollup_generation WHERE tenant_id = \(tenant.rawValue) FOR SHARE", as: Int64.self)
      // Another replica invalidated since this build read its rows: the day may be stale.
      guard current == generation else { return }
      // Two replicas storing the same day take turns (each replaces the day whole).
      try session.execute("SELECT pg_advisory_xact_lock(\(Self.rollupStoreLockClass), hashtext(\(tenant.rawValue)))")
      try session.execute("DELETE FROM rollup WHERE tenant_id = \(tenant.rawValue) AND day_start_ms = \(dayStartMs)")
      let t = SQLValue.text(tenant.rawValue)
      try session.insert(
        into: "rollup", columns: ["tenant_id", "dimension", "part", "day_start_ms", "day_end_ms", "value", "summary"],
        rows: rows.map {
          [
            t, .text($0.series.key), .text($0.part.rawValue), .integer(dayStartMs), .integer(dayEndMs), .text($0.value),
            .blob(Data($0.accumulator.encoded())),
          ]
        })
      try session.execute(
        """
        INSERT INTO rollup_day (tenant_id, day_start_ms, day_end_ms, settings) VALUES (\(tenant.rawValue), \(dayStartMs), \(dayEndMs), \(settings))
        ON CONFLICT (tenant_id, day_start_ms) DO UPDATE SET day_end_ms = excluded.day_end_ms, settings = excluded.settings
        """)
    }
  }

  /// The advisory lock class of rollup stores (the tenant's hash is the other half).
  static var rollupStoreLockClass: Int32 { 0x524f_4c4c }  // "ROLL"

  public func rollups(
    series: RollupSeries, part: RollupPart, fromMs: Int64, toMs: Int64, valuePrefix: String, timeDistributions: Bool
  ) throws -> RollupRead {
    // One snapshot for the rows and the days, so a day dropped in between is missing from both.
    try snapshot { session in
      // left() counts characters (Unicode scalars), as the prefix's length does.
      let prefixed = valuePrefix.isEmpty ? "" : " AND left(value, \(valuePrefix.unicodeScalars.count)) = $6"
      var binds = PostgresBindings()
      binds.append(tenant.rawValue)
      binds.append(series.key)
      binds.append(part.rawValue)
      binds.append(fromMs)
      binds.append(toMs)
      if !valuePrefix.isEmpty { binds.append(valuePrefix) }
      let rows = try session.query(
        PostgresQuery(
          unsafeSQL: """
            SELECT day_start_ms, day_end_ms, value, summary FROM rollup
            WHERE tenant_id = $1 AND dimension = $2 AND part = $3 AND day_start_ms >= $4 AND day_start_ms < $5\(prefixed)
            """, binds: binds)
      ).map { row in
        let (start, end, value, summary) = try row.decode((Int64, Int64, String, ByteBuffer).self)
        return RollupRow(
          dayStartMs: start, dayEndMs: end, value: value,
          accumulator: try KpiAccumulator(encoded: Array(summary.readableBytesView), timeDistributions: timeDistributions))
      }
      return RollupRead(rows: rows, built: try builtDays(session, fromMs: fromMs, toMs: toMs))
    }
  }
}

/// Bindings of `values`, in order.
private func bindings(_ values: String...) -> PostgresBindings {
  var bindings = PostgresBindings()
  for value in values { bindings.append(value) }
  return bindings
}

/// Bindings of the tenant, then a key array.
private func bindings(_ tenant: String, _ keys: [String]) -> PostgresBindings {
  var bindings = PostgresBindings()
  bindings.append(tenant)
  bindings.append(keys)
  return bindings
}
