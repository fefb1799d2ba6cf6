import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// Daily KPI rollups: per local day of the tenant, per dimension value (and for the whole
/// tenant), the accumulated KPIs of the tickets created and the survey answers given that
/// day, so long-range queries read days instead of tickets.
///
/// A rollup is a cache of what a scan of that day would accumulate, kept exact by
/// invalidation: every change the consumer makes marks the UTC hours it touches
/// (`dirty_hour`, in the same transaction as the change), and before rollups are read the
/// days overlapping a marked hour are dropped and built again from the ticket table. Hours
/// need no time zone, so the consumer marks them in SQL; days are the tenant's local days.
extension SQLiteMetricsStore {

  // MARK: - Marking changes (consumer side)

  static func dropRollups(_ db: Database) throws {
    try db.execute(sql: "DELETE FROM rollup; DELETE FROM rollup_day; DELETE FROM dirty_hour")
  }

  // MARK: - Reading and building (query side)

  /// Drops the rollups of every day that overlaps an hour changed since it was built, and
  /// clears the marks. Returns the days (by start) that still have rollups; the generation
  /// is always 0, since one process writes the file.
  ///
  /// Callers must not run this and ``storeRollups(dayStartMs:dayEndMs:settings:rows:generation:)``
  /// for the same tenant concurrently with each other (``RollupBuildLock``): a build that
  /// read the tickets before a change whose mark another caller has just cleared would
  /// store a stale day.
  public func invalidateChangedRollups() throws -> BuiltRollups {
    try writer.write { db in
      // Most calls find nothing changed: skip the statements (every query runs this).
      guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM dirty_hour)") == true else {
        return BuiltRollups(days: try Self.builtDays(db, fromMs: .min, toMs: .max), generation: 0)
      }
      try db.execute(
        sql: """
          CREATE TEMP TABLE IF NOT EXISTS stale_day (day_start_ms INTEGER PRIMARY KEY);
          DELETE FROM temp.stale_day;
          INSERT OR IGNORE INTO temp.stale_day
            SELECT d.day_start_ms FROM dirty_hour AS h JOIN rollup_day AS d
              ON d.day_end_ms > h.hour * 3600000 AND d.day_start_ms < (h.hour + 1) * 3600000;
          DELETE FROM rollup WHERE day_start_ms IN (SELECT day_start_ms FROM temp.stale_day);
          DELETE FROM rollup_day WHERE day_start_ms IN (SELECT day_start_ms FROM temp.stale_day);
          DELETE FROM dirty_hour;
          """)
      return BuiltRollups(days: try Self.builtDays(db, fromMs: .min, toMs: .max), generation: 0)
    }
  }

  /// The days starting in [fromMs, toMs) that have rollups and no hour marked changed
  /// since they were built, in one read transaction.
  public func unchangedRollupDays(fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay] {
    try writer.read { db in
      let hours = BuiltDay.markedHours(fromMs: fromMs, toMs: toMs)
      let marked = try Int64.fetchAll(
        db, sql: "SELECT hour FROM dirty_hour WHERE hour >= ? AND hour <= ?", arguments: [hours.lowerBound, hours.upperBound])
      return BuiltDay.unchanged(try Self.builtDays(db, fromMs: fromMs, toMs: toMs), markedHours: marked)
    }
  }

  private static func builtDays(_ db: Database, fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay] {
    var days: [Int64: BuiltDay] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT day_start_ms, day_end_ms, settings FROM rollup_day WHERE day_start_ms >= ? AND day_start_ms < ?",
      arguments: [fromMs, toMs])
    {
      days[row[0]] = BuiltDay(endMs: row[1], settings: row[2])
    }
    return days
  }

  /// Stores a day's rollup rows, replacing any it had, and marks the day built under
  /// `settings` (``DailyRollups/stamp(_:)``).
  public func storeRollups(dayStartMs: Int64, dayEndMs: Int64, settings: String, rows: [RollupEntry], generation: Int64) throws {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM rollup WHERE day_start_ms = ?", arguments: [dayStartMs])
      let insert = try db.cachedStatement(
        sql: """
          INSERT INTO rollup (dimension, part, day_start_ms, day_end_ms, value, summary) VALUES (?, ?, ?, ?, ?, ?)
          """)
      for row in rows {
        try insert.execute(arguments: [
          row.series.key, row.part.rawValue, dayStartMs, dayEndMs, row.value, Data(row.accumulator.encoded()),
        ])
      }
      try db.execute(
        sql: "INSERT OR REPLACE INTO rollup_day (day_start_ms, day_end_ms, settings) VALUES (?, ?, ?)",
        arguments: [dayStartMs, dayEndMs, settings])
    }
  }

  /// The rollup rows of `series` and `part` for days starting in [fromMs, toMs) whose
  /// value starts with `valuePrefix`, and those days built, in one read transaction (time
  /// distributions decoded only if asked for).
  public func rollups(
    series: RollupSeries, part: RollupPart, fromMs: Int64, toMs: Int64, valuePrefix: String, timeDistributions: Bool
  ) throws -> RollupRead {
    try writer.read { db in
      // substr counts Unicode scalars, as the prefix's length does.
      let prefixed = valuePrefix.isEmpty ? "" : " AND substr(value, 1, \(valuePrefix.unicodeScalars.count)) = ?"
      var arguments: StatementArguments = [series.key, part.rawValue, fromMs, toMs]
      if !valuePrefix.isEmpty { arguments += [valuePrefix] }
      let rows = try Row.fetchCursor(
        db,
        sql: """
          SELECT day_start_ms, day_end_ms, value, summary FROM rollup
          WHERE dimension = ? AND part = ? AND day_start_ms >= ? AND day_start_ms < ?\(prefixed)
          """,
        arguments: arguments)
      var result: [RollupRow] = []
      while let row = try rows.next() {
        let summary: Data = row[3]
        result.append(
          RollupRow(
            dayStartMs: row[0], dayEndMs: row[1], value: row[2],
            accumulator: try KpiAccumulator(encoded: [UInt8](summary), timeDistributions: timeDistributions)))
      }
      return RollupRead(rows: result, built: try Self.builtDays(db, fromMs: fromMs, toMs: toMs))
    }
  }
}

extension MetricsSchema {
  static let rollupSchema = """
    CREATE TABLE rollup (
      dimension TEXT NOT NULL,
      part TEXT NOT NULL,
      day_start_ms INTEGER NOT NULL,
      day_end_ms INTEGER NOT NULL,
      value TEXT NOT NULL,
      summary BLOB NOT NULL,
      PRIMARY KEY (dimension, part, day_start_ms, value)
    );
    CREATE TABLE rollup_day (day_start_ms INTEGER PRIMARY KEY, day_end_ms INTEGER NOT NULL);
    CREATE INDEX rollup_day_by_end ON rollup_day(day_end_ms);
    CREATE TABLE dirty_hour (hour INTEGER PRIMARY KEY);
    CREATE INDEX survey_by_ticket ON survey(ticket_id);
    CREATE INDEX survey_by_customer ON survey(customer_id);
    CREATE INDEX ticket_unanswered ON ticket(created_ms) WHERE first_reply_ms IS NULL;
    """
}
