import ArgumentParser
import ExperimentsService
import SightlineModel
import SightlineRPC

/// The `sightline-experiments` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct ExperimentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-experiments", abstract: "Runs the Sightline experiments service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    try await ProcessBootstrap.runBackend(.experiments, options: options) { configuration, logger in
      try ExperimentsProcess.make(configuration: configuration, logger: logger)
    }
  }
}
