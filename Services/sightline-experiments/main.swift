import ArgumentParser
import ExperimentsService
import Logging
import SightlineModel
import SightlineRPC

/// The `sightline-experiments` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct ExperimentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-experiments", abstract: "Runs the Sightline experiments service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.experiments")
    let configuration = try options.resolve(for: .experiments)
    let server = try ExperimentsServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)", "data_dir": "\(configuration.dataDirectory)"])
    try await ProcessBootstrap.run([server], logger: logger)
  }
}
