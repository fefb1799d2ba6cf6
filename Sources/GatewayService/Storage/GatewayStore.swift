import Foundation

/// A tenant as the gateway stores it.
public struct TenantRecord: Sendable, Equatable, Codable {
  /// Stable id.
  public var id: String
  /// Unique human name.
  public var name: String
  /// Creation time, Unix milliseconds.
  public var createdAtMs: Int64
  /// When the tenant was deleted, Unix milliseconds; nil while it exists. The row stays as
  /// the record of the deletion (its keys stay revoked); its name is free again.
  public var deletedAtMs: Int64?

  enum CodingKeys: String, CodingKey {
    case id, name
    case createdAtMs = "created_at_ms"
    case deletedAtMs = "deleted_at_ms"
  }

  /// A tenant record.
  public init(id: String, name: String, createdAtMs: Int64, deletedAtMs: Int64? = nil) {
    self.id = id
    self.name = name
    self.createdAtMs = createdAtMs
    self.deletedAtMs = deletedAtMs
  }
}

/// An API key as stored: only the SHA-256 of its secret, never the secret.
public struct APIKeyRecord: Sendable, Equatable, Codable {
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
  public init(
    id: String, tenantID: String, role: String, secretHash: String, label: String, createdAtMs: Int64,
    revokedAtMs: Int64? = nil
  ) {
    self.id = id
    self.tenantID = tenantID
    self.role = role
    self.secretHash = secretHash
    self.label = label
    self.createdAtMs = createdAtMs
    self.revokedAtMs = revokedAtMs
  }
}

/// One administrative action in the audit log (the wire's `AuditRecord`).
public struct AuditRecord: Sendable, Equatable, Codable {
  /// Stable id, "au_" and 16 hex digits.
  public var id: String
  /// The tenant acted on; empty for none.
  public var tenantID: String
  /// When the action ended, Unix milliseconds.
  public var atMs: Int64
  /// "key" or "operator".
  public var actorKind: String
  /// The key's id; empty for the operator.
  public var actorKeyID: String
  /// The key's label, or "operator".
  public var actorName: String
  /// The RPC, "Gateway/CreateKey".
  public var action: String
  /// The request in one line.
  public var detail: String
  /// The caller's address.
  public var address: String
  /// "ok" or the error.
  public var outcome: String

  /// The actor kind of the operator key.
  public static let operatorActor = "operator"
  /// The actor kind of a tenant's key.
  public static let keyActor = "key"

  enum CodingKeys: String, CodingKey {
    case id, action, detail, address, outcome
    case tenantID = "tenant_id"
    case atMs = "at_ms"
    case actorKind = "actor_kind"
    case actorKeyID = "actor_key_id"
    case actorName = "actor_name"
  }

  /// A record from its parts.
  public init(
    id: String, tenantID: String, atMs: Int64, actorKind: String, actorKeyID: String, actorName: String, action: String,
    detail: String, address: String, outcome: String
  ) {
    self.id = id
    self.tenantID = tenantID
    self.atMs = atMs
    self.actorKind = actorKind
    self.actorKeyID = actorKeyID
    self.actorName = actorName
    self.action = action
    self.detail = detail
    self.address = address
    self.outcome = outcome
  }
}

/// Which audit records a reader sees.
public enum AuditScope: Sendable, Equatable {
  /// A tenant's: its admins' actions and the operator's on it.
  case tenant(String)
  /// The operator's actions, on every tenant.
  case `operator`
}

/// Errors of the gateway store that a caller can act on.
public struct GatewayStoreError: Error, Equatable, CustomStringConvertible {
  /// What went wrong.
  public enum Code: Sendable, Equatable {
    case tenantNameTaken
    case tenantExists
    case keyNotFound
  }
  /// The code.
  public var code: Code
  /// A sentence.
  public var description: String
}

/// Tenants and their API keys: what the gateway needs from its storage.
public protocol GatewayStore: Sendable {
  /// Creates a tenant and its first key atomically; `tenantNameTaken` if a live tenant
  /// has the name.
  func createTenant(_ tenant: TenantRecord, firstKey: APIKeyRecord) throws
  /// All tenants that exist (not deleted), by name.
  func tenants() throws -> [TenantRecord]
  /// One tenant by id, deleted or not.
  func tenant(id: String) throws -> TenantRecord?
  /// The tenant named `name`: the live one, else the one deleted last.
  func tenant(named name: String) throws -> TenantRecord?
  /// Marks tenant `id` deleted, revokes its keys and removes its keys' audit records
  /// atomically (the operator's records on it stay); returns the keys revoked now.
  func markDeleted(id: String, atMs: Int64) throws -> Int
  /// Restores an exported tenant, its keys and its audit records exactly as they were.
  func restore(_ tenant: TenantRecord, keys: [APIKeyRecord], audit: [AuditRecord]) throws
  /// Stores a new key.
  func insertKey(_ key: APIKeyRecord) throws
  /// The key whose secret hashes to `secretHash`, revoked or not.
  func key(secretHash: String) throws -> APIKeyRecord?
  /// A tenant's keys, newest first.
  func keys(tenantID: String) throws -> [APIKeyRecord]
  /// Revokes key `id` of `tenantID` (idempotent) and returns it; `keyNotFound` for a key
  /// of another tenant.
  func revokeKey(id: String, tenantID: String, atMs: Int64) throws -> APIKeyRecord
  /// Appends an audit record.
  func appendAudit(_ record: AuditRecord) throws
  /// The newest `limit` audit records of `scope` at or after `sinceMs`, oldest first.
  func audit(_ scope: AuditScope, sinceMs: Int64, limit: Int) throws -> [AuditRecord]
}

extension GatewayStore {
  /// Restores a tenant and its keys, with no audit records.
  public func restore(_ tenant: TenantRecord, keys: [APIKeyRecord]) throws { try restore(tenant, keys: keys, audit: []) }
}
