import ArgumentParser
import MetricsService
import Logging
import SightlineModel
import SightlineRPC

/// The `sightline-metrics` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct MetricsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-metrics", abstract: "Runs the Sightline metrics service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.metrics")
    let configuration = try options.resolve(for: .metrics)
    let server = try MetricsServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)", "data_dir": "\(configuration.dataDirectory)"])
    try await ProcessBootstrap.run([server], logger: logger)
  }
}
