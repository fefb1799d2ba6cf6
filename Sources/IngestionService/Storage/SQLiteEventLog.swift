public import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The SQLite schema of the event log.
public enum EventLogSchema: SQLiteSchema {
  public static let migrations = [
    SQLiteMigration(
      "v1",
      """
      CREATE TABLE event (
        "offset" INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        event_time_ms INTEGER NOT NULL,
        ingested_at_ms INTEGER NOT NULL,
        payload BLOB NOT NULL
      );
      CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE alias (
        field TEXT NOT NULL, raw TEXT NOT NULL, canonical TEXT NOT NULL,
        PRIMARY KEY (field, raw)
      );
      """),
    SQLiteMigration("v2-ticket-created", "CREATE TABLE ticket_created (ticket_id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL)"),
    SQLiteMigration("v3-secret", "CREATE TABLE secret (name TEXT PRIMARY KEY, value BLOB NOT NULL)"),
  ]
}

/// A tenant's append-only, de-duplicated event log in SQLite.
///
/// Offsets are assigned as `last + 1` inside the write transaction, so they are gapless and
/// strictly increasing, and a batch is visible (and acknowledged) only once it committed.
public typealias SQLiteEventLog = SQLiteStore<EventLogSchema>

extension SQLiteStore: EventLog where Schema == EventLogSchema {

  /// Creation times of the given tickets, for those whose `created` event is stored.
  public func creationTimes(of tickets: Set<String>) throws -> [String: Int64] {
    guard !tickets.isEmpty else { return [:] }
    return try writer.read { db in
      var times: [String: Int64] = [:]
      let statement = try db.cachedStatement(sql: "SELECT created_ms FROM ticket_created WHERE ticket_id = ?")
      for ticket in tickets {
        if let ms = try Int64.fetchOne(statement, arguments: [ticket]) { times[ticket] = ms }
      }
      return times
    }
  }

  /// Appends `records` in one transaction, skipping duplicates, and counts `rejected`
  /// records of the same batch. Returns after the commit.
  public func append(_ records: [LogRecord], rejected: Int) throws -> AppendOutcome {
    let now = WallClock.now
    return try writer.write { db in
      var last = try Int64.fetchOne(db, sql: #"SELECT COALESCE(MAX("offset"), 0) FROM event"#) ?? 0
      let insert = try db.cachedStatement(
        sql: #"INSERT OR IGNORE INTO event ("offset", event_id, kind, event_time_ms, ingested_at_ms, payload) VALUES (?, ?, ?, ?, ?, ?)"#)
      var duplicates: [Int] = []
      var stored: [LogRecord] = []
      let created = try db.cachedStatement(
        sql:
          "INSERT INTO ticket_created (ticket_id, created_ms) VALUES (?, ?) ON CONFLICT(ticket_id) DO UPDATE SET created_ms = MIN(created_ms, excluded.created_ms)"
      )
      for (index, record) in records.enumerated() {
        try insert.execute(arguments: [last + 1, record.eventID, record.kind, record.eventTimeMs, now, record.payload])
        if db.changesCount == 1 {
          last += 1
          if let ticket = record.createsTicket { try created.execute(arguments: [ticket, record.eventTimeMs]) }
          if !record.redacted.isEmpty { stored.append(record) }
        } else {
          duplicates.append(index)
        }
      }
      try bump(db, "duplicates", by: duplicates.count)
      try bump(db, "rejections", by: rejected)
      for (name, count) in RedactionSettings.counts(stored) { try bump(db, name, by: count) }
      return AppendOutcome(accepted: records.count - duplicates.count, duplicateIndices: duplicates, lastOffset: last)
    }
  }

  /// Counts rejected records of a batch that stored nothing.
  public func recordRejections(_ count: Int) throws {
    guard count > 0 else { return }
    try writer.write { db in try bump(db, "rejections", by: count) }
  }

  private func bump(_ db: Database, _ name: String, by amount: Int) throws {
    guard amount > 0 else { return }
    try db.execute(
      sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
      arguments: [name, amount])
  }

  /// Up to `limit` records with offset greater than `offset`, in offset order.
  public func records(after offset: Int64, limit: Int) throws -> [StoredLogRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        // Entries emptied by retention are skipped (their offsets stay taken).
        sql: #"""
          SELECT "offset", event_id, kind, event_time_ms, ingested_at_ms, payload FROM event
          WHERE "offset" > ? AND length(payload) > 0 ORDER BY "offset" LIMIT ?
          """#,
        arguments: [offset, limit]
      ).map { row in
        StoredLogRecord(
          offset: row[0],
          record: LogRecord(eventID: row[1], kind: row[2], eventTimeMs: row[3], payload: row[5]),
          ingestedAtMs: row[4])
      }
    }
  }

  /// The last offset (0 when empty).
  public func lastOffset() throws -> Int64 {
    try writer.read { db in try Int64.fetchOne(db, sql: #"SELECT COALESCE(MAX("offset"), 0) FROM event"#) ?? 0 }
  }

  /// Counters of the log.
  public func statistics() throws -> LogStatistics {
    try writer.read { db in
      var byKind: [String: Int64] = [:]
      for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, COUNT(*) FROM event GROUP BY kind")) {
        byKind[row[0]] = row[1]
      }
      let counters = try Dictionary(
        uniqueKeysWithValues: Row.fetchAll(db.cachedStatement(sql: "SELECT name, value FROM counter")).map { row -> (String, Int64) in
          (row[0], row[1])
        })
      return LogStatistics(
        lastOffset: try Int64.fetchOne(db.cachedStatement(sql: #"SELECT COALESCE(MAX("offset"), 0) FROM event"#)) ?? 0,
        countsByKind: byKind, counters: counters)
    }
  }

  // MARK: - Retention

  /// The retention of raw events in days (0: forever).
  public func retainDays() throws -> Int {
    try writer.read { db in try Int.fetchOne(db, sql: "SELECT value FROM counter WHERE name = 'retain_days'") ?? 0 }
  }

  /// Sets the retention of raw events (0: forever).
  public func setRetainDays(_ days: Int) throws {
    try writer.write { db in
      try db.execute(
        sql: "INSERT INTO counter (name, value) VALUES ('retain_days', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        arguments: [days])
    }
  }

  /// Removes the content of every event whose event time is before `cutoffMs`, keeping its
  /// row (offset, id, kind, times), so offsets stay taken and a re-sent id is still a
  /// duplicate. Returns how many were removed now.
  public func prune(before cutoffMs: Int64) throws -> Int {
    try writer.write { db in
      try db.execute(
        sql: "UPDATE event SET payload = X'' WHERE event_time_ms < ? AND length(payload) > 0", arguments: [cutoffMs])
      let pruned = db.changesCount
      try bump(db, "pruned", by: pruned)
      return pruned
    }
  }

  /// Replaces the alias map of `field`; keys are stored trimmed and lower-cased.
  public func setAliases(field: String, _ aliases: [String: String]) throws -> [String: String] {
    let normalised = AliasKey.normalise(aliases)
    try writer.write { db in
      try db.execute(sql: "DELETE FROM alias WHERE field = ?", arguments: [field])
      for (raw, canonical) in normalised {
        try db.execute(sql: "INSERT INTO alias (field, raw, canonical) VALUES (?, ?, ?)", arguments: [field, raw, canonical])
      }
    }
    return normalised
  }

  /// The alias map of `field`.
  public func aliases(field: String) throws -> [String: String] {
    try writer.read { db in
      Dictionary(
        uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT raw, canonical FROM alias WHERE field = ?", arguments: [field])
          .map { row -> (String, String) in (row[0], row[1]) })
    }
  }

  // MARK: - Redaction

  public func redactionSettings() throws -> RedactionSettings {
    let (policy, key) = try writer.read { db in
      (
        try Int64.fetchOne(
          db.cachedStatement(sql: "SELECT value FROM counter WHERE name = ?"), arguments: [RedactionSettings.policyCounter]),
        try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM secret WHERE name = ?"), arguments: [RedactionSettings.keyName])
      )
    }
    if let key { return RedactionSettings(policy: RedactionSettings.policy(stored: policy), key: Array(key)) }
    // First use: the first key written is the key (a racing writer's is ignored).
    let made = try writer.write { db in
      try db.execute(
        sql: "INSERT INTO secret (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
        arguments: [RedactionSettings.keyName, Data(RedactionSettings.newKey())])
      return try Data.fetchOne(db, sql: "SELECT value FROM secret WHERE name = ?", arguments: [RedactionSettings.keyName])!
    }
    return RedactionSettings(policy: RedactionSettings.policy(stored: policy), key: Array(made))
  }

  public func setRedactionPolicy(_ policy: RedactionPolicy) throws {
    try writer.write { db in
      try db.execute(
        sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        arguments: [RedactionSettings.policyCounter, RedactionSettings.stored(policy)])
    }
  }
}
