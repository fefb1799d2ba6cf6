import ArgumentParser
import MetricsService
import SightlineModel
import SightlineRPC

/// The `sightline-metrics` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct MetricsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-metrics", abstract: "Runs the Sightline metrics service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    try await ProcessBootstrap.runBackend(.metrics, options: options) { configuration, logger in
      try MetricsProcess.make(configuration: configuration, logger: logger).services
    }
  }
}
