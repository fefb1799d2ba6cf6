import Foundation
import GRDB
import IngestionService
import SightlineLauncher
import SightlineModel
import SightlineStorage
import SightlineTesting
import Testing

/// One service's side of export, import and delete, on real files: what an operator's
/// import can bring (a file from a newer version, not a database of the service, a tenant
/// that already has data), and that a deleted tenant cannot come back by accident.
@Suite struct TenantDatabasesLifecycleTests {
  static func databases(_ root: String) -> TenantDatabases {
    TenantDatabases(root: root, service: "ingestion", migrator: SQLiteEventLog.migrator)
  }

  @Test func aBackupInstallsOnceAndRefusesForeignOrNewerFiles() throws {
    let root = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let source = Self.databases(root + "/a")
    let tenant = try #require(TenantID("t_0123456789abcdef"))
    _ = try SQLiteEventLog(writer: source.database(for: tenant))
      .append([LogRecord(eventID: "e1", kind: "order", eventTimeMs: 1, payload: Data("e1".utf8))])
    try source.backup(tenant, to: root + "/copy.sqlite")
    #expect((try FileManager.default.attributesOfItem(atPath: root + "/copy.sqlite")[.posixPermissions] as? Int) == 0o600)

    // Into another deployment: installed, readable, and only once.
    let target = Self.databases(root + "/b")
    try FileManager.default.copyItem(atPath: root + "/copy.sqlite", toPath: root + "/again.sqlite")
    try target.install(tenant, from: root + "/copy.sqlite")
    #expect(try SQLiteEventLog(writer: target.database(for: tenant)).lastOffset() == 1)
    #expect(throws: TenantDataError(code: .alreadyExists, description: "tenant \(tenant) already has ingestion data; delete it first")) {
      try target.install(tenant, from: root + "/again.sqlite")
    }

    // A SQLite file that no migration of this service made.
    let other = try #require(TenantID("t_1111111111111111"))
    let empty = try DatabaseQueue(path: root + "/empty.sqlite")
    try empty.write { db in try db.execute(sql: "CREATE TABLE x (a)") }
    try empty.close()
    let foreign = try #require(throws: TenantDataError.self) { try target.install(other, from: root + "/empty.sqlite") }
    #expect(foreign.code == .invalidFile && foreign.description.contains("not a database of the ingestion service"))

    // A file from a newer version: a migration this service does not know.
    let newer = try DatabaseQueue(path: root + "/again.sqlite")
    try newer.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')") }
    try newer.close()
    let future = try #require(throws: TenantDataError.self) { try target.install(other, from: root + "/again.sqlite") }
    #expect(future.code == .invalidFile && future.description.contains("v99-future"))
    #expect(!FileManager.default.fileExists(atPath: target.path(for: other)))
  }

  @Test func aRemovedTenantCannotBeReopenedUntilAnImport() throws {
    let root = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let databases = Self.databases(root)
    let tenant = try #require(TenantID("t_0123456789abcdef"))
    _ = try SQLiteEventLog(writer: databases.database(for: tenant))
      .append([LogRecord(eventID: "e1", kind: "order", eventTimeMs: 1, payload: Data("e1".utf8))])
    try databases.backup(tenant, to: root + "/copy.sqlite")

    let removed = databases.remove(tenant)
    #expect(removed.files >= 1 && removed.bytes > 0)
    #expect(!FileManager.default.fileExists(atPath: databases.path(for: tenant)))
    #expect(databases.tenants().isEmpty)
    // A late consumer batch or call must not recreate the file.
    #expect(throws: TenantDataError.self) { try databases.database(for: tenant) }
    #expect(!FileManager.default.fileExists(atPath: databases.path(for: tenant)))
    let again = databases.remove(tenant)
    #expect(again.files == 0 && again.bytes == 0, "deleting again removes nothing and fails nothing")

    try databases.install(tenant, from: root + "/copy.sqlite")
    #expect(try SQLiteEventLog(writer: databases.database(for: tenant)).lastOffset() == 1)
  }
}
