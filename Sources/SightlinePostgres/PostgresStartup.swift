public import Logging

/// How a service process starts on PostgreSQL: reach the database, migrate its schema as
/// the owner role under the advisory lock, then work as the service role in the service's
/// own PostgreSQL schema. Every failure says what to fix (``DatabaseStartupError``).
public enum PostgresStartup {
  /// The pool `Schema`'s service works on, after migrating it. `url` is the service role's
  /// (`--database`); `ownerURL` the role that owns the tables (`--database-owner`; nil: the
  /// same role).
  public static func pool<Schema: PostgresSchema>(
    for schema: Schema.Type, url: String, ownerURL: String?, maxConnections: Int = 8, logger: Logger
  ) throws -> PostgresPool {
    try pool(
      for: schema, url: try DatabaseURL(url), ownerURL: try ownerURL.map { try DatabaseURL($0) }, maxConnections: maxConnections,
      logger: logger)
  }

  /// As above, from parsed URLs.
  public static func pool<Schema: PostgresSchema>(
    for schema: Schema.Type, url service: DatabaseURL, ownerURL: DatabaseURL?, maxConnections: Int = 8, logger: Logger
  ) throws -> PostgresPool {
    let owner = ownerURL ?? service
    // A migration may build an index over millions of rows: no statement timeout to speak of.
    let ownerPool = try PostgresPool(url: owner, maxConnections: 1, statementTimeout: .seconds(24 * 3600), logger: logger)
    defer { ownerPool.close() }
    try ownerPool.checkReachable()
    try PostgresMigrator.migrate(Schema.self, owner: ownerPool, serviceRole: service.username, logger: logger)
    let pool = try PostgresPool(url: service, schema: Schema.component, maxConnections: maxConnections, logger: logger)
    try pool.checkReachable()
    logger.info("database ready", metadata: ["database": "\(service)", "schema": "\(Schema.component)"])
    return pool
  }

  /// The pools `Schema`'s service works on when tenants are spread over several databases:
  /// `url` (shard `main`, the control database) and each of `shards` (name → the service
  /// role's URL), every one migrated. The owner role of `ownerURL` migrates each shard too,
  /// with the same name and password at the shard's address.
  public static func shards<Schema: PostgresSchema>(
    for schema: Schema.Type, url: String, ownerURL: String?, shards: [String: String], maxConnections: Int = 8,
    logger: Logger
  ) throws -> ShardedPools {
    let main = try pool(for: schema, url: url, ownerURL: ownerURL, maxConnections: maxConnections, logger: logger)
    let owner = try ownerURL.map { try DatabaseURL($0) }
    var others: [String: PostgresPool] = [:]
    for (name, text) in shards.sorted(by: { $0.key < $1.key }) {
      let service = try DatabaseURL(text)
      let shardOwner = owner.map { owner in
        var url = service
        url.username = owner.username
        url.password = owner.password
        return url
      }
      others[name] = try pool(for: schema, url: service, ownerURL: shardOwner, maxConnections: maxConnections, logger: logger)
    }
    return ShardedPools(main: main, others: others)
  }

  /// A readiness check (nil: fine): the database answers as the service's role. While it
  /// does not, the process reports NOT_SERVING with the reason, and SERVING again once it
  /// is back (the pool opens fresh connections by itself).
  public static func readinessCheck(_ pool: PostgresPool) -> @Sendable () -> String? {
    {
      do {
        try pool.checkReachable()
        return nil
      } catch {
        return "\(error)"
      }
    }
  }
}
