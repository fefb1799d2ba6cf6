public import Logging
public import SightlineRPC

/// Assembles the ingestion process: the provider behind a mutual-TLS server with health.
public enum IngestionServer {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.ingestion.v1.Ingestion"

  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    let provider = IngestionProvider(dataDirectory: configuration.dataDirectory)
    return try SuiteServer.backend(
      configuration: configuration,
      services: [
        provider,
        TenantDirectoryProvider(dataDirectory: configuration.dataDirectory),
        provider.tenantData(logger: logger),
      ],
      serviceNames: [serviceName],
      logger: logger)
  }
}
