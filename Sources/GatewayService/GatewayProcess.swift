import Foundation
public import Logging
public import ServiceLifecycle
public import SightlineModel
import SightlinePostgres
public import SightlineRPC
import SightlineStorage

/// Where the gateway listens, keeps its files, and finds the backends.
public struct GatewayConfiguration: Sendable {
  /// The public TLS address.
  public var listen: HostAndPort
  /// Root of the gateway's files (`gateway.sqlite`).
  public var dataDirectory: String
  /// The suite's PKI.
  public var pki: PKIDirectory
  /// The file holding the operator key; created (0600) on first start if missing.
  public var operatorKeyFile: String
  /// Backend addresses, one or several replicas each.
  public var backends: [SuiteComponent: ReplicaSet]
  /// Per-tenant admission limits.
  public var limits: TenantLimiter.Limits
  /// The PostgreSQL URL the tenants and keys live at (nil: `gateway.sqlite` under
  /// `dataDirectory`).
  public var databaseURL: String?
  /// The URL whose role migrates the schema (nil: `databaseURL`'s).
  public var databaseOwnerURL: String?
  /// The names of the further shards new tenants may be placed on (`--shard`); the
  /// gateway only places tenants, the services connect to the shards.
  public var shards: [String] = []

  /// A configuration from its parts.
  public init(
    listen: HostAndPort, dataDirectory: String, pki: PKIDirectory, operatorKeyFile: String,
    backends: [SuiteComponent: ReplicaSet], limits: TenantLimiter.Limits = .defaults
  ) {
    self.listen = listen
    self.dataDirectory = dataDirectory
    self.pki = pki
    self.operatorKeyFile = operatorKeyFile
    self.backends = backends
    self.limits = limits
  }
}

/// Assembles the gateway process: backend clients over mTLS, the authenticator, the
/// forwarding handlers, the gateway's own API, health, and the public TLS server.
public enum GatewayProcess {
  /// The services to run, in dependency order (clients first, so they outlive the server
  /// during graceful shutdown).
  public static func make(configuration: GatewayConfiguration, logger: Logger) throws -> (services: [any Service], server: SuiteServer) {
    try DevelopmentPKI.ensure(configuration.pki)
    let operatorKey = try OperatorKey.loadOrCreate(path: configuration.operatorKeyFile)
    let database = try configuration.databaseURL.map { url in
      try PostgresStartup.pool(for: GatewayPostgresSchema.self, url: url, ownerURL: configuration.databaseOwnerURL, logger: logger)
    }
    let store = KeyLookupCache(
      try database.map { PostgresGatewayStore(pool: $0) }
        ?? SQLiteGatewayStore.open(path: "\(configuration.dataDirectory)/gateway/gateway.sqlite"))
    let authenticator = Authenticator(store: store, operatorKeyHash: APIKeys.hash(operatorKey))

    let security = SuiteTLS(pki: configuration.pki).clientSecurity(identity: .gateway)
    var clients: [SuiteComponent: ManagedClient] = [:]
    var backendList: [(SuiteComponent, ReplicaSet, ManagedClient)] = []
    for component in SuiteComponent.backends {
      guard let replicas = configuration.backends[component] else { continue }
      // Calls spread over the replicas; a read (or an ingest) whose replica died is sent
      // to another one.
      let client = ManagedClient(
        try ClientFactory.makeClient(replicas: replicas, security: security, retryable: RetryableMethods.names))
      clients[component] = client
      backendList.append((component, replicas, client))
    }
    let limiter = TenantLimiter(limits: configuration.limits)
    // Gateways sharing a PostgreSQL store share the tenants' limits and hear each other's
    // key changes.
    let peers = database.map { GatewayPeers(pool: $0, cache: store, limiter: limiter, logger: logger) }
    let readiness = BackendReadiness(backends: clients.mapValues(\.client))
    let forwarding = ForwardingService(
      authenticator: authenticator, backends: clients.mapValues(\.client), limiter: limiter, readiness: readiness,
      audit: AuditLog(store: store, authenticator: authenticator, logger: logger))
    let health = HealthService(services: ["sightline.gateway.v1.Gateway"])
    let placement: any TenantPlacement =
      database.map { PostgresTenantPlacement(pool: $0, shards: [ShardedPools.mainShard] + configuration.shards.sorted()) }
      ?? SingleDatabase()
    let provider = GatewayProvider(
      store: store, placement: placement, authenticator: authenticator,
      backends: backendList.map { ($0.0, $0.1, $0.2.client) }, limiter: limiter, health: health, logger: logger)
    let server = SuiteServer(
      endpoint: configuration.listen,
      security: SuiteTLS(pki: configuration.pki).serverSecurity(requireClientCertificate: false),
      services: [forwarding, provider],
      health: health,
      readiness: [
        // On PostgreSQL the gateway keeps no file of its own there (the database check
        // below stands for its store); the data directory holds the operator key.
        ReadinessMonitor.dataDirectoryWritable(
          database == nil ? "\(configuration.dataDirectory)/gateway" : configuration.dataDirectory, name: "gateway"),
        readiness.connectedCheck,
      ] + (database.map { [PostgresStartup.readinessCheck($0)] } ?? []),
      databaseSizes: database.map { PostgresTenantSizes(GatewayPostgresSchema.self, pool: $0, logger: logger) },
      logger: logger)
    return (
      (database.map { [$0] } ?? []) + (peers.map { [$0] } ?? []) + backendList.map { $0.2 as any Service } + [readiness, server],
      server
    )
  }
}

/// The operator key: a secret like any API key, kept in a 0600 file beside the data.
public enum OperatorKey {
  /// Reads the key at `path`, or creates one there if the file does not exist. Several
  /// gateways starting at once on one data directory agree on one key: the new key is
  /// written to a file of its own and linked into place, which fails if another gateway
  /// linked its key first, and then that one is read.
  public static func loadOrCreate(path: String) throws -> String {
    if let key = read(path) { return key }
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700])
    let key = APIKeys.newSecret()
    let candidate = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
    guard
      FileManager.default.createFile(
        atPath: candidate, contents: Data((key + "\n").utf8),
        attributes: [.posixPermissions: 0o600])
    else { throw PKIError(path: path, reason: "cannot create the operator key file") }
    defer { unlink(candidate) }
    if link(candidate, path) == 0 { return key }
    guard errno == EEXIST, let existing = read(path) else {
      throw PKIError(path: path, reason: "cannot create the operator key file (errno \(errno))")
    }
    return existing
  }

  private static func read(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
    else { return nil }
    return text
  }
}
