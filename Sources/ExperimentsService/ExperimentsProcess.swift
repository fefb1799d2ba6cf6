public import Logging
public import ServiceLifecycle
import SightlineModel
import SightlinePostgres
public import SightlineRPC
import SightlineTenantData

/// Assembles the experiments process: the metrics client (mutual TLS, service identity)
/// and the mutual-TLS server.
public enum ExperimentsProcess {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.experiments.v1.Experiments"

  /// The services to run, in dependency order (the server last, so it drains first).
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> [any Service] {
    let metrics = try configuration.upstreamClient(.metrics)
    let database = try configuration.databaseURL.map { url in
      try PostgresStartup.shards(
        for: ExperimentPostgresSchema.self, url: url, ownerURL: configuration.databaseOwnerURL, shards: configuration.shards,
        logger: logger)
    }
    let provider =
      if let database {
        ExperimentsProvider(
          storage: PostgresExperimentStores(
            shards: database, service: "experiments", transferDirectory: "\(configuration.dataDirectory)/transfers"),
          metrics: metrics.client)
      } else {
        ExperimentsProvider(dataDirectory: configuration.dataDirectory, metrics: metrics.client)
      }
    let tenantData = TenantDataProvider(store: provider.storage, logger: logger)
    let server = try SuiteServer.backend(
      configuration: configuration, services: [provider, tenantData], serviceNames: [serviceName],
      readiness: (database?.all ?? []).map(PostgresStartup.readinessCheck),
      databaseSizes: database.map { PostgresTenantSizes(ExperimentPostgresSchema.self, pools: $0.all, logger: logger) }, logger: logger)
    return (database?.all ?? []) + [metrics, server]
  }
}
