public import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import SightlineModel
public import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// Starts the five Sightline processes on one machine, as `sightline up` and the
/// end-to-end tests do: a development PKI and an operator key on first run, each
/// executable with its own flags, then a wait until every process reports SERVING.
public final class SuiteLauncher: @unchecked Sendable {
  /// Where the suite keeps its files.
  public let dataDirectory: String
  /// The gateway's public address.
  public let gateway: HostAndPort
  /// Every process's address.
  public let addresses: [SuiteComponent: HostAndPort]
  /// The suite's PKI (`DATA_DIR/pki`).
  public var pki: PKIDirectory { PKIDirectory(path: "\(dataDirectory)/pki") }
  /// The operator key file (`DATA_DIR/operator.key`).
  public var operatorKeyFile: String { "\(dataDirectory)/operator.key" }

  /// Ports on which processes serve Prometheus metrics (127.0.0.1), if any.
  public var prometheusPorts: [SuiteComponent: Int] = [:]
  /// The web cockpit's HTTPS port on 127.0.0.1, served by the gateway (nil: none).
  public var cockpitPort: Int?

  /// The cockpit's address, when it is served.
  public var cockpitURL: String? { cockpitPort.map { "https://localhost:\($0)/" } }

  /// Variables added to every child's environment (e.g. `SIGHTLINE_RATE_LIMIT` for a load
  /// test).
  public var environment: [String: String] = [:]

  private let binaryDirectory: String
  // Guarded by `lock`: the child processes, and where their output goes.
  private let lock = NSLock()
  private var processes: [SuiteComponent: Process] = [:]
  private var output: FileHandle?

  /// A launcher for a suite under `dataDirectory` whose gateway listens on `gatewayPort`
  /// and whose services use `servicePorts` (defaults: 7501-7504), running executables
  /// found in `binaryDirectory`.
  public init(dataDirectory: String, gatewayPort: Int, servicePorts: [SuiteComponent: Int] = [:], binaryDirectory: String) {
    self.dataDirectory = (dataDirectory as NSString).standardizingPath
    self.binaryDirectory = binaryDirectory
    var addresses: [SuiteComponent: HostAndPort] = [.gateway: HostAndPort(host: "127.0.0.1", port: gatewayPort)]
    for component in SuiteComponent.backends {
      addresses[component] = HostAndPort(host: "127.0.0.1", port: servicePorts[component] ?? component.defaultPort)
    }
    self.addresses = addresses
    self.gateway = addresses[.gateway]!
  }

  /// A launcher whose processes listen on five consecutive ports from `portBase`: the
  /// gateway on `portBase`, then ingestion, metrics, segmentation and experiments.
  public convenience init(dataDirectory: String, portBase: Int, binaryDirectory: String) {
    var ports: [SuiteComponent: Int] = [:]
    for (offset, component) in SuiteComponent.backends.enumerated() { ports[component] = portBase + 1 + offset }
    self.init(dataDirectory: dataDirectory, gatewayPort: portBase, servicePorts: ports, binaryDirectory: binaryDirectory)
  }

  /// The directory of the running executable: where `swift build` puts its siblings.
  public static var currentBinaryDirectory: String {
    let path = ProcessInfo.processInfo.arguments[0]
    let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
    return (URL(fileURLWithPath: resolved).deletingLastPathComponent().path as NSString).standardizingPath
  }

  /// Creates the PKI and operator key if missing, starts every process, and waits (up to
  /// `timeout`) until all are healthy. On failure, stops whatever it started.
  public func start(timeout: Duration = .seconds(60), output: FileHandle? = nil) async throws {
    // Private: it holds every tenant's data and the operator key.
    try FileManager.default.createDirectory(
      atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try DevelopmentPKI.ensure(pki)
    lock.withLock { self.output = output }
    for component in SuiteComponent.backends + [.gateway] {
      try launch(component, output: output)
    }
    do {
      try await waitUntilHealthy(timeout: timeout)
    } catch {
      await stop()
      throw error
    }
  }

  private func launch(_ component: SuiteComponent, output: FileHandle?) throws {
    let executable = "\(binaryDirectory)/\(component.executableName)"
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw SuiteError("cannot find \(executable); build the package first (swift build)")
    }
    var arguments = [
      "--listen", addresses[component]!.description, "--data-dir", dataDirectory, "--pki-dir", pki.path,
    ]
    if component == .gateway { arguments += ["--operator-key-file", operatorKeyFile] }
    if component == .gateway, let port = cockpitPort { arguments += ["--web-listen", "127.0.0.1:\(port)"] }
    if let port = prometheusPorts[component] { arguments += ["--prometheus-listen", "127.0.0.1:\(port)"] }
    for upstream in component.upstreams {
      arguments += ["--\(upstream.rawValue)", addresses[upstream]!.description]
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    // The child shuts itself down if this process dies without stopping it (SIGKILL).
    var environment = ProcessInfo.processInfo.environment
    environment.merge(self.environment) { _, added in added }
    environment["SIGHTLINE_PARENT_PID"] = String(getpid())
    process.environment = environment
    if let output {
      process.standardOutput = output
      process.standardError = output
    }
    try process.run()
    lock.withLock { processes[component] = process }
  }

  /// Polls every process's standard health service until all say SERVING.
  public func waitUntilHealthy(timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastProblem = "not checked yet"
    while ContinuousClock.now < deadline {
      if let exited = lock.withLock({ processes.first(where: { !$0.value.isRunning }) }) {
        throw SuiteError("\(exited.key.executableName) exited with status \(exited.value.terminationStatus) during start-up")
      }
      do {
        for component in SuiteComponent.allCases {
          let status = try await checkHealth(component)
          guard status == .serving else { throw SuiteError("\(component.rawValue) reports \(status)") }
        }
        return
      } catch {
        lastProblem = "\(error)"
        try await Task.sleep(for: .milliseconds(200))
      }
    }
    throw SuiteError("the suite did not become healthy in time: \(lastProblem)")
  }

  /// One health check of `component` (the gateway over TLS, services over mTLS with the
  /// operator's client certificate).
  public func checkHealth(_ component: SuiteComponent) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    let tls = SuiteTLS(pki: pki)
    let security = tls.clientSecurity(identity: component == .gateway ? nil : .operator)
    return try await ClientFactory.withClient(addresses[component]!, security: security) { client in
      // Generous: a debug build under a parallel test run can take seconds per TLS handshake.
      try await HealthService.check(client, timeout: .seconds(10)).status
    }
  }

  /// Kills `component` with SIGKILL, as a crash would (no drain, nothing flushed), and
  /// waits until it is gone.
  public func crash(_ component: SuiteComponent) {
    guard let process = lock.withLock({ processes[component] }), process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// Starts `component` again (after ``crash(_:)``) and waits until the whole suite is
  /// healthy.
  public func restart(_ component: SuiteComponent, timeout: Duration = .seconds(60), output: FileHandle? = nil) async throws {
    try launch(component, output: output)
    try await waitUntilHealthy(timeout: timeout)
  }

  /// Creates a tenant through the gateway with the operator key; returns its admin key.
  public func createTenant(_ name: String) async throws -> String {
    let operatorKey = try String(contentsOfFile: operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let request = Sightline_Gateway_V1_CreateTenantRequest.with { $0.name = name }
    let security = SuiteTLS(pki: pki).clientSecurity(identity: nil)
    let reply: Sightline_Gateway_V1_CreateTenantResponse = try await ClientFactory.withClient(gateway, security: security) {
      client in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(request, metadata: SuiteMetadata.bearer(operatorKey))
    }
    return reply.adminSecret
  }

  /// Process ids of the running children, for tests that check nothing is left behind.
  public var processIdentifiers: [SuiteComponent: Int32] {
    lock.withLock { processes.mapValues(\.processIdentifier) }
  }

  /// Sends SIGTERM to every process (gateway first, so it stops taking calls), waits up to
  /// `grace` for each to exit, then SIGKILLs any that did not.
  public func stop(grace: Duration = .seconds(10)) async {
    let running = lock.withLock { processes }
    for component in [SuiteComponent.gateway] + SuiteComponent.backends {
      guard let process = running[component], process.isRunning else { continue }
      process.terminate()
    }
    let deadline = ContinuousClock.now + grace
    for (_, process) in running {
      while process.isRunning && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(50))
      }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
    }
    lock.withLock { processes = [:] }
  }

  /// Waits until any child exits and returns which, with how it ended; nil when none runs
  /// or the task is cancelled.
  public func waitForAnyExit() async -> (component: SuiteComponent, ending: ChildEnding)? {
    while !Task.isCancelled {
      let snapshot = lock.withLock { processes }
      if snapshot.isEmpty { return nil }
      if let exited = snapshot.first(where: { !$0.value.isRunning }) {
        return (exited.key, ChildEnding(exited.value))
      }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return nil
  }

  /// Keeps the children running, as a supervisor would: a child that dies is reported to
  /// `report` (which one, and its exit status or signal) and started again after a backoff
  /// that doubles with each crash in the last `policy.window` (from `policy.firstDelay` up
  /// to `policy.maxDelay`). Returns when the task is cancelled (nil), or when one child has
  /// crashed more than `policy.maxCrashes` times within the window (a sentence saying so):
  /// a child that cannot stay up is a fault to fix, not one to hide by restarting forever.
  public func supervise(policy: RestartPolicy = .init(), report: @Sendable (String) -> Void) async -> String? {
    var crashes: [SuiteComponent: [ContinuousClock.Instant]] = [:]
    while !Task.isCancelled {
      guard let (component, ending) = await waitForAnyExit() else { return nil }
      let now = ContinuousClock.now
      var recent = (crashes[component] ?? []).filter { now - $0 < policy.window }
      recent.append(now)
      crashes[component] = recent
      let name = component.executableName
      guard recent.count <= policy.maxCrashes else {
        return
          "\(name) \(ending); it died \(recent.count) times within \(policy.window.components.seconds) s, so it is not restarted again: see its log above"
      }
      let delay = min(policy.maxDelay, policy.firstDelay * (1 << min(recent.count - 1, 10)))
      report(
        "\(name) \(ending); restarting it in \(Self.seconds(delay)) (crash \(recent.count) of at most \(policy.maxCrashes) within \(policy.window.components.seconds) s)"
      )
      do {
        try await Task.sleep(for: delay)
      } catch { return nil }
      do {
        try launch(component, output: lock.withLock { output })
        report("\(name) restarted (pid \(lock.withLock { processes[component]?.processIdentifier ?? 0 }))")
      } catch {
        return "\(name) could not be restarted: \(error)"
      }
    }
    return nil
  }

  private static func seconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return String(format: "%.1f s", Double(seconds) + Double(attoseconds) / 1e18)
  }
}

/// How `SuiteLauncher.supervise` restarts children that die.
public struct RestartPolicy: Sendable {
  /// The wait before the first restart; it doubles with each further crash in `window`.
  public var firstDelay: Duration = .milliseconds(250)
  /// The longest wait before a restart.
  public var maxDelay: Duration = .seconds(8)
  /// Crashes of one child within `window` after which it is given up on.
  public var maxCrashes = 5
  /// The span over which crashes are counted.
  public var window: Duration = .seconds(60)

  /// The default policy: 0.25 s, 0.5 s, 1 s, 2 s, 4 s; the sixth crash in a minute gives up.
  public init() {}
}

/// How a child process ended, for a person: its exit status or the signal that killed it.
public struct ChildEnding: Sendable, CustomStringConvertible, Equatable {
  /// The exit status, or the signal number when `bySignal`.
  public var code: Int32
  /// Whether a signal ended the process.
  public var bySignal: Bool

  init(_ process: Process) {
    code = process.terminationStatus
    bySignal = process.terminationReason == .uncaughtSignal
  }

  public var description: String {
    guard bySignal else { return "exited with status \(code)" }
    let name = ChildEnding.signalNames[code].map { "SIG\($0)" } ?? "signal \(code)"
    return "was killed by \(name) (signal \(code))"
  }

  private static let signalNames: [Int32: String] = [
    SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGTRAP: "TRAP", SIGABRT: "ABRT", SIGBUS: "BUS",
    SIGFPE: "FPE", SIGKILL: "KILL", SIGSEGV: "SEGV", SIGPIPE: "PIPE", SIGTERM: "TERM",
  ]
}

/// A suite could not be started.
public struct SuiteError: Error, CustomStringConvertible {
  /// What went wrong.
  public var description: String
  /// An error with a sentence.
  public init(_ description: String) { self.description = description }
}
