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

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.gateway")
    let env = ProcessInfo.processInfo.environment
    let base = try options.resolve(for: .gateway)
    let configuration = GatewayConfiguration(
      listen: base.listen, dataDirectory: base.dataDirectory, pki: base.pki,
      operatorKeyFile: operatorKeyFile ?? env["SIGHTLINE_OPERATOR_KEY_FILE"] ?? "\(base.dataDirectory)/operator.key",
      backends: base.upstreams)
    let (services, _) = try GatewayServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)"])
    try await ProcessBootstrap.run(services, logger: logger)
  }
}
