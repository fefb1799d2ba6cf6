import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Conversions between the wire contract and the model's KPI types.
enum WireMapping {
  static let wireKpis = KpiWire.wireKpis
  static let wireDimensions = KpiWire.wireDimensions

  static func kpi(_ kpi: Sightline_Metrics_V1_Kpi, field: String) throws -> KpiKind { try KpiWire.kpi(kpi, field: field) }

  static func dimension(_ dimension: Sightline_Common_V1_Dimension, field: String) throws -> KpiDimension {
    try KpiWire.dimension(dimension, field: field)
  }

  /// What the KPIs take from a log entry.
  static func metricsEvent(_ entry: Sightline_Ingestion_V1_LogEntry) -> MetricsEvent {
    let time = entry.eventTimeUnixMs
    switch entry.event.record {
    case .ticketEvent(let ticket):
      guard let type = RecordWire.ticketEventType(ticket.kind) else { return .other }
      let priority = RecordWire.priority(ticket.priority)
      return .ticket(
        ticketID: ticket.ticketID, customerID: ticket.customerID, type: type, timeMs: time,
        attributes: TicketAttributes(
          channel: ticket.channel, region: ticket.region, businessLine: ticket.businessLine, agent: ticket.agent,
          productModule: ticket.productModule, problemType: ticket.problemType, priority: priority,
          complaint: ticket.complaint))
    case .surveyResponse(let survey):
      guard let scale = RecordWire.surveyScale(survey.kind) else { return .other }
      return .survey(
        responseID: entry.event.eventID, customerID: survey.customerID, ticketID: survey.ticketID, scale: scale,
        score: Int(survey.score), timeMs: time, channel: survey.channel)
    case .customerProfile(let profile):
      return .profile(customerID: profile.customerID, type: profile.type, tier: profile.tier, region: profile.region,
                      timeMs: time)
    default:
      return .other
    }
  }
}
