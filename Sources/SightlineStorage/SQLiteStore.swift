public import GRDB
public import SightlineModel

/// One step of a store's SQLite schema. A shipped migration never changes; a new one is
/// added after it.
public struct SQLiteMigration: Sendable {
  /// The name GRDB records once the step ran.
  public var identifier: String
  /// The statements of the step.
  public var sql: String

  /// A step from its name and statements.
  public init(_ identifier: String, _ sql: String) {
    self.identifier = identifier
    self.sql = sql
  }
}

/// The schema of one kind of SQLite store: its migrations, oldest first.
public protocol SQLiteSchema: Sendable {
  /// The schema, oldest step first.
  static var migrations: [SQLiteMigration] { get }
}

/// A service's store in SQLite: one connection pool (or queue) migrated to `Schema`.
/// This is the preamble every SQLite store shares, written once: each store is a
/// constrained extension of it (`extension SQLiteStore: EventLog where Schema ==
/// EventLogSchema`), conforming to the protocol its service's logic calls.
public struct SQLiteStore<Schema: SQLiteSchema>: Sendable {
  /// The database, migrated with ``migrator``.
  public let writer: any DatabaseWriter

  /// A store on `writer`, which must have been migrated with ``migrator``.
  public init(writer: any DatabaseWriter) { self.writer = writer }

  /// The migrator that brings a database to the schema.
  public static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    for migration in Schema.migrations {
      migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
    }
    return migrator
  }

  /// A store on a new, migrated, in-memory database (tests and tools).
  public static func inMemory() throws -> Self {
    let queue = try DatabaseQueue()
    try migrator.migrate(queue)
    return Self(writer: queue)
  }

  /// The store in the migrated SQLite file at `path`, created (mode 0600) if missing.
  public static func open(path: String) throws -> Self {
    let pool = try PrivateFiles.openDatabase(at: path, configuration: TenantDatabases.configuration())
    try migrator.migrate(pool)
    return Self(writer: pool)
  }
}

/// Where one service keeps every tenant's data, as the tenant data lifecycle sees it:
/// which tenants have data, a consistent copy of one tenant's data to export, a verified
/// install of an imported copy, and removal for good (docs/operations.md).
public protocol TenantDataStore: Sendable {
  /// The service whose data this is ("metrics", …).
  var serviceName: String { get }
  /// Tenants that have data of this service, sorted.
  func tenants() throws -> [TenantID]
  /// A directory for files in transit (exports being streamed, imports being verified).
  var transferDirectory: String { get }
  /// Writes a consistent copy of `tenant`'s data to a new file at `destination`.
  func backup(_ tenant: TenantID, to destination: String) throws
  /// Installs the copy at `candidate` as `tenant`'s data, after checking it; refused when
  /// the tenant has data. The candidate is consumed.
  func install(_ tenant: TenantID, from candidate: String) throws
  /// Removes `tenant`'s data for good; nothing recreates it until an import.
  @discardableResult func remove(_ tenant: TenantID) throws -> RemovedFiles
}

/// Every tenant's store of one kind, each in the tenant's own SQLite file of the service
/// (`<root>/tenants/<tenant>/<service>.sqlite`): the first conformer of each service's
/// storage protocol (`EventLogStorage`, `MetricsStorage`, …).
public final class SQLiteTenantStores<Schema: SQLiteSchema>: TenantDataStore {
  /// The bounded cache of open databases.
  public let databases: TenantDatabases

  /// The stores of `service` under `root`, at most `maxOpen` databases open at once.
  public init(root: String, service: String, maxOpen: Int = TenantDatabases.defaultMaxOpen) {
    databases = TenantDatabases(root: root, service: service, migrator: SQLiteStore<Schema>.migrator, maxOpen: maxOpen)
  }

  /// The store of `tenant`, its database created and migrated on first use.
  public func store(for tenant: TenantID) throws -> SQLiteStore<Schema> {
    SQLiteStore(writer: try databases.database(for: tenant))
  }

  /// Databases open now.
  public var openCount: Int { databases.openCount }

  public var serviceName: String { databases.serviceName }
  public func tenants() -> [TenantID] { databases.tenants() }
  public var transferDirectory: String { databases.transferDirectory }
  public func backup(_ tenant: TenantID, to destination: String) throws { try databases.backup(tenant, to: destination) }
  public func install(_ tenant: TenantID, from candidate: String) throws { try databases.install(tenant, from: candidate) }
  @discardableResult public func remove(_ tenant: TenantID) -> RemovedFiles { databases.remove(tenant) }
}

extension SQLiteStore {
  /// Runs `updates` in a transaction committed without waiting for the disk
  /// (`synchronous = NORMAL` for this transaction only): for state derived from ingestion's
  /// log, stored together with the log offset it reached.
  ///
  /// Why that is safe: a process crash loses nothing in WAL mode either way; a power loss may
  /// drop the last such commits, but then the state and its offset go back together, and the
  /// consumer reads those entries again from the log, which is committed with a full sync.
  /// Every other write (settings, rules, anything a caller is told is stored) keeps the full
  /// sync, and its commit also makes the earlier derived ones durable.
  public func writeDerivedState<T>(_ updates: (Database) throws -> T) throws -> T {
    try writer.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
      defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
      var result: T?
      try db.inTransaction {
        result = try updates(db)
        return .commit
      }
      return result!
    }
  }
}

/// A tenant data store that can move a tenant's data to another shard (PostgreSQL with
/// several databases); the steps are `PostgresTenantStores`'.
public protocol TenantMoves: TenantDataStore {
  /// Pauses the tenant's writes, copies its rows to shard `target` and verifies them;
  /// returns the rows copied.
  func copy(_ tenant: TenantID, to target: String) throws -> Int64
  /// Removes the rows left on the old shard once the map points at `target`.
  func finishMove(_ tenant: TenantID, to target: String) throws -> Int64
  /// Undoes a copy to `target` and resumes the tenant's writes where it is.
  func abortMove(_ tenant: TenantID, to target: String) throws -> Int64
}
