import Synchronization

/// The gateway's store with its key lookups cached: every forwarded call authenticates, and
/// a lookup in SQLite for each one was a tenth of the gateway's CPU under load
/// (docs/performance.md, "bench-gateway").
///
/// Revocation still takes effect at once: every change of keys or tenants goes through this
/// wrapper, which empties the cache after the change commits; a lookup that read the store
/// before the change and finishes after it does not enter its (stale) answer, because the
/// cache's generation moved meanwhile. Unknown keys are not cached. Gateways sharing a
/// PostgreSQL store hear each other's changes through `NOTIFY` and call ``forgetAll()``
/// (``GatewayProcess``).
public final class KeyLookupCache: GatewayStore {
  private let store: any GatewayStore
  private let cache = Mutex(Cache())
  /// Keys kept at most; the cache is emptied when it is full.
  static let capacity = 10_000

  private struct Cache {
    var keys: [String: APIKeyRecord] = [:]
    var generation = 0
    /// Whether cached answers may be used: not while the gateway cannot hear other
    /// gateways' changes (``setTrusted(_:)``).
    var trusted = true
  }

  /// Caches the key lookups of `store`.
  public init(_ store: any GatewayStore) {
    self.store = store
  }

  public func key(secretHash: String) throws -> APIKeyRecord? {
    let (cached, generation) = cache.withLock { ($0.trusted ? $0.keys[secretHash] : nil, $0.generation) }
    if let cached { return cached }
    guard let key = try store.key(secretHash: secretHash) else { return nil }
    cache.withLock { cache in
      guard cache.generation == generation else { return }
      if cache.keys.count >= Self.capacity { cache.keys.removeAll(keepingCapacity: true) }
      cache.keys[secretHash] = key
    }
    return key
  }

  /// Runs a change of keys or tenants, then forgets every cached key.
  private func changing<T>(_ change: () throws -> T) rethrows -> T {
    defer { forgetAll() }
    return try change()
  }

  /// Whether cached answers may be used. A gateway that shares its store with others sets
  /// it false while it cannot hear their changes (its listening connection is down), and
  /// true again once it listens and has forgotten what it cached.
  public func setTrusted(_ trusted: Bool) {
    cache.withLock { cache in
      cache.trusted = trusted
      cache.generation += 1
      cache.keys.removeAll(keepingCapacity: true)
    }
  }

  /// Forgets every cached key: keys or tenants changed (here or, heard through the
  /// database, on another gateway).
  public func forgetAll() {
    cache.withLock { cache in
      cache.generation += 1
      cache.keys.removeAll(keepingCapacity: true)
    }
  }

  public func createTenant(_ tenant: TenantRecord, firstKey: APIKeyRecord) throws {
    try changing { try store.createTenant(tenant, firstKey: firstKey) }
  }

  public func markDeleted(id: String, atMs: Int64) throws -> Int {
    try changing { try store.markDeleted(id: id, atMs: atMs) }
  }

  public func restore(_ tenant: TenantRecord, keys: [APIKeyRecord], audit: [AuditRecord]) throws {
    try changing { try store.restore(tenant, keys: keys, audit: audit) }
  }

  public func insertKey(_ key: APIKeyRecord) throws {
    try changing { try store.insertKey(key) }
  }

  public func revokeKey(id: String, tenantID: String, atMs: Int64) throws -> APIKeyRecord {
    try changing { try store.revokeKey(id: id, tenantID: tenantID, atMs: atMs) }
  }

  public func tenants() throws -> [TenantRecord] { try store.tenants() }
  public func tenant(id: String) throws -> TenantRecord? { try store.tenant(id: id) }
  public func tenant(named name: String) throws -> TenantRecord? { try store.tenant(named: name) }
  public func keys(tenantID: String) throws -> [APIKeyRecord] { try store.keys(tenantID: tenantID) }
  public func appendAudit(_ record: AuditRecord) throws { try store.appendAudit(record) }
  public func audit(_ scope: AuditScope, sinceMs: Int64, limit: Int) throws -> [AuditRecord] {
    try store.audit(scope, sinceMs: sinceMs, limit: limit)
  }
}
