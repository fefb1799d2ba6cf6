import ArgumentParser
import IngestionService
import Logging
import SightlineModel
import SightlineRPC

/// The `sightline-ingestion` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct IngestionCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-ingestion", abstract: "Runs the Sightline ingestion service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.ingestion")
    let configuration = try options.resolve(for: .ingestion)
    let server = try IngestionServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)", "data_dir": "\(configuration.dataDirectory)"])
    try await ProcessBootstrap.run([server], logger: logger)
  }
}
