import Dispatch
public import Logging
import PostgresNIO
public import SightlineModel
import Synchronization

/// The bytes each tenant's rows take in one service's PostgreSQL schema, for
/// `sightline_database_bytes` (docs/operations.md, "PostgreSQL").
///
/// A tenant's bytes are its share, by row count, of each of the schema's tenant tables
/// (heap, indexes and TOAST, `pg_total_relation_size`); the directory tables (the
/// gateway's) count under "-". Row-level security hides other tenants' rows from the
/// service role, and PostgreSQL hides the statistics of such tables from it too, so the
/// counts are taken per live tenant, in its own transaction, as index scans. That costs
/// time in proportion to the rows, so the figures are recomputed in the background at most
/// once per `refreshInterval`, and only when asked for: a scrape gets the last figures.
///
/// With several shards, each shard's tenants are counted on their shard; the directory
/// tables live on the control database (the first pool).
public final class PostgresTenantSizes: DatabaseSizeReporting, Sendable {
  private let pools: [PostgresPool]
  private let component: String
  private let tenantTables: [String]
  private let directoryTables: [String]
  private let refreshInterval: Duration
  private let logger: Logger
  private let state = Mutex<State>(State())

  private struct State {
    var figures: [(tenant: String, bytes: Int)] = []
    var computedAt: ContinuousClock.Instant?
    var refreshing = false
  }

  /// Sizes of `Schema`'s tables on `pool`, recomputed at most every `refreshInterval`.
  public convenience init<Schema: PostgresSchema>(
    _ schema: Schema.Type, pool: PostgresPool, refreshInterval: Duration = .seconds(300), logger: Logger
  ) {
    self.init(schema, pools: [pool], refreshInterval: refreshInterval, logger: logger)
  }

  /// Sizes of `Schema`'s tables on every shard of `pools` (the control database first).
  public init<Schema: PostgresSchema>(
    _ schema: Schema.Type, pools: [PostgresPool], refreshInterval: Duration = .seconds(300), logger: Logger
  ) {
    self.pools = pools
    component = Schema.component
    tenantTables = Schema.tenantTables
    directoryTables = Schema.directoryTables
    self.refreshInterval = refreshInterval
    self.logger = logger
  }

  /// The last figures; starts a recomputation in the background when they are older than
  /// the refresh interval (or missing) and none runs yet.
  public func databaseBytes() -> [(tenant: String, bytes: Int)] {
    let (figures, start) = state.withLock { state in
      let stale = state.computedAt.map { ContinuousClock.now - $0 >= refreshInterval } ?? true
      let start = stale && !state.refreshing
      if start { state.refreshing = true }
      return (state.figures, start)
    }
    if start {
      DispatchQueue.global().async { [self] in
        let result = Result { try compute() }
        state.withLock { state in
          state.refreshing = false
          state.computedAt = .now
          if case .success(let figures) = result { state.figures = figures }
        }
        if case .failure(let error) = result {
          logger.warning("database sizes not computed", metadata: ["error": "\(error)"])
        }
      }
    }
    return figures
  }

  /// Computes the figures now (blocking): what `databaseBytes()` answers once its
  /// background recomputation is done.
  public func compute() throws -> [(tenant: String, bytes: Int)] {
    var figures: [(tenant: String, bytes: Int)] = []
    if !directoryTables.isEmpty, let main = pools.first {
      figures.append(("-", try tableBytes(directoryTables, on: main).values.reduce(0, +)))
    }
    guard !tenantTables.isEmpty else { return figures }
    for pool in pools { figures += try tenantFigures(on: pool) }
    return figures
  }

  /// The bytes of each live tenant of one shard.
  private func tenantFigures(on pool: PostgresPool) throws -> [(tenant: String, bytes: Int)] {
    let tenants = try pool.withSession { session in
      try session.query(
        "SELECT tenant_id FROM sightline_tenant WHERE component = \(component) AND state = 'live' ORDER BY tenant_id"
      ).map { try $0.decode(String.self) }
    }
    // Rows per tenant and table, each tenant counted under its own row-level security.
    let counting = tenantTables.map { "(SELECT count(*) FROM \($0) WHERE tenant_id = current_setting('sightline.tenant'))" }
    var rows: [String: [Int]] = [:]
    for tenant in tenants {
      guard let id = TenantID(tenant) else { continue }
      rows[tenant] = try pool.transaction(tenant: id) { session in
        guard let row = try session.query(PostgresQuery(unsafeSQL: "SELECT " + counting.joined(separator: ", "))).first else { return [] }
        let cells = row.makeRandomAccess()
        return try tenantTables.indices.map { try cells[$0].decode(Int.self) }
      }
    }
    let bytes = try tableBytes(tenantTables, on: pool)
    for (index, table) in tenantTables.enumerated() {
      let total = rows.values.reduce(0) { $0 + ($1.count > index ? $1[index] : 0) }
      guard total > 0, let tableBytes = bytes[table] else { continue }
      for tenant in rows.keys where rows[tenant]!.count > index {
        rows[tenant]![index] = Int((Double(tableBytes) * Double(rows[tenant]![index]) / Double(total)).rounded())
      }
    }
    return tenants.map { ($0, rows[$0]?.reduce(0, +) ?? 0) }
  }

  /// `pg_total_relation_size` of each of `tables` in this schema.
  private func tableBytes(_ tables: [String], on pool: PostgresPool) throws -> [String: Int] {
    try pool.withSession { session in
      var bytes: [String: Int] = [:]
      for table in tables {
        bytes[table] = try session.value("SELECT pg_total_relation_size(\(component + "." + table)::regclass)", as: Int.self) ?? 0
      }
      return bytes
    }
  }
}

extension PostgresSchema {
  /// Every tenant table the migrations declare, in the order they first appear.
  public static var tenantTables: [String] { uniqueTables(\.tenantTables) }
  /// Every directory table (data outside any tenant) the migrations declare.
  public static var directoryTables: [String] { uniqueTables(\.directoryTables) }

  private static func uniqueTables(_ tables: KeyPath<PostgresMigration, [String]>) -> [String] {
    var seen = Set<String>()
    return migrations.flatMap { $0[keyPath: tables] }.filter { seen.insert($0).inserted }
  }
}
