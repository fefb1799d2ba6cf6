import Foundation
public import GRDB
public import SightlineStorage

extension TenantRecord: FetchableRecord, PersistableRecord {
  public static let databaseTableName = "tenant"
}

extension APIKeyRecord: FetchableRecord, PersistableRecord {
  public static let databaseTableName = "api_key"
}

extension AuditRecord: FetchableRecord, PersistableRecord {
  public static let databaseTableName = "audit"
}
/// The SQLite schema of the gateway's tenants and keys.
public enum GatewaySchema: SQLiteSchema {
  public static let migrations = [
    SQLiteMigration(
      "v1",
      """
      CREATE TABLE tenant (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL);
      CREATE TABLE api_key (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id),
        role TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER
      );
      CREATE INDEX api_key_tenant ON api_key(tenant_id);
      """),
    // Deleted tenants keep their row; only live tenants' names must be unique.
    SQLiteMigration(
      "v2-deleted-tenants",
      """
      CREATE TABLE tenant_v2 (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                              deleted_at_ms INTEGER);
      INSERT INTO tenant_v2 (id, name, created_at_ms) SELECT id, name, created_at_ms FROM tenant;
      DROP TABLE tenant;
      ALTER TABLE tenant_v2 RENAME TO tenant;
      CREATE UNIQUE INDEX tenant_live_name ON tenant(name) WHERE deleted_at_ms IS NULL;
      """),
    SQLiteMigration(
      "v3-audit",
      """
      CREATE TABLE audit (
        id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, at_ms INTEGER NOT NULL, actor_kind TEXT NOT NULL,
        actor_key_id TEXT NOT NULL, actor_name TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,
        address TEXT NOT NULL, outcome TEXT NOT NULL);
      CREATE INDEX audit_tenant ON audit(tenant_id, at_ms);
      CREATE INDEX audit_actor ON audit(actor_kind, at_ms);
      """),
  ]
}

/// Tenants and API keys, kept by the gateway in its own SQLite file.
public typealias SQLiteGatewayStore = SQLiteStore<GatewaySchema>

extension SQLiteStore: GatewayStore where Schema == GatewaySchema {

  /// Creates a tenant and its first key in one transaction.
  public func createTenant(_ tenant: TenantRecord, firstKey: APIKeyRecord) throws {
    try writer.write { db in
      if try Self.liveTenants.filter(Column("name") == tenant.name).fetchCount(db) > 0 {
        throw GatewayStoreError(code: .tenantNameTaken, description: "a tenant named '\(tenant.name)' already exists")
      }
      try tenant.insert(db)
      try firstKey.insert(db)
    }
  }

  private static var liveTenants: QueryInterfaceRequest<TenantRecord> {
    TenantRecord.filter(Column("deleted_at_ms") == nil)
  }

  /// All tenants that exist (not deleted), by name.
  public func tenants() throws -> [TenantRecord] {
    try writer.read { db in try Self.liveTenants.order(Column("name")).fetchAll(db) }
  }

  /// One tenant by id, deleted or not.
  public func tenant(id: String) throws -> TenantRecord? {
    try writer.read { db in try TenantRecord.fetchOne(db, key: id) }
  }

  /// The tenant named `name`: the live one, else the one deleted last (so a delete that
  /// was interrupted can be finished by name).
  public func tenant(named name: String) throws -> TenantRecord? {
    try writer.read { db in
      try TenantRecord.filter(Column("name") == name)
        .order(sql: "deleted_at_ms IS NOT NULL, deleted_at_ms DESC").fetchOne(db)
    }
  }

  /// Marks tenant `id` deleted and revokes every key it still has, in one transaction (from
  /// the commit on, no key of it authenticates). Returns the keys revoked now.
  public func markDeleted(id: String, atMs: Int64) throws -> Int {
    try writer.write { db in
      try db.execute(sql: "UPDATE tenant SET deleted_at_ms = ? WHERE id = ? AND deleted_at_ms IS NULL", arguments: [atMs, id])
      try db.execute(
        sql: "UPDATE api_key SET revoked_at_ms = ? WHERE tenant_id = ? AND revoked_at_ms IS NULL", arguments: [atMs, id])
      let revoked = db.changesCount
      try db.execute(sql: "DELETE FROM audit WHERE tenant_id = ? AND actor_kind = ?", arguments: [id, AuditRecord.keyActor])
      return revoked
    }
  }

  /// Restores an exported tenant and its keys exactly as they were. Refused when a live
  /// tenant has its id or its name; the record of a deleted tenant with its id is replaced.
  public func restore(_ tenant: TenantRecord, keys: [APIKeyRecord], audit: [AuditRecord]) throws {
    try writer.write { db in
      if let existing = try TenantRecord.fetchOne(db, key: tenant.id), existing.deletedAtMs == nil {
        throw GatewayStoreError(code: .tenantExists, description: "tenant \(tenant.id) ('\(existing.name)') exists here")
      }
      if try Self.liveTenants.filter(Column("name") == tenant.name).fetchCount(db) > 0 {
        throw GatewayStoreError(code: .tenantNameTaken, description: "a tenant named '\(tenant.name)' already exists")
      }
      try APIKeyRecord.filter(Column("tenant_id") == tenant.id).deleteAll(db)
      try TenantRecord.deleteOne(db, key: tenant.id)
      var restored = tenant
      restored.deletedAtMs = nil
      try restored.insert(db)
      for key in keys {
        guard key.tenantID == tenant.id else {
          throw GatewayStoreError(code: .keyNotFound, description: "key \(key.id) belongs to another tenant")
        }
        try key.insert(db)
      }
      for record in audit where record.tenantID == tenant.id { try record.insert(db, onConflict: .ignore) }
    }
  }

  /// Stores a new key.
  public func insertKey(_ key: APIKeyRecord) throws {
    try writer.write { db in try key.insert(db) }
  }

  /// The key whose secret hashes to `secretHash`, revoked or not.
  public func key(secretHash: String) throws -> APIKeyRecord? {
    try writer.read { db in try APIKeyRecord.filter(Column("secret_hash") == secretHash).fetchOne(db) }
  }

  /// A tenant's keys, newest first.
  public func keys(tenantID: String) throws -> [APIKeyRecord] {
    try writer.read { db in
      try APIKeyRecord.filter(Column("tenant_id") == tenantID).order(Column("created_at_ms").desc).fetchAll(db)
    }
  }

  /// Revokes key `id` of `tenantID` (idempotent) and returns it; a key of another tenant
  /// is reported as not found, so ids do not leak across tenants.
  public func revokeKey(id: String, tenantID: String, atMs: Int64) throws -> APIKeyRecord {
    try writer.write { db in
      guard var key = try APIKeyRecord.fetchOne(db, key: id), key.tenantID == tenantID else {
        throw GatewayStoreError(code: .keyNotFound, description: "no key '\(id)' in this tenant")
      }
      if key.revokedAtMs == nil {
        key.revokedAtMs = atMs
        try key.update(db)
      }
      return key
    }
  }

  /// Appends an audit record.
  public func appendAudit(_ record: AuditRecord) throws {
    try writer.write { db in try record.insert(db) }
  }

  /// The newest `limit` records of `scope` at or after `sinceMs`, oldest first (by time,
  /// then by when they were written).
  public func audit(_ scope: AuditScope, sinceMs: Int64, limit: Int) throws -> [AuditRecord] {
    try writer.read { db in
      let inScope =
        switch scope {
        case .tenant(let id): AuditRecord.filter(Column("tenant_id") == id)
        case .operator: AuditRecord.filter(Column("actor_kind") == AuditRecord.operatorActor)
        }
      let newest = try inScope.filter(Column("at_ms") >= sinceMs).order(Column("at_ms").desc, Column.rowID.desc).limit(limit).fetchAll(db)
      return newest.reversed()
    }
  }
}
