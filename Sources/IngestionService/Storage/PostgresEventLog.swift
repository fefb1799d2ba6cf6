import Foundation
import NIOCore
import PostgresNIO
public import SightlineModel
public import SightlinePostgres
import SightlineStorage

/// The PostgreSQL schema of the event log: the SQLite tables (``EventLogSchema``), each
/// with `tenant_id` leading its key, in the `ingestion` schema.
public enum EventLogPostgresSchema: PostgresSchema {
  public static let component = "ingestion"
  /// The `NOTIFY` channel every commit is announced on, as "TENANT OFFSET".
  public static let notificationChannel = "sightline_log"
  /// Exports list events in log order.
  public static let exportOrder = ["event": "\"offset\""]
  public static let migrations = [
    PostgresMigration(
      version: 1, name: "event log",
      statements: [
        """
        CREATE TABLE event (
          tenant_id text NOT NULL,
          "offset" bigint NOT NULL,
          event_id text NOT NULL,
          kind text NOT NULL,
          event_time_ms bigint NOT NULL,
          ingested_at_ms bigint NOT NULL,
          payload bytea NOT NULL,
          PRIMARY KEY (tenant_id, "offset"),
          UNIQUE (tenant_id, event_id)
        )
        """,
        "CREATE TABLE counter (tenant_id text NOT NULL, name text NOT NULL, value bigint NOT NULL, PRIMARY KEY (tenant_id, name))",
        """
        CREATE TABLE alias (
          tenant_id text NOT NULL, field text NOT NULL, raw text NOT NULL, canonical text NOT NULL,
          PRIMARY KEY (tenant_id, field, raw))
        """,
        """
        CREATE TABLE ticket_created (
          tenant_id text NOT NULL, ticket_id text NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (tenant_id, ticket_id))
        """,
      ],
      tenantTables: ["event", "counter", "alias", "ticket_created"]),
    PostgresMigration(
      version: 2, name: "secrets",
      statements: [
        "CREATE TABLE secret (tenant_id text NOT NULL, name text NOT NULL, value bytea NOT NULL, PRIMARY KEY (tenant_id, name))"
      ],
      tenantTables: ["secret"]),
  ]
}

/// Every tenant's event log in one PostgreSQL database.
public typealias PostgresEventLogs = PostgresTenantStores<EventLogPostgresSchema, EventLogSchema>

extension PostgresTenantStores: EventLogStorage where Schema == EventLogPostgresSchema, Export == EventLogSchema {
  public func log(for tenant: TenantID) throws -> any EventLog { try store(for: tenant) }
  /// No handle per tenant: every log shares the pool.
  public var openCount: Int { 0 }
}

/// A tenant's event log in PostgreSQL.
///
/// Offsets are gapless and unique per tenant even with several writers (replicas): each
/// append takes the tenant's transaction-scoped advisory lock, reads the last offset, and
/// numbers its new records after it, so appends of one tenant commit one after another and
/// become visible in offset order. A batch is one set-based insert, acknowledged after the
/// commit.
extension PostgresStore: EventLog where Schema == EventLogPostgresSchema {
  /// The advisory lock class of appends (the tenant's hash is the other half of the key).
  static var appendLockClass: Int32 { 0x5349_474c }  // "SIGL"

  public func append(_ records: [LogRecord], rejected: Int) throws -> AppendOutcome {
    let now = WallClock.now
    return try transaction { session in
      try session.execute("SELECT pg_advisory_xact_lock(\(Self.appendLockClass), hashtext(\(tenant.rawValue)))")
      var last = try lastOffset(session)
      let ids = records.map(\.eventID)
      var seen = Set(
        try session.query("SELECT event_id FROM event WHERE tenant_id = \(tenant.rawValue) AND event_id = ANY(\(ids))")
          .map { try $0.decode(String.self) })
      var duplicates: [Int] = []
      var fresh = FreshRecords()
      var created: [String: Int64] = [:]
      var redacted: [LogRecord] = []
      for (index, record) in records.enumerated() {
        guard seen.insert(record.eventID).inserted else {
          duplicates.append(index)
          continue
        }
        last += 1
        fresh.append(record, offset: last, ingestedAtMs: now)
        if let ticket = record.createsTicket { created[ticket] = min(created[ticket] ?? .max, record.eventTimeMs) }
        if !record.redacted.isEmpty { redacted.append(record) }
      }
      if !fresh.offsets.isEmpty {
        try session.execute(
          """
          INSERT INTO event (tenant_id, "offset", event_id, kind, event_time_ms, ingested_at_ms, payload)
          SELECT \(tenant.rawValue), * FROM unnest(
            \(fresh.offsets)::bigint[], \(fresh.ids)::text[], \(fresh.kinds)::text[], \(fresh.eventTimes)::bigint[],
            \(fresh.ingestedTimes)::bigint[], \(fresh.payloads)::bytea[])
          """)
      }
      if !created.isEmpty {
        try session.execute(
          """
          INSERT INTO ticket_created (tenant_id, ticket_id, created_ms)
          SELECT \(tenant.rawValue), * FROM unnest(\(Array(created.keys))::text[], \(Array(created.values))::bigint[])
          ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET created_ms = LEAST(ticket_created.created_ms, excluded.created_ms)
          """)
      }
      try bump(session, "duplicates", by: duplicates.count)
      try bump(session, "rejections", by: rejected)
      for (name, count) in RedactionSettings.counts(redacted) { try bump(session, name, by: count) }
      if !fresh.offsets.isEmpty {
        // Delivered at the commit, to every process listening (LogNotificationListener).
        try session.execute("SELECT pg_notify(\(EventLogPostgresSchema.notificationChannel), \(tenant.rawValue + " " + String(last)))")
      }
      return AppendOutcome(accepted: records.count - duplicates.count, duplicateIndices: duplicates, lastOffset: last)
    }
  }

  /// The columns of the records a batch adds, as arrays for one `unnest` insert.
  private struct FreshRecords {
    var offsets: [Int64] = []
    var ids: [String] = []
    var kinds: [String] = []
    var eventTimes: [Int64] = []
    var ingestedTimes: [Int64] = []
    var payloads: [ByteBuffer] = []

    mutating func append(_ record: LogRecord, offset: Int64, ingestedAtMs: Int64) {
      offsets.append(offset)
      ids.append(record.eventID)
      kinds.append(record.kind)
      eventTimes.append(record.eventTimeMs)
      ingestedTimes.append(ingestedAtMs)
      payloads.append(ByteBuffer(bytes: record.payload))
    }
  }

  public func recordRejections(_ count: Int) throws {
    guard count > 0 else { return }
    try transaction { session in try bump(session, "rejections", by: count) }
  }

  private func bump(_ session: PostgresSession, _ name: String, by amount: Int) throws {
    guard amount > 0 else { return }
    try session.execute(
      """
      INSERT INTO counter (tenant_id, name, value) VALUES (\(tenant.rawValue), \(name), \(Int64(amount)))
      ON CONFLICT (tenant_id, name) DO UPDATE SET value = counter.value + excluded.value
      """)
  }

  private func lastOffset(_ session: PostgresSession) throws -> Int64 {
    try session.value(#"SELECT COALESCE(MAX("offset"), 0)::bigint FROM event WHERE tenant_id = \#(tenant.rawValue)"#, as: Int64.self)
      ?? 0
  }

  public func records(after offset: Int64, limit: Int) throws -> [StoredLogRecord] {
    try transaction { session in
      // Entries emptied by retention are skipped (their offsets stay taken).
      try session.query(
        #"""
        SELECT "offset", event_id, kind, event_time_ms, ingested_at_ms, payload FROM event
        WHERE tenant_id = \#(tenant.rawValue) AND "offset" > \#(offset) AND length(payload) > 0
        ORDER BY "offset" LIMIT \#(Int64(limit))
        """#
      ).map { row in
        let (offset, id, kind, eventTime, ingestedAt, payload) = try row.decode((Int64, String, String, Int64, Int64, ByteBuffer).self)
        return StoredLogRecord(
          offset: offset, record: LogRecord(eventID: id, kind: kind, eventTimeMs: eventTime, payload: Data(payload.readableBytesView)),
          ingestedAtMs: ingestedAt)
      }
    }
  }

  public func lastOffset() throws -> Int64 { try transaction { try lastOffset($0) } }

  public func statistics() throws -> LogStatistics {
    try transaction { session in
      var byKind: [String: Int64] = [:]
      for row in try session.query("SELECT kind, count(*)::bigint FROM event WHERE tenant_id = \(tenant.rawValue) GROUP BY kind") {
        let (kind, count) = try row.decode((String, Int64).self)
        byKind[kind] = count
      }
      var counters: [String: Int64] = [:]
      for row in try session.query("SELECT name, value FROM counter WHERE tenant_id = \(tenant.rawValue)") {
        let (name, value) = try row.decode((String, Int64).self)
        counters[name] = value
      }
      return LogStatistics(lastOffset: try lastOffset(session), countsByKind: byKind, counters: counters)
    }
  }

  public func creationTimes(of tickets: Set<String>) throws -> [String: Int64] {
    guard !tickets.isEmpty else { return [:] }
    return try transaction { session in
      var times: [String: Int64] = [:]
      for row in try session.query(
        "SELECT ticket_id, created_ms FROM ticket_created WHERE tenant_id = \(tenant.rawValue) AND ticket_id = ANY(\(Array(tickets)))")
      {
        let (ticket, ms) = try row.decode((String, Int64).self)
        times[ticket] = ms
      }
      return times
    }
  }

  public func retainDays() throws -> Int {
    try transaction { session in
      Int(
        try session.value("SELECT value FROM counter WHERE tenant_id = \(tenant.rawValue) AND name = 'retain_days'", as: Int64.self) ?? 0)
    }
  }

  public func setRetainDays(_ days: Int) throws {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO counter (tenant_id, name, value) VALUES (\(tenant.rawValue), 'retain_days', \(Int64(days)))
        ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value
        """)
    }
  }

  /// Empties the content of every event whose event time is before `cutoffMs`, keeping its
  /// row, so offsets stay taken and a re-sent id is still a duplicate.
  public func prune(before cutoffMs: Int64) throws -> Int {
    try transaction { session in
      let pruned = try session.execute(
        """
        UPDATE event SET payload = ''::bytea
        WHERE tenant_id = \(tenant.rawValue) AND event_time_ms < \(cutoffMs) AND length(payload) > 0
        """)
      try bump(session, "pruned", by: pruned)
      return pruned
    }
  }

  public func setAliases(field: String, _ aliases: [String: String]) throws -> [String: String] {
    let normalised = AliasKey.normalise(aliases)
    try transaction { session in
      try session.execute("DELETE FROM alias WHERE tenant_id = \(tenant.rawValue) AND field = \(field)")
      guard !normalised.isEmpty else { return }
      try session.execute(
        """
        INSERT INTO alias (tenant_id, field, raw, canonical)
        SELECT \(tenant.rawValue), \(field), * FROM unnest(\(Array(normalised.keys))::text[], \(Array(normalised.values))::text[])
        """)
    }
    return normalised
  }

  public func aliases(field: String) throws -> [String: String] {
    try transaction { session in
      var aliases: [String: String] = [:]
      for row in try session.query("SELECT raw, canonical FROM alias WHERE tenant_id = \(tenant.rawValue) AND field = \(field)") {
        let (raw, canonical) = try row.decode((String, String).self)
        aliases[raw] = canonical
      }
      return aliases
    }
  }

  public func redactionSettings() throws -> RedactionSettings {
    try transaction { session in
      let policy = try session.value(
        "SELECT value FROM counter WHERE tenant_id = \(tenant.rawValue) AND name = \(RedactionSettings.policyCounter)", as: Int64.self)
      let select: PostgresQuery = "SELECT value FROM secret WHERE tenant_id = \(tenant.rawValue) AND name = \(RedactionSettings.keyName)"
      var key = try session.value(select, as: ByteBuffer.self)
      if key == nil {
        // First use makes the key; with replicas racing, the first insert wins and all read it.
        try session.execute(
          """
          INSERT INTO secret (tenant_id, name, value)
          VALUES (\(tenant.rawValue), \(RedactionSettings.keyName), \(ByteBuffer(bytes: RedactionSettings.newKey())))
          ON CONFLICT (tenant_id, name) DO NOTHING
          """)
        key = try session.value(select, as: ByteBuffer.self)
      }
      return RedactionSettings(policy: RedactionSettings.policy(stored: policy), key: Array(key?.readableBytesView ?? []))
    }
  }

  public func setRedactionPolicy(_ policy: RedactionPolicy) throws {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO counter (tenant_id, name, value)
        VALUES (\(tenant.rawValue), \(RedactionSettings.policyCounter), \(RedactionSettings.stored(policy)))
        ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value
        """)
    }
  }
}
