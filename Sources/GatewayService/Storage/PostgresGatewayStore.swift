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
      directoryTables: ["tenant", "api_key"]),
    PostgresMigration(
      version: 2, name: "audit log",
      statements: [
        """
        CREATE TABLE audit (
          id text PRIMARY KEY, tenant_id text NOT NULL, at_ms bigint NOT NULL, actor_kind text NOT NULL,
          actor_key_id text NOT NULL, actor_name text NOT NULL, action text NOT NULL, detail text NOT NULL,
          address text NOT NULL, outcome text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY)
        """,
        "CREATE INDEX audit_tenant ON audit (tenant_id, at_ms)",
        "CREATE INDEX audit_actor ON audit (actor_kind, at_ms)",
      ],
      directoryTables: ["audit"]),
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
      let revoked = try session.execute("UPDATE api_key SET revoked_at_ms = \(atMs) WHERE tenant_id = \(id) AND revoked_at_ms IS NULL")
      try session.execute("DELETE FROM audit WHERE tenant_id = \(id) AND actor_kind = \(AuditRecord.keyActor)")
      return revoked
    }
  }

  public func restore(_ tenant: TenantRecord, keys: [APIKeyRecord], audit: [AuditRecord]) throws {
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
      for record in audit where record.tenantID == tenant.id { try insert(record, session, ignoringDuplicates: true) }
    }
  }

  private static let auditColumns = "id, tenant_id, at_ms, actor_kind, actor_key_id, actor_name, action, detail, address, outcome"

  private func insert(_ record: AuditRecord, _ session: PostgresSession, ignoringDuplicates: Bool = false) throws {
    var query: PostgresQuery = """
      INSERT INTO audit (id, tenant_id, at_ms, actor_kind, actor_key_id, actor_name, action, detail, address, outcome)
      VALUES (\(record.id), \(record.tenantID), \(record.atMs), \(record.actorKind), \(record.actorKeyID), \(record.actorName),
              \(record.action), \(record.detail), \(record.address), \(record.outcome))
      """
    if ignoringDuplicates { query.sql += " ON CONFLICT (id) DO NOTHING" }
    try session.execute(query)
  }

  public func appendAudit(_ record: AuditRecord) throws {
    try pool.transaction { session in try insert(record, session) }
  }

  public func audit(_ scope: AuditScope, sinceMs: Int64, limit: Int) throws -> [AuditRecord] {
    try pool.withSession { session in
      let (column, value) =
        switch scope {
        case .tenant(let id): ("tenant_id", id)
        case .operator: ("actor_kind", AuditRecord.operatorActor)
        }
      var query = PostgresQuery(
        unsafeSQL:
          "SELECT \(Self.auditColumns) FROM audit WHERE \(column) = $1 AND at_ms >= $2 ORDER BY at_ms DESC, seq DESC LIMIT $3")
      query.binds.append(value)
      query.binds.append(sinceMs)
      query.binds.append(Int64(limit))
      return try session.query(query).map { row in
        let (id, tenant, at, kind, keyID, name, action, detail, address, outcome) = try row.decode(
          (String, String, Int64, String, String, String, String, String, String, String).self)
        return AuditRecord(
          id: id, tenantID: tenant, atMs: at, actorKind: kind, actorKeyID: keyID, actorName: name, action: action, detail: detail,
          address: address, outcome: outcome)
      }.reversed()
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
