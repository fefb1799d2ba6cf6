import Foundation
import GRDB
import PostgresNIO
public import SightlineModel
public import SightlineStorage
import Synchronization

/// Every tenant's data of one service in one PostgreSQL database, as the tenant data
/// lifecycle sees it (the PostgreSQL twin of `SQLiteTenantStores`).
///
/// - Which tenants have data, and which were deleted, is kept in `sightline_tenant`, one row
///   per service and tenant, so every replica sees the same answer.
/// - An export is the same SQLite file the embedded backend writes (the `Export` schema, at
///   its latest migration), so an export taken on either backend imports into the other:
///   that is how a tenant moves from an embedded deployment to PostgreSQL
///   (docs/operations.md). The copy goes table by table and column by column by name: every
///   PostgreSQL table of the service has the SQLite table's columns, plus `tenant_id`.
///
/// With several shards, each tenant's rows live on its own shard's database
/// (``ShardedPools``), and `sightline_tenant` of each shard lists the tenants placed there.
public final class PostgresTenantStores<Schema: PostgresSchema, Export: SQLiteSchema>: TenantDataStore, Sendable {
  /// The databases the service's work runs on, one pool per shard.
  public let shards: ShardedPools
  public let serviceName: String
  public let transferDirectory: String
  /// Tenants this process found live (registered and not deleted).
  private let live = Mutex<Set<TenantID>>([])

  /// The stores of `service` (its component name in `sightline_tenant`) on `shards`; files
  /// in transit go to `transferDirectory`.
  public init(shards: ShardedPools, service: String, transferDirectory: String) {
    self.shards = shards
    self.serviceName = service
    self.transferDirectory = transferDirectory
  }

  /// The stores of `service` on the one database of `pool`.
  public convenience init(pool: PostgresPool, service: String, transferDirectory: String) {
    self.init(shards: ShardedPools(main: pool), service: service, transferDirectory: transferDirectory)
  }

  /// Registers `tenant` on first use; throws when its data was deleted (nothing recreates
  /// it until an import), as the SQLite stores do.
  public func admit(_ tenant: TenantID) throws {
    if live.withLock({ $0.contains(tenant) }) { return }
    let state = try shards.pool(for: tenant).withSession { session in
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'live')
        ON CONFLICT (component, tenant_id) DO NOTHING
        """)
      return try session.value(
        "SELECT state FROM sightline_tenant WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue)", as: String.self)
    }
    guard state == "live" else {
      throw TenantDataError(code: .deleted, description: "the data of tenant \(tenant) was deleted")
    }
    _ = live.withLock { $0.insert(tenant) }
  }

  /// Tenants that have data of this service, on any shard, sorted.
  public func tenants() throws -> [TenantID] {
    var tenants: Set<TenantID> = []
    for pool in shards.all {
      try pool.withSession { session in
        for row in try session.query("SELECT tenant_id FROM sightline_tenant WHERE component = \(serviceName) AND state = 'live'") {
          if let tenant = TenantID(try row.decode(String.self)) { tenants.insert(tenant) }
        }
      }
    }
    return tenants.sorted { $0.rawValue < $1.rawValue }
  }

  /// Writes `tenant`'s rows, read in one repeatable-read transaction (the data as of one
  /// commit), to a new SQLite file of the `Export` schema at `destination`.
  public func backup(_ tenant: TenantID, to destination: String) throws {
    try admit(tenant)
    try PrivateFiles.createDirectory((destination as NSString).deletingLastPathComponent)
    guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
    }
    let copy = try DatabaseQueue(path: destination)
    defer { try? copy.close() }
    try SQLiteStore<Export>.migrator.migrate(copy)
    let tables = try copy.read { db in try Self.tables(db) }
    try shards.pool(for: tenant).withSession { session in
      try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      defer { _ = try? session.execute("ROLLBACK") }
      try session.execute("SELECT set_config('sightline.tenant', \(tenant.rawValue), true)")
      try copy.write { db in
        for table in tables {
          // A cursor, so a big table streams through in pages rather than all at once.
          try session.execute(
            PostgresQuery(
              unsafeSQL: "DECLARE export_rows NO SCROLL CURSOR FOR " + CopySQL.select(table.name, columns: table.columns)
                + " WHERE tenant_id = $1" + (Schema.exportOrder[table.name].map { " ORDER BY \($0)" } ?? ""),
              binds: [tenant.rawValue]))
          let statement = try db.makeStatement(sql: CopySQL.sqliteInsert(table.name, columns: table.columns))
          while true {
            let rows = try session.query("FETCH 5000 FROM export_rows")
            for row in rows {
              try statement.execute(arguments: StatementArguments(try row.map { try SQLValue($0).databaseValue }))
            }
            if rows.count < 5000 { break }
          }
          try session.execute("CLOSE export_rows")
        }
      }
    }
  }

  /// Installs the SQLite file at `candidate` (an export of either backend) as `tenant`'s
  /// data, in one transaction: SQLite's integrity check must pass and its schema must be
  /// one this service knows (an older one is migrated first). Refused when the tenant has
  /// data here. The candidate is removed afterwards.
  public func install(_ tenant: TenantID, from candidate: String) throws {
    defer { try? FileManager.default.removeItem(atPath: candidate) }
    let source = try SQLiteExportFile.open(candidate, migrator: SQLiteStore<Export>.migrator, service: serviceName)
    defer { try? source.close() }
    try shards.pool(for: tenant).transaction(tenant: tenant) { session in
      let state = try session.value(
        "SELECT state FROM sightline_tenant WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue) FOR UPDATE",
        as: String.self)
      if state == "live" {
        throw TenantDataError(code: .alreadyExists, description: "tenant \(tenant) already has \(serviceName) data; delete it first")
      }
      try source.inDatabase { db in
        for table in try Self.tables(db) {
          var batch = PostgresMultiRowInsert(table: table.name, columns: ["tenant_id"] + table.columns)
          let cursor = try Row.fetchCursor(db, sql: CopySQL.select(table.name, columns: table.columns))
          while let row = try cursor.next() {
            batch.append([.text(tenant.rawValue)] + table.columns.indices.map { SQLValue(row[$0] as DatabaseValue) })
            if batch.isFull { try batch.flush(session) }
          }
          try batch.flush(session)
        }
      }
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'live')
        ON CONFLICT (component, tenant_id) DO UPDATE SET state = 'live'
        """)
    }
    _ = live.withLock { $0.insert(tenant) }
  }

  /// Removes `tenant`'s rows of every table of the service for good, and marks it deleted:
  /// nothing recreates its data until an import.
  @discardableResult
  public func remove(_ tenant: TenantID) throws -> RemovedFiles {
    _ = live.withLock { $0.remove(tenant) }
    let schema = try DatabaseQueue()
    try SQLiteStore<Export>.migrator.migrate(schema)
    let tables = try schema.read { db in try Self.tables(db) }
    let rows = try shards.pool(for: tenant).transaction(tenant: tenant) { session in
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'deleted')
        ON CONFLICT (component, tenant_id) DO UPDATE SET state = 'deleted'
        """)
      var rows = 0
      for table in tables {
        rows += try session.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name) WHERE tenant_id = $1", binds: [tenant.rawValue]))
      }
      return rows
    }
    return RemovedFiles(files: 0, bytes: 0, rows: Int64(rows))
  }

  /// The tables (and their columns, in order) an export of the service holds.
  static func tables(_ db: Database) throws -> [(name: String, columns: [String])] {
    try String.fetchAll(
      db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name"
    ).map { name in
      (name, try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid", arguments: [name]).map { $0[0] as String })
    }
  }
}

extension PostgresQuery {
  /// A query from its text and bound values.
  init(unsafeSQL sql: String, binds values: [String]) {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values { bindings.append(value) }
    self.init(unsafeSQL: sql, binds: bindings)
  }
}

/// One tenant's store of a service in PostgreSQL: the preamble every PostgreSQL store
/// shares (the twin of `SQLiteStore`). Each store is a constrained extension of it
/// conforming to its service's protocol; all its work runs in transactions scoped to the
/// tenant, so row-level security admits only the tenant's rows even where a query forgot
/// its own filter.
public struct PostgresStore<Schema: PostgresSchema>: Sendable {
  /// The pool the work runs on.
  public let pool: PostgresPool
  /// The tenant whose rows this store reads and writes.
  public let tenant: TenantID

  /// The store of `tenant` on `pool`.
  public init(pool: PostgresPool, tenant: TenantID) {
    self.pool = pool
    self.tenant = tenant
  }

  /// Runs `body` in a transaction of the tenant; the caller is answered after the commit.
  @discardableResult
  public func transaction<R>(_ body: (PostgresSession) throws -> R) throws -> R {
    try pool.transaction(tenant: tenant, body)
  }
}

extension PostgresTenantStores {
  /// The store of `tenant`, registered on first use (refused when its data was deleted).
  public func store(for tenant: TenantID) throws -> PostgresStore<Schema> {
    try admit(tenant)
    return PostgresStore(pool: try shards.pool(for: tenant), tenant: tenant)
  }
}
