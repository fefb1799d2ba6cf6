public import Logging
import PostgresNIO
public import SightlineModel
import Synchronization

/// The PostgreSQL databases a service's tenants live on, one pool each (docs/scaling.md,
/// "Shards").
///
/// - Shard `main` is `--database`: the control database. Besides its own tenants it holds
///   what every process shares: the tenant → shard map (`sightline_tenant_shard`), the
///   gateway's tenants and keys, leases and memberships.
/// - Further shards are named with `--shard NAME=URL`; each holds the data of the tenants
///   placed on it, in the same schemas.
/// - A tenant's shard is read from the map once and then remembered: a placement is written
///   when the tenant is created, before anything of it exists, and does not change. A tenant
///   the map does not list (created before the deployment had shards) lives on `main`.
public final class ShardedPools: Sendable {
  /// The control database's shard name.
  public static let mainShard = "main"

  /// The control database's pool (shard `main`).
  public let main: PostgresPool
  /// Every shard's pool by name, `main` included.
  public let pools: [String: PostgresPool]
  private let placements = Mutex<[TenantID: String]>([:])

  /// The shards `main` and `others` (by name; a name `main` among them is ignored).
  public init(main: PostgresPool, others: [String: PostgresPool] = [:]) {
    self.main = main
    var pools = others
    pools[Self.mainShard] = main
    self.pools = pools
  }

  /// The shards' names, `main` first, then in name order.
  public var names: [String] {
    [Self.mainShard] + pools.keys.filter { $0 != Self.mainShard }.sorted()
  }

  /// Every shard's pool, in ``names`` order.
  public var all: [PostgresPool] { names.map { pools[$0]! } }

  /// The pool of `tenant`'s shard. Throws when the tenant was placed on a shard this
  /// process was not given (its `--shard` flags differ from the gateway's).
  public func pool(for tenant: TenantID) throws -> PostgresPool {
    // One database: nothing to look up.
    guard pools.count > 1 else { return main }
    let name = try shard(of: tenant)
    guard let pool = pools[name] else { throw ShardNotConfigured(tenant: tenant, shard: name, known: names) }
    return pool
  }

  /// The name of `tenant`'s shard, from the map in the control database.
  public func shard(of tenant: TenantID) throws -> String {
    if let known = placements.withLock({ $0[tenant] }) { return known }
    let placed = try main.withSession { session in
      try session.value("SELECT shard FROM public.sightline_tenant_shard WHERE tenant_id = \(tenant.rawValue)", as: String.self)
    }
    let name = placed ?? Self.mainShard
    placements.withLock { $0[tenant] = name }
    return name
  }

  /// Forgets where `tenant` lives: the next call reads the map again (its data moved).
  public func forget(_ tenant: TenantID) {
    _ = placements.withLock { $0.removeValue(forKey: tenant) }
  }

  /// The pool of the shard named `name`.
  public func pool(named name: String) throws -> PostgresPool {
    guard let pool = pools[name] else { throw ShardPlacement.UnknownShard(name: name, known: names) }
    return pool
  }

  /// A tenant placed on a shard this process has no pool for.
  public struct ShardNotConfigured: Error, CustomStringConvertible {
    public let tenant: TenantID
    public let shard: String
    public let known: [String]
    public var description: String {
      "tenant \(tenant) lives on shard '\(shard)', which this process was not given (it knows \(known.joined(separator: ", "))): start every process with the same --shard flags"
    }
  }
}

/// Where new tenants go: the tenant → shard map in the control database.
public enum ShardPlacement {
  /// Advisory lock key of placements ("shardmap" in ASCII): two gateways placing tenants at
  /// once count the same tenants and would both pick the same emptiest shard.
  static let lockKey: Int64 = 0x7368_6172_646d_6170

  /// Places `tenant` in the transaction of `session` (on the control database) and returns
  /// its shard: the shard it already has (a tenant imported again keeps its place), else
  /// `requested`, else the shard of `shards` with the fewest live tenants, `main` winning a
  /// tie. `liveTenants` is a query listing the ids of the live tenants. A requested shard
  /// that is not one of `shards` is refused, naming them.
  public static func place(
    _ tenant: String, requested: String?, shards: [String], liveTenants: String, session: PostgresSession
  ) throws -> String {
    try session.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
    if let existing = try session.value(
      "SELECT shard FROM public.sightline_tenant_shard WHERE tenant_id = \(tenant)", as: String.self)
    {
      return existing
    }
    let choice: String
    if let requested, !requested.isEmpty {
      guard shards.contains(requested) else { throw UnknownShard(name: requested, known: shards) }
      choice = requested
    } else {
      // Tenants without a placement (created before there were shards) live on main.
      var counts = Dictionary(uniqueKeysWithValues: shards.map { ($0, 0) })
      let rows = try session.query(
        PostgresQuery(
          unsafeSQL: """
            SELECT coalesce(s.shard, '\(ShardedPools.mainShard)'), count(*)::bigint
            FROM (\(liveTenants)) AS t (id) LEFT JOIN public.sightline_tenant_shard s ON s.tenant_id = t.id
            GROUP BY 1
            """))
      for row in rows {
        let (name, count) = try row.decode((String, Int64).self)
        if counts[name] != nil { counts[name] = Int(count) }
      }
      choice = shards.min {
        (counts[$0]!, $0 == ShardedPools.mainShard ? 0 : 1, $0) < (counts[$1]!, $1 == ShardedPools.mainShard ? 0 : 1, $1)
      }!
    }
    try session.execute("INSERT INTO public.sightline_tenant_shard (tenant_id, shard) VALUES (\(tenant), \(choice))")
    return choice
  }

  /// The shard of each listed tenant (`main` for one the map does not list).
  public static func shards(of tenants: [String], session: PostgresSession) throws -> [String: String] {
    var result = Dictionary(uniqueKeysWithValues: tenants.map { ($0, ShardedPools.mainShard) })
    for row in try session.query("SELECT tenant_id, shard FROM public.sightline_tenant_shard WHERE tenant_id = ANY(\(tenants))") {
      let (tenant, shard) = try row.decode((String, String).self)
      result[tenant] = shard
    }
    return result
  }

  /// The statements ``PostgresMigrator`` runs to make the map, granted to `role`.
  static func tableStatements(role: String) -> [String] {
    [
      """
      CREATE TABLE IF NOT EXISTS sightline_tenant_shard (
        tenant_id text PRIMARY KEY, shard text NOT NULL, placed_at timestamptz NOT NULL DEFAULT now())
      """,
      "GRANT SELECT, INSERT, UPDATE, DELETE ON sightline_tenant_shard TO \(role)",
    ]
  }

  /// A requested shard the deployment does not have.
  public struct UnknownShard: Error, CustomStringConvertible {
    public let name: String
    public let known: [String]
    public init(name: String, known: [String]) {
      self.name = name
      self.known = known
    }
    public var description: String { "no shard named '\(name)': the shards are \(known.joined(separator: ", "))" }
  }
}

/// The leases of a component whose tenants are spread over shards: each tenant's lease row
/// lives on the tenant's own shard, so the fence check of a write reads it in the write's
/// own transaction; the replicas' memberships live on the control database.
public struct ShardedLeases: LeaseStore {
  /// The leases on each shard, by shard name (`main` among them: the memberships).
  private let leases: [String: PostgresLeases]
  private let shards: ShardedPools

  /// Leases of `component` on `leasePools` (one per shard of `shards`, by name).
  public init(shards: ShardedPools, leasePools: [String: PostgresPool], component: String) {
    self.shards = shards
    leases = leasePools.mapValues { PostgresLeases(pool: $0, component: component) }
  }

  private var members: PostgresLeases { leases[ShardedPools.mainShard]! }

  private func leases(of tenant: TenantID) throws -> PostgresLeases {
    let name = try shards.shard(of: tenant)
    guard let store = leases[name] else { throw ShardedPools.ShardNotConfigured(tenant: tenant, shard: name, known: shards.names) }
    return store
  }

  public func heartbeat(member: String, ttl: Duration) throws -> [String] { try members.heartbeat(member: member, ttl: ttl) }
  public func leave(member: String) throws { try members.leave(member: member) }
  public func claim(_ tenant: TenantID, member: String, ttl: Duration) throws -> Int64? {
    try leases(of: tenant).claim(tenant, member: member, ttl: ttl)
  }
  public func release(_ tenant: TenantID, member: String, token: Int64) throws {
    try leases(of: tenant).release(tenant, member: member, token: token)
  }

  /// One renewal per shard holding any of `held`.
  public func renew(_ held: [TenantID: Int64], member: String, ttl: Duration) throws -> Set<TenantID> {
    var byShard: [String: [TenantID: Int64]] = [:]
    for (tenant, token) in held { byShard[try shards.shard(of: tenant), default: [:]][tenant] = token }
    var renewed: Set<TenantID> = []
    for (name, group) in byShard {
      guard let store = leases[name] else { continue }
      renewed.formUnion(try store.renew(group, member: member, ttl: ttl))
    }
    return renewed
  }
}

extension ShardedPools {
  /// The lease store of `component`'s replicas, on pools of two connections of their own
  /// per shard (heartbeats and renewals must not wait behind folds and queries past the
  /// lease time), and those pools, to run as services.
  public func leases(component: String, logger: Logger) throws -> (store: any LeaseStore, pools: [PostgresPool]) {
    var leasePools: [String: PostgresPool] = [:]
    for (name, pool) in pools { leasePools[name] = try PostgresPool(url: pool.url, maxConnections: 2, logger: logger) }
    let store: any LeaseStore =
      pools.count == 1
      ? PostgresLeases(pool: leasePools[Self.mainShard]!, component: component)
      : ShardedLeases(shards: self, leasePools: leasePools, component: component)
    return (store, names.map { leasePools[$0]! })
  }
}
