import Foundation
public import Logging
public import ServiceLifecycle
import UnixSignals

/// What every Sightline executable does first and last: one logging bootstrap, and a
/// `ServiceGroup` that stops on SIGTERM/SIGINT.
public enum ProcessBootstrap {
  /// Bootstraps swift-log once, to standard error, at `SIGHTLINE_LOG_LEVEL` (default info).
  public static func bootstrapLogging() {
    let level = ProcessInfo.processInfo.environment["SIGHTLINE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
  }

  /// Runs `services` in order (each depends on the ones before it) until a signal asks
  /// for graceful shutdown, which proceeds in reverse order.
  public static func run(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
      configuration: .init(
        services: services.map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
  }
}
