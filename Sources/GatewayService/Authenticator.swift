import Foundation
public import GRPCCore
public import SightlineModel
import SightlineRPC
public import SightlineStorage

/// Who is calling, as established from the `authorization: Bearer <key>` metadata.
public enum Principal: Sendable, Equatable {
  /// The operator key: administers tenants, sees no tenant's data.
  case `operator`
  /// A tenant's key with a role.
  case tenantKey(tenant: TenantID, role: Role, keyID: String)
}

/// Resolves API keys to principals. Each call looks the key up in the store, so a
/// revocation takes effect on the very next call.
public struct Authenticator: Sendable {
  private let store: any GatewayStore
  private let operatorKeyHash: String

  /// Keys from `store`; `operatorKeyHash` is the SHA-256 of the operator key.
  public init(store: any GatewayStore, operatorKeyHash: String) {
    self.store = store
    self.operatorKeyHash = operatorKeyHash
  }

  /// The caller's principal, or UNAUTHENTICATED for a missing, malformed, unknown or
  /// revoked key. The message never echoes the key.
  public func authenticate(_ metadata: Metadata) throws -> Principal { try identify(metadata).principal }

  /// The caller's principal and its key's label ("operator" for the operator key), for
  /// the audit log; errors as `authenticate`.
  public func identify(_ metadata: Metadata) throws -> (principal: Principal, label: String) {
    let values = Array(metadata[stringValues: SuiteMetadata.authorizationKey])
    guard let header = values.first else {
      throw RPCError(code: .unauthenticated, message: "missing API key: send 'authorization: Bearer <key>'")
    }
    let parts = header.split(separator: " ", maxSplits: 1)
    guard values.count == 1, parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
      throw RPCError(code: .unauthenticated, message: "malformed authorization header: expected 'Bearer <key>'")
    }
    let hash = APIKeys.hash(String(parts[1]))
    if hash == operatorKeyHash { return (.operator, "operator") }
    guard let key = try store.key(secretHash: hash) else {
      throw RPCError(code: .unauthenticated, message: "unknown API key")
    }
    guard key.revokedAtMs == nil else {
      throw RPCError(code: .unauthenticated, message: "API key \(key.id) has been revoked")
    }
    guard let tenant = TenantID(key.tenantID), let role = Role(rawValue: key.role) else {
      throw RPCError(code: .internalError, message: "API key \(key.id) is stored with an invalid tenant or role")
    }
    return (.tenantKey(tenant: tenant, role: role, keyID: key.id), key.label)
  }

  /// The caller's tenant, role and name (`<key label> (<key id>)`, as a case's history
  /// records who changed it), requiring at least `role`; PERMISSION_DENIED otherwise.
  public func requireTenant(_ metadata: Metadata, role required: Role) throws -> (TenantID, Role, String) {
    let (principal, label) = try identify(metadata)
    switch principal {
    case .operator:
      throw RPCError(
        code: .permissionDenied,
        message: "the operator key administers tenants and cannot act on a tenant's data; use a tenant key")
    case .tenantKey(let tenant, let role, let keyID):
      guard role.satisfies(required) else {
        throw RPCError(code: .permissionDenied, message: "this call needs the \(required.rawValue) role; the key has \(role.rawValue)")
      }
      return (tenant, role, "\(label) (\(keyID))")
    }
  }

  /// Requires the operator key.
  public func requireOperator(_ metadata: Metadata) throws {
    guard case .operator = try authenticate(metadata) else {
      throw RPCError(code: .permissionDenied, message: "this call needs the operator key")
    }
  }
}
