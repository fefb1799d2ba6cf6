public import Foundation
import GRDB
import NIOCore
import PostgresNIO

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
  func bind(to bindings: inout PostgresBindings) {
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

/// Rows inserted into a PostgreSQL table as one multi-row `INSERT` per batch (one round
/// trip per few thousand rows, not per row).
struct PostgresMultiRowInsert {
  let table: String
  let columns: [String]
  private var rows = 0
  private var bindings = PostgresBindings()
  private var values: [String] = []
  /// PostgreSQL allows 65,535 parameters in a statement.
  private var maxRows: Int { max(1, min(1_000, 60_000 / columns.count)) }

  init(table: String, columns: [String]) {
    self.table = table
    self.columns = columns
  }

  var isFull: Bool { rows >= maxRows }

  mutating func append(_ row: [SQLValue]) {
    let base = rows * columns.count
    values.append("(" + (1...columns.count).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
    for value in row { value.bind(to: &bindings) }
    rows += 1
  }

  mutating func flush(_ session: PostgresSession) throws {
    guard rows > 0 else { return }
    let sql = "INSERT INTO \(CopySQL.quoted(table)) (\(CopySQL.columnList(columns))) VALUES " + values.joined(separator: ", ")
    try session.execute(PostgresQuery(unsafeSQL: sql, binds: bindings))
    rows = 0
    bindings = PostgresBindings()
    values = []
  }
}
