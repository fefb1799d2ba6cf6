import Foundation
import IngestionService
import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf
import Testing
import GRDB

@Suite struct RFC3339Tests {
  @Test(arguments: [
    ("2026-03-01T09:30:00+08:00", Int64(1_772_328_600_000)),
    ("2026-03-01T01:30:00Z", Int64(1_772_328_600_000)),
    ("2026-03-01T01:30:00.250Z", Int64(1_772_328_600_250)),
    ("2000-02-29T00:00:00-05:00", Int64(951_800_400_000)),
    ("1970-01-01T00:00:00Z", Int64(0)),
  ])
  func parsesOffsetsToUTC(text: String, expected: Int64) {
    #expect(RFC3339.parseMilliseconds(text) == expected)
  }

  @Test(arguments: ["", "2026-03-01", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-03-01T09:30:00",
                    "2026-03-01T24:00:00Z", "2026-03-01T09:30:00+0800", "yesterday"])
  func rejectsMalformed(text: String) {
    #expect(RFC3339.parseMilliseconds(text) == nil)
  }

  @Test func formatsRoundTrip() {
    #expect(RFC3339.format(milliseconds: 1_772_328_600_000) == "2026-03-01T01:30:00Z")
    #expect(RFC3339.format(milliseconds: 1_772_328_600_250) == "2026-03-01T01:30:00.250Z")
  }
}

@Suite struct RoleTests {
  @Test func rolesAreOrdered() {
    #expect(Role.admin.satisfies(.writer))
    #expect(Role.writer.satisfies(.reader))
    #expect(!Role.reader.satisfies(.writer))
    #expect(!Role.writer.satisfies(.admin))
  }

  @Test func tenantIDsAreSafeForPaths() {
    #expect(TenantID("t_0123abcd") != nil)
    #expect(TenantID("../etc") == nil)
    #expect(TenantID("T_upper") == nil)
    #expect(TenantID("") == nil)
  }
}

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
      $0.surveyResponse = .with { $0.customerID = "C"; $0.kind = .nps; $0.score = 11; $0.time = "2026-03-01T00:00:00Z" }
    }
    #expect(problem(nps)?.field == "survey_response.score")
    let order = Sightline_Ingestion_V1_Event.with {
      $0.eventID = "o"
      $0.order = .with { $0.customerID = "C"; $0.amountMinor = -5; $0.currency = "CNY"; $0.time = "2026-03-01T00:00:00Z" }
    }
    #expect(problem(order)?.field == "order.amount_minor")
    let longText = Sightline_Ingestion_V1_Event.with {
      $0.eventID = "t"
      $0.feedback = .with { $0.source = .chat; $0.text = String(repeating: "很", count: 6000); $0.time = "2026-03-01T00:00:00Z" }
    }
    #expect(problem(longText)?.code == "too_large")
  }
}

@Suite struct EventLogStoreTests {
  func store() throws -> SQLiteEventLog {
    let queue = try DatabaseQueue()
    try SQLiteEventLog.migrator.migrate(queue)
    return SQLiteEventLog(writer: queue)
  }

  func record(_ id: String) -> LogRecord {
    LogRecord(eventID: id, kind: "order", eventTimeMs: 1, payload: Data(id.utf8))
  }

  @Test func duplicatesAreIgnoredAndOffsetsAreGapless() throws {
    let store = try store()
    let first = try store.append([record("a"), record("b"), record("a")])
    #expect(first == AppendOutcome(accepted: 2, duplicateIndices: [2], lastOffset: 2))
    let again = try store.append([record("b"), record("c")])
    #expect(again == AppendOutcome(accepted: 1, duplicateIndices: [0], lastOffset: 3))
    #expect(try store.records(after: 0, limit: 10).map(\.offset) == [1, 2, 3])
    #expect(try store.records(after: 2, limit: 10).map(\.record.eventID) == ["c"])
    let stats = try store.statistics()
    #expect(stats.duplicates == 2)
    #expect(stats.countsByKind == ["order": 3])
  }
}
