public import GRPCCore
public import Logging
public import ServiceLifecycle
public import SightlineModel

extension SuiteServer {
  /// A backend service's server: mutual TLS on `configuration.listen` (only clients with a
  /// certificate from the suite's CA get in), serving `services` and a health service that
  /// also reports each of `serviceNames`. Readiness: the data directory must be writable,
  /// and every check of `readiness` must pass. Generates the development PKI if missing.
  public static func backend(
    configuration: BackendConfiguration,
    services: [any RegistrableRPCService],
    serviceNames: [String] = [],
    readiness: [ReadinessMonitor.Check] = [],
    databaseSizes: (any DatabaseSizeReporting)? = nil,
    logger: Logger
  ) throws -> SuiteServer {
    try DevelopmentPKI.ensure(configuration.pki)
    let name = serviceNames.first ?? "service"
    return SuiteServer(
      endpoint: configuration.listen,
      security: SuiteTLS(pki: configuration.pki).serverSecurity(requireClientCertificate: true),
      services: services,
      health: HealthService(services: serviceNames),
      readiness: [ReadinessMonitor.dataDirectoryWritable(configuration.dataDirectory, name: name)] + readiness,
      databaseSizes: databaseSizes, blockingHandlers: true, logger: logger)
  }
}

extension ProcessBootstrap {
  /// The whole body of a backend executable: bootstrap logging, resolve `options`, build the
  /// server with `makeServer`, and run it until SIGTERM/SIGINT.
  public static func runBackend(
    _ component: SuiteComponent,
    options: BackendOptions,
    makeServer: (BackendConfiguration, Logger) throws -> SuiteServer
  ) async throws {
    try await runBackend(component, options: options) { configuration, logger in
      [try makeServer(configuration, logger)]
    }
  }

  /// As above for a backend that runs more than its server (upstream clients, consumers,
  /// schedulers): `makeServices` returns them in dependency order, the server last.
  public static func runBackend(
    _ component: SuiteComponent,
    options: BackendOptions,
    makeServices: (BackendConfiguration, Logger) throws -> [any Service]
  ) async throws {
    bootstrapLogging()
    let logger = Logger(label: "sightline.\(component.rawValue)")
    let configuration = try options.resolve(for: component)
    let tracing = try spanExport(component, options: options, logger: logger)
    let services = try makeServices(configuration, logger)
    let prometheus = ProcessMetrics.endpoint(
      for: component, dataDirectory: configuration.dataDirectory, listen: configuration.prometheusListen,
      databaseSizes: services.compactMap { ($0 as? SuiteServer)?.databaseSizes }.first, logger: logger)
    logger.info("starting", metadata: ["listen": "\(configuration.listen)", "data_dir": "\(configuration.dataDirectory)"])
    try await run(tracing + (prometheus.map { [$0] } ?? []) + services, logger: logger)
  }

  /// The span exporter's service when `options` or the environment name an OTLP collector
  /// (``SpanExport``), else none. First in a process's services, so it stops last and sends
  /// the spans of the calls the servers finished while stopping.
  public static func spanExport(_ component: SuiteComponent, options: BackendOptions, logger: Logger) throws -> [any Service] {
    try SpanExport.start(component: component, flag: options.otlpEndpoint, logger: logger).map { [$0] } ?? []
  }
}
