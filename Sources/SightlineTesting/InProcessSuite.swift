import ExperimentsService
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import GatewayService
import IngestionService
public import Logging
public import MetricsService
import SegmentationService
import ServiceLifecycle
public import SightlineModel
import SightlinePostgres
public import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The PostgreSQL database an in-process suite keeps its data in.
public struct SuiteDatabase: Sendable {
  /// The service role's URL (`--database`).
  public var url: String
  /// The owner role's URL (`--database-owner`), which migrates the schema.
  public var ownerURL: String?
  /// Further databases tenants are placed on, by shard name (the service role's URLs).
  public var shards: [String: String]

  public init(url: String, ownerURL: String?, shards: [String: String] = [:]) {
    self.url = url
    self.ownerURL = ownerURL
    self.shards = shards
  }
}

/// The suite's services running in this process on ephemeral loopback ports with real
/// TLS and a fresh PKI in a temporary directory: what the tests and the benchmarks run.
/// Every service runs.
public struct InProcessSuite: Sendable {
  /// The temporary data directory (removed afterwards).
  public let directory: String
  /// The suite's PKI.
  public let pki: PKIDirectory
  /// Ports of the gateway and the services.
  public let gatewayPort: Int
  /// Every gateway's port (one unless `gateways` was given).
  public let gatewayPorts: [Int]
  public let ingestionPort: Int
  public let metricsPort: Int
  public let experimentsPort: Int
  public let segmentationPort: Int
  /// The operator key.
  public let operatorKey: String
  /// The metrics provider (to evaluate alerts at a chosen time); the first replica's.
  public let metrics: MetricsProvider
  /// The backend servers, to stop one and watch the rest cope (the first replica's).
  public let servers: [SuiteComponent: SuiteServer]
  /// Every metrics replica (one unless `replicas` was given).
  public let metricsReplicas: [Replica<MetricsProvider>]
  /// Every segmentation replica.
  public let segmentationReplicas: [Replica<Void>]
  /// The PostgreSQL database the services keep their data in (nil: SQLite in `directory`).
  public let database: SuiteDatabase?

  /// One replica of a backend running in the suite.
  public struct Replica<Provider: Sendable>: Sendable {
    /// Its provider, its port and its server.
    public let provider: Provider
    public let port: Int
    public let server: SuiteServer
    /// Stops its background work as a clean shutdown does: its follower, which gives its
    /// leases up. Its server keeps answering until the suite ends, as a draining process
    /// does (stopping a server while other clients still dial it trips
    /// apple/swift-nio#2637 in debug builds).
    public let stop: @Sendable () async -> Void
  }

  /// A fresh temporary directory.
  public static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "sightline-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Runs `body` with a started suite and tears it down afterwards (set SIGHTLINE_SUITE_LOG
  /// to see the services' logs).
  /// `followLogs: false` leaves metrics and segmentation without their log consumers (the
  /// ingest benchmark measures the ingest path alone with it).
  /// `database`: every service keeps its data in that PostgreSQL database (nil: SQLite
  /// files in the temporary directory).
  /// `replicas`: metrics and segmentation run that many replicas each (PostgreSQL only),
  /// sharing tenants through leases of `leaseTime`; the gateway spreads calls over them.
  /// `gateways`: that many gateways (PostgreSQL only) share the tenants and keys.
  /// `delivery`: how the metrics replicas deliver their outbox (retries' pace, cockpit links).
  public static func with<R: Sendable>(
    limits: TenantLimiter.Limits = .defaults, logHandler: (@Sendable (String) -> any LogHandler)? = nil,
    followLogs: Bool = true, database: SuiteDatabase? = nil, replicas: Int = 1, gateways: Int = 1,
    leaseTime: Duration = .seconds(10), delivery: DeliverySettings = DeliverySettings(),
    _ body: @Sendable (InProcessSuite) async throws -> R
  ) async throws -> R {
    precondition(replicas == 1 && gateways == 1 || database != nil, "replicas share their data through PostgreSQL")
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let logger =
      if let logHandler {
        Logger(label: "test", factory: logHandler)
      } else if ProcessInfo.processInfo.environment["SIGHTLINE_SUITE_LOG"] == nil {
        Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
      } else {
        Logger(label: "test", factory: { StreamLogHandler.standardError(label: $0, metadataProvider: TraceContext.metadataProvider) })
      }
    let pki = PKIDirectory(path: directory + "/pki")
    try DevelopmentPKI.ensure(pki)
    func backend(upstreams: [SuiteComponent: ReplicaSet] = [:]) -> BackendConfiguration {
      var configuration = BackendConfiguration(
        listen: HostAndPort(host: "127.0.0.1", port: 0), dataDirectory: directory, pki: pki, upstreams: upstreams)
      configuration.databaseURL = database?.url
      configuration.databaseOwnerURL = database?.ownerURL
      configuration.shards = database?.shards ?? [:]
      configuration.leaseTime = leaseTime
      return configuration
    }
    let ingestionServices = try IngestionProcess.make(configuration: backend(), logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      // Everything that is not a server runs as a task of its own, stopped before the
      // servers (see tearDown); the server is the last service of each process. (Each
      // process's services in a `ServiceGroup`, as the executables run them, hung the
      // parallel test run in teardown; the suites that start the real executables cover
      // that lifecycle: docs/architecture.md, "Testing".)
      var helpers: [Task<Void, any Error>] = []
      var servers: [SuiteServer] = []
      func start(_ services: [any Service]) async throws -> (server: SuiteServer, port: Int, stop: @Sendable () async -> Void) {
        let server = services.last as! SuiteServer
        group.addTask { try await server.serve() }
        servers.append(server)
        // A database pool stays open until the servers have drained (it closes with the
        // process, as in a ServiceGroup, where it is the first service and stops last).
        let helperServices = services.dropLast().filter { (followLogs || !($0 is LogFollower)) && !($0 is PostgresPool) }
        let own = helperServices.map { service in Task { try await service.run() } }
        helpers += own
        let stop: @Sendable () async -> Void = {
          for helper in own { helper.cancel() }
          for helper in own { _ = await helper.result }
        }
        return (server, try await server.boundPort(), stop)
      }
      let (ingestion, ingestionPort, _) = try await start(ingestionServices)
      // Segmentation first: metrics asks it for customers at risk (the case rules).
      var segmentationReplicas: [Replica<Void>] = []
      for _ in 0..<replicas {
        let (server, port, stop) = try await start(
          try SegmentationProcess.make(configuration: backend(upstreams: [.ingestion: .local(ingestionPort)]), logger: logger))
        segmentationReplicas.append(Replica(provider: (), port: port, server: server, stop: stop))
      }
      let segmentationPorts = ReplicaSet(segmentationReplicas.map { HostAndPort(host: "127.0.0.1", port: $0.port) })
      let metricsConfiguration = backend(upstreams: [.ingestion: .local(ingestionPort), .segmentation: segmentationPorts])
      var metricsReplicas: [Replica<MetricsProvider>] = []
      for _ in 0..<replicas {
        let metricsProcess = try MetricsProcess.make(
          configuration: metricsConfiguration, logger: logger, alertInterval: .seconds(3600), delivery: delivery)
        let (server, port, stop) = try await start(metricsProcess.services)
        metricsReplicas.append(Replica(provider: metricsProcess.provider, port: port, server: server, stop: stop))
      }
      let metricsPorts = ReplicaSet(metricsReplicas.map { HostAndPort(host: "127.0.0.1", port: $0.port) })
      let (experimentsServer, experimentsPort, _) = try await start(
        try ExperimentsProcess.make(configuration: backend(upstreams: [.metrics: metricsPorts]), logger: logger))
      var configuration = GatewayConfiguration(
        listen: HostAndPort(host: "127.0.0.1", port: 0), dataDirectory: directory, pki: pki,
        operatorKeyFile: directory + "/operator.key",
        backends: [
          .ingestion: .local(ingestionPort), .metrics: metricsPorts, .segmentation: segmentationPorts,
          .experiments: .local(experimentsPort),
        ],
        limits: limits)
      configuration.databaseURL = database?.url
      configuration.databaseOwnerURL = database?.ownerURL
      configuration.shards = Array((database?.shards ?? [:]).keys)
      var gatewayServers: [SuiteServer] = []
      for _ in 0..<gateways {
        let (services, gateway) = try GatewayProcess.make(configuration: configuration, logger: logger)
        // Everything but the pool and the server: the backend clients, their readiness, and
        // on PostgreSQL the gateway's membership and key-change listener.
        helpers += services.filter { !($0 is PostgresPool) && !($0 is SuiteServer) }.map { service in Task { try await service.run() } }
        group.addTask { try await gateway.serve() }
        gatewayServers.append(gateway)
      }
      var gatewayPorts: [Int] = []
      for server in gatewayServers { gatewayPorts.append(try await server.boundPort()) }
      let suite = InProcessSuite(
        directory: directory, pki: pki, gatewayPort: gatewayPorts[0], gatewayPorts: gatewayPorts, ingestionPort: ingestionPort,
        metricsPort: metricsReplicas[0].port, experimentsPort: experimentsPort, segmentationPort: segmentationReplicas[0].port,
        operatorKey: try OperatorKey.loadOrCreate(path: directory + "/operator.key"),
        metrics: metricsReplicas[0].provider,
        servers: [
          .ingestion: ingestion, .metrics: metricsReplicas[0].server, .segmentation: segmentationReplicas[0].server,
          .experiments: experimentsServer,
        ],
        metricsReplicas: metricsReplicas, segmentationReplicas: segmentationReplicas, database: database)
      // Tear down without cancelling a serving task: NIO traps (in debug builds) when a
      // server task is cancelled while an accepted stream is still queued
      // (apple/swift-nio#2637). So stop every client first (no new streams), then shut the
      // servers down gracefully; cancel only if something the body left open (an abandoned
      // stream) keeps them from finishing within five seconds.
      func tearDown() async {
        for helper in helpers { helper.cancel() }
        for helper in helpers { _ = await helper.result }
        // A client's balancer may still finish a connection it had started when it was
        // stopped (round robin keeps one per replica): let those land and close before the
        // servers stop accepting, or the same NIO trap fires.
        try? await Task.sleep(for: .milliseconds(500))
        for server in gatewayServers + servers { server.server.beginGracefulShutdown() }
        group.addTask {
          try await Task.sleep(for: .seconds(5))
          throw CancellationError()
        }
        var finished = 0
        while finished < servers.count + gatewayServers.count, (try? await group.next()) != nil { finished += 1 }
        group.cancelAll()
      }
      do {
        // As a launcher does: start once the gateway says it can forward to every backend.
        let ready = ContinuousClock.now + .seconds(30)
        while gatewayServers.contains(where: { $0.health?.status(of: "") != .serving }), ContinuousClock.now < ready {
          try await Task.sleep(for: .milliseconds(20))
        }
        let result = try await body(suite)
        await tearDown()
        return result
      } catch {
        await tearDown()
        throw error
      }
    }
  }

  /// Runs `body` with a client of the gateway (TLS, trusting the suite's CA).
  public func withGatewayClient<R: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
    try await ClientFactory.withClient(
      HostAndPort(host: "127.0.0.1", port: gatewayPort),
      security: SuiteTLS(pki: pki).clientSecurity(identity: nil), body)
  }

  /// Runs `body` with a client dialling the ingestion service directly.
  public func withIngestionClient<R: Sendable>(
    security: HTTP2ClientTransport.Posix.TransportSecurity,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    try await ClientFactory.withClient(HostAndPort(host: "127.0.0.1", port: ingestionPort), security: security, body)
  }

  /// Creates a tenant with the operator key; returns its id and admin key.
  public func createTenant(_ name: String) async throws -> (id: String, adminKey: String) {
    let reply = try await withGatewayClient { client in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(
        .with { $0.name = name }, metadata: SuiteMetadata.bearer(operatorKey))
    }
    return (reply.tenant.id, reply.adminSecret)
  }
}
