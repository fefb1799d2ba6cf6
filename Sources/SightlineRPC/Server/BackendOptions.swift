public import ArgumentParser
import Foundation
public import SightlineModel

/// Flags every backend service executable takes. Each falls back to a `SIGHTLINE_*`
/// environment variable, then to a default that works on a laptop.
public struct BackendOptions: ParsableArguments, Sendable {
  /// Address to listen on.
  @Option(name: .long, help: "Address to listen on, HOST:PORT (env SIGHTLINE_LISTEN).")
  public var listen: String?

  /// Data directory.
  @Option(name: .long, help: "Directory for data (env SIGHTLINE_DATA_DIR; default ./.sightline).")
  public var dataDir: String?

  /// PKI directory.
  @Option(name: .long, help: "Directory of the suite's PKI (env SIGHTLINE_PKI_DIR; default DATA_DIR/pki). Created on first start if empty.")
  public var pkiDir: String?

  /// Addresses of the services this one calls (see `SuiteComponent.upstreams`; a flag
  /// for a service this process does not call is ignored).
  @Option(
    name: .long,
    help:
      "Ingestion service HOST:PORT, for metrics, segmentation and the gateway; several replicas as HOST:PORT,HOST:PORT or a name with several DNS records (env SIGHTLINE_INGESTION_ADDR)."
  )
  public var ingestion: String?
  @Option(
    name: .long,
    help: "Metrics service HOST:PORT[,HOST:PORT…], for experiments and the gateway (env SIGHTLINE_METRICS_ADDR).")
  public var metrics: String?
  @Option(
    name: .long,
    help: "Segmentation service HOST:PORT[,HOST:PORT…], for metrics (customers at risk) and the gateway (env SIGHTLINE_SEGMENTATION_ADDR).")
  public var segmentation: String?
  @Option(name: .long, help: "Experiments service HOST:PORT[,HOST:PORT…], for the gateway (env SIGHTLINE_EXPERIMENTS_ADDR).")
  public var experiments: String?
  @Option(name: .long, help: "Serve Prometheus metrics at http://HOST:PORT/metrics (env SIGHTLINE_PROMETHEUS_LISTEN; default: not served).")
  public var prometheusListen: String?
  @Option(
    name: .long,
    help:
      "Metrics and segmentation report NOT_SERVING while a tenant's consumer is more than this many events behind ingestion's log (env SIGHTLINE_MAX_CONSUMER_LAG; default 1000000)."
  )
  public var maxConsumerLag: Int64?
  /// The PostgreSQL database, instead of SQLite files under the data directory.
  @Option(
    name: .long,
    help:
      "Keep this service's data in PostgreSQL at this URL, postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=disable|prefer|require|verify-full], instead of SQLite under the data directory (env SIGHTLINE_DATABASE_URL; default: SQLite)."
  )
  public var database: String?
  /// The role that migrates the schema.
  @Option(
    name: .long,
    help:
      "Migrate the PostgreSQL schema at start-up as this URL's role, the tables' owner, while the work runs as --database's role (env SIGHTLINE_DATABASE_OWNER_URL; default: --database)."
  )
  public var databaseOwner: String?
  /// Further databases tenants are spread over.
  @Option(
    name: .customLong("shard"),
    help: ArgumentHelp(
      "A further PostgreSQL database tenants are placed on, as NAME=URL (the service role's URL); repeat for several. --database is shard 'main' and holds the tenant → shard map; give every process the same shards (env SIGHTLINE_SHARDS, NAME=URL,NAME=URL; default: none).",
      valueName: "name=url"))
  public var shards: [String] = []
  /// How long a replica's lease on a tenant's background work lasts without renewal.
  @Option(
    name: .long,
    help:
      "Seconds a replica's lease on a tenant's folding and alerting lasts without renewal: a dead replica's tenants are taken over within it plus a second (env SIGHTLINE_LEASE_TIME; default 10)."
  )
  public var leaseTime: Double?

  /// The OpenTelemetry collector spans are exported to.
  @Option(
    name: .long,
    help:
      "Export each call's spans over OTLP to this collector, http(s)://HOST:PORT (gRPC, 4317; env OTEL_EXPORTER_OTLP_ENDPOINT, with OpenTelemetry's other OTEL_* variables honoured; default: not exported)."
  )
  public var otlpEndpoint: String?

  public init() {}

  /// Shard names and URLs from `NAME=URL` texts; the error names the text that is wrong.
  static func shards(_ texts: [String]) throws -> [String: String] {
    var shards: [String: String] = [:]
    for text in texts.map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
      guard let equals = text.firstIndex(of: "=") else {
        throw ValidationError("--shard must be NAME=URL, got '\(text.prefix(40))'")
      }
      let name = String(text[..<equals])
      let url = String(text[text.index(after: equals)...])
      guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
      else {
        throw ValidationError("--shard name '\(name)' must be 1-32 letters, digits, '_' or '-'")
      }
      guard name != "main" else { throw ValidationError("--shard main is --database; name further shards otherwise") }
      guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
        throw ValidationError("--shard \(name)= must be a postgres:// URL")
      }
      guard shards.updateValue(url, forKey: name) == nil else { throw ValidationError("--shard \(name) is given twice") }
    }
    return shards
  }

  /// The resolved configuration for `component`.
  public func resolve(for component: SuiteComponent) throws -> BackendConfiguration {
    let env = ProcessInfo.processInfo.environment
    let dataDir = dataDir ?? env["SIGHTLINE_DATA_DIR"] ?? "./.sightline"
    let listenText = listen ?? env["SIGHTLINE_LISTEN"] ?? "127.0.0.1:\(component.defaultPort)"
    guard let endpoint = HostAndPort(listenText) else {
      throw ValidationError("--listen must be HOST:PORT, got '\(listenText)'")
    }
    let pki = PKIDirectory(path: pkiDir ?? env["SIGHTLINE_PKI_DIR"] ?? "\(dataDir)/pki")
    var upstreams: [SuiteComponent: ReplicaSet] = [:]
    for upstream in component.upstreams {
      let flag: String? =
        switch upstream {
        case .ingestion: ingestion
        case .metrics: metrics
        case .segmentation: segmentation
        case .experiments: experiments
        case .gateway: nil
        }
      let text = flag ?? env["SIGHTLINE_\(upstream.rawValue.uppercased())_ADDR"] ?? "127.0.0.1:\(upstream.defaultPort)"
      guard let replicas = ReplicaSet(text) else {
        throw ValidationError("--\(upstream.rawValue) must be HOST:PORT, or several as HOST:PORT,HOST:PORT, got '\(text)'")
      }
      upstreams[upstream] = replicas
    }
    var configuration = BackendConfiguration(listen: endpoint, dataDirectory: dataDir, pki: pki, upstreams: upstreams)
    if let text = prometheusListen ?? env["SIGHTLINE_PROMETHEUS_LISTEN"] {
      guard let address = HostAndPort(text) else {
        throw ValidationError("--prometheus-listen must be HOST:PORT, got '\(text)'")
      }
      configuration.prometheusListen = address
    }
    configuration.databaseURL = database ?? env["SIGHTLINE_DATABASE_URL"]
    configuration.databaseOwnerURL = databaseOwner ?? env["SIGHTLINE_DATABASE_OWNER_URL"]
    let shardTexts = shards.isEmpty ? (env["SIGHTLINE_SHARDS"] ?? "").split(separator: ",").map(String.init) : shards
    configuration.shards = try Self.shards(shardTexts)
    if !configuration.shards.isEmpty && configuration.databaseURL == nil {
      throw ValidationError("--shard needs --database: shard 'main', which holds the tenant → shard map")
    }
    if let lag = maxConsumerLag ?? env["SIGHTLINE_MAX_CONSUMER_LAG"].flatMap(Int64.init) {
      guard lag > 0 else { throw ValidationError("--max-consumer-lag must be positive") }
      configuration.maxConsumerLag = lag
    }
    if let seconds = leaseTime ?? env["SIGHTLINE_LEASE_TIME"].flatMap(Double.init) {
      guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--lease-time must be between 1 and 3600 seconds") }
      configuration.leaseTime = .milliseconds(Int64(seconds * 1000))
    }
    return configuration
  }
}

/// Where a backend listens and keeps its files.
public struct BackendConfiguration: Sendable {
  /// Listening address.
  public var listen: HostAndPort
  /// Root of the data files.
  public var dataDirectory: String
  /// The suite's PKI.
  public var pki: PKIDirectory
  /// Addresses of the services this one calls (see `SuiteComponent.upstreams`), each one
  /// or several replicas.
  public var upstreams: [SuiteComponent: ReplicaSet]
  /// Where to serve Prometheus metrics, if anywhere.
  public var prometheusListen: HostAndPort?
  /// Events a log consumer may lag behind before the process reports NOT_SERVING.
  public var maxConsumerLag: Int64 = 1_000_000
  /// The PostgreSQL URL the service's data lives at (nil: SQLite under `dataDirectory`).
  public var databaseURL: String?
  /// The URL whose role migrates the schema (nil: `databaseURL`'s).
  public var databaseOwnerURL: String?
  /// Further databases tenants are placed on, by shard name (the service role's URLs);
  /// `databaseURL` is shard `main`.
  public var shards: [String: String] = [:]
  /// How long a lease on a tenant's background work lasts without renewal.
  public var leaseTime: Duration = .seconds(10)

  /// A configuration from its parts.
  public init(listen: HostAndPort, dataDirectory: String, pki: PKIDirectory, upstreams: [SuiteComponent: ReplicaSet] = [:]) {
    self.listen = listen
    self.dataDirectory = dataDirectory
    self.pki = pki
    self.upstreams = upstreams
  }

  /// The same configuration listening on `listen`.
  public func with(listen: HostAndPort) -> BackendConfiguration {
    var copy = self
    copy.listen = listen
    return copy
  }

  /// A client for `upstream` over mutual TLS with the suite's service identity,
  /// spreading calls over its replicas and retrying reads on another one.
  public func upstreamClient(_ upstream: SuiteComponent) throws -> ManagedClient {
    guard let replicas = upstreams[upstream] else {
      throw ValidationError("no address for the \(upstream.rawValue) service")
    }
    let security = SuiteTLS(pki: pki).clientSecurity(identity: .service)
    return ManagedClient(
      try ClientFactory.makeClient(replicas: replicas, security: security, retryable: RetryableMethods.names))
  }
}
