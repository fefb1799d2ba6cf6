import ArgumentParser
import Foundation
import GatewayService
import Logging
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

  @Option(help: "Ingestion service address (env SIGHTLINE_INGESTION_ADDR).")
  var ingestion: String?
  @Option(help: "Metrics service address (env SIGHTLINE_METRICS_ADDR).")
  var metrics: String?
  @Option(help: "Segmentation service address (env SIGHTLINE_SEGMENTATION_ADDR).")
  var segmentation: String?
  @Option(help: "Experiments service address (env SIGHTLINE_EXPERIMENTS_ADDR).")
  var experiments: String?

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.gateway")
    let env = ProcessInfo.processInfo.environment
    let base = try options.resolve(for: .gateway)
    var backends: [SuiteComponent: HostAndPort] = [:]
    let flags: [SuiteComponent: String?] = [
      .ingestion: ingestion, .metrics: metrics, .segmentation: segmentation, .experiments: experiments,
    ]
    for component in SuiteComponent.backends {
      let text = flags[component]! ?? env["SIGHTLINE_\(component.rawValue.uppercased())_ADDR"]
        ?? "127.0.0.1:\(component.defaultPort)"
      guard let endpoint = HostAndPort(text) else {
        throw ValidationError("--\(component.rawValue) must be HOST:PORT, got '\(text)'")
      }
      backends[component] = endpoint
    }
    let configuration = GatewayConfiguration(
      listen: base.listen, dataDirectory: base.dataDirectory, pki: base.pki,
      operatorKeyFile: operatorKeyFile ?? env["SIGHTLINE_OPERATOR_KEY_FILE"] ?? "\(base.dataDirectory)/operator.key",
      backends: backends)
    let (services, _) = try GatewayServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)"])
    try await ProcessBootstrap.run(services, logger: logger)
  }
}
