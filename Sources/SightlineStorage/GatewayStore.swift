import Foundation
public import GRDB

/// A tenant as the gateway stores it.
public struct TenantRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "tenant"
  /// Stable id.
  public var id: String
  /// Unique human name.
  public var name: String
  /// Creation time, Unix milliseconds.
  public var createdAtMs: Int64

  enum CodingKeys: String, CodingKey {
    case id, name
    case createdAtMs = "created_at_ms"
  }

  /// A tenant record.
  public init(id: String, name: String, createdAtMs: Int64) {
    self.id = id
    self.name = name
    self.createdAtMs = createdAtMs
  }
}

/// An API key as stored: only the SHA-256 of its secret, never the secret.
public struct APIKeyRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "api_key"
  /// Key id, shown to users for revocation.
  public var id: String
  /// Owning tenant.
  public var tenantID: String
  /// Role raw value (`admin`, `writer`, `reader`).
  public var role: String
  /// Hex SHA-256 of the secret.
  public var secretHash: String
  /// Label for people.
  public var label: String
  /// Creation time, Unix milliseconds.
  public var createdAtMs: Int64
  /// Revocation time, Unix milliseconds; nil while active.
  public var revokedAtMs: Int64?

  enum CodingKeys: String, CodingKey {
    case id, role, label
    case tenantID = "tenant_id"
    case secretHash = "secret_hash"
    case createdAtMs = "created_at_ms"
    case revokedAtMs = "revoked_at_ms"
  }

  /// A key record.
  public init(id: String, tenantID: String, role: String, secretHash: String, label: String, createdAtMs: Int64,
              revokedAtMs: Int64? = nil) {
    self.id = id
    self.tenantID = tenantID
    self.role = role
    self.secretHash = secretHash
    self.label = label
    self.createdAtMs = createdAtMs
    self.revokedAtMs = revokedAtMs
  }
}

/// Errors of the gateway store that a caller can act on.
public struct GatewayStoreError: Error, Equatable, CustomStringConvertible {
  /// What went wrong.
  public enum Code: Sendable, Equatable {
    case tenantNameTaken
    case keyNotFound
  }
  /// The code.
  public var code: Code
  /// A sentence.
  public var description: String
}

/// Tenants and API keys, kept by the gateway in its own SQLite file.
public struct GatewayStore: Sendable {
  private let writer: any DatabaseWriter

  /// A store on `writer`; runs the migrations.
  public init(writer: any DatabaseWriter) throws {
    self.writer = writer
    try Self.migrator.migrate(writer)
  }

  /// Opens (creating) the store at `path`.
  public static func open(path: String) throws -> GatewayStore {
    try GatewayStore(writer: PrivateFiles.openDatabase(at: path, configuration: TenantDatabases.configuration()))
  }

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
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
          """)
    }
    return migrator
  }

  /// Creates a tenant and its first key in one transaction.
  public func createTenant(_ tenant: TenantRecord, firstKey: APIKeyRecord) throws {
    try writer.write { db in
      if try TenantRecord.filter(Column("name") == tenant.name).fetchCount(db) > 0 {
        throw GatewayStoreError(code: .tenantNameTaken, description: "a tenant named '\(tenant.name)' already exists")
      }
      try tenant.insert(db)
      try firstKey.insert(db)
    }
  }

  /// All tenants by name.
  public func tenants() throws -> [TenantRecord] {
    try writer.read { db in try TenantRecord.order(Column("name")).fetchAll(db) }
  }

  /// One tenant by id.
  public func tenant(id: String) throws -> TenantRecord? {
    try writer.read { db in try TenantRecord.fetchOne(db, key: id) }
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
}
