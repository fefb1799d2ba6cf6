import PostgresNIO
public import SightlineModel

/// A component's replicas and tenant leases in PostgreSQL (`sightline_member`,
/// `sightline_lease`, made by ``PostgresMigrator``).
///
/// - A member is alive while its row's expiry is in the future; a heartbeat pushes it on.
/// - A lease row lives for ever once made, so its token only grows: a claim of a lease
///   that is free (expired, released) or held by another member whose time ran out makes
///   the claimer the owner and adds one to the token; a claim by the owner in time keeps
///   the token. Expiries are the server's clock (`clock_timestamp()`), so replicas on
///   machines whose clocks differ agree.
/// - A write fenced by a token (``PostgresSession/checkFence(_:component:tenant:)``) reads
///   the lease row `FOR SHARE` in its own transaction: a takeover (an update of that row)
///   waits for the write to commit, and a write after a takeover finds a greater token and
///   is refused.
public struct PostgresLeases: LeaseStore {
  /// The pool the leases are read and written on (the shard the component's tenants live on).
  public let pool: PostgresPool
  /// The component whose replicas these are (`metrics`, `segmentation`).
  public let component: String

  /// The leases of `component` on `pool`.
  public init(pool: PostgresPool, component: String) {
    self.pool = pool
    self.component = component
  }

  public func heartbeat(member: String, ttl: Duration) throws -> [String] {
    try pool.transaction { session in
      try session.execute(
        """
        INSERT INTO public.sightline_member (component, member, expires_at)
        VALUES (\(component), \(member), clock_timestamp() + \(ttl.seconds) * interval '1 second')
        ON CONFLICT (component, member) DO UPDATE SET expires_at = excluded.expires_at
        """)
      // Rows of members that died long ago are of no use to anyone.
      try session.execute(
        "DELETE FROM public.sightline_member WHERE component = \(component) AND expires_at < clock_timestamp() - interval '1 hour'")
      return try session.query(
        "SELECT member FROM public.sightline_member WHERE component = \(component) AND expires_at > clock_timestamp() ORDER BY member"
      ).map { try $0.decode(String.self) }
    }
  }

  public func leave(member: String) throws {
    try pool.transaction { session in
      try session.execute("DELETE FROM public.sightline_member WHERE component = \(component) AND member = \(member)")
      try session.execute(
        """
        UPDATE public.sightline_lease SET owner = '', expires_at = clock_timestamp()
        WHERE component = \(component) AND owner = \(member)
        """)
    }
  }

  /// A claim waits at most a second for the lease row: a write of the old owner may hold
  /// it, and the database ends such a write once it has been idle for the lease time
  /// (``PostgresSession/checkFence(_:component:tenant:)``). Until then the claim fails and
  /// is tried again, and the lease pool's two connections stay free for heartbeats.
  public func claim(_ tenant: TenantID, member: String, ttl: Duration) throws -> Int64? {
    try pool.transaction { session in
      try session.execute("SELECT set_config('lock_timeout', '1000', true)")
      return try session.value(
        """
        INSERT INTO public.sightline_lease (component, tenant_id, owner, token, expires_at)
        VALUES (\(component), \(tenant.rawValue), \(member), 1, clock_timestamp() + \(ttl.seconds) * interval '1 second')
        ON CONFLICT (component, tenant_id) DO UPDATE SET
          owner = excluded.owner,
          expires_at = excluded.expires_at,
          token = CASE
            WHEN sightline_lease.owner = excluded.owner AND sightline_lease.expires_at > clock_timestamp() THEN sightline_lease.token
            ELSE sightline_lease.token + 1 END
        WHERE sightline_lease.owner = excluded.owner OR sightline_lease.expires_at <= clock_timestamp()
        RETURNING token
        """, as: Int64.self)
    }
  }

  public func renew(_ leases: [TenantID: Int64], member: String, ttl: Duration) throws -> Set<TenantID> {
    guard !leases.isEmpty else { return [] }
    let tenants = leases.keys.map(\.rawValue)
    let tokens = tenants.map { leases[TenantID($0)!]! }
    return try pool.withSession { session in
      // One statement for every lease held, whatever their number. A lease whose time ran
      // out is not extended: another member may have claimed it in between, and the owner
      // must claim it again (which bumps the token).
      Set(
        try session.query(
          """
          UPDATE public.sightline_lease AS lease SET expires_at = clock_timestamp() + \(ttl.seconds) * interval '1 second'
          FROM unnest(\(tenants)::text[], \(tokens)::bigint[]) AS held (tenant_id, token)
          WHERE lease.component = \(component) AND lease.tenant_id = held.tenant_id AND lease.token = held.token
            AND lease.owner = \(member) AND lease.expires_at > clock_timestamp()
          RETURNING lease.tenant_id
          """
        ).compactMap { TenantID(try $0.decode(String.self)) })
    }
  }

  public func release(_ tenant: TenantID, member: String, token: Int64) throws {
    _ = try pool.withSession { session in
      try session.execute(
        """
        UPDATE public.sightline_lease SET owner = '', expires_at = clock_timestamp()
        WHERE component = \(component) AND tenant_id = \(tenant.rawValue) AND owner = \(member) AND token = \(token)
        """)
    }
  }

  /// The statements ``PostgresMigrator`` runs to make the tables, granted to `role`.
  static func tableStatements(role: String) -> [String] {
    [
      """
      CREATE TABLE IF NOT EXISTS sightline_member (
        component text NOT NULL, member text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (component, member))
      """,
      """
      CREATE TABLE IF NOT EXISTS sightline_lease (
        component text NOT NULL, tenant_id text NOT NULL, owner text NOT NULL, token bigint NOT NULL,
        expires_at timestamptz NOT NULL, PRIMARY KEY (component, tenant_id))
      """,
      "GRANT SELECT, INSERT, UPDATE, DELETE ON sightline_member TO \(role)",
      "GRANT SELECT, INSERT, UPDATE ON sightline_lease TO \(role)",
    ]
  }
}

extension PostgresSession {
  /// Refuses the transaction's write unless `component`'s lease of `tenant` still carries
  /// `fence`'s token (see ``PostgresLeases``). The lease row stays locked `FOR SHARE` until
  /// the transaction ends, so no takeover can slip in before the commit.
  ///
  /// A process paused in the middle of such a transaction would hold that lock, and its
  /// takeover, for as long as it sleeps. So the transaction may sit idle at most the lease
  /// time (`idle_in_transaction_session_timeout`, for this transaction only): past it the
  /// server ends the session, the lock goes with it, and the paused write never commits.
  public func checkFence(_ fence: LeaseFence, component: String, tenant: TenantID) throws {
    // The sole writer (the embedded backend's fence, tests, tools) checks nothing: a claim
    // never hands out token 0.
    guard fence != .sole else { return }
    if let leaseTime = fence.leaseTime {
      let ms = max(1, Int(leaseTime.seconds * 1000))
      try execute("SELECT set_config('idle_in_transaction_session_timeout', \(String(ms)), true)")
    }
    let token = try value(
      "SELECT token FROM public.sightline_lease WHERE component = \(component) AND tenant_id = \(tenant.rawValue) FOR SHARE",
      as: Int64.self)
    guard token == fence.token else { throw LeaseLost(component: component, tenant: tenant, token: fence.token) }
  }
}

extension Duration {
  /// The duration in seconds, fractions included.
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}
