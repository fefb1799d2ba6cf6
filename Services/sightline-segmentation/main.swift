import ArgumentParser
import SegmentationService
import Logging
import SightlineModel
import SightlineRPC

/// The `sightline-segmentation` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct SegmentationCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-segmentation", abstract: "Runs the Sightline segmentation service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  func run() async throws {
    ProcessBootstrap.bootstrapLogging()
    let logger = Logger(label: "sightline.segmentation")
    let configuration = try options.resolve(for: .segmentation)
    let server = try SegmentationServer.make(configuration: configuration, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)", "data_dir": "\(configuration.dataDirectory)"])
    try await ProcessBootstrap.run([server], logger: logger)
  }
}
