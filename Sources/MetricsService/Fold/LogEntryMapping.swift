import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// What the fold takes from a log entry (the KPI and dimension tables live in `KpiWire`).
enum LogEntryMapping {
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
          complaint: ticket.complaint),
        // Whole milliseconds, so sums over many replies stay exact.
        handleMs: ticket.hasHandleSeconds ? Int64((ticket.handleSeconds * 1000).rounded()) : nil)
    case .surveyResponse(let survey):
      guard let scale = RecordWire.surveyScale(survey.kind) else { return .other }
      return .survey(
        responseID: entry.event.eventID, customerID: survey.customerID, ticketID: survey.ticketID, scale: scale,
        score: Int(survey.score), timeMs: time, channel: survey.channel)
    case .customerProfile(let profile):
      return .profile(
        customerID: profile.customerID, type: profile.type, tier: profile.tier, region: profile.region,
        timeMs: time)
    default:
      return .other
    }
  }
}
