public import Logging
public import SightlineRPC

/// Assembles the segmentation process: health and a mutual-TLS server, ready for the
/// `sightline.segmentation.v1.Segmentation` provider.
///
/// The segmentation RPCs are specified in `Proto/sightline/segmentation/v1/` but not implemented in
/// this version: the server does not register them, so a call answers UNIMPLEMENTED
/// (an honest status, never a placeholder reply), and health reports the process only.
public enum SegmentationServer {
  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    try DevelopmentPKI.ensure(configuration.pki)
    return SuiteServer(
      endpoint: configuration.listen,
      security: SuiteTLS(pki: configuration.pki).serverSecurity(requireClientCertificate: true),
      services: [],
      health: HealthService(),
      logger: logger)
  }
}
