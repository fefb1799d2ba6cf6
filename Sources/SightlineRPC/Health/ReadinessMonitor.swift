import Foundation
public import Logging

/// Readiness, as opposed to liveness: every `interval` it asks each check whether the
/// process can do its job, and reports NOT_SERVING with the reasons while any says no
/// (the data directory cannot be written, a log consumer is failing or far behind), and
/// SERVING again once all are fine. Transitions are logged. `SuiteServer` runs it beside
/// the server.
public struct ReadinessMonitor: Sendable {
  /// A check: nil when fine, else what is wrong (a sentence).
  public typealias Check = @Sendable () -> String?

  let health: HealthService
  let checks: [Check]
  let interval: Duration
  let logger: Logger

  /// A monitor setting `health` from `checks` every `interval`.
  public init(health: HealthService, checks: [Check], interval: Duration = .seconds(2), logger: Logger) {
    self.health = health
    self.checks = checks
    self.interval = interval
    self.logger = logger
  }

  /// Runs the checks once and sets the status; returns the problem, if any.
  @discardableResult
  public func checkOnce() -> String? {
    let problems = checks.compactMap { $0() }
    let problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
    health.setReadiness(problem: problem)
    return problem
  }

  /// Checks every `interval` until cancelled.
  func watch() async {
    var last: String?
    while !Task.isCancelled {
      let problem = checkOnce()
      if problem != last {
        if let problem {
          logger.warning("not ready", metadata: ["reason": "\(problem)"])
        } else if last != nil {
          logger.info("ready again")
        }
        last = problem
      }
      // While not ready, look again soon: start-up waits on this (a launcher polls for
      // SERVING), and recovery should show as soon as it happens.
      try? await Task.sleep(for: problem == nil ? interval : min(interval, .milliseconds(200)))
    }
  }

  /// Fine while a small file can be written, flushed and removed in `directory`: a full
  /// disk, a read-only or vanished volume all fail it.
  public static func dataDirectoryWritable(_ directory: String, name: String) -> Check {
    {
      let path = "\(directory)/.readiness-\(name)"
      let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
      guard descriptor >= 0 else { return "the data directory \(directory) cannot be written (\(String(cString: strerror(errno))))" }
      defer {
        close(descriptor)
        unlink(path)
      }
      let written = "ok".withCString { write(descriptor, $0, 2) }
      guard written == 2, fsync(descriptor) == 0 else {
        return "the data directory \(directory) cannot be written (\(String(cString: strerror(errno))))"
      }
      return nil
    }
  }
}
