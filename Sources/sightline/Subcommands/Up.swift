import ArgumentParser
import Foundation
import SightlineLauncher
import SightlineModel
import SightlineRPC
import UnixSignals

/// `sightline up`: the whole suite in the foreground until Ctrl-C.
struct Up: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the whole suite locally (five processes, or replicas of each) until Ctrl-C.",
    discussion: """
      Creates a development PKI under DATA_DIR/pki and an operator key in DATA_DIR/operator.key \
      on first run, starts the gateway and the four services, waits until all are healthy, and \
      prints how to reach the gateway. Ctrl-C (or SIGTERM) stops every process gracefully.
      """)

  @Option(help: "Where the suite keeps its data, certificates and operator key.")
  var dataDir: String = "./.sightline"

  @Option(help: "The gateway's public TLS port.")
  var port: Int = SuiteComponent.gateway.defaultPort

  @Option(help: "First port of the four internal services (they take this and the next three).")
  var servicePortBase: Int = SuiteComponent.ingestion.defaultPort

  @Option(
    help:
      "Serve each process's Prometheus metrics on 127.0.0.1 from this port: the gateway on it, the services on the next four (default: not served)."
  )
  var prometheusPortBase: Int?

  @Option(help: "The web cockpit's HTTPS port on 127.0.0.1 (0: do not serve it).")
  var cockpitPort: Int = SuiteComponent.gateway.defaultPort + 1

  @Flag(help: "Exit once the suite is healthy, leaving nothing running (a smoke test).")
  var checkOnly = false

  @Option(
    help:
      "Keep the services' data in PostgreSQL at this URL, postgres://USER:PASSWORD@HOST:PORT/DB, instead of SQLite under DATA_DIR (env SIGHTLINE_DATABASE_URL; docs/operations.md, \"PostgreSQL\")."
  )
  var database: String?

  @Option(
    help: "Migrate the PostgreSQL schema as this URL's role, the tables' owner (env SIGHTLINE_DATABASE_OWNER_URL; default: --database).")
  var databaseOwner: String?

  @Option(
    name: .customLong("shard"),
    help: ArgumentHelp(
      "A further PostgreSQL database tenants are placed on, as NAME=URL; repeat for several (needs --database, shard 'main'; env SIGHTLINE_SHARDS; docs/scaling.md, \"Shards\").",
      valueName: "name=url"))
  var shards: [String] = []

  @Option(
    help:
      "Run this many replicas of each service, and two gateways, sharing the tenants through PostgreSQL (needs --database; replica R of a service listens 4×R ports above the first, the second gateway after the last; docs/scaling.md)."
  )
  var replicas: Int = 1

  @Option(
    help:
      "Export every process's spans over OTLP to this collector, http(s)://HOST:PORT (env OTEL_EXPORTER_OTLP_ENDPOINT; docs/operations.md, \"Traces in Jaeger or Tempo\")."
  )
  var otlpEndpoint: String?

  func validate() throws {
    guard (1...65535).contains(port), (1...65532).contains(servicePortBase) else {
      throw ValidationError("ports must be between 1 and 65535")
    }
    guard (1...16).contains(replicas) else { throw ValidationError("--replicas must be between 1 and 16") }
    let hasDatabase = database != nil || ProcessInfo.processInfo.environment["SIGHTLINE_DATABASE_URL"] != nil
    if replicas > 1 && !hasDatabase {
      throw ValidationError("--replicas above 1 needs --database: replicas share their data through PostgreSQL, not SQLite files")
    }
    if !shards.isEmpty && !hasDatabase {
      throw ValidationError("--shard needs --database: shard 'main', which holds the tenant → shard map")
    }
  }

  func run() async throws {
    var ports: [SuiteComponent: Int] = [:]
    for (offset, component) in SuiteComponent.backends.enumerated() { ports[component] = servicePortBase + offset }
    let launcher = SuiteLauncher(
      dataDirectory: dataDir, gatewayPort: port, servicePorts: ports,
      binaryDirectory: SuiteLauncher.currentBinaryDirectory, replicas: replicas)
    if cockpitPort > 0 { launcher.cockpitPort = cockpitPort }
    // Through the environment, not the command line: a password in the arguments would
    // show in every user's `ps`.
    if let database { launcher.environment["SIGHTLINE_DATABASE_URL"] = database }
    if let databaseOwner { launcher.environment["SIGHTLINE_DATABASE_OWNER_URL"] = databaseOwner }
    if !shards.isEmpty { launcher.environment["SIGHTLINE_SHARDS"] = shards.joined(separator: ",") }
    if let otlpEndpoint { launcher.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint }
    if let base = prometheusPortBase {
      for (offset, component) in ([SuiteComponent.gateway] + SuiteComponent.backends).enumerated() {
        launcher.prometheusPorts[component] = base + offset
      }
    }

    // Trap SIGINT/SIGTERM with swift-service-lifecycle's signal sequence (what the service
    // executables use too); trapping before start-up means an early Ctrl-C is not lost.
    let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)

    FileHandle.standardError.write(Data("starting the Sightline suite in \(launcher.dataDirectory)…\n".utf8))
    try await launcher.start(output: FileHandle.standardError)
    print(
      """
      Sightline is up.
        gateway       \(launcher.gateways.map(\.description).joined(separator: ", ")) (TLS)
        CA            \(launcher.pki.caCertificate)
        operator key  \(launcher.operatorKeyFile)
      Next: sightline tenant create acme --data-dir \(dataDir)
      """)
    if let url = launcher.cockpitURL { print(CockpitBanner.text(url: url, dataDirectory: dataDir)) }
    for (component, port) in launcher.prometheusPorts.sorted(by: { $0.value < $1.value }) {
      print("  metrics       http://127.0.0.1:\(port)/metrics (\(component.rawValue))")
    }
    if checkOnly {
      await launcher.stop()
      return
    }
    print("Press Ctrl-C to stop.")
    fflush(nil)  // show the banner at once even when stdout is a pipe or a file
    // Until a signal: a child that dies is reported and restarted with backoff; one that
    // keeps dying ends the suite with a message saying which and why.
    let ending = await withTaskGroup(of: Ending?.self) { group -> Ending? in
      group.addTask {
        for await signal in signals { return .signal("\(signal)") }
        return nil
      }
      group.addTask {
        await launcher.supervise { event in
          FileHandle.standardError.write(Data("sightline up: \(event)\n".utf8))
        }.map(Ending.gaveUp)
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first
    }
    switch ending {
    case .gaveUp(let reason):
      FileHandle.standardError.write(Data("sightline up: \(reason); stopping the suite…\n".utf8))
    case .signal(let name):
      FileHandle.standardError.write(Data("stopping (\(name))…\n".utf8))
    case nil:
      FileHandle.standardError.write(Data("stopping…\n".utf8))
    }
    await launcher.stop()
    FileHandle.standardError.write(Data("stopped.\n".utf8))
    if case .gaveUp = ending { throw ExitCode.failure }
  }

  /// Why the suite stops.
  private enum Ending: Sendable {
    case signal(String)
    case gaveUp(String)
  }
}

/// How `up` and `demo` point people at the web cockpit: its URL and a key to sign in with
/// (the demo tenant's, when there is one).
enum CockpitBanner {
  static func text(url: String, dataDirectory: String) -> String {
    let demoKey = (try? String(contentsOfFile: "\(dataDirectory)/demo.key", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let signIn =
      demoKey.map { "sign in with the demo tenant's key \($0) (from \(dataDirectory)/demo.key)" }
      ?? "sign in with a tenant's key (sightline tenant create prints one)"
    return "  cockpit       \(url) (HTTPS, the suite's CA): \(signIn)"
  }
}
