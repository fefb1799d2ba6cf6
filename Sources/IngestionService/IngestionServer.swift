public import Logging
public import SightlineRPC
import SightlineWire

/// Assembles the ingestion process: the provider, health, and a mutual-TLS server.
public enum IngestionServer {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.ingestion.v1.Ingestion"

  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    try DevelopmentPKI.ensure(configuration.pki)
    let provider = IngestionProvider(dataDirectory: configuration.dataDirectory, logger: logger)
    return SuiteServer(
      endpoint: configuration.listen,
      security: SuiteTLS(pki: configuration.pki).serverSecurity(requireClientCertificate: true),
      services: [provider],
      health: HealthService(services: [serviceName]),
      logger: logger)
  }
}
