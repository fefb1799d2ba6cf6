public import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
public import SightlineModel
public import SightlineRPC
public import SightlineWire

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
  // Guarded by `lock`: the child processes.
  private let lock = NSLock()
  private var processes: [SuiteComponent: Process] = [:]

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
    let client = try ClientFactory.makeClient(endpoint: addresses[component]!, security: security)
    return try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      // Generous: a debug build under a parallel test run can take seconds per TLS handshake.
      return try await HealthService.check(client, timeout: .seconds(10)).status
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
    let reply: Sightline_Gateway_V1_CreateTenantResponse = try await InProcessSuite.withClient(gateway, security: security) {
      client in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(request, metadata: InProcessSuite.bearer(operatorKey))
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

  /// Waits until any child exits and returns which; nil when none runs or the task is
  /// cancelled.
  public func waitForAnyExit() async -> SuiteComponent? {
    while !Task.isCancelled {
      let snapshot = lock.withLock { processes }
      if snapshot.isEmpty { return nil }
      if let exited = snapshot.first(where: { !$0.value.isRunning }) { return exited.key }
      try? await Task.sleep(for: .milliseconds(200))
    }
    return nil
  }
}

/// A suite could not be started.
public struct SuiteError: Error, CustomStringConvertible {
  /// What went wrong.
  public var description: String
  /// An error with a sentence.
  public init(_ description: String) { self.description = description }
}
