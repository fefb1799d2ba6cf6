public import SightlineModel
public import SightlineWire
import SwiftProtobuf

/// The wire enums of KPIs and dimensions and their model counterparts, in one place for
/// every service and the CLI.
public enum KpiWire {
  /// Wire KPI → model KPI.
  public static let kpis: [Sightline_Metrics_V1_Kpi: KpiKind] = [
    .volume: .volume, .firstResponseTime: .firstResponseTime, .resolutionTime: .resolutionTime,
    .unanswered: .unanswered, .fcrRate: .fcrRate, .reopenRate: .reopenRate, .slaFirstResponse: .slaFirstResponse,
    .csat: .csat, .nps: .nps, .ces: .ces, .complaintRate: .complaintRate,
    .complaintClosureRate: .complaintClosureRate, .repeatContactRate: .repeatContactRate, .backlog: .backlog,
    .slaResolution: .slaResolution,
  ]
  /// Model KPI → wire KPI.
  public static let wireKpis = Dictionary(uniqueKeysWithValues: kpis.map { ($1, $0) })

  /// Wire dimension → model dimension (the segment dimension has no model counterpart:
  /// segmentation answers it).
  public static let dimensions: [Sightline_Common_V1_Dimension: KpiDimension] = [
    .channel: .channel, .region: .region, .businessLine: .businessLine, .agent: .agent,
    .productModule: .productModule, .problemType: .problemType, .priority: .priority,
    .customerTier: .customerTier, .customerType: .customerType, .customer: .customer,
    .weekday: .weekday, .hourOfDay: .hourOfDay,
  ]
  /// Model dimension → wire dimension.
  public static let wireDimensions = Dictionary(uniqueKeysWithValues: dimensions.map { ($1, $0) })

  /// The wire KPI of a documented KPI name (`first_response_time`), if it is one.
  public static func kpi(named name: String) -> Sightline_Metrics_V1_Kpi? {
    KpiKind(rawValue: name).flatMap { wireKpis[$0] }
  }

  /// The wire dimension of a documented dimension name (`business_line`), if it is one.
  public static func dimension(named name: String) -> Sightline_Common_V1_Dimension? {
    KpiDimension(rawValue: name).flatMap { wireDimensions[$0] }
  }

  /// The documented name of a wire KPI.
  public static func name(_ kpi: Sightline_Metrics_V1_Kpi) -> String { kpis[kpi]?.rawValue ?? "\(kpi)" }

  /// The documented name of a wire dimension ("" when unspecified).
  public static func name(_ dimension: Sightline_Common_V1_Dimension) -> String { dimensions[dimension]?.rawValue ?? "" }

  /// The model KPI of `kpi`, or INVALID_ARGUMENT naming `field`.
  public static func kpi(_ kpi: Sightline_Metrics_V1_Kpi, field: String) throws -> KpiKind {
    guard let known = kpis[kpi] else { throw InvalidInput(field: field, reason: "unknown or unspecified KPI (\(kpi))") }
    return known
  }

  /// The model dimension of `dimension`, or INVALID_ARGUMENT naming `field`.
  public static func dimension(_ dimension: Sightline_Common_V1_Dimension, field: String) throws -> KpiDimension {
    if dimension == .segment {
      throw InvalidInput(
        field: field,
        reason:
          "the segment dimension is answered by the segmentation service (GetScorecard); metrics groups by ticket and customer attributes")
    }
    guard let known = dimensions[dimension] else {
      throw InvalidInput(field: field, reason: "unknown or unspecified dimension (\(dimension))")
    }
    return known
  }
}

/// The wire enum of experiment analysis methods and the model's.
public enum MethodWire {
  /// Model method → wire method.
  public static let wireMethods: [AnalysisMethod: Sightline_Experiments_V1_Method] = [
    .welch: .welch, .cuped: .cuped, .did: .did, .permutation: .permutation, .zTest: .zTest, .delta: .delta,
  ]
  /// Wire method → model method (`auto` and unspecified have none: the service chooses).
  public static let methods = Dictionary(uniqueKeysWithValues: wireMethods.map { ($1, $0) })

  /// The documented name of a wire method (`auto` for auto or unspecified).
  public static func name(_ method: Sightline_Experiments_V1_Method) -> String { methods[method]?.rawValue ?? "auto" }
}

/// The wire enums of ingested records and their model counterparts, shared by the consumers.
public enum RecordWire {
  /// The model type of a ticket event kind (nil when unspecified).
  public static func ticketEventType(_ kind: Sightline_Ingestion_V1_TicketEventKind) -> TicketEventType? {
    switch kind {
    case .created: .created
    case .agentReply: .agentReply
    case .customerReply: .customerReply
    case .resolved: .resolved
    case .reopened: .reopened
    default: nil
    }
  }

  /// The model scale of a survey kind (nil when unspecified).
  public static func surveyScale(_ kind: Sightline_Ingestion_V1_SurveyKind) -> SurveyScale? {
    switch kind {
    case .csat: .csat
    case .nps: .nps
    case .ces: .ces
    default: nil
    }
  }

  /// The model priority (unspecified means normal).
  public static func priority(_ priority: Sightline_Ingestion_V1_Priority) -> TicketPriority {
    switch priority {
    case .low: .low
    case .high: .high
    case .urgent: .urgent
    default: .normal
    }
  }
}

extension KpiWire {
  /// A weekly roster (agents per hour of the week, ``TimeOfWeek/index``) on the wire, hour
  /// by hour in order: what the CLI, the cockpit and GetSettings send.
  public static func rosterHours(_ agents: [Int: Double]) -> [Sightline_Metrics_V1_RosterHour] {
    agents.sorted { $0.key < $1.key }.map { slot, agents in
      let time = TimeOfWeek(index: slot)
      return .with {
        $0.weekday = Int32(time.weekday)
        $0.hour = Int32(time.hour)
        $0.agents = agents
      }
    }
  }
}
