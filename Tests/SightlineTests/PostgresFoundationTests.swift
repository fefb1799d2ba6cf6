import Foundation
import Logging
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineRPC
import Synchronization
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
  static func reset(_ owner: PostgresPool) throws {
    try owner.withSession { try $0.execute("DROP SCHEMA IF EXISTS foundation_probe CASCADE") }
    try owner.withSession {
      try $0.execute(
        """
        DO $$ BEGIN
          IF to_regclass('sightline_schema') IS NOT NULL THEN DELETE FROM sightline_schema WHERE component = 'foundation_probe'; END IF;
        END $$
        """)
    }
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
    try await BlockingWork.run {
      try TestPostgres.with(urls.owner) { owner in
        try Self.reset(owner)
        // Four replicas, each with its own pool, start at once.
        let versions = Mutex<[Int]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
          do {
            let version = try TestPostgres.with(urls.owner) { pool in
              try PostgresMigrator.migrate(ProbeSchema.self, owner: pool, serviceRole: urls.service.username, logger: Self.logger)
            }
            versions.withLock { $0.append(version) }
          } catch {
            failures.withLock { $0.append("\(error)") }
          }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(versions.withLock { $0 } == [2, 2, 2, 2])
        let runs = try owner.withSession { try $0.value("SELECT count(*)::int FROM foundation_probe.probe_runs", as: Int.self) }
        #expect(runs == 1, "the first step ran once, not once per replica")
        // Started again, nothing runs.
        #expect(try PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger) == 2)
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func aNewerSchemaIsRefused() throws {
    let urls = try TestPostgres.urls()
    try TestPostgres.with(urls.owner) { owner in
      try Self.reset(owner)
      try PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
      try owner.withSession { try $0.execute("UPDATE sightline_schema SET version = 7 WHERE component = 'foundation_probe'") }
      #expect {
        try PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
      } throws: { error in
        guard let error = error as? DatabaseStartupError else { return false }
        return error.kind == .schemaNewer && error.description.contains("version 7, newer than this binary knows (2)")
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func rowLevelSecurityAdmitsOnlyTheTransactionsTenant() throws {
    let urls = try TestPostgres.urls()
    try TestPostgres.with(urls.owner) { owner in
      try Self.reset(owner)
      try PostgresMigrator.migrate(ProbeSchema.self, owner: owner, serviceRole: urls.service.username, logger: Self.logger)
    }
    try TestPostgres.with(urls.service, schema: ProbeSchema.component) { service in
      let (a, b) = (TenantID("t_rls_a")!, TenantID("t_rls_b")!)
      for (tenant, ids) in [(a, ["a1", "a2"]), (b, ["b1"])] {
        try service.transaction(tenant: tenant) { session in
          for id in ids { try session.execute("INSERT INTO probe_item (tenant_id, id) VALUES (\(tenant.rawValue), \(id))") }
        }
      }
      // A query without any tenant filter sees only the transaction's tenant.
      func unfiltered(_ tenant: TenantID) throws -> [String] {
        try service.transaction(tenant: tenant) { session in
          try session.query("SELECT id FROM probe_item ORDER BY id").map { try $0.decode(String.self) }
        }
      }
      #expect(try unfiltered(a) == ["a1", "a2"])
      #expect(try unfiltered(b) == ["b1"])
      // Outside a tenant transaction nothing is visible.
      #expect(try service.withSession { try $0.value("SELECT count(*)::int FROM probe_item", as: Int.self) } == 0)
      // Writing another tenant's row from a tenant's transaction is refused.
      #expect(throws: PSQLError.self) {
        try service.transaction(tenant: a) { session in
          try session.execute("INSERT INTO probe_item (tenant_id, id) VALUES ('t_rls_b', 'sneaked')")
        }
      }
      // The service role cannot change the tables it works on.
      #expect {
        try service.withSession { try $0.execute("ALTER TABLE probe_item DISABLE ROW LEVEL SECURITY") }
      } throws: { error in
        DatabaseStartupError(error, url: urls.service).kind == .missingPrivileges
      }
    }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func startupErrorsNameWhatToFix() throws {
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
      try TestPostgres.with(url) { database in
        #expect {
          try database.checkReachable()
        } throws: { error in
          guard let error = error as? DatabaseStartupError else { return false }
          return error.kind == kind && error.description.contains(says) && !error.description.contains("not-the-password")
        }
      }
    }
    try TestPostgres.with(urls.service) { try $0.checkReachable() }
  }
}
