import Foundation
import Logging
import PostgresNIO
import SightlinePostgres
import SightlineTesting
import Testing

/// The PostgreSQL server the backend tests run against (`.ci/run` starts one in a scratch
/// directory): `SIGHTLINE_TEST_DATABASE_URL` connects as the service role, which owns no
/// table, and `SIGHTLINE_TEST_DATABASE_OWNER_URL` as the role that owns the schema.
///
/// Without them the PostgreSQL tests are skipped, saying how to run them; under `CI=true`
/// they fail instead, so CI never passes by skipping them.
enum TestPostgres {
  static let environment = ProcessInfo.processInfo.environment

  /// Whether the tests run (a condition trait for `@Suite`/`@Test`).
  static var available: Bool { environment["SIGHTLINE_TEST_DATABASE_URL"] != nil || isCI }

  static var isCI: Bool { environment["CI"] == "true" }

  static let howToRun: Comment =
    "PostgreSQL tests skipped: set SIGHTLINE_TEST_DATABASE_URL (service role) and SIGHTLINE_TEST_DATABASE_OWNER_URL (owner) to a scratch database; .ci/run shows how to start one"

  /// The service and owner URLs; fails the test when CI runs without them.
  static func urls() throws -> (service: DatabaseURL, owner: DatabaseURL) {
    guard let service = environment["SIGHTLINE_TEST_DATABASE_URL"], let owner = environment["SIGHTLINE_TEST_DATABASE_OWNER_URL"]
    else {
      throw MissingServer()
    }
    return (try DatabaseURL(service), try DatabaseURL(owner))
  }

  struct MissingServer: Error, CustomStringConvertible {
    var description: String { "CI=true but no PostgreSQL server: " + TestPostgres.howToRun.rawValue }
  }

  /// Runs `body` with a pool for `url`, closed afterwards.
  @discardableResult
  static func with<R>(
    _ url: DatabaseURL, schema: String? = nil, maxConnections: Int = 8, _ body: (PostgresPool) throws -> R
  ) throws -> R {
    let pool = try PostgresPool(url: url, schema: schema, maxConnections: maxConnections, logger: logger)
    defer { pool.close() }
    return try body(pool)
  }

  /// Runs `body` with a database of its own, created empty for it and dropped afterwards:
  /// for whole suites, whose tenant names (unique among live tenants) would otherwise meet
  /// those of other tests in the shared database.
  static func withScratchDatabase<R>(_ body: (SuiteDatabase) async throws -> R) async throws -> R {
    let urls = try urls()
    let name = uniqueName("sightline")
    try with(urls.owner) { owner in try owner.withSession { try $0.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) } }
    func swapDatabase(_ url: String) -> String {
      url.replacingOccurrences(of: "/\(urls.service.database)?", with: "/\(name)?")
        .replacingOccurrences(of: "/\(urls.service.database)", with: "/\(name)")
    }
    let database = SuiteDatabase(
      url: swapDatabase(environment["SIGHTLINE_TEST_DATABASE_URL"]!),
      ownerURL: swapDatabase(environment["SIGHTLINE_TEST_DATABASE_OWNER_URL"]!))
    do {
      let result = try await body(database)
      try? dropDatabase(name, owner: urls.owner)
      return result
    } catch {
      try? dropDatabase(name, owner: urls.owner)
      throw error
    }
  }

  private static func dropDatabase(_ name: String, owner: DatabaseURL) throws {
    try with(owner) { owner in
      try owner.withSession { try $0.execute(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }
  }

  static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  /// A name unique to this run, for tables and schema components the test creates.
  static func uniqueName(_ prefix: String) -> String {
    prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
  }
}
