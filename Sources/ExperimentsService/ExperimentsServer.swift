public import Logging
public import SightlineRPC

/// Assembles the experiments process: a mutual-TLS server with health, ready for the
/// `sightline.experiments.v1.Experiments` provider.
///
/// The experiments RPCs are specified in `Proto/sightline/experiments/v1/` but not implemented in
/// this version: the server registers no handler for them, so a call fails with a gRPC
/// error (never a placeholder reply), and health reports the process only.
public enum ExperimentsServer {
  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    try SuiteServer.backend(configuration: configuration, services: [], logger: logger)
  }
}
