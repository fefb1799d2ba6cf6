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

  /// The audit log: a tenant's records (its keys' and the operator's on it), the
  /// operator's across tenants, newest `limit` oldest first; a deletion removes the
  /// tenant's keys' records but keeps the operator's; a restore brings them back.
  @Test(arguments: TestBackend.all)
  func auditRecordsAreScopedAndGoWithTheirTenant(_ backend: TestBackend) throws {
    let store = try backend.gatewayStore()
    let unique = TestBackend.freshTenant().rawValue
    let tenant = TenantRecord(id: unique, name: "audit-\(unique)", createdAtMs: 1_000)
    let key = APIKeyRecord(
      id: "k1-\(unique)", tenantID: tenant.id, role: "admin", secretHash: "ha-\(unique)", label: "first", createdAtMs: 1_000)
    try store.createTenant(tenant, firstKey: key)
    func record(_ n: Int, _ kind: String, tenant: String) -> AuditRecord {
      AuditRecord(
        id: "au_\(unique)\(n)", tenantID: tenant, atMs: Int64(10_000 + n), actorKind: kind,
        actorKeyID: kind == AuditRecord.keyActor ? key.id : "", actorName: kind == AuditRecord.keyActor ? "first" : "operator",
        action: "Gateway/Action\(n)", detail: "n: \(n)", address: "ipv4:127.0.0.1:1", outcome: "ok")
    }
    let created = record(1, AuditRecord.operatorActor, tenant: tenant.id)
    let own = [record(2, AuditRecord.keyActor, tenant: tenant.id), record(3, AuditRecord.keyActor, tenant: tenant.id)]
    let elsewhere = record(4, AuditRecord.keyActor, tenant: unique + "-other")
    for entry in [created] + own + [elsewhere] { try store.appendAudit(entry) }
    #expect(try store.audit(.tenant(tenant.id), sinceMs: 0, limit: 100) == [created] + own)
    #expect(try store.audit(.tenant(tenant.id), sinceMs: 10_002, limit: 100) == own)
    #expect(try store.audit(.tenant(tenant.id), sinceMs: 0, limit: 2) == own)
    #expect(try store.audit(.operator, sinceMs: 0, limit: 10_000).contains(created))
    #expect(try !store.audit(.operator, sinceMs: 0, limit: 10_000).contains { $0.actorKind != AuditRecord.operatorActor })
    // Deleted: the tenant's own records go, the operator's stay.
    _ = try store.markDeleted(id: tenant.id, atMs: 20_000)
    #expect(try store.audit(.tenant(tenant.id), sinceMs: 0, limit: 100) == [created])
    // Restored from an export: its records return, the one already there once.
    try store.restore(tenant, keys: [key], audit: [created] + own)
    #expect(try store.audit(.tenant(tenant.id), sinceMs: 0, limit: 100) == [created] + own)
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
