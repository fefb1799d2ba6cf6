import Foundation
import GRDB
import IngestionService
import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf
import Testing

@Suite struct EventValidatorTests {
  let now = RFC3339.parseMilliseconds("2026-06-01T00:00:00Z")!
  var validator: EventValidator { EventValidator(channelAliases: ["微信": "wechat", "wechat": "wechat"], nowMs: now) }

  func problem(_ event: Sightline_Ingestion_V1_Event) -> RecordProblem? {
    if case .failure(let problem) = validator.validate(event, index: 7) { return problem }
    return nil
  }

  @Test func normalisesTimeTextAndAliases() throws {
    var event = ticketCreated("e1")
    event.ticketEvent.channel = " 微信 "
    guard case .success(let valid) = validator.validate(event, index: 0) else { Issue.record("rejected"); return }
    #expect(valid.event.ticketEvent.time == "2026-03-01T01:30:00Z")
    #expect(valid.event.ticketEvent.channel == "wechat")
    #expect(valid.kind == "ticket_event")
    #expect(valid.eventTimeMs == 1_772_328_600_000)
  }

  @Test func namesRecordFieldAndReason() throws {
    var event = ticketCreated("e9")
    event.ticketEvent.time = "1999-12-31T23:59:59Z"
    let found = try #require(problem(event))
    #expect(found.index == 7)
    #expect(found.recordID == "e9")
    #expect(found.field == "ticket_event.time")
    #expect(found.code == "out_of_range")
  }

  @Test func handleTimesBelongToRepliesAndAreRealDurations() {
    var reply = ticketCreated("h")
    reply.ticketEvent.kind = .agentReply
    for (seconds, code) in [(-1.0, "out_of_range"), (.nan, "out_of_range"), (.infinity, "out_of_range"), (86_401, "out_of_range")] {
      reply.ticketEvent.handleSeconds = seconds
      let found = problem(reply)
      #expect(found?.field == "ticket_event.handle_seconds" && found?.code == code, "\(seconds)")
    }
    for seconds in [0.0, 12.5, 86_400] {
      reply.ticketEvent.handleSeconds = seconds
      #expect(problem(reply) == nil, "\(seconds)")
    }
    var created = ticketCreated("c")
    created.ticketEvent.handleSeconds = 60
    #expect(problem(created)?.field == "ticket_event.handle_seconds" && problem(created)?.code == "invalid")
  }

  @Test func rejectsEachRule() {
    #expect(problem(.with { $0.ticketEvent = ticketCreated("x").ticketEvent })?.field == "event_id")
    #expect(problem(.with { $0.eventID = "x" })?.field == "record")
    var future = ticketCreated("f")
    future.ticketEvent.time = "2026-06-03T00:00:00Z"
    #expect(problem(future)?.code == "out_of_range")
    var garbled = ticketCreated("g")
    garbled.ticketEvent.time = "01/03/2026"
    #expect(problem(garbled)?.code == "unparseable")
    var noKind = ticketCreated("k")
    noKind.ticketEvent.kind = .unspecified
    #expect(problem(noKind)?.field == "ticket_event.kind")
    let nps = Sightline_Ingestion_V1_Event.with {
      $0.eventID = "n"
      $0.surveyResponse = .with {
        $0.customerID = "C"; $0.kind = .nps; $0.score = 11; $0.time = "2026-03-01T00:00:00Z"
      }
    }
    #expect(problem(nps)?.field == "survey_response.score")
    let order = Sightline_Ingestion_V1_Event.with {
      $0.eventID = "o"
      $0.order = .with {
        $0.customerID = "C"; $0.amountMinor = -5; $0.currency = "CNY"; $0.time = "2026-03-01T00:00:00Z"
      }
    }
    #expect(problem(order)?.field == "order.amount_minor")
    let longText = Sightline_Ingestion_V1_Event.with {
      $0.eventID = "t"
      $0.feedback = .with {
        $0.source = .chat; $0.text = String(repeating: "很", count: 6000); $0.time = "2026-03-01T00:00:00Z"
      }
    }
    #expect(problem(longText)?.code == "too_large")
  }
}
