import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import IngestionService
import MetricsService
import ServiceLifecycle
import Logging
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// A gateway, ingestion and metrics running in this process on ephemeral ports with real
/// TLS and a fresh PKI, for tests. Segmentation and experiments point at a closed port.
struct InProcessSuite {
  let directory: String
  let pki: PKIDirectory
  let gatewayPort: Int
  let ingestionPort: Int
  let metricsPort: Int
  let operatorKey: String
  /// The metrics provider (to evaluate alerts at a chosen time).
  let metrics: MetricsProvider

  static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "sightline-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Runs `body` with a started suite and tears it down afterwards.
  static func with<R: Sendable>(_ body: @Sendable (InProcessSuite) async throws -> R) async throws -> R {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let logger = ProcessInfo.processInfo.environment["SIGHTLINE_TEST_LOG"] == nil
      ? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
      : Logger(label: "test", factory: { StreamLogHandler.standardError(label: $0) })
    let pki = PKIDirectory(path: directory + "/pki")
    try DevelopmentPKI.ensure(pki)
    let ingestion = try IngestionServer.make(
      configuration: BackendConfiguration(listen: HostAndPort(host: "127.0.0.1", port: 0), dataDirectory: directory, pki: pki),
      logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await ingestion.server.serve() }
      let ingestionPort = try await ingestion.boundPort()
      let metricsConfiguration = BackendConfiguration(
        listen: HostAndPort(host: "127.0.0.1", port: 0), dataDirectory: directory, pki: pki,
        upstreams: [.ingestion: HostAndPort(host: "127.0.0.1", port: ingestionPort)])
      let metricsProcess = try MetricsServer.make(
        configuration: metricsConfiguration, logger: logger, alertInterval: .seconds(3600), discoveryInterval: .milliseconds(100))
      let metricsServer = metricsProcess.server
      for service in metricsProcess.services { group.addTask { try await service.run() } }
      let metricsPort = try await metricsServer.boundPort()
      let closed = HostAndPort(host: "127.0.0.1", port: 1)
      let configuration = GatewayConfiguration(
        listen: HostAndPort(host: "127.0.0.1", port: 0), dataDirectory: directory, pki: pki,
        operatorKeyFile: directory + "/operator.key",
        backends: [.ingestion: HostAndPort(host: "127.0.0.1", port: ingestionPort),
                   .metrics: HostAndPort(host: "127.0.0.1", port: metricsPort),
                   .segmentation: closed, .experiments: closed])
      let (services, gateway) = try GatewayServer.make(configuration: configuration, logger: logger)
      let clients = services.compactMap { $0 as? ManagedClient }
      for client in clients { group.addTask { try await client.client.runConnections() } }
      group.addTask { try await gateway.server.serve() }
      let suite = InProcessSuite(
        directory: directory, pki: pki, gatewayPort: try await gateway.boundPort(), ingestionPort: ingestionPort,
        metricsPort: metricsPort, operatorKey: try OperatorKey.loadOrCreate(path: directory + "/operator.key"),
        metrics: metricsProcess.provider)
      // Tear down promptly whatever the body left open (e.g. a stream a test abandoned):
      // begin graceful shutdown, then cancel the serving tasks.
      func tearDown() {
        gateway.server.beginGracefulShutdown()
        ingestion.server.beginGracefulShutdown()
        metricsServer.server.beginGracefulShutdown()
        for client in clients { client.client.beginGracefulShutdown() }
        group.cancelAll()
      }
      do {
        let result = try await body(suite)
        tearDown()
        return result
      } catch {
        tearDown()
        throw error
      }
    }
  }

  /// Runs `body` with a client of the gateway (TLS, trusting the suite's CA).
  func withGatewayClient<R: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
    try await Self.withClient(
      HostAndPort(host: "127.0.0.1", port: gatewayPort),
      security: SuiteTLS(pki: pki).clientSecurity(identity: nil), body)
  }

  /// Runs `body` with a client dialling the ingestion service directly.
  func withIngestionClient<R: Sendable>(
    security: HTTP2ClientTransport.Posix.TransportSecurity,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    try await Self.withClient(HostAndPort(host: "127.0.0.1", port: ingestionPort), security: security, body)
  }

  static func withClient<R: Sendable>(
    _ address: HostAndPort, security: HTTP2ClientTransport.Posix.TransportSecurity,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    let client = try ClientFactory.makeClient(endpoint: address, security: security)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer {
        client.beginGracefulShutdown()
        group.cancelAll()
      }
      return try await body(client)
    }
  }

  /// Creates a tenant with the operator key; returns its id and admin key.
  func createTenant(_ name: String) async throws -> (id: String, adminKey: String) {
    let reply = try await withGatewayClient { client in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(
        .with { $0.name = name }, metadata: Self.bearer(operatorKey))
    }
    return (reply.tenant.id, reply.adminSecret)
  }

  static func bearer(_ key: String) -> Metadata { ["authorization": "Bearer \(key)"] }
}

/// A ticket-created event for tests.
func ticketCreated(_ id: String, ticket: String = "T1", time: String = "2026-03-01T09:30:00+08:00") -> Sightline_Ingestion_V1_Event {
  .with {
    $0.eventID = id
    $0.ticketEvent = .with {
      $0.ticketID = ticket
      $0.customerID = "C1"
      $0.time = time
      $0.kind = .created
      $0.channel = "WeChat"
    }
  }
}
