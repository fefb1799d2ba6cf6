import Foundation
import SightlineModel
import Testing

@testable import SightlineRecords

/// Seeded property-based fuzzing of the CLI's file readers (NDJSON, CSV, flat exports):
/// mutated inputs must give records or per-line failures with a field and a reason, or a
/// file-level error naming the line, and never trap. docs/reliability.md records the runs.
@Suite struct RecordFuzzTests {
  static let seeds: [(RecordReader.Format, RecordReader.Kind?, String)] = [
    (
      .csv, .ticketEvent,
      """
      event_id,ticket_id,customer_id,kind,time,channel,priority,complaint
      e1,T1,C1,created,2026-11-20T10:00:00+08:00,"web, form",high,true
      e2,T1,C1,agent_reply,2026-11-20T11:00:00Z,微信,,false

      """
    ),
    (
      .csv, .surveyResponse,
      """
      event_id,customer_id,ticket_id,kind,score,time,comment
      s1,C1,T1,csat,5,2026-11-20T10:00:00Z,"很好 ""great""
      second line"
      s2,C2,,nps,11,2026-11-20T10:00:00Z,
      """
    ),
    (
      .csv, .ticketExport,
      """
      ticket_id,customer_id,created,first_reply,resolved,reopened,channel,priority,complaint
      X1,C1,2026-11-20T09:00:00Z,2026-11-20T09:30:00Z,2026-11-20T12:00:00Z,,phone,high,yes
      X2,C2,2026-11-20T10:00:00Z,,,,"web, form",low,0
      """
    ),
    (
      .ndjson, nil,
      """
      {"eventId":"e1","ticketEvent":{"ticketId":"T1","customerId":"C1","kind":"TICKET_EVENT_KIND_CREATED","time":"2026-11-20T10:00:00Z"}}
      {"eventId":"s1","surveyResponse":{"customerId":"C1","kind":"SURVEY_KIND_CSAT","score":4,"time":"2026-11-20T10:00:00Z","comment":"好"}}
      {"eventId":"o1","order":{"customerId":"C1","amountMinor":"1999","currency":"CNY","time":"2026-11-20T10:00:00Z"}}
      """
    ),
  ]

  static let fragments = [
    "\"", ",", "\n", "\r", "\r\n", "\"\"", "{", "}", ":", "\u{0}", "😀", "投诉", "\\", "\\u12", "'; DROP TABLE event; --",
    "9999999999999999999999", "-1", "\u{FFFD}",
  ]

  /// One mutation of `text`: replace, insert, delete, duplicate or cut.
  static func mutate(_ text: String, _ random: inout SeededRandom) -> String {
    var bytes = Array(text.utf8)
    for _ in 0..<(1 + Int(random.next() % 4)) {
      let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
      switch random.next() % 6 {
      case 0 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: random.next())
      case 1, 2: bytes.insert(contentsOf: Array(random.pick(fragments).utf8), at: position)
      case 3 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + Int(random.next() % 12)))
      case 4 where !bytes.isEmpty:
        let piece = bytes[position..<min(bytes.count, position + Int(random.next() % 40))]
        bytes.insert(contentsOf: piece, at: Int(random.next() % UInt64(bytes.count)))
      default: bytes = Array(bytes.prefix(position))
      }
    }
    // What the CLI does with a file that is not UTF-8 is tested separately; here invalid
    // sequences become U+FFFD like any lenient decoder's.
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The readers' contract on any input.
  static func checkContract(_ text: String, format: RecordReader.Format, kind: RecordReader.Kind?) {
    let maximumLine = text.utf8.count { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") } + 1
    do {
      for record in try RecordReader.records(text: text, format: format, kind: kind) {
        #expect((1...maximumLine).contains(record.line), "line \(record.line) of \(maximumLine): \(text.debugDescription)")
        if case .failure(let problem) = record.result {
          #expect(!problem.field.isEmpty && !problem.reason.isEmpty, "\(problem) for \(text.debugDescription)")
        }
      }
    } catch let error as RecordReader.CSVError {
      #expect(error.description.hasPrefix("line "), "\(error)")
    } catch {
      Issue.record("unexpected error \(error) for \(text.debugDescription)")
    }
  }

  @Test("mutated NDJSON, CSV and export files give records or clear failures", arguments: 0..<4)
  func mutatedInputs(seedIndex: Int) {
    let (format, kind, seed) = Self.seeds[seedIndex]
    var random = SeededRandom(seed: UInt64(1_000 + seedIndex))
    let started = ContinuousClock.now
    for _ in 0..<25_000 { Self.checkContract(Self.mutate(seed, &random), format: format, kind: kind) }
    print("RecordFuzzTests: 25,000 mutations of \(format.rawValue) \(kind?.rawValue ?? "") clean in \(ContinuousClock.now - started)")
  }

  @Test func theUnmutatedSeedsReadCleanly() throws {
    for (format, kind, seed) in Self.seeds {
      let records = try RecordReader.records(text: seed, format: format, kind: kind)
      #expect(!records.isEmpty)
      // The survey seed's NPS 11 is for the service to reject; everything here parses.
      #expect(records.allSatisfy { if case .success = $0.result { true } else { false } }, "\(records)")
    }
  }

  @Test func quotedFieldsKeepCommasQuotesAndLineBreaks() throws {
    let rows = try CSVParser.rows("a,b\r\n\"x, \"\"y\"\"\nz\",w\rlast,\"\"\n")
    #expect(rows.map(\.fields) == [["a", "b"], ["x, \"y\"\nz", "w"], ["last", ""]])
    #expect(rows.map(\.line) == [1, 2, 4])
    #expect(throws: RecordReader.CSVError.self) { try CSVParser.rows("a,\"open\nb") }
  }

  @Test("a 100 MB line is refused as one record, and the lines around it are read")
  func hundredMegabyteLines() throws {
    let huge = String(repeating: "x", count: 100 * 1024 * 1024)
    let csv =
      "event_id,customer_id,kind,score,time,comment\n"
      + "s1,C1,csat,5,2026-11-20T10:00:00Z,ok\n"
      + "s2,C1,csat,5,2026-11-20T10:00:00Z,\(huge)\n"
      + "s3,C1,csat,4,2026-11-20T10:00:00Z,ok\n"
    let records = try RecordReader.records(text: csv, format: .csv, kind: .surveyResponse)
    #expect(records.map(\.line) == [2, 3, 4])
    guard case .failure(let problem) = records[1].result else {
      Issue.record("the huge row was read as an event")
      return
    }
    #expect(problem.eventID == "s2" && problem.reason.contains("at most 1048576"))
    let ndjson = #"{"eventId":"a"}"# + "\n" + huge + "\n" + #"{"eventId":"b"}"#
    let lines = try RecordReader.records(text: ndjson, format: .ndjson, kind: nil)
    #expect(lines.map(\.line) == [1, 2, 3])
    if case .failure(let problem) = lines[1].result { #expect(problem.reason.contains("bytes")) } else { Issue.record("read") }
  }
}
