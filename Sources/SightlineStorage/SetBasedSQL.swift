import Foundation
public import GRDB

/// Set-based reads and writes for the consumers' batch folds: one statement for a set of
/// keys, and multi-row statements for a set of rows, instead of a statement per event.
/// (PostgreSQL takes the same shapes: `= ANY($1)` for a key set, multi-row `VALUES`.)
extension Database {
  /// Calls `body` with each row of `sql` for a set of keys, without copying the rows (a
  /// row is valid during its call only). `sql` names the set as `(SELECT value FROM
  /// json_each(?))`, bound to `keys` as one JSON array, so any number of keys is one
  /// statement (SQLite has no array parameter).
  public func forEachRow(_ sql: String, keys: some Collection<String>, _ body: (Row) throws -> Void) throws {
    guard !keys.isEmpty else { return }
    let rows = try Row.fetchCursor(cachedStatement(sql: sql), arguments: [Self.jsonArray(keys)])
    while let row = try rows.next() { try body(row) }
  }

  /// Writes `rows` (each `columns` values) with multi-row statements of at most
  /// `rowsPerStatement` rows: `"\(head) VALUES (?, …), (?, …) \(tail)"`. `head` is the
  /// `INSERT INTO table (columns)` part, `tail` an optional conflict clause.
  public func insertRows(
    _ head: String, columns: Int, rows: [[(any DatabaseValueConvertible)?]], tail: String = "",
    rowsPerStatement: Int = 64
  ) throws {
    var start = 0
    while start < rows.count {
      let count = min(rowsPerStatement, rows.count - start)
      let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
      let statement = try cachedStatement(
        sql: head + " VALUES " + Array(repeating: tuple, count: count).joined(separator: ", ") + " " + tail)
      var values: [(any DatabaseValueConvertible)?] = []
      values.reserveCapacity(count * columns)
      for row in rows[start..<start + count] {
        precondition(row.count == columns, "a row of \(row.count) values for \(columns) columns")
        values.append(contentsOf: row)
      }
      try statement.execute(arguments: StatementArguments(values))
      start += count
    }
  }

  /// Updates rows of `table` by key: `rows` hold the key first, then a value for each of
  /// `columns`. Only `columns` are set, so SQLite leaves alone every index that does not
  /// read them (setting a column an index reads rewrites its entry, even to the same
  /// value). One prepared statement runs per row: measured against a multi-row `UPDATE …
  /// FROM (VALUES …)` in the metrics fold it was as fast, and simpler (docs/performance.md).
  public func updateRows(
    _ table: String, key: String, columns: [String], rows: [[(any DatabaseValueConvertible)?]]
  ) throws {
    let assignments = columns.map { "\($0) = ?" }.joined(separator: ", ")
    let statement = try cachedStatement(sql: "UPDATE \(table) SET \(assignments) WHERE \(key) = ?")
    for row in rows {
      precondition(row.count == columns.count + 1, "a row of \(row.count) values for a key and \(columns.count) columns")
      try statement.execute(arguments: StatementArguments(Array(row.dropFirst()) + [row[0]]))
    }
  }

  private static func jsonArray(_ keys: some Collection<String>) throws -> String {
    String(decoding: try JSONEncoder().encode(Array(keys)), as: UTF8.self)
  }
}
