public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle
public import SightlineModel

/// A gRPC server over TLS HTTP/2 that runs as a swift-service-lifecycle `Service`:
/// `run()` serves until graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`),
/// then stops accepting new calls and lets in-flight ones finish.
public final class SuiteServer: Service, Sendable {
  /// Largest request message Sightline accepts (a 10,000-event ingest batch fits). The
  /// gateway answers a larger one with RESOURCE_EXHAUSTED and the sizes.
  public static let maxRequestBytes = 16 * 1024 * 1024
  /// What the transport itself accepts: above this a stream is reset without a message, so
  /// it is set well above ``maxRequestBytes`` for the gateway's clear error to be seen.
  public static let transportMaxRequestBytes = 64 * 1024 * 1024

  /// The underlying server.
  public let server: GRPCServer<HTTP2ServerTransport.Posix>
  /// The process's health service (readiness monitors set its status).
  public let health: HealthService?
  /// Where the process's `sightline_database_bytes` figures come from when its data is not
  /// in files under the data directory (PostgreSQL); nil: the files.
  public let databaseSizes: (any DatabaseSizeReporting)?
  private let logger: Logger
  private let readiness: ReadinessMonitor?

  /// A server on `endpoint` with `security`, serving `services`. The health service, when
  /// given, is registered too, set from `readiness` every 2 s while serving (NOT_SERVING
  /// with the reasons while a check fails), and marked NOT_SERVING as shutdown begins.
  /// With `blockingHandlers`, handlers run on dispatch threads, where their synchronous
  /// store calls may block (`BlockingHandlersInterceptor`).
  public init(
    endpoint: HostAndPort,
    security: HTTP2ServerTransport.Posix.TransportSecurity,
    services: [any RegistrableRPCService],
    health: HealthService?,
    readiness: [ReadinessMonitor.Check] = [],
    databaseSizes: (any DatabaseSizeReporting)? = nil,
    blockingHandlers: Bool = false,
    logger: Logger
  ) {
    var config = HTTP2ServerTransport.Posix.Config.defaults
    config.rpc.maxRequestPayloadSize = Self.transportMaxRequestBytes
    config.http2.maxFrameSize = 1 << 20
    // Suite clients ping every 10 s to find a dead replica's connections (ClientFactory):
    // allow it, also while no call is open.
    config.connection.keepalive.clientBehavior = .init(minPingIntervalWithoutCalls: .seconds(5), allowWithoutCalls: true)
    let address: SocketAddress =
      endpoint.host.contains(":")
      ? .ipv6(host: endpoint.host, port: endpoint.port)
      : .ipv4(host: endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, port: endpoint.port)
    let transport = HTTP2ServerTransport.Posix(address: address, transportSecurity: security, config: config)
    var all = services
    if let health { all.append(health) }
    self.server = GRPCServer(
      transport: transport, services: all,
      // Tracing before logging: the request log line and everything after it carry the
      // trace. The request log last, next to the handler, whose errors it maps to statuses.
      interceptors: (blockingHandlers ? [BlockingHandlersInterceptor()] : [])
        + [TracingServerInterceptor(), RequestLoggingInterceptor(logger: logger)])
    self.health = health
    self.databaseSizes = databaseSizes
    self.logger = logger
    self.readiness = health.flatMap { readiness.isEmpty ? nil : ReadinessMonitor(health: $0, checks: readiness, logger: logger) }
    // The first verdict before the port opens: a health check that arrives before the
    // monitor's first turn must not see SERVING from a process that is not ready.
    self.readiness?.checkOnce()
  }

  /// The port actually bound (useful with port 0); waits until the server listens.
  public func boundPort() async throws -> Int {
    guard let address = try await server.listeningAddress, let port = address.ipv4?.port ?? address.ipv6?.port
    else { throw RPCError(code: .internalError, message: "the server is not listening on an IP address") }
    return port
  }

  /// Serves, with the readiness checks running beside, until the server shuts down
  /// (`server.beginGracefulShutdown()`).
  public func serve() async throws {
    try await withThrowingDiscardingTaskGroup { group in
      if let readiness { group.addTask { await readiness.watch() } }
      try await server.serve()
      group.cancelAll()
    }
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await serve()
    } onGracefulShutdown: {
      self.health?.enterShutdown()
      self.logger.info("graceful shutdown: draining in-flight calls")
      self.server.beginGracefulShutdown()
    }
  }
}

/// A long-lived gRPC client as a lifecycle `Service`: its connections run in `run()` and
/// close on graceful shutdown, after the services that use it (order them after it in the
/// `ServiceGroup`).
public final class ManagedClient: Service, Sendable {
  /// The client to make calls with.
  public let client: GRPCClient<HTTP2ClientTransport.Posix>

  /// Wraps `client`.
  public init(_ client: GRPCClient<HTTP2ClientTransport.Posix>) { self.client = client }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await client.runConnections()
    } onGracefulShutdown: {
      self.client.beginGracefulShutdown()
    }
  }
}
