public import Logging
public import SightlineRPC

/// Assembles the segmentation process: a mutual-TLS server with health, ready for the
/// `sightline.segmentation.v1.Segmentation` provider.
///
/// The segmentation RPCs are specified in `Proto/sightline/segmentation/v1/` but not implemented in
/// this version: the server registers no handler for them, so a call fails with a gRPC
/// error (never a placeholder reply), and health reports the process only.
public enum SegmentationServer {
  /// A server for `configuration`; generates the development PKI if it is missing.
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> SuiteServer {
    try SuiteServer.backend(configuration: configuration, services: [], logger: logger)
  }
}
