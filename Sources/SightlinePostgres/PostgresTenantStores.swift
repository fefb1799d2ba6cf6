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
  /// it until an import), as the SQLite stores do. With several shards, the first use in
  /// this process reads the tenant's shard from the map afresh (it may have moved since
  /// it was last looked up), and a tenant whose data just left that shard is retried.
  public func admit(_ tenant: TenantID) throws {
    if live.withLock({ $0.contains(tenant) }) { return }
    if shards.pools.count > 1 { shards.forget(tenant) }
    let state = try shards.pool(for: tenant).withSession { session in
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'live')
        ON CONFLICT (component, tenant_id) DO NOTHING
        """)
      return try session.value(
        "SELECT state FROM sightline_tenant WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue)", as: String.self)
    }
    switch state {
    case "live", "moving": break  // moving: reads go on, writes wait (PlacementGuard)
    case "moved":
      shards.forget(tenant)
      throw TenantMoving(tenant: tenant, moved: true)
    default: throw TenantDataError(code: .deleted, description: "the data of tenant \(tenant) was deleted")
    }
    _ = live.withLock { $0.insert(tenant) }
  }

  /// Tenants that have data of this service, on any shard, sorted.
  public func tenants() throws -> [TenantID] {
    var tenants: Set<TenantID> = []
    for pool in shards.all {
      try pool.withSession { session in
        for row in try session.query(
          "SELECT tenant_id FROM sightline_tenant WHERE component = \(serviceName) AND state IN ('live', 'moving')")
        {
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
    try copyOut(tenant, from: shards.pool(for: tenant), to: destination)
  }

  /// Writes `tenant`'s rows on `pool` to a new SQLite file at `destination`.
  private func copyOut(_ tenant: TenantID, from pool: PostgresPool, to destination: String) throws {
    try PrivateFiles.createDirectory((destination as NSString).deletingLastPathComponent)
    guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
    }
    let copy = try DatabaseQueue(path: destination)
    defer { try? copy.close() }
    try SQLiteStore<Export>.migrator.migrate(copy)
    let tables = try copy.read { db in try Self.tables(db) }
    try pool.withSession { session in
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
    try copyIn(tenant, from: candidate, into: shards.pool(for: tenant))
    _ = live.withLock { $0.insert(tenant) }
  }

  /// Installs the SQLite file at `candidate` as `tenant`'s rows on `pool` (see
  /// ``install(_:from:)``); the candidate is removed afterwards.
  private func copyIn(_ tenant: TenantID, from candidate: String, into pool: PostgresPool) throws {
    defer { try? FileManager.default.removeItem(atPath: candidate) }
    let source = try SQLiteExportFile.open(candidate, migrator: SQLiteStore<Export>.migrator, service: serviceName)
    defer { try? source.close() }
    try pool.transaction(tenant: tenant) { session in
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
  }

  /// Removes `tenant`'s rows of every table of the service for good, and marks it deleted:
  /// nothing recreates its data until an import.
  @discardableResult
  public func remove(_ tenant: TenantID) throws -> RemovedFiles {
    _ = live.withLock { $0.remove(tenant) }
    let tables = try Self.exportTables()
    let rows = try shards.pool(for: tenant).transaction(tenant: tenant) { session in
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'deleted')
        ON CONFLICT (component, tenant_id) DO UPDATE SET state = 'deleted'
        """)
      return try Self.deleteRows(of: tenant, tables: tables, session)
    }
    return RemovedFiles(files: 0, bytes: 0, rows: Int64(rows))
  }

  /// The tables (and their columns, in order) of the `Export` schema.
  static func exportTables() throws -> [(name: String, columns: [String])] {
    let schema = try DatabaseQueue()
    try SQLiteStore<Export>.migrator.migrate(schema)
    return try schema.read { db in try Self.tables(db) }
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

  /// Checks that the tenant's data is on `pool` (nil: one database, nothing to check).
  let placement: PlacementGuard?

  /// The store of `tenant` on `pool`.
  public init(pool: PostgresPool, tenant: TenantID, placement: PlacementGuard? = nil) {
    self.pool = pool
    self.tenant = tenant
    self.placement = placement
  }

  /// Runs `body` in a transaction of the tenant; the caller is answered after the commit.
  @discardableResult
  public func transaction<R>(_ body: (PostgresSession) throws -> R) throws -> R {
    try pool.transaction(tenant: tenant) { session in
      try placement?.check(tenant, session, forWrite: true)
      return try body(session)
    }
  }

  /// Runs `body` in a read-only transaction of the tenant that sees one snapshot throughout.
  public func snapshot<R>(_ body: (PostgresSession) throws -> R) throws -> R {
    try pool.snapshot(tenant: tenant) { session in
      try placement?.check(tenant, session, forWrite: false)
      return try body(session)
    }
  }
}

extension PostgresTenantStores {
  /// The store of `tenant`, registered on first use (refused when its data was deleted).
  /// With several shards, its transactions check first that the tenant's data is still on
  /// the shard they run on (``PlacementGuard``).
  public func store(for tenant: TenantID) throws -> PostgresStore<Schema> {
    try admit(tenant)
    let guarding = shards.pools.count > 1 ? PlacementGuard(shards: shards, service: serviceName) : nil
    return PostgresStore(pool: try shards.pool(for: tenant), tenant: tenant, placement: guarding)
  }
}

/// Keeps a tenant's work on the shard its data is on while it moves: a transaction reads
/// the tenant's `sightline_tenant` row first (`FOR SHARE` for writes, so marking it moving
/// waits for writes in flight), and refuses to go on when the tenant has moved, or, for a
/// write, is being copied away (``TenantMoving``, which callers retry). The process forgets where the tenant
/// was, and reads the map again on the next call.
public struct PlacementGuard: Sendable {
  let shards: ShardedPools
  let service: String

  /// Throws ``TenantMoving`` unless `tenant`'s data is settled on the shard of `session`.
  func check(_ tenant: TenantID, _ session: PostgresSession, forWrite: Bool) throws {
    let state = try session.value(
      PostgresQuery(
        unsafeSQL: "SELECT state FROM sightline_tenant WHERE component = $1 AND tenant_id = $2" + (forWrite ? " FOR SHARE" : ""),
        binds: [service, tenant.rawValue]),
      as: String.self)
    // Reads go on while the data is copied (nothing changes it meanwhile); writes wait.
    guard state == "moved" || (forWrite && state == "moving") else { return }
    shards.forget(tenant)
    throw TenantMoving(tenant: tenant, moved: state == "moved")
  }
}

// MARK: Moving a tenant to another shard

/// The steps of moving a tenant's data of one service to another shard (the gateway runs
/// them for every service, with the map's change in between: docs/scaling.md, "Moving a
/// tenant"). A tenant's `sightline_tenant` row on a shard says where it stands there:
/// `moving` while it is copied away (its writes refused), `moved` once it left (kept, so a
/// process still routing the tenant there is sent to the map again).
extension PostgresTenantStores: TenantMoves {
  /// Pauses `tenant`'s writes on its shard, copies its rows to shard `target` and checks
  /// that every table holds as many of its rows there; returns the rows copied.
  public func copy(_ tenant: TenantID, to target: String) throws -> Int64 {
    let source = try shards.pool(for: tenant)
    let destination = try shards.pool(named: target)
    guard source !== destination else {
      throw TenantDataError(code: .alreadyExists, description: "tenant \(tenant) is on shard '\(target)' already")
    }
    // Checked before anything changes, so that undoing this move never touches rows it
    // did not copy.
    guard try state(of: tenant, on: destination) != "live" else {
      throw TenantDataError(
        code: .alreadyExists, description: "tenant \(tenant) already has \(serviceName) data on shard '\(target)'; delete it first")
    }
    // Writes in flight hold the row FOR SHARE: this waits for them, and refuses later ones.
    // A tenant without data of this service gets the row too, so none is written there
    // until the move ends.
    let marked = try source.transaction { session in
      try session.execute(
        """
        INSERT INTO sightline_tenant (component, tenant_id, state) VALUES (\(serviceName), \(tenant.rawValue), 'moving')
        ON CONFLICT (component, tenant_id) DO UPDATE SET state = 'moving' WHERE sightline_tenant.state IN ('live', 'moving')
        """) > 0
    }
    guard marked else {
      throw TenantDataError(code: .deleted, description: "the \(serviceName) data of tenant \(tenant) was deleted")
    }
    let file = "\(transferDirectory)/move-\(tenant)-\(serviceName)-\(UUID().uuidString).sqlite"
    defer { try? FileManager.default.removeItem(atPath: file) }
    try copyOut(tenant, from: source, to: file)
    try copyIn(tenant, from: file, into: destination)
    let (before, after) = (try rowCounts(tenant, on: source), try rowCounts(tenant, on: destination))
    guard before == after else {
      throw TenantDataError(
        code: .invalidFile, description: "the copy of tenant \(tenant)'s \(serviceName) rows differs: \(before) there, \(after) here")
    }
    return before.values.reduce(0, +)
  }

  /// Once the map points at `target`: marks `tenant`'s rows on every other shard moved and
  /// removes them; returns the rows removed.
  public func finishMove(_ tenant: TenantID, to target: String) throws -> Int64 {
    shards.forget(tenant)
    let tables = try Self.exportTables()
    var removed: Int64 = 0
    for (name, pool) in shards.pools where name != target {
      removed += try pool.transaction(tenant: tenant) { session in
        let marked = try session.execute(
          """
          UPDATE sightline_tenant SET state = 'moved'
          WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue) AND state = 'moving'
          """)
        guard marked > 0 else { return 0 }
        return try Int64(Self.deleteRows(of: tenant, tables: tables, session))
      }
    }
    return removed
  }

  /// Undoes a copy to `target` (before the map changed): removes the rows copied there and
  /// resumes `tenant`'s writes where it is; returns the rows removed.
  public func abortMove(_ tenant: TenantID, to target: String) throws -> Int64 {
    shards.forget(tenant)
    let tables = try Self.exportTables()
    let destination = try shards.pool(named: target)
    // Only a copy this service started (its rows marked moving where they are) is undone.
    let sources = try shards.pools.filter { name, pool in try name != target && state(of: tenant, on: pool) == "moving" }
    guard !sources.isEmpty else { return 0 }
    let removed = try destination.transaction(tenant: tenant) { session in
      let copied = try session.execute(
        """
        UPDATE sightline_tenant SET state = 'moved'
        WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue) AND state = 'live'
        """)
      return copied > 0 ? try Int64(Self.deleteRows(of: tenant, tables: tables, session)) : 0
    }
    for pool in sources.values {
      _ = try pool.withSession { session in
        try session.execute(
          """
          UPDATE sightline_tenant SET state = 'live'
          WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue) AND state = 'moving'
          """)
      }
    }
    return removed
  }

  /// `tenant`'s state in `sightline_tenant` on `pool` (nil: no row).
  private func state(of tenant: TenantID, on pool: PostgresPool) throws -> String? {
    try pool.withSession { session in
      try session.value(
        "SELECT state FROM sightline_tenant WHERE component = \(serviceName) AND tenant_id = \(tenant.rawValue)", as: String.self)
    }
  }

  /// `tenant`'s rows per table on `pool`.
  private func rowCounts(_ tenant: TenantID, on pool: PostgresPool) throws -> [String: Int64] {
    let tables = try Self.exportTables()
    return try pool.transaction(tenant: tenant) { session in
      var counts: [String: Int64] = [:]
      for table in tables {
        counts[table.name] =
          try session.value(
            PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM \(table.name) WHERE tenant_id = $1", binds: [tenant.rawValue]),
            as: Int64.self) ?? 0
      }
      return counts
    }
  }

  static func deleteRows(of tenant: TenantID, tables: [(name: String, columns: [String])], _ session: PostgresSession) throws -> Int {
    var rows = 0
    for table in tables {
      rows += try session.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name) WHERE tenant_id = $1", binds: [tenant.rawValue]))
    }
    return rows
  }
}
