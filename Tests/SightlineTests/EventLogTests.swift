import Foundation
import GRDB
import IngestionService
import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf
import Testing

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
