import ArgumentParser
import IngestionService
import SightlineModel
import SightlineRPC

/// The `sightline-ingestion` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct IngestionCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-ingestion", abstract: "Runs the Sightline ingestion service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    try await ProcessBootstrap.runBackend(.ingestion, options: options, makeServices: IngestionProcess.make)
  }
}
