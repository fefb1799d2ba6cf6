import ArgumentParser
import Foundation
import MetricsService
import SightlineModel
import SightlineRPC

/// The `sightline-metrics` executable: configuration in, server run until SIGTERM/SIGINT.
@main
struct MetricsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline-metrics", abstract: "Runs the Sightline metrics service (mutual TLS).")

  @OptionGroup var options: BackendOptions

  @Option(
    name: .long,
    help:
      "The cockpit's address, for links in delivered messages, e.g. https://sightline.example.com (env SIGHTLINE_COCKPIT_URL; default: no links)."
  )
  var cockpitURL: String?

  @Option(
    name: .long,
    help: "Hours a message that fails is tried again before it goes to the dead letter (env SIGHTLINE_DELIVERY_RETRY_HOURS; default 72).")
  var deliveryRetryHours: Double?

  @Option(
    name: .long,
    help:
      "Milliseconds before the first retry of a failed message; each later wait doubles, up to 2 hours (env SIGHTLINE_DELIVERY_FIRST_RETRY_MS; default 5000)."
  )
  var deliveryFirstRetryMs: Int64?

  @Option(
    name: .long,
    help:
      "Days sent messages and their events are kept before they are pruned, 0 for ever; pending and dead-letter messages stay until sent or replayed (env SIGHTLINE_DELIVERY_KEEP_DAYS; default 90)."
  )
  var deliveryKeepDays: Int?

  func run() async throws {
    let delivery = try deliverySettings()
    try await ProcessBootstrap.runBackend(.metrics, options: options) { configuration, logger in
      try MetricsProcess.make(configuration: configuration, logger: logger, delivery: delivery).services
    }
  }

  /// The deliverer's settings from the flags, else the environment, else the defaults.
  func deliverySettings() throws -> DeliverySettings {
    let env = ProcessInfo.processInfo.environment
    var settings = DeliverySettings(cockpitURL: cockpitURL ?? env["SIGHTLINE_COCKPIT_URL"] ?? "")
    if !settings.cockpitURL.isEmpty, URL(string: settings.cockpitURL)?.host == nil {
      throw ValidationError("--cockpit-url must be an absolute URL, got '\(settings.cockpitURL)'")
    }
    if let hours = deliveryRetryHours ?? env["SIGHTLINE_DELIVERY_RETRY_HOURS"].flatMap(Double.init) {
      guard hours > 0, hours <= 24 * 30 else { throw ValidationError("--delivery-retry-hours must be between 0 and 720") }
      settings.retry.maxAgeMs = Int64(hours * 3_600_000)
    }
    if let first = deliveryFirstRetryMs ?? env["SIGHTLINE_DELIVERY_FIRST_RETRY_MS"].flatMap(Int64.init) {
      guard first >= 10, first <= 3_600_000 else { throw ValidationError("--delivery-first-retry-ms must be between 10 and 3600000") }
      settings.retry.firstDelayMs = first
    }
    if let days = deliveryKeepDays ?? env["SIGHTLINE_DELIVERY_KEEP_DAYS"].flatMap(Int.init) {
      guard days >= 0, days <= 36_500 else { throw ValidationError("--delivery-keep-days must be between 0 and 36500") }
      settings.keepDays = days
    }
    return settings
  }
}
