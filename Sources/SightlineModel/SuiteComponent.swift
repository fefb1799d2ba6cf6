/// The five processes of a Sightline suite.
public enum SuiteComponent: String, Sendable, CaseIterable, Codable {
  case gateway
  case ingestion
  case metrics
  case segmentation
  case experiments

  /// The executable that runs this component.
  public var executableName: String { "sightline-\(rawValue)" }

  /// The port it listens on by default on a laptop. Only the gateway's is public.
  public var defaultPort: Int {
    switch self {
    case .gateway: 7443
    case .ingestion: 7501
    case .metrics: 7502
    case .segmentation: 7503
    case .experiments: 7504
    }
  }

  /// The services this one calls (the arrows of docs/architecture.md): the consumers tail ingestion,
  /// experiments asks metrics, the gateway reaches every backend.
  public var upstreams: [SuiteComponent] {
    switch self {
    case .gateway: Self.backends
    // Metrics asks segmentation for customers at risk (the case rules: docs/cases.md).
    case .metrics: [.ingestion, .segmentation]
    case .segmentation: [.ingestion]
    case .experiments: [.metrics]
    case .ingestion: []
    }
  }

  /// The backend services, in the order the gateway dials and reports them.
  public static let backends: [SuiteComponent] = [.ingestion, .metrics, .segmentation, .experiments]
}
