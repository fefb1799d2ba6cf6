public import GRPCCore
public import GRPCNIOTransportHTTP2

/// Creates gRPC clients over TLS with the suite's settings.
public enum ClientFactory {
  /// Largest message a Sightline client sends or accepts: what a Sightline server accepts
  /// (``SuiteServer/transportMaxRequestBytes``). grpc-swift's default of 4 MiB would refuse
  /// a bulk ingest batch or a large reply (a year of daily KPIs by agent); the transport
  /// checks replies against the request limit, so both are set.
  public static let maxMessageBytes = SuiteServer.transportMaxRequestBytes

  /// The limits every Sightline client applies to every method.
  static let serviceConfig = ServiceConfig(methodConfig: [
    MethodConfig(
      names: [MethodConfig.Name(service: "")], maxRequestMessageBytes: maxMessageBytes,
      maxResponseMessageBytes: maxMessageBytes)
  ])

  /// A client for `endpoint`. Run it with `runConnections()` (or as a `ManagedClient`)
  /// before making calls.
  public static func makeClient(
    endpoint: HostAndPort,
    security: HTTP2ClientTransport.Posix.TransportSecurity,
    interceptors: [any ClientInterceptor] = []
  ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    var config: HTTP2ClientTransport.Posix.Config = .defaults
    // Dialling an IP literal: verify the certificate's `localhost` name (it also carries
    // IP SANs, but not every TLS stack checks those).
    if endpoint.isIPLiteral || endpoint.host == "localhost" {
      config.http2.authority = "localhost"
    }
    config.http2.maxFrameSize = 1 << 20
    // Suite processes start in any order and restart independently: reconnect quickly
    // (the default backs off to two minutes, leaving a restarted backend unreachable).
    config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
    let transport: HTTP2ClientTransport.Posix
    if endpoint.host.contains(":") {
      let target: ResolvableTargets.IPv6 = .ipv6(address: endpoint.host, port: endpoint.port)
      transport = try HTTP2ClientTransport.Posix(
        target: target, transportSecurity: security, config: config, serviceConfig: serviceConfig)
    } else {
      let target: ResolvableTargets.DNS = .dns(host: endpoint.host, port: endpoint.port)
      transport = try HTTP2ClientTransport.Posix(
        target: target, transportSecurity: security, config: config, serviceConfig: serviceConfig)
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
    let client = try makeClient(endpoint: endpoint, security: security, interceptors: interceptors)
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
