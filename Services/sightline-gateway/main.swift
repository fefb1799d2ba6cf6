import ArgumentParser
import Cockpit
import Foundation
import GatewayService
import Logging
import ServiceLifecycle
import SightlineModel
import SightlineRPC

/// The `sightline-gateway` executable: the suite's only public port.
@main
struct GatewayCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-gateway",
    abstract: "Runs the Sightline gateway: public TLS, API keys, tenants, routing to the services over mTLS.")

  @OptionGroup var options: BackendOptions

  @Option(help: "Operator key file (env SIGHTLINE_OPERATOR_KEY_FILE; default DATA_DIR/operator.key). Created if missing.")
  var operatorKeyFile: String?

  @Option(help: "Per-tenant sustained calls per second (env SIGHTLINE_RATE_LIMIT; default 500).")
  var rateLimit: Double?
  @Option(help: "Per-tenant burst above the rate (env SIGHTLINE_BURST; default 1000).")
  var burst: Double?
  @Option(help: "Per-tenant calls in flight (env SIGHTLINE_MAX_IN_FLIGHT; default 64).")
  var maxInFlight: Int?

  @Option(help: "Serve the web cockpit over HTTPS on HOST:PORT (env SIGHTLINE_WEB_LISTEN; default: not served).")
  var webListen: String?

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.gateway")
    let env = ProcessInfo.processInfo.environment
    let base = try options.resolve(for: .gateway)
    let tracing = try ProcessBootstrap.spanExport(.gateway, options: options, logger: logger)
    var configuration = GatewayConfiguration(
      listen: base.listen, dataDirectory: base.dataDirectory, pki: base.pki,
      operatorKeyFile: operatorKeyFile ?? env["SIGHTLINE_OPERATOR_KEY_FILE"] ?? "\(base.dataDirectory)/operator.key",
      backends: base.upstreams,
      limits: TenantLimiter.Limits(
        ratePerSecond: rateLimit ?? env["SIGHTLINE_RATE_LIMIT"].flatMap(Double.init) ?? TenantLimiter.Limits.defaults.ratePerSecond,
        burst: burst ?? env["SIGHTLINE_BURST"].flatMap(Double.init) ?? TenantLimiter.Limits.defaults.burst,
        maxInFlight: maxInFlight ?? env["SIGHTLINE_MAX_IN_FLIGHT"].flatMap(Int.init) ?? TenantLimiter.Limits.defaults.maxInFlight))
    configuration.databaseURL = base.databaseURL
    configuration.databaseOwnerURL = base.databaseOwnerURL
    configuration.shards = Array(base.shards.keys)
    let (services, server) = try GatewayProcess.make(configuration: configuration, logger: logger)
    let prometheus = ProcessMetrics.endpoint(
      for: .gateway, dataDirectory: base.dataDirectory, listen: base.prometheusListen, databaseSizes: server.databaseSizes,
      logger: logger)
    var cockpit: [any Service] = []
    if let text = webListen ?? env["SIGHTLINE_WEB_LISTEN"] {
      guard let web = HostAndPort(text) else { throw ValidationError("--web-listen must be HOST:PORT, got '\(text)'") }
      // The cockpit calls this gateway's own gRPC port, on loopback when it listens on all.
      let own = ["0.0.0.0", "::", ""].contains(base.listen.host) ? HostAndPort(host: "127.0.0.1", port: base.listen.port) : base.listen
      cockpit = try Cockpit.make(configuration: .init(listen: web, pki: base.pki, gateway: own), logger: logger)
      logger.info("serving the web cockpit", metadata: ["listen": "https://\(web)"])
    }
    logger.info("starting", metadata: ["listen": "\(configuration.listen)"])
    // Services stop in reverse order: the cockpit stops taking requests before the gRPC
    // server it calls.
    try await ProcessBootstrap.run(tracing + (prometheus.map { [$0] } ?? []) + services + cockpit, logger: logger)
  }
}
