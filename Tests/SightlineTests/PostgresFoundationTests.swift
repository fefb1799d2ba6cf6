import Foundation
import Logging
import PostgresNIO
import SightlineModel
import SightlinePostgres
import Testing

/// The PostgreSQL plumbing every store builds on, against a real server (docs/operations.md,
/// "PostgreSQL"): URLs, migrations under the advisory lock, row-level security as the
/// second wall, and start-up errors that name what to fix.
@Suite("PostgreSQL foundation", .serialized)
struct PostgresFoundationTests {
  static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  /// A schema of one tenant table; its first step also counts how often it ran.
  enum ProbeSchema: PostgresSchema {
    static let component = "foundation_probe"
    static let migrations = [
      PostgresMigration(
        version: 1, name: "items",
        statements: [
          "CREATE TABLE probe_item (tenant_id text NOT NULL, id text NOT NULL, PRIMARY KEY (tenant_id, id))",
          "CREATE TABLE probe_runs (ran_at timestamptz NOT NULL DEFAULT now())",
          "INSERT INTO probe_runs DEFAULT VALUES",
        ],
        tenantTables: ["probe_item"]),
      PostgresMigration(version: 2, name: "labels", statements: ["ALTER TABLE probe_item ADD COLUMN label text NOT NULL DEFAULT ''"]),
    ]
  }

  /// Drops what an earlier run of these tests left.
  static func reset(_ owner: PostgresBackend) async throws {
    try await owner.client.query("DROP TABLE IF EXISTS probe_item, probe_runs")
    try await owner.client.query(
      """
      DO $$ BEGIN
        IF to_regclass('sightline_schema') IS NOT NULL THEN DELETE FROM sightline_schema WHERE component = 'foundation_probe'; END IF;
      END $$
      """)
  }

  @Test func urlsParseAndNeverShowThePassword() throws {
    let url = try DatabaseURL("postgres://svc:p%40ss@db.example:6543/sightline?sslmode=verify-full")
    #expect(url.host == "db.example" && url.port == 6543 && url.username == "svc" && url.password == "p@ss")
    #expect(url.database == "sightline" && url.tls == .verifyFull)
    #expect(url.description == "postgres://svc:***@db.example:6543/sightline?sslmode=verify-full")
    #expect(try DatabaseURL("postgresql://u@h/d").port == 5432)
    for (bad, says) in [
      ("mysql://u:p@h/d", "not a postgres:// URL"), ("postgres://u:p@h", "names no database"), ("postgres://h/d", "names no user"),
      ("postgres://u@h/d?sslmode=maybe", "sslmode 'maybe'"), ("postgres://u@h/d?timeout=3", "unknown URL parameter 'timeout'"),
    ] {
      #expect(throws: DatabaseURLError.self) { try DatabaseURL(bad) }
      do {
        _ = try DatabaseURL(bad)
      } catch {
        #expect(error.description.contains(says), "\(bad): \(error)")
        #expect(!error.description.contains(":p@"), "the password stays out of messages")
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func replicasStartingAtOnceMigrateOnce() async throws {
    let urls = try TestPostgres.urls()
    try await TestPostgres.with(urls.owner) { owner in
      try await Self.reset(owner)
      let versions = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<4 {
          group.addTask {
            try await PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
          }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      #expect(versions == [2, 2, 2, 2])
      var runs = 0
      for try await count in try await owner.client.query("SELECT count(*)::int FROM probe_runs").decode(Int.self) { runs = count }
      #expect(runs == 1, "the first step ran once, not once per replica")
      // Started again, nothing runs.
      #expect(
        try await PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger) == 2)
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func aNewerSchemaIsRefused() async throws {
    let urls = try TestPostgres.urls()
    try await TestPostgres.with(urls.owner) { owner in
      try await Self.reset(owner)
      try await PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
      try await owner.client.query("UPDATE sightline_schema SET version = 7 WHERE component = 'foundation_probe'")
      await #expect {
        try await PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
      } throws: { error in
        guard let error = error as? DatabaseStartupError else { return false }
        return error.kind == .schemaNewer && error.description.contains("version 7, newer than this binary knows (2)")
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func rowLevelSecurityAdmitsOnlyTheTransactionsTenant() async throws {
    let urls = try TestPostgres.urls()
    try await TestPostgres.with(urls.owner) { owner in
      try await Self.reset(owner)
      try await PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
    }
    try await TestPostgres.with(urls.service) { service in
      let (a, b) = (TenantID("t_rls_a")!, TenantID("t_rls_b")!)
      for (tenant, ids) in [(a, ["a1", "a2"]), (b, ["b1"])] {
        try await service.withTenantTransaction(tenant) { connection in
          for id in ids {
            try await connection.query("INSERT INTO probe_item (tenant_id, id) VALUES (\(tenant.rawValue), \(id))", logger: Self.logger)
          }
        }
      }
      // A query without any tenant filter sees only the transaction's tenant.
      func unfiltered(_ tenant: TenantID) async throws -> [String] {
        try await service.withTenantTransaction(tenant) { connection in
          var ids: [String] = []
          for try await id in try await connection.query("SELECT id FROM probe_item ORDER BY id", logger: Self.logger).decode(String.self) {
            ids.append(id)
          }
          return ids
        }
      }
      #expect(try await unfiltered(a) == ["a1", "a2"])
      #expect(try await unfiltered(b) == ["b1"])
      // Outside a tenant transaction nothing is visible.
      var outside = 0
      for try await count in try await service.client.query("SELECT count(*)::int FROM probe_item").decode(Int.self) { outside = count }
      #expect(outside == 0)
      // Writing another tenant's row from a tenant's transaction is refused.
      await #expect(throws: PSQLError.self) {
        try await service.withTenantTransaction(a) { connection in
          try await connection.query("INSERT INTO probe_item (tenant_id, id) VALUES ('t_rls_b', 'sneaked')", logger: Self.logger)
        }
      }
      // The service role cannot change the tables it works on.
      await #expect {
        try await service.client.query("ALTER TABLE probe_item DISABLE ROW LEVEL SECURITY")
      } throws: { error in
        DatabaseStartupError(error, url: urls.service).kind == .missingPrivileges
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func startupErrorsNameWhatToFix() async throws {
    let urls = try TestPostgres.urls()
    var wrongPassword = urls.service
    wrongPassword.password = "not-the-password"
    var missingDatabase = urls.service
    missingDatabase.database = "no_such_database"
    var closedPort = urls.service
    closedPort.port = 1
    for (url, kind, says) in [
      (wrongPassword, DatabaseStartupError.Kind.authenticationFailed, "refused user 'sightline_service'"),
      (missingDatabase, .missingDatabase, "'no_such_database' does not exist"),
      (closedPort, .unreachable, "cannot reach the database at 127.0.0.1:1"),
    ] {
      try await TestPostgres.with(url) { database in
        await #expect {
          try await database.checkReachable()
        } throws: { error in
          guard let error = error as? DatabaseStartupError else { return false }
          return error.kind == kind && error.description.contains(says) && !error.description.contains("not-the-password")
        }
      }
    }
    try await TestPostgres.with(urls.service) { try await $0.checkReachable() }
  }
}
