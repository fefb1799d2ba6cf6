public import Foundation
import GRDB
import SightlineModel
public import SightlineStorage

/// The SQLite schema of the experiment definitions.
public enum ExperimentSchema: SQLiteSchema {
  public static let migrations = [
    SQLiteMigration(
      "v1",
      """
      CREATE TABLE experiment (
        name TEXT PRIMARY KEY,
        definition BLOB NOT NULL,
        created_ms INTEGER NOT NULL
      );
      """)
  ]
}

/// A tenant's experiment definitions in the tenant's experiments SQLite file.
public typealias SQLiteExperimentStore = SQLiteStore<ExperimentSchema>

extension SQLiteStore: ExperimentStore where Schema == ExperimentSchema {

  /// Stores a new definition; false if the name is taken.
  public func create(name: String, definition: Data) throws -> Bool {
    try writer.write { db in
      try db.execute(
        sql: "INSERT OR IGNORE INTO experiment (name, definition, created_ms) VALUES (?, ?, ?)",
        arguments: [name, definition, WallClock.now])
      return db.changesCount == 1
    }
  }

  /// The definition named `name`, if any.
  public func definition(name: String) throws -> Data? {
    try writer.read { db in try Data.fetchOne(db, sql: "SELECT definition FROM experiment WHERE name = ?", arguments: [name]) }
  }

  /// All definitions, oldest first.
  public func all() throws -> [Data] {
    try writer.read { db in try Data.fetchAll(db, sql: "SELECT definition FROM experiment ORDER BY created_ms, name") }
  }
}
