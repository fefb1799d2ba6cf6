import Foundation
public import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import ServiceLifecycle

/// The process's metrics in Prometheus text format at `GET /metrics`, over plain HTTP/1.1
/// on a port of its own (meant for an internal network or 127.0.0.1; the data ports stay
/// TLS-only). Values come from swift-metrics through swift-prometheus's registry; a few
/// gauges that are cheaper to read than to keep current (resident memory, database file
/// sizes) are refreshed just before each scrape.
public final class PrometheusEndpoint: Service, Sendable {
  /// The registry every swift-metrics value of this process lands in.
  public let registry: PrometheusCollectorRegistry
  private let address: HostAndPort
  private let beforeScrape: @Sendable () -> Void
  private let logger: Logger

  /// An endpoint on `address` for `registry`, calling `beforeScrape` before each scrape.
  public init(
    address: HostAndPort, registry: PrometheusCollectorRegistry, logger: Logger,
    beforeScrape: @escaping @Sendable () -> Void = {}
  ) {
    self.address = address
    self.registry = registry
    self.logger = logger
    self.beforeScrape = beforeScrape
  }

  /// The text a scrape returns.
  public func scrape() -> String {
    beforeScrape()
    return registry.emitToString()
  }

  public func run() async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap {
          channel.pipeline.addHandler(ScrapeHandler(endpoint: self))
        }
      }
      .bind(host: address.host, port: address.port).get()
    logger.info("serving Prometheus metrics", metadata: ["listen": "\(address)", "path": "/metrics"])
    try await withGracefulShutdownHandler {
      try await channel.closeFuture.get()
    } onGracefulShutdown: {
      channel.close(promise: nil)
    }
  }
}

/// Answers `GET /metrics` (and 404 or 405 otherwise), one response per request.
private final class ScrapeHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let endpoint: PrometheusEndpoint
  private var head: HTTPRequestHead?

  init(endpoint: PrometheusEndpoint) { self.endpoint = endpoint }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let request): head = request
    case .body: break
    case .end:
      guard let request = head else { return }
      head = nil
      let (status, body, type): (HTTPResponseStatus, String, String) =
        switch (request.method, request.uri.split(separator: "?").first ?? "") {
        case (.GET, "/metrics"): (.ok, endpoint.scrape(), "text/plain; version=0.0.4; charset=utf-8")
        case (_, "/metrics"): (.methodNotAllowed, "only GET\n", "text/plain")
        default: (.notFound, "Sightline serves its metrics at /metrics\n", "text/plain")
        }
      var headers = HTTPHeaders([("content-type", type), ("content-length", "\(body.utf8.count)")])
      if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
      context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
      let keepAlive = request.isKeepAlive
      context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
        if !keepAlive { context.close(promise: nil) }
      }
    }
  }
}
