import SightlineModel
import SightlineWire

/// The "no reply before its ticket was created" rule across a batch and the stored log: a
/// ticket event other than `created` is rejected when it is earlier than the ticket's
/// creation, if that creation is known (stored, or in the same batch). A reply that
/// arrives before its ticket's creation is accepted (arrival order is free); the creation
/// arriving later is then checked by no one, which docs/ingestion.md states.
struct TicketOrdering {
  /// Earliest creation time per ticket within the batch.
  private var batchCreations: [String: Int64] = [:]
  /// Tickets with non-creation events in the batch whose creation is not in it.
  private(set) var ticketsToCheck: Set<String> = []

  init(_ events: [ValidatedEvent]) {
    for event in events {
      guard case .ticketEvent(let ticket) = event.event.record, ticket.kind == .created else { continue }
      batchCreations[ticket.ticketID] = min(batchCreations[ticket.ticketID] ?? .max, event.eventTimeMs)
    }
    for event in events {
      guard case .ticketEvent(let ticket) = event.event.record, ticket.kind != .created,
        batchCreations[ticket.ticketID] == nil
      else { continue }
      ticketsToCheck.insert(ticket.ticketID)
    }
  }

  /// The problem with `event`, if it precedes its ticket's known creation.
  func problem(_ event: ValidatedEvent, index: Int, stored: [String: Int64]) -> RecordProblem? {
    guard case .ticketEvent(let ticket) = event.event.record, ticket.kind != .created,
      let created = batchCreations[ticket.ticketID] ?? stored[ticket.ticketID], event.eventTimeMs < created
    else { return nil }
    return RecordProblem(
      index: index, recordID: event.event.eventID, field: "ticket_event.time", code: "before_creation",
      reason: "\(ticket.ticketID) was created at \(RFC3339.format(milliseconds: created)); this event is earlier")
  }
}
