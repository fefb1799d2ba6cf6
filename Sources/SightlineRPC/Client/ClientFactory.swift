public import GRPCCore
import GRPCNIOTransportCore
public import GRPCNIOTransportHTTP2

/// Creates gRPC clients over TLS with the suite's settings.
public enum ClientFactory {
  /// Largest message a Sightline client sends or accepts: what a Sightline server accepts
  /// (``SuiteServer/transportMaxRequestBytes``). grpc-swift's default of 4 MiB would refuse
  /// a bulk ingest batch or a large reply (a year of daily KPIs by agent); the transport
  /// checks replies against the request limit, so both are set.
  public static let maxMessageBytes = SuiteServer.transportMaxRequestBytes

  /// The limits every Sightline client applies to every method, the round-robin balancing
  /// over a service's replicas, and for the `retryable` methods (fully qualified names),
  /// up to three attempts on UNAVAILABLE: round robin sends a retry to another replica.
  static func serviceConfig(retryable: Set<String>, balanced: Bool) -> ServiceConfig {
    let limits = MethodConfig(
      names: [MethodConfig.Name(service: "")], maxRequestMessageBytes: maxMessageBytes, maxResponseMessageBytes: maxMessageBytes)
    let retried = retryable.sorted().compactMap { name -> MethodConfig.Name? in
      let parts = name.split(separator: "/")
      return parts.count == 2 ? MethodConfig.Name(service: String(parts[0]), method: String(parts[1])) : nil
    }
    let retry = MethodConfig(
      names: retried, maxRequestMessageBytes: maxMessageBytes, maxResponseMessageBytes: maxMessageBytes,
      executionPolicy: .retry(
        RetryPolicy(
          maxAttempts: 3, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(500), backoffMultiplier: 2,
          retryableStatusCodes: [.unavailable])))
    return ServiceConfig(
      methodConfig: retried.isEmpty ? [limits] : [limits, retry], loadBalancingConfig: balanced ? [.roundRobin] : [])
  }

  /// A client for `endpoint`. Run it with `runConnections()` (or as a `ManagedClient`)
  /// before making calls.
  public static func makeClient(
    endpoint: HostAndPort,
    security: HTTP2ClientTransport.Posix.TransportSecurity,
    interceptors: [any ClientInterceptor] = []
  ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    try makeClient(replicas: ReplicaSet([endpoint]), security: security, interceptors: interceptors)
  }

  /// A client spreading its calls over `replicas`, retrying the `retryable` methods (fully
  /// qualified names, `service/method`) on another replica when one is unavailable. Run it
  /// with `runConnections()` (or as a `ManagedClient`) before making calls.
  public static func makeClient(
    replicas: ReplicaSet,
    security: HTTP2ClientTransport.Posix.TransportSecurity,
    interceptors: [any ClientInterceptor] = [],
    retryable: Set<String> = []
  ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    var connection: HTTP2ClientTransport.Posix.Config = .defaults
    // Dialling an IP literal: verify the certificate's `localhost` name (it also carries
    // IP SANs, but not every TLS stack checks those).
    if replicas.first.isIPLiteral || replicas.first.host == "localhost" {
      connection.http2.authority = "localhost"
    }
    connection.http2.maxFrameSize = 1 << 20
    // Suite processes start in any order and restart independently: reconnect quickly
    // (the default backs off to two minutes, leaving a restarted backend unreachable).
    connection.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
    // A replica that stops answering without closing its connections (paused, cut off)
    // is found within 15 s: its calls then fail over; one that died closed them at once.
    connection.connection.keepalive = .init(time: .seconds(10), timeout: .seconds(5), allowWithoutCalls: true)
    let transport: HTTP2ClientTransport.Posix
    // Several replicas: one address each, or a name with several records (what a
    // container platform gives a scaled service); a name that cannot be resolved yet may
    // become several.
    let several = replicas.addresses.count > 1 || ((try? replicas.resolve().count) ?? 2) > 1
    if !several {
      // One address: gRPC's own resolver and its default balancer (pick first), which
      // connects when a call needs it. Round robin keeps a connection to every address at
      // all times, even while a server is stopping, which trips apple/swift-nio#2637 in
      // debug builds; with one address it would balance nothing anyway.
      // No retries either: there is no other replica to send a call to.
      let endpoint = replicas.first
      let config = serviceConfig(retryable: [], balanced: false)
      if endpoint.host.contains(":") {
        let target: ResolvableTargets.IPv6 = .ipv6(address: endpoint.host, port: endpoint.port)
        transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: connection, serviceConfig: config)
      } else {
        let target: ResolvableTargets.DNS = .dns(host: endpoint.host, port: endpoint.port)
        transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: connection, serviceConfig: config)
      }
    } else {
      var resolvers = NameResolverRegistry.defaults
      resolvers.registerFactory(ReplicaSet.Resolver())
      transport = try HTTP2ClientTransport.Posix(
        target: replicas, transportSecurity: security, config: connection, resolverRegistry: resolvers,
        serviceConfig: serviceConfig(retryable: retryable, balanced: true))
    }
    // Every client passes the current trace on (a no-op outside a traced call).
    return GRPCClient(transport: transport, interceptors: [TracingClientInterceptor()] + interceptors)
  }

  /// Opens a client of `endpoint`, runs `body` with it, and closes it: for a command or a
  /// tool that makes a few calls (long-lived clients run as a ``ManagedClient``).
  public static func withClient<R: Sendable>(
    _ endpoint: HostAndPort, security: HTTP2ClientTransport.Posix.TransportSecurity,
    interceptors: [any ClientInterceptor] = [],
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    try await withClient(ReplicaSet([endpoint]), security: security, interceptors: interceptors, body)
  }

  /// Opens a client spreading its calls over `replicas` (retrying the `retryable` methods on
  /// another one), runs `body` with it, and closes it.
  public static func withClient<R: Sendable>(
    _ replicas: ReplicaSet, security: HTTP2ClientTransport.Posix.TransportSecurity,
    interceptors: [any ClientInterceptor] = [], retryable: Set<String> = [],
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    let client = try makeClient(replicas: replicas, security: security, interceptors: interceptors, retryable: retryable)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer {
        client.beginGracefulShutdown()
        group.cancelAll()
      }
      return try await body(client)
    }
  }
}
