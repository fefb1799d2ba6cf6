import Foundation
import GRPCCore
import Logging
import MetricsService
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

@testable import MetricsService

/// Wire events of the worked example (KpiFixture.worked), for ingesting through the gateway.
func workedExampleEvents() -> [Sightline_Ingestion_V1_Event] {
  typealias Kind = Sightline_Ingestion_V1_TicketEventKind
  func ticket(
    _ id: String, _ ticket: String, _ kind: Kind, _ time: String, customer: String = "C0", line: String = "",
    priority: Sightline_Ingestion_V1_Priority = .normal, complaint: Bool = false
  ) -> Sightline_Ingestion_V1_Event {
    .with {
      $0.eventID = id
      $0.ticketEvent = .with {
        $0.ticketID = ticket
        $0.customerID = customer
        $0.kind = kind
        $0.time = time
        $0.businessLine = line
        $0.priority = priority
        $0.complaint = complaint
      }
    }
  }
  func survey(_ id: String, _ kind: Sightline_Ingestion_V1_SurveyKind, _ score: Int32, _ time: String) -> Sightline_Ingestion_V1_Event {
    .with {
      $0.eventID = id
      $0.surveyResponse = .with {
        $0.customerID = "C9"
        $0.kind = kind
        $0.score = score
        $0.time = time
      }
    }
  }
  var events = [
    ticket("e1", "T1", .created, "2026-03-02T17:00:00+08:00", customer: "C1", line: "A", complaint: true),
    ticket("e2", "T1", .agentReply, "2026-03-02T09:30:00Z"),
    ticket("e3", "T1", .resolved, "2026-03-02T12:00:00Z"),
    ticket("e4", "T2", .created, "2026-03-02T10:00:00Z", customer: "C2", line: "A", priority: .urgent),
    ticket("e5", "T2", .agentReply, "2026-03-02T12:00:00Z"),
    ticket("e6", "T2", .agentReply, "2026-03-02T13:00:00Z"),
    ticket("e7", "T2", .resolved, "2026-03-02T14:00:00Z"),
    ticket("e8", "T2", .reopened, "2026-03-02T15:00:00Z"),
    ticket("e9", "T2", .resolved, "2026-03-02T18:00:00Z"),
    ticket("e10", "T3", .created, "2026-03-02T11:00:00Z", customer: "C1", line: "B", priority: .high, complaint: true),
    ticket("e11", "T4", .created, "2026-03-02T23:30:00Z", customer: "C3", line: "B", priority: .low),
    ticket("e12", "T4", .agentReply, "2026-03-03T00:30:00Z"),
    ticket("e13", "T4", .resolved, "2026-03-03T01:00:00Z"),
    ticket("e14", "T4", .reopened, "2026-03-03T02:00:00Z"),
    ticket("e15", "T4", .resolved, "2026-03-03T03:00:00Z"),
    ticket("e16", "T4", .reopened, "2026-03-03T04:00:00Z"),
    ticket("e17", "T5", .created, "2026-03-02T12:00:00Z", customer: "C2", line: "A", complaint: true),
    ticket("e18", "T5", .resolved, "2026-03-05T12:00:00Z"),
    ticket("e19", "T5", .agentReply, "2026-03-02T12:10:00Z"),
  ]
  for (index, score) in [5, 4, 3, 1].enumerated() { events.append(survey("c\(index)", .csat, Int32(score), "2026-03-02T15:00:00Z")) }
  for (index, score) in [10, 9, 7, 3].enumerated() { events.append(survey("n\(index)", .nps, Int32(score), "2026-03-02T16:00:00Z")) }
  for (index, score) in [7, 5, 4].enumerated() { events.append(survey("s\(index)", .ces, Int32(score), "2026-03-02T17:00:00Z")) }
  return events
}

func timestamp(_ text: String) -> Google_Protobuf_Timestamp {
  let ms = RFC3339.parseMilliseconds(text)!
  return Google_Protobuf_Timestamp(seconds: ms / 1000, nanos: Int32(ms % 1000) * 1_000_000)
}

/// Ingests `events` through the gateway in batches; returns the last offset.
func ingestThroughGateway(
  _ events: [Sightline_Ingestion_V1_Event], client: GRPCClient<some ClientTransport>, key: Metadata
)
  async throws -> Int64
{
  let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
  var offset: Int64 = 0
  for start in stride(from: 0, to: events.count, by: 5_000) {
    let reply = try await ingestion.ingest(
      .with { $0.events = Array(events[start..<min(start + 5_000, events.count)]) }, metadata: key)
    #expect(reply.rejected.isEmpty, "\(reply.rejected.prefix(3))")
    offset = reply.offset
  }
  return offset
}

func todayMidnightMs() -> Int64 {
  let now = Int64(Date().timeIntervalSince1970 * 1000)
  return now - now % 86_400_000
}
