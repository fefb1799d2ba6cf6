import ArgumentParser
import SegmentationService
import SightlineModel
import SightlineRPC

/// The `sightline-segmentation` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct SegmentationCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-segmentation", abstract: "Runs the Sightline segmentation service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    try await ProcessBootstrap.runBackend(.segmentation, options: options) { configuration, logger in
      try SegmentationProcess.make(configuration: configuration, logger: logger)
    }
  }
}
