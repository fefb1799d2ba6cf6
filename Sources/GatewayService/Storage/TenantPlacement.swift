import PostgresNIO
import SightlineModel
public import SightlinePostgres

/// Which database (shard) each tenant's data lives on, decided when the tenant is created
/// or imported (docs/scaling.md, "Shards").
public protocol TenantPlacement: Sendable {
  /// The shards tenants may be placed on, `main` first.
  var shards: [String] { get }
  /// Places tenant `tenantID` and returns its shard: the one it has (an imported tenant
  /// keeps its place), else `requested` (empty or nil: none), else the shard with the
  /// fewest tenants. An unknown requested shard throws ``ShardPlacement/UnknownShard``.
  func place(tenantID: String, requested: String?) throws -> String
  /// The shard of each of `tenantIDs`.
  func shards(of tenantIDs: [String]) throws -> [String: String]
  /// Points the map at `shard` for `tenantID`: every process routes it there from now on.
  func move(tenantID: String, to shard: String) throws
}

/// One database holds every tenant (SQLite, or PostgreSQL without further shards).
public struct SingleDatabase: TenantPlacement {
  public init() {}

  public var shards: [String] { [ShardedPools.mainShard] }

  public func place(tenantID: String, requested: String?) throws -> String {
    if let requested, !requested.isEmpty, requested != ShardedPools.mainShard {
      throw ShardPlacement.UnknownShard(name: requested, known: shards)
    }
    return ShardedPools.mainShard
  }

  public func shards(of tenantIDs: [String]) throws -> [String: String] {
    Dictionary(uniqueKeysWithValues: tenantIDs.map { ($0, ShardedPools.mainShard) })
  }

  public func move(tenantID: String, to shard: String) throws {
    throw ShardPlacement.UnknownShard(name: shard, known: shards)
  }
}

/// Placements in the control database's tenant → shard map, which every service reads.
public struct PostgresTenantPlacement: TenantPlacement {
  let pool: PostgresPool
  public let shards: [String]

  /// Placements on `pool` (the gateway's, on the control database) among `shards`.
  public init(pool: PostgresPool, shards: [String]) {
    self.pool = pool
    self.shards = shards
  }

  public func place(tenantID: String, requested: String?) throws -> String {
    try pool.transaction { session in
      try ShardPlacement.place(
        tenantID, requested: requested, shards: shards, liveTenants: "SELECT id FROM tenant WHERE deleted_at_ms IS NULL",
        session: session)
    }
  }

  public func shards(of tenantIDs: [String]) throws -> [String: String] {
    try pool.withSession { session in try ShardPlacement.shards(of: tenantIDs, session: session) }
  }

  public func move(tenantID: String, to shard: String) throws {
    guard shards.contains(shard) else { throw ShardPlacement.UnknownShard(name: shard, known: shards) }
    try pool.withSession { session in
      try session.execute(
        """
        INSERT INTO public.sightline_tenant_shard (tenant_id, shard) VALUES (\(tenantID), \(shard))
        ON CONFLICT (tenant_id) DO UPDATE SET shard = excluded.shard, placed_at = now()
        """)
    }
  }
}
