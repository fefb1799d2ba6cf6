import Foundation
import Logging
public import PostgresNIO

/// One versioned step of a component's PostgreSQL schema.
public struct PostgresMigration: Sendable {
  /// 1, 2, 3, … in order.
  public let version: Int
  public let name: String
  /// Statements run in order, in the migration's transaction.
  public let statements: [String]
  /// Tables the step creates that hold tenant rows: each gets row-level security with the
  /// tenant policy, and the service role's privileges.
  public let tenantTables: [String]
  /// Tables the step creates that hold no tenant's rows but the directory of tenants (the
  /// gateway's tenants and keys, read before a tenant is known): the service role's
  /// privileges, no row-level security.
  public let directoryTables: [String]

  public init(version: Int, name: String, statements: [String], tenantTables: [String] = [], directoryTables: [String] = []) {
    self.version = version
    self.name = name
    self.statements = statements
    self.tenantTables = tenantTables
    self.directoryTables = directoryTables
  }
}

/// A component's PostgreSQL schema: its name (one version row per component, and the
/// PostgreSQL schema, the namespace, its tables live in) and its steps.
public protocol PostgresSchema {
  static var component: String { get }
  static var migrations: [PostgresMigration] { get }
  /// Tables whose rows an export writes in a given order (table → `ORDER BY` expression):
  /// where the order rows were stored in matters, the export keeps it, as SQLite's rowid
  /// order keeps it there.
  static var exportOrder: [String: String] { get }
}

extension PostgresSchema {
  public static var exportOrder: [String: String] { [:] }
}

/// Brings a component's schema up to date at start-up. All migrations of all components
/// take one advisory lock, in their transaction, so replicas starting at once migrate
/// exactly once; a schema newer than the binary is refused.
public enum PostgresMigrator {
  /// The advisory lock key every migration holds (arbitrary, fixed: "sightlin" in ASCII).
  static let lockKey: Int64 = 0x7369_6768_746c_696e

  /// Migrates `Schema` over `owner` (a role that may create tables), granting the tenant
  /// tables to `serviceRole`, the role the services' work runs as. Returns the version now
  /// in force.
  @discardableResult
  public static func migrate<Schema: PostgresSchema>(
    _ schema: Schema.Type, owner: PostgresPool, serviceRole: String, logger: Logger
  ) throws(DatabaseStartupError) -> Int {
    let latest = Schema.migrations.map(\.version).max() ?? 0
    do {
      return try owner.transaction { session in
        try session.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
        try session.execute(
          """
          CREATE TABLE IF NOT EXISTS sightline_schema (
            component text PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())
          """)
        try session.execute(
          """
          CREATE TABLE IF NOT EXISTS sightline_tenant (
            component text NOT NULL, tenant_id text NOT NULL, state text NOT NULL, PRIMARY KEY (component, tenant_id))
          """)
        let role = quoted(serviceRole)
        try session.execute(PostgresQuery(unsafeSQL: "GRANT SELECT, INSERT, UPDATE ON sightline_tenant TO \(role)"))
        for statement in PostgresLeases.tableStatements(role: role) + ShardPlacement.tableStatements(role: role) {
          try session.execute(PostgresQuery(unsafeSQL: statement))
        }
        try session.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted(Schema.component))"))
        try session.execute(PostgresQuery(unsafeSQL: "GRANT USAGE ON SCHEMA \(quoted(Schema.component)) TO \(role)"))
        try session.execute(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoted(Schema.component)), public"))
        let current = try session.value("SELECT version FROM sightline_schema WHERE component = \(Schema.component)", as: Int.self) ?? 0
        guard current <= latest else {
          throw DatabaseStartupError(
            kind: .schemaNewer,
            description:
              "the database's \(Schema.component) schema is at version \(current), newer than this binary knows (\(latest)): run the release that migrated it, or newer"
          )
        }
        for migration in Schema.migrations.sorted(by: { $0.version < $1.version }) where migration.version > current {
          for statement in migration.statements { try session.execute(PostgresQuery(unsafeSQL: statement)) }
          for table in migration.tenantTables {
            for statement in tenantTableStatements(table, serviceRole: serviceRole) {
              try session.execute(PostgresQuery(unsafeSQL: statement))
            }
          }
          for table in migration.directoryTables {
            try session.execute(PostgresQuery(unsafeSQL: "GRANT SELECT, INSERT, UPDATE, DELETE ON \(table) TO \(role)"))
          }
          logger.info(
            "migrated", metadata: ["component": "\(Schema.component)", "version": "\(migration.version)", "name": "\(migration.name)"])
        }
        try session.execute(
          """
          INSERT INTO sightline_schema (component, version) VALUES (\(Schema.component), \(latest))
          ON CONFLICT (component) DO UPDATE SET version = excluded.version, migrated_at = now()
          """)
        return latest
      }
    } catch let error as DatabaseStartupError {
      throw error
    } catch {
      throw DatabaseStartupError(error, url: owner.url)
    }
  }

  /// Row-level security for a tenant table: only rows of the transaction's tenant are
  /// visible or writable, also to the table's owner (`FORCE`), and the service role may
  /// read and write rows but not change the table.
  static func tenantTableStatements(_ table: String, serviceRole: String) -> [String] {
    let role = quoted(serviceRole)
    return [
      "ALTER TABLE \(table) ENABLE ROW LEVEL SECURITY",
      "ALTER TABLE \(table) FORCE ROW LEVEL SECURITY",
      """
      CREATE POLICY tenant_isolation ON \(table)
        USING (tenant_id = current_setting('sightline.tenant', true))
        WITH CHECK (tenant_id = current_setting('sightline.tenant', true))
      """,
      "GRANT SELECT, INSERT, UPDATE, DELETE ON \(table) TO \(role)",
    ]
  }

  /// `identifier` quoted for SQL.
  static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
