public import Logging
public import PostgresNIO
public import ServiceLifecycle
public import SightlineModel

/// One service's PostgreSQL database: a connection pool (`PostgresClient`) that runs in the
/// process's `ServiceGroup`, transactions scoped to one tenant, and the start-up checks
/// that name what to fix.
///
/// Tenancy (docs/architecture.md, "PostgreSQL"): every tenant table carries `tenant_id`, and
/// row-level security admits only the rows of the tenant the transaction sets
/// (`sightline.tenant`, set with `SET LOCAL` semantics). The code's own filters stay; the
/// policies are the second wall.
public final class PostgresBackend: Service, Sendable {
  /// The URL connected to (its role is the one the work runs as).
  public let url: DatabaseURL
  /// The pool.
  public let client: PostgresClient
  private let logger: Logger

  public init(url: DatabaseURL, logger: Logger) {
    self.url = url
    self.logger = logger
    var configuration = url.clientConfiguration()
    configuration.options.connectTimeout = .seconds(5)
    client = PostgresClient(configuration: configuration, backgroundLogger: logger)
  }

  /// Runs the pool until the service group shuts down or cancels it.
  public func run() async throws { await client.run() }

  /// Runs `body` in a transaction in which row-level security admits only `tenant`'s rows.
  public func withTenantTransaction<Result: Sendable>(
    _ tenant: TenantID, _ body: (PostgresConnection) async throws -> Result
  ) async throws -> Result {
    try await transaction { connection in
      // `set_config(…, true)` is `SET LOCAL`: it ends with the transaction, so a pooled
      // connection never carries a tenant into the next one.
      try await connection.query("SELECT set_config('sightline.tenant', \(tenant.rawValue), true)", logger: logger)
      return try await body(connection)
    }
  }

  /// Runs `body` in a transaction; throws what failed (the body's error, or the commit's)
  /// rather than postgres-nio's wrapper of them.
  public func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
    do {
      return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
    } catch let error as PostgresTransactionError {
      throw error.closureError ?? error.commitError ?? error.beginError ?? error
    }
  }

  /// Checks that the database answers, as this URL's role, on a connection of its own (the
  /// pool retries a failing connection quietly; this says why it fails): the first thing a
  /// process does, so that a wrong URL fails at start-up with what to fix.
  public func checkReachable() async throws(DatabaseStartupError) {
    do {
      let connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 0, logger: logger)
      do {
        try await connection.query("SELECT 1", logger: logger)
      } catch {
        try? await connection.close()
        throw error
      }
      try? await connection.close()
    } catch {
      throw DatabaseStartupError(error, url: url)
    }
  }
}
