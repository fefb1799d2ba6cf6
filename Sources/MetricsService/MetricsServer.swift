public import Logging
public import SightlineRPC

/// Assembles the metrics process: a mutual-TLS server with health, ready for the
/// `sightline.metrics.v1.Metrics` provider.
///
/// The metrics RPCs are specified in `Proto/sightline/metrics/v1/` but not implemented in
/// this version: the server registers no handler for them, so a call fails with a gRPC
/// error (never a placeholder reply), and health reports the process only.
public enum MetricsServer {
  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    try SuiteServer.backend(configuration: configuration, services: [], logger: logger)
  }
}
