public import Logging
public import ServiceLifecycle
import SightlineModel
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
    let provider = ExperimentsProvider(dataDirectory: configuration.dataDirectory, metrics: metrics.client)
    let tenantData = TenantDataProvider(store: provider.storage, logger: logger)
    let server = try SuiteServer.backend(
      configuration: configuration, services: [provider, tenantData], serviceNames: [serviceName], logger: logger)
    return [metrics, server]
  }
}
