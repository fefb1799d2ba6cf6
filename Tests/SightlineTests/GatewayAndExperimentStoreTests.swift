import ExperimentsService
import Foundation
import GatewayService
import SightlineModel
import SightlineStorage
import Testing

/// The gateway's tenants and keys, and the experiment definitions, behave the same on both
/// backends.
@Suite struct GatewayAndExperimentStoreTests {
  @Test(arguments: TestBackend.all)
  func tenantsAndKeysKeepTheirRules(_ backend: TestBackend) throws {
    let store = try backend.gatewayStore()
    let unique = TestBackend.freshTenant().rawValue
    let tenant = TenantRecord(id: unique, name: "name-\(unique)", createdAtMs: 1_000)
    let key = APIKeyRecord(
      id: "k1-\(unique)", tenantID: tenant.id, role: "admin", secretHash: "h1-\(unique)", label: "first", createdAtMs: 1_000)
    try store.createTenant(tenant, firstKey: key)
    // A live tenant's name is taken.
    #expect(throws: GatewayStoreError.self) {
      try store.createTenant(
        TenantRecord(id: unique + "x", name: tenant.name, createdAtMs: 2_000),
        firstKey: APIKeyRecord(
          id: "kx-\(unique)", tenantID: unique + "x", role: "admin", secretHash: "hx-\(unique)", label: "x", createdAtMs: 2_000))
    }
    let second = APIKeyRecord(
      id: "k2-\(unique)", tenantID: tenant.id, role: "analyst", secretHash: "h2-\(unique)", label: "second", createdAtMs: 3_000)
    try store.insertKey(second)
    #expect(try store.keys(tenantID: tenant.id).map(\.id) == [second.id, key.id])
    #expect(try store.key(secretHash: second.secretHash) == second)
    #expect(try store.tenant(id: tenant.id) == tenant)
    #expect(try store.tenants().contains(tenant))
    // A key of another tenant is not found, and a revocation is idempotent.
    #expect(throws: GatewayStoreError.self) { try store.revokeKey(id: second.id, tenantID: "someone-else", atMs: 4_000) }
    #expect(try store.revokeKey(id: second.id, tenantID: tenant.id, atMs: 4_000).revokedAtMs == 4_000)
    #expect(try store.revokeKey(id: second.id, tenantID: tenant.id, atMs: 5_000).revokedAtMs == 4_000)
    // Deleting revokes the keys still valid; the name is free again, and found by name.
    #expect(try store.markDeleted(id: tenant.id, atMs: 6_000) == 1)
    #expect(try store.key(secretHash: key.secretHash)?.revokedAtMs == 6_000)
    #expect(try !store.tenants().contains { $0.id == tenant.id })
    #expect(try store.tenant(named: tenant.name)?.deletedAtMs == 6_000)
    // A restore brings the tenant back as exported.
    try store.restore(tenant, keys: [key])
    #expect(try store.tenant(id: tenant.id) == tenant)
    #expect(try store.keys(tenantID: tenant.id) == [key])
    #expect(throws: GatewayStoreError.self) { try store.restore(tenant, keys: [key]) }
  }

  @Test(arguments: TestBackend.all)
  func experimentNamesAreUniquePerTenantAndListOldestFirst(_ backend: TestBackend) throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let storage = try backend.experimentStores(directory: directory)
    let (a, b) = (TestBackend.freshTenant(), TestBackend.freshTenant())
    let store = try storage.experiments(for: a)
    #expect(try store.create(name: "rollout", definition: Data([1, 2, 3])))
    #expect(try !store.create(name: "rollout", definition: Data([9])))
    #expect(try store.create(name: "second", definition: Data([4])))
    #expect(try store.definition(name: "rollout") == Data([1, 2, 3]))
    #expect(try store.definition(name: "missing") == nil)
    #expect(try store.all() == [Data([1, 2, 3]), Data([4])])
    // Another tenant sees none of them, and may use the same name.
    let other = try storage.experiments(for: b)
    #expect(try other.all() == [])
    #expect(try other.create(name: "rollout", definition: Data([7])))
  }
}
