import Foundation
public import Logging
public import ServiceLifecycle
import SightlineModel
import SightlinePostgres
public import SightlineRPC

/// Assembles the ingestion process: the provider and the tenant directory (the consumers'
/// change feed) behind a mutual-TLS server with health, and the scan that fills the feed
/// with every tenant's head at start.
public enum IngestionProcess {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.ingestion.v1.Ingestion"

  /// The services of an ingestion process for `configuration`, the server last; generates
  /// the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> [any Service] {
    var services: [any Service] = []
    var readiness: [ReadinessMonitor.Check] = []
    var databaseSizes: PostgresTenantSizes?
    let provider: IngestionProvider
    if let url = configuration.databaseURL {
      let shards = try PostgresStartup.shards(
        for: EventLogPostgresSchema.self, url: url, ownerURL: configuration.databaseOwnerURL, shards: configuration.shards,
        logger: logger)
      services += shards.all
      readiness += shards.all.map(PostgresStartup.readinessCheck)
      databaseSizes = PostgresTenantSizes(EventLogPostgresSchema.self, pools: shards.all, logger: logger)
      provider = IngestionProvider(
        storage: PostgresEventLogs(shards: shards, service: "ingestion", transferDirectory: "\(configuration.dataDirectory)/transfers"))
      // Appends are announced on the database they commit to: listen on every shard.
      services += shards.all.map { LogNotificationListener(provider: provider, url: $0.url, logger: logger) }
    } else {
      provider = IngestionProvider(dataDirectory: configuration.dataDirectory)
    }
    let server = try SuiteServer.backend(
      configuration: configuration,
      services: [
        provider,
        TenantDirectoryProvider(ingestion: provider),
        provider.tenantData(logger: logger),
      ],
      serviceNames: [serviceName],
      readiness: readiness,
      databaseSizes: databaseSizes,
      logger: logger)
    return services + [HeadScan(provider: provider, logger: logger), server]
  }
}

/// Reads every tenant's log head into the change feed once at start, off the cooperative
/// pool (it opens each log once), then idles until shutdown.
struct HeadScan: Service {
  let provider: IngestionProvider
  let logger: Logger

  func run() async throws {
    let started = ContinuousClock.now
    let stop = StopFlag()
    try? await withTaskCancellationHandler {
      try await BlockingWork.run { provider.scanHeads(isCancelled: { stop.isSet }) }
    } onCancel: {
      stop.set()
    }
    let (tenants, complete) = provider.feed.known
    if complete {
      logger.info("change feed ready", metadata: ["tenants": "\(tenants)", "scan_s": "\(ContinuousClock.now - started)"])
    }
    try? await gracefulShutdown()
  }
}
