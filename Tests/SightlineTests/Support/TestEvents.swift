import SightlineWire
import SwiftProtobuf

/// A ticket-created event for tests.
func ticketCreated(_ id: String, ticket: String = "T1", time: String = "2026-03-01T09:30:00+08:00") -> Sightline_Ingestion_V1_Event {
  .with {
    $0.eventID = id
    $0.ticketEvent = .with {
      $0.ticketID = ticket
      $0.customerID = "C1"
      $0.time = time
      $0.kind = .created
      $0.channel = "WeChat"
    }
  }
}
