import PostgresNIO
public import SightlinePostgres

/// The PostgreSQL schema of the gateway's tenants and keys (``GatewaySchema``'s tables), in
/// the `gateway` schema.
///
/// These two tables are the tenant directory itself, not any tenant's data: a key is looked
/// up before its tenant is known, so they carry no row-level security. The service role may
/// read and write them, and nothing else of the gateway's.
public enum GatewayPostgresSchema: PostgresSchema {
  public static let component = "gateway"
  public static let migrations = [
    PostgresMigration(
      version: 1, name: "tenants and keys",
      statements: [
        "CREATE TABLE tenant (id text PRIMARY KEY, name text NOT NULL, created_at_ms bigint NOT NULL, deleted_at_ms bigint)",
        "CREATE UNIQUE INDEX tenant_live_name ON tenant (name) WHERE deleted_at_ms IS NULL",
        """
        CREATE TABLE api_key (
          id text PRIMARY KEY, tenant_id text NOT NULL REFERENCES tenant (id), role text NOT NULL,
          secret_hash text NOT NULL UNIQUE, label text NOT NULL, created_at_ms bigint NOT NULL, revoked_at_ms bigint)
        """,
        "CREATE INDEX api_key_tenant ON api_key (tenant_id)",
      ],
      directoryTables: ["tenant", "api_key"])
  ]
}

/// Tenants and API keys in PostgreSQL, shared by every gateway replica.
public struct PostgresGatewayStore: GatewayStore {
  let pool: PostgresPool

  /// The store on `pool` (in the `gateway` schema).
  public init(pool: PostgresPool) { self.pool = pool }

  private static let tenantColumns = "id, name, created_at_ms, deleted_at_ms"
  private static let keyColumns = "id, tenant_id, role, secret_hash, label, created_at_ms, revoked_at_ms"

  private static func tenant(_ row: PostgresRow) throws -> TenantRecord {
    let (id, name, created, deleted) = try row.decode((String, String, Int64, Int64?).self)
    return TenantRecord(id: id, name: name, createdAtMs: created, deletedAtMs: deleted)
  }

  private static func key(_ row: PostgresRow) throws -> APIKeyRecord {
    let (id, tenant, role, hash, label, created, revoked) = try row.decode((String, String, String, String, String, Int64, Int64?).self)
    return APIKeyRecord(id: id, tenantID: tenant, role: role, secretHash: hash, label: label, createdAtMs: created, revokedAtMs: revoked)
  }

  private func insert(_ tenant: TenantRecord, _ session: PostgresSession) throws {
    try session.execute(
      """
      INSERT INTO tenant (id, name, created_at_ms, deleted_at_ms)
      VALUES (\(tenant.id), \(tenant.name), \(tenant.createdAtMs), \(tenant.deletedAtMs))
      """)
  }

  private func insert(_ key: APIKeyRecord, _ session: PostgresSession) throws {
    try session.execute(
      """
      INSERT INTO api_key (id, tenant_id, role, secret_hash, label, created_at_ms, revoked_at_ms)
      VALUES (\(key.id), \(key.tenantID), \(key.role), \(key.secretHash), \(key.label), \(key.createdAtMs), \(key.revokedAtMs))
      """)
  }

  private func liveNameTaken(_ name: String, _ session: PostgresSession) throws -> Bool {
    try session.value("SELECT count(*)::bigint FROM tenant WHERE name = \(name) AND deleted_at_ms IS NULL", as: Int64.self) ?? 0 > 0
  }

  public func createTenant(_ tenant: TenantRecord, firstKey: APIKeyRecord) throws {
    try pool.transaction { session in
      // Two gateways creating the same name at once: the partial unique index refuses the
      // second insert, and the check below names it.
      if try liveNameTaken(tenant.name, session) {
        throw GatewayStoreError(code: .tenantNameTaken, description: "a tenant named '\(tenant.name)' already exists")
      }
      try insert(tenant, session)
      try insert(firstKey, session)
    }
  }

  public func tenants() throws -> [TenantRecord] {
    try pool.withSession { session in
      try session.query(PostgresQuery(unsafeSQL: "SELECT \(Self.tenantColumns) FROM tenant WHERE deleted_at_ms IS NULL ORDER BY name"))
        .map(Self.tenant)
    }
  }

  public func tenant(id: String) throws -> TenantRecord? {
    try pool.withSession { session in
      var query = PostgresQuery(unsafeSQL: "SELECT \(Self.tenantColumns) FROM tenant WHERE id = $1")
      query.binds.append(id)
      return try session.query(query).first.map(Self.tenant)
    }
  }

  public func tenant(named name: String) throws -> TenantRecord? {
    try pool.withSession { session in
      var query = PostgresQuery(
        unsafeSQL:
          "SELECT \(Self.tenantColumns) FROM tenant WHERE name = $1 ORDER BY deleted_at_ms IS NOT NULL, deleted_at_ms DESC LIMIT 1")
      query.binds.append(name)
      return try session.query(query).first.map(Self.tenant)
    }
  }

  public func markDeleted(id: String, atMs: Int64) throws -> Int {
    try pool.transaction { session in
      try Self.announceKeysChanged(session)
      try session.execute("UPDATE tenant SET deleted_at_ms = \(atMs) WHERE id = \(id) AND deleted_at_ms IS NULL")
      return try session.execute("UPDATE api_key SET revoked_at_ms = \(atMs) WHERE tenant_id = \(id) AND revoked_at_ms IS NULL")
    }
  }

  public func restore(_ tenant: TenantRecord, keys: [APIKeyRecord]) throws {
    try pool.transaction { session in
      var query = PostgresQuery(unsafeSQL: "SELECT \(Self.tenantColumns) FROM tenant WHERE id = $1 FOR UPDATE")
      query.binds.append(tenant.id)
      if let existing = try session.query(query).first.map(Self.tenant), existing.deletedAtMs == nil {
        throw GatewayStoreError(code: .tenantExists, description: "tenant \(tenant.id) ('\(existing.name)') exists here")
      }
      if try liveNameTaken(tenant.name, session) {
        throw GatewayStoreError(code: .tenantNameTaken, description: "a tenant named '\(tenant.name)' already exists")
      }
      try Self.announceKeysChanged(session)
      try session.execute("DELETE FROM api_key WHERE tenant_id = \(tenant.id)")
      try session.execute("DELETE FROM tenant WHERE id = \(tenant.id)")
      var restored = tenant
      restored.deletedAtMs = nil
      try insert(restored, session)
      for key in keys {
        guard key.tenantID == tenant.id else {
          throw GatewayStoreError(code: .keyNotFound, description: "key \(key.id) belongs to another tenant")
        }
        try insert(key, session)
      }
    }
  }

  public func insertKey(_ key: APIKeyRecord) throws {
    try pool.transaction { session in try insert(key, session) }
  }

  public func key(secretHash: String) throws -> APIKeyRecord? {
    try pool.withSession { session in
      var query = PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_key WHERE secret_hash = $1")
      query.binds.append(secretHash)
      return try session.query(query).first.map(Self.key)
    }
  }

  public func keys(tenantID: String) throws -> [APIKeyRecord] {
    try pool.withSession { session in
      var query = PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_key WHERE tenant_id = $1 ORDER BY created_at_ms DESC")
      query.binds.append(tenantID)
      return try session.query(query).map(Self.key)
    }
  }

  public func revokeKey(id: String, tenantID: String, atMs: Int64) throws -> APIKeyRecord {
    try pool.transaction { session in
      var query = PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_key WHERE id = $1 FOR UPDATE")
      query.binds.append(id)
      guard var key = try session.query(query).first.map(Self.key), key.tenantID == tenantID else {
        throw GatewayStoreError(code: .keyNotFound, description: "no key '\(id)' in this tenant")
      }
      if key.revokedAtMs == nil {
        key.revokedAtMs = atMs
        try session.execute("UPDATE api_key SET revoked_at_ms = \(atMs) WHERE id = \(id)")
        try Self.announceKeysChanged(session)
      }
      return key
    }
  }

  /// The `NOTIFY` channel every gateway listens on: a key was revoked or a tenant deleted
  /// or restored, so cached key lookups must go (``KeyLookupCache/forgetAll()``). New keys
  /// need no announcement: unknown keys are never cached.
  public static let keysChangedChannel = "sightline_keys"

  /// Announces, at the transaction's commit, that keys changed.
  static func announceKeysChanged(_ session: PostgresSession) throws {
    try session.execute("SELECT pg_notify(\(keysChangedChannel), '')")
  }
}
