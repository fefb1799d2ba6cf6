public import SightlineModel
public import SightlineWire

/// The wire enums of cases and delivery and their model counterparts, in one place for the
/// metrics service, the CLI and the cockpit (the model's raw values are the names people
/// type and read: `in_progress`, `at_risk`, `dingtalk`, `dead`).
public enum CaseWireNames {
  /// Model status ↔ wire status.
  public static let statuses: [(model: CaseStatus, wire: Sightline_Cases_V1_CaseStatus)] = [
    (.open, .open), (.inProgress, .inProgress), (.resolved, .resolved), (.closed, .closed),
  ]
  /// Model source ↔ wire source.
  public static let sources: [(model: CaseSource, wire: Sightline_Cases_V1_CaseSource)] = [
    (.alert, .alert), (.detractor, .detractor), (.atRisk, .atRisk), (.person, .person),
  ]
  /// Model endpoint kind ↔ wire kind.
  public static let endpointKinds: [(model: EndpointKind, wire: Sightline_Cases_V1_EndpointKind)] = [
    (.dingtalk, .dingtalk), (.wecom, .wecom), (.slack, .slack), (.webhook, .webhook),
  ]

  /// Model delivery status ↔ wire delivery status.
  public static let deliveryStatuses: [(model: DeliveryStatus, wire: Sightline_Cases_V1_DeliveryStatus)] = [
    (.pending, .pending), (.delivered, .delivered), (.dead, .dead), (.folded, .folded),
  ]

  public static func status(_ wire: Sightline_Cases_V1_CaseStatus) -> CaseStatus? { statuses.first { $0.wire == wire }?.model }
  public static func status(_ model: CaseStatus) -> Sightline_Cases_V1_CaseStatus { statuses.first { $0.model == model }!.wire }
  public static func source(_ wire: Sightline_Cases_V1_CaseSource) -> CaseSource? { sources.first { $0.wire == wire }?.model }
  public static func source(_ model: CaseSource) -> Sightline_Cases_V1_CaseSource { sources.first { $0.model == model }!.wire }
  public static func kind(_ wire: Sightline_Cases_V1_EndpointKind) -> EndpointKind? { endpointKinds.first { $0.wire == wire }?.model }
  public static func kind(_ model: EndpointKind) -> Sightline_Cases_V1_EndpointKind { endpointKinds.first { $0.model == model }!.wire }

  public static func deliveryStatus(_ wire: Sightline_Cases_V1_DeliveryStatus) -> DeliveryStatus? {
    deliveryStatuses.first { $0.wire == wire }?.model
  }
  public static func deliveryStatus(_ model: DeliveryStatus) -> Sightline_Cases_V1_DeliveryStatus {
    deliveryStatuses.first { $0.model == model }!.wire
  }

  /// A wire status's name ("?" for none).
  public static func name(_ wire: Sightline_Cases_V1_CaseStatus) -> String { status(wire)?.rawValue ?? "?" }
  /// A wire source's name ("?" for none).
  public static func name(_ wire: Sightline_Cases_V1_CaseSource) -> String { source(wire)?.rawValue ?? "?" }
  /// A wire delivery status's name ("?" for none).
  public static func name(_ wire: Sightline_Cases_V1_DeliveryStatus) -> String { deliveryStatus(wire)?.rawValue ?? "?" }
  /// A wire endpoint kind's name ("?" for none).
  public static func name(_ wire: Sightline_Cases_V1_EndpointKind) -> String { kind(wire)?.rawValue ?? "?" }
}
