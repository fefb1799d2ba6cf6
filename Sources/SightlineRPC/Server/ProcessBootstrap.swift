import Foundation
public import Logging
public import ServiceLifecycle
import UnixSignals

/// What every Sightline executable does first and last: one logging bootstrap, and a
/// `ServiceGroup` that stops on SIGTERM/SIGINT.
public enum ProcessBootstrap {
  /// Bootstraps swift-log once, to standard error, at `SIGHTLINE_LOG_LEVEL` (default info),
  /// with the current trace (`trace_id`, `span_id`) on every line.
  public static func bootstrapLogging() {
    let level = ProcessInfo.processInfo.environment["SIGHTLINE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    LoggingSystem.bootstrap(
      { label, metadataProvider in
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
        handler.logLevel = level
        return handler
      }, metadataProvider: TraceContext.metadataProvider)
  }

  /// Raises this process's open-file soft limit to its hard limit and logs both: a
  /// process serving many tenants opens many databases and sockets, and a soft limit of
  /// 1,024 is a common default well below what the system allows. Returns the limit in force.
  @discardableResult
  public static func raiseOpenFileLimit(logger: Logger) -> UInt64 {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
      logger.warning("cannot read the open-file limit", metadata: ["error": "\(String(cString: strerror(errno)))"])
      return 0
    }
    let before = limit.rlim_cur
    if limit.rlim_cur < limit.rlim_max {
      limit.rlim_cur = limit.rlim_max
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
        logger.warning(
          "cannot raise the open-file limit",
          metadata: ["soft": "\(before)", "hard": "\(limit.rlim_max)", "error": "\(String(cString: strerror(errno)))"])
        return UInt64(before)
      }
    }
    logger.info("open-file limit", metadata: ["soft": "\(limit.rlim_cur)", "was": "\(before)", "hard": "\(limit.rlim_max)"])
    return UInt64(limit.rlim_cur)
  }

  /// Runs `services` in order (each depends on the ones before it) until a signal asks
  /// for graceful shutdown, which proceeds in reverse order. Raises the open-file limit first.
  public static func run(_ services: [any Service], logger: Logger) async throws {
    raiseOpenFileLimit(logger: logger)
    var configured = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
    // Started by `sightline up`: stop when it dies, even by SIGKILL (which it cannot relay).
    if let text = ProcessInfo.processInfo.environment[ParentWatch.environmentKey], let parent = Int32(text) {
      configured.insert(
        .init(service: ParentWatch(parent: parent, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup), at: 0)
    }
    let group = ServiceGroup(
      configuration: .init(services: configured, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }
}

/// Ends (and so shuts the process down gracefully) when the process that started it is gone:
/// a child of `sightline up` whose parent was killed with SIGKILL is re-parented, and would
/// otherwise run on as an orphan holding its port.
struct ParentWatch: Service {
  /// The variable the launcher sets to its own process id.
  static let environmentKey = "SIGHTLINE_PARENT_PID"

  let parent: Int32
  let logger: Logger

  func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      if getppid() != parent {
        logger.warning("the launching process is gone; shutting down", metadata: ["parent_pid": "\(parent)"])
        return
      }
      try? await Task.sleep(for: .milliseconds(250))
    }
  }
}
