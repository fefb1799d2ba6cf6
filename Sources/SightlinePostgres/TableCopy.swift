public import Foundation
import GRDB
import NIOCore
public import PostgresNIO

/// One value of a row copied between SQLite and PostgreSQL (the four storage classes of
/// SQLite, and null). Tenant exports move rows as these, so each backend's table needs only
/// the same column names and compatible types (bigint, double precision, text, bytea).
public enum SQLValue: Sendable, Equatable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob(Data)

  /// The value SQLite holds.
  init(_ value: DatabaseValue) {
    switch value.storage {
    case .null: self = .null
    case .int64(let int): self = .integer(int)
    case .double(let double): self = .real(double)
    case .string(let string): self = .text(string)
    case .blob(let data): self = .blob(data)
    }
  }

  /// The value of a PostgreSQL cell, by its type.
  init(_ cell: PostgresCell) throws {
    guard cell.bytes != nil else {
      self = .null
      return
    }
    switch cell.dataType {
    case .int2, .int4, .int8: self = .integer(try cell.decode(Int64.self))
    case .float4, .float8, .numeric: self = .real(try cell.decode(Double.self))
    case .bytea: self = .blob(Data(try cell.decode(ByteBuffer.self).readableBytesView))
    case .bool: self = .integer(try cell.decode(Bool.self) ? 1 : 0)
    default: self = .text(try cell.decode(String.self))
    }
  }

  /// The value for a GRDB statement.
  var databaseValue: DatabaseValue {
    switch self {
    case .null: .null
    case .integer(let int): int.databaseValue
    case .real(let double): double.databaseValue
    case .text(let string): string.databaseValue
    case .blob(let data): data.databaseValue
    }
  }

  /// Appends the value to a PostgreSQL statement's bindings.
  public func bind(to bindings: inout PostgresBindings) {
    switch self {
    case .null: bindings.appendNull()
    case .integer(let int): bindings.append(int)
    case .real(let double): bindings.append(double)
    case .text(let string): bindings.append(string)
    case .blob(let data): bindings.append(ByteBuffer(bytes: data))
    }
  }
}

/// SQL text for the generic table copy; identifiers are always quoted ("offset" is a
/// keyword in both dialects).
enum CopySQL {
  static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

  static func columnList(_ columns: [String]) -> String { columns.map(quoted).joined(separator: ", ") }

  /// `SELECT columns FROM table` (SQLite, or PostgreSQL with a tenant filter appended).
  static func select(_ table: String, columns: [String]) -> String {
    "SELECT \(columnList(columns)) FROM \(quoted(table))"
  }

  /// A SQLite insert of one row.
  static func sqliteInsert(_ table: String, columns: [String]) -> String {
    "INSERT INTO \(quoted(table)) (\(columnList(columns))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
  }
}

extension SQLValue {
  /// An integer, or null.
  public static func int(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }
  /// An integer, or null.
  public static func int(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
  /// A flag as SQLite keeps it (1 or 0), or null.
  public static func bool(_ value: Bool?) -> SQLValue { value.map { .integer($0 ? 1 : 0) } ?? .null }
  /// A string, or null.
  public static func string(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}

/// Rows inserted into a PostgreSQL table as one multi-row `INSERT` per batch (one round
/// trip per few hundred rows, not per row), with an optional tail (`ON CONFLICT …`).
public struct PostgresMultiRowInsert {
  let table: String
  let columns: [String]
  let tail: String
  private var rows = 0
  private var bindings = PostgresBindings()
  private var values: [String] = []
  /// PostgreSQL allows 65,535 parameters in a statement.
  private var maxRows: Int { max(1, min(1_000, 60_000 / columns.count)) }

  /// Rows for `table`'s `columns`; `tail` follows the values (e.g. `ON CONFLICT DO NOTHING`).
  public init(table: String, columns: [String], tail: String = "") {
    self.table = table
    self.columns = columns
    self.tail = tail
  }

  /// Whether the next row should wait for a ``flush(_:)``.
  public var isFull: Bool { rows >= maxRows }

  /// Adds a row, its values in the order of `columns`.
  public mutating func append(_ row: [SQLValue]) {
    let base = rows * columns.count
    values.append("(" + (1...columns.count).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
    for value in row { value.bind(to: &bindings) }
    rows += 1
  }

  /// Inserts the rows added since the last flush.
  public mutating func flush(_ session: PostgresSession) throws {
    guard rows > 0 else { return }
    let sql =
      "INSERT INTO \(CopySQL.quoted(table)) (\(CopySQL.columnList(columns))) VALUES " + values.joined(separator: ", ") + " " + tail
    try session.execute(PostgresQuery(unsafeSQL: sql, binds: bindings))
    rows = 0
    bindings = PostgresBindings()
    values = []
  }
}

extension PostgresSession {
  /// Inserts `rows` into `table`, a few hundred per statement, each followed by `tail`.
  public func insert(into table: String, columns: [String], rows: some Sequence<[SQLValue]>, tail: String = "") throws {
    var insert = PostgresMultiRowInsert(table: table, columns: columns, tail: tail)
    for row in rows {
      insert.append(row)
      if insert.isFull { try insert.flush(self) }
    }
    try insert.flush(self)
  }
}
