public import Logging
public import ServiceLifecycle
public import SightlineRPC
import SightlineModel

/// Assembles the metrics process: the ingestion client, the log follower that folds every
/// tenant's log into KPI state, the alert scheduler, and the mutual-TLS server.
public enum MetricsServer {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.metrics.v1.Metrics"

  /// The services to run, in dependency order (the server last, so it drains first).
  /// `alertInterval` is how often alert rules are evaluated.
  public static func make(
    configuration: BackendConfiguration, logger: Logger, alertInterval: Duration = .seconds(15)
  ) throws -> [any Service] {
    let ingestion = try configuration.upstreamClient(.ingestion)
    let state = MetricsState(dataDirectory: configuration.dataDirectory)
    let follower = LogFollower(client: ingestion.client, consumer: state, logger: logger)
    let provider = MetricsProvider(state: state, follower: follower)
    let server = try SuiteServer.backend(
      configuration: configuration, services: [provider], serviceNames: [serviceName], logger: logger)
    return [ingestion, follower, AlertScheduler(provider: provider, interval: alertInterval, logger: logger), server]
  }
}
