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
///
/// With `replicas` above one (PostgreSQL only), each backend runs that many times and two
/// gateways serve; every process is told every replica of the services it calls.
public final class SuiteLauncher: @unchecked Sendable {
  /// One process of the suite: a component and which of its replicas.
  public struct Instance: Hashable, Sendable, CustomStringConvertible {
    public var component: SuiteComponent
    public var replica: Int

    public init(_ component: SuiteComponent, replica: Int = 0) {
      self.component = component
      self.replica = replica
    }

    public var description: String { replica == 0 ? component.executableName : "\(component.executableName) #\(replica + 1)" }
  }

  /// Where the suite keeps its files.
  public let dataDirectory: String
  /// The (first) gateway's public address.
  public let gateway: HostAndPort
  /// Every gateway's public address.
  public let gateways: [HostAndPort]
  /// The first replica's address of every component.
  public let addresses: [SuiteComponent: HostAndPort]
  /// Every process's address, in start order (backends first).
  public let instances: [(instance: Instance, address: HostAndPort)]
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
  private var processes: [Instance: Process] = [:]
  /// Instances crashed on purpose (``crash(_:replica:)``) and not started again: health
  /// waits leave them out, while ``supervise(policy:report:)`` still sees them die.
  private var crashed: Set<Instance> = []
  private var output: FileHandle?

  /// A launcher for a suite under `dataDirectory` whose gateway listens on `gatewayPort`
  /// and whose services use `servicePorts` (defaults: 7501-7504), running executables
  /// found in `binaryDirectory`. With `replicas` above one, replica `r` of a service
  /// listens `4 × r` ports above the first, and the second gateway on the port after the
  /// last replica's.
  public init(
    dataDirectory: String, gatewayPort: Int, servicePorts: [SuiteComponent: Int] = [:], binaryDirectory: String, replicas: Int = 1
  ) {
    self.dataDirectory = (dataDirectory as NSString).standardizingPath
    self.binaryDirectory = binaryDirectory
    let replicas = max(1, replicas)
    var instances: [(Instance, HostAndPort)] = []
    for replica in 0..<replicas {
      for component in SuiteComponent.backends {
        let port = (servicePorts[component] ?? component.defaultPort) + 4 * replica
        instances.append((Instance(component, replica: replica), HostAndPort(host: "127.0.0.1", port: port)))
      }
    }
    instances.append((Instance(.gateway), HostAndPort(host: "127.0.0.1", port: gatewayPort)))
    if replicas > 1 {
      let last = instances.map(\.1.port).max()!
      instances.append((Instance(.gateway, replica: 1), HostAndPort(host: "127.0.0.1", port: last + 1)))
    }
    self.instances = instances
    self.addresses = Dictionary(instances.filter { $0.0.replica == 0 }.map { ($0.0.component, $0.1) }, uniquingKeysWith: { a, _ in a })
    self.gateways = instances.filter { $0.0.component == .gateway }.map(\.1)
    self.gateway = gateways[0]
  }

  /// Every replica's address of `component`.
  public func replicas(of component: SuiteComponent) -> [HostAndPort] {
    instances.filter { $0.instance.component == component }.map(\.address)
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
    for (instance, _) in instances {
      try launch(instance, output: output)
    }
    do {
      try await waitUntilHealthy(timeout: timeout)
    } catch {
      await stop()
      throw error
    }
  }

  private func launch(_ instance: Instance, output: FileHandle?) throws {
    let component = instance.component
    let executable = "\(binaryDirectory)/\(component.executableName)"
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw SuiteError("cannot find \(executable); build the package first (swift build)")
    }
    let address = instances.first { $0.instance == instance }!.address
    var arguments = [
      "--listen", address.description, "--data-dir", dataDirectory, "--pki-dir", pki.path,
    ]
    let first = instance.replica == 0
    if component == .gateway { arguments += ["--operator-key-file", operatorKeyFile] }
    if component == .gateway, first, let port = cockpitPort { arguments += ["--web-listen", "127.0.0.1:\(port)"] }
    if first, let port = prometheusPorts[component] { arguments += ["--prometheus-listen", "127.0.0.1:\(port)"] }
    // Messages the metrics process delivers link to the cockpit the suite serves.
    if component == .metrics, let url = cockpitURL { arguments += ["--cockpit-url", url] }
    for upstream in component.upstreams {
      arguments += ["--\(upstream.rawValue)", ReplicaSet(replicas(of: upstream)).description]
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
    lock.withLock {
      processes[instance] = process
      crashed.remove(instance)
    }
  }

  /// Polls every process's standard health service until all say SERVING.
  public func waitUntilHealthy(timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastProblem = "not checked yet"
    while ContinuousClock.now < deadline {
      if let exited = lock.withLock({ processes.first(where: { !crashed.contains($0.key) && !$0.value.isRunning }) }) {
        throw SuiteError("\(exited.key) exited with status \(exited.value.terminationStatus) during start-up")
      }
      do {
        let running = lock.withLock { Set(processes.keys).subtracting(crashed) }
        for (instance, address) in instances where running.contains(instance) {
          let status = try await checkHealth(instance.component, at: address)
          guard status == .serving else { throw SuiteError("\(instance) reports \(status)") }
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
  public func checkHealth(
    _ component: SuiteComponent, at address: HostAndPort? = nil
  ) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    let tls = SuiteTLS(pki: pki)
    let security = tls.clientSecurity(identity: component == .gateway ? nil : .operator)
    return try await ClientFactory.withClient(address ?? addresses[component]!, security: security) { client in
      // Generous: a debug build under a parallel test run can take seconds per TLS handshake.
      try await HealthService.check(client, timeout: .seconds(10)).status
    }
  }

  /// Kills a replica of `component` with SIGKILL, as a crash would (no drain, nothing
  /// flushed), and waits until it is gone. Until it is restarted, health waits leave it out.
  public func crash(_ component: SuiteComponent, replica: Int = 0) {
    let instance = Instance(component, replica: replica)
    guard let process = lock.withLock({ processes[instance] }), process.isRunning else { return }
    lock.withLock { _ = crashed.insert(instance) }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// Sends `signal` to a replica of `component` (SIGSTOP to pause it as a stalled machine
  /// would, SIGCONT to wake it).
  public func signal(_ component: SuiteComponent, replica: Int = 0, _ signal: Int32) {
    guard let process = lock.withLock({ processes[Instance(component, replica: replica)] }), process.isRunning else { return }
    kill(process.processIdentifier, signal)
  }

  /// Starts a replica of `component` again (after ``crash(_:replica:)``) and waits until
  /// the whole suite is healthy.
  public func restart(
    _ component: SuiteComponent, replica: Int = 0, timeout: Duration = .seconds(60), output: FileHandle? = nil
  ) async throws {
    try launch(Instance(component, replica: replica), output: output)
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

  /// Process ids of the running children (the first replica of each component), for tests
  /// that check nothing is left behind.
  public var processIdentifiers: [SuiteComponent: Int32] {
    lock.withLock {
      Dictionary(
        processes.filter { $0.key.replica == 0 && !crashed.contains($0.key) }.map { ($0.key.component, $0.value.processIdentifier) },
        uniquingKeysWith: { a, _ in a })
    }
  }

  /// Process ids of every running child, by instance.
  public var instanceProcessIdentifiers: [Instance: Int32] {
    lock.withLock { processes.filter { !crashed.contains($0.key) }.mapValues(\.processIdentifier) }
  }

  /// Sends SIGTERM to every process (gateway first, so it stops taking calls), waits up to
  /// `grace` for each to exit, then SIGKILLs any that did not.
  public func stop(grace: Duration = .seconds(10)) async {
    let running = lock.withLock { processes }
    // Gateways first: they stop taking calls before the services they call go.
    for process in running.sorted(by: { ($0.key.component == .gateway ? 0 : 1) < ($1.key.component == .gateway ? 0 : 1) }).map(\.value)
    where process.isRunning {
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
    lock.withLock {
      processes = [:]
      crashed = []
    }
  }

  /// Waits until any child exits and returns which, with how it ended; nil when none runs
  /// or the task is cancelled.
  public func waitForAnyExit() async -> (instance: Instance, ending: ChildEnding)? {
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
    var crashes: [Instance: [ContinuousClock.Instant]] = [:]
    while !Task.isCancelled {
      guard let (instance, ending) = await waitForAnyExit() else { return nil }
      let now = ContinuousClock.now
      var recent = (crashes[instance] ?? []).filter { now - $0 < policy.window }
      recent.append(now)
      crashes[instance] = recent
      let name = instance.description
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
        try launch(instance, output: lock.withLock { output })
        report("\(name) restarted (pid \(lock.withLock { processes[instance]?.processIdentifier ?? 0 }))")
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
