import Foundation
public import GRDB

/// Set-based reads and writes for the consumers' batch folds: one statement for a set of
/// keys, and multi-row statements for a set of rows, instead of a statement per event.
/// (PostgreSQL takes the same shapes: `= ANY($1)` for a key set, multi-row `VALUES`.)
extension Database {
  /// Rows of `sql` for a set of keys. `sql` names the set as `(SELECT value FROM
  /// json_each(?))`, bound to `keys` as one JSON array, so any number of keys is one
  /// statement (SQLite has no array parameter).
  public func fetchRows(_ sql: String, keys: some Collection<String>) throws -> [Row] {
    guard !keys.isEmpty else { return [] }
    return try Row.fetchAll(cachedStatement(sql: sql), arguments: [Self.jsonArray(keys)])
  }

  /// Runs `sql` once for a set of keys (see ``fetchRows(_:keys:)``).
  public func execute(_ sql: String, keys: some Collection<String>) throws {
    guard !keys.isEmpty else { return }
    try cachedStatement(sql: sql).execute(arguments: [Self.jsonArray(keys)])
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

  private static func jsonArray(_ keys: some Collection<String>) throws -> String {
    String(decoding: try JSONEncoder().encode(Array(keys)), as: UTF8.self)
  }
}
