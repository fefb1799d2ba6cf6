import Foundation
import GatewayService
import SightlineStorage
import Testing

/// The gateway caches key lookups; a change of keys or tenants must reach the very next
/// lookup, and a lookup racing a change must not bring a stale key back into the cache.
@Suite struct KeyLookupCacheTests {
  static func store() throws -> (KeyLookupCache, SQLiteGatewayStore) {
    let sqlite = try SQLiteGatewayStore.inMemory()
    let key = APIKeyRecord(id: "k1", tenantID: "t1", role: "admin", secretHash: "h1", label: "first", createdAtMs: 1)
    try sqlite.createTenant(TenantRecord(id: "t1", name: "one", createdAtMs: 1), firstKey: key)
    return (KeyLookupCache(sqlite), sqlite)
  }

  @Test("a revocation or a tenant's deletion reaches the next lookup of a cached key")
  func changesReachTheNextLookup() throws {
    let (cache, _) = try Self.store()
    #expect(try cache.key(secretHash: "h1")?.revokedAtMs == nil)
    #expect(try cache.key(secretHash: "h1")?.revokedAtMs == nil)  // now from the cache
    _ = try cache.revokeKey(id: "k1", tenantID: "t1", atMs: 5)
    #expect(try cache.key(secretHash: "h1")?.revokedAtMs == 5)

    try cache.insertKey(APIKeyRecord(id: "k2", tenantID: "t1", role: "reader", secretHash: "h2", label: "", createdAtMs: 6))
    #expect(try cache.key(secretHash: "h2")?.revokedAtMs == nil)
    _ = try cache.markDeleted(id: "t1", atMs: 9)
    #expect(try cache.key(secretHash: "h2")?.revokedAtMs == 9)
    #expect(try cache.key(secretHash: "unknown") == nil)
  }

  @Test("a change behind the cache's back is not seen: all changes must go through it")
  func theCacheIsReallyUsed() throws {
    let (cache, sqlite) = try Self.store()
    #expect(try cache.key(secretHash: "h1")?.revokedAtMs == nil)
    _ = try sqlite.revokeKey(id: "k1", tenantID: "t1", atMs: 5)
    // The wrapper did not see this change, so it still answers from memory; the gateway
    // therefore hands the wrapper, never the SQLite store, to everything that changes keys.
    #expect(try cache.key(secretHash: "h1")?.revokedAtMs == nil)
  }
}
