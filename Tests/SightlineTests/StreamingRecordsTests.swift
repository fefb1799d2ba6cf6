import Foundation
import SightlineModel
import SightlineRPC
import SwiftProtobuf
import Testing

@testable import SightlineRecords

/// The CLI reads files a chunk at a time (`RecordFileReader`): wherever the chunks end, in
/// a quoted field, between "\r" and "\n", inside a character, the records are the ones a
/// whole read gives, and a bad byte is found at its offset in the file.
@Suite struct StreamingRecordsTests {
  /// A record as text, to compare results.
  static func describe(_ records: [RecordReader.Record]) -> [String] {
    records.map { line, result in
      switch result {
      case .success(let event): "\(line) \(try! event.jsonString())"
      case .failure(let problem): "\(line) \(problem.eventID) \(problem.field) \(problem.reason)"
      }
    }
  }

  @Test("chunk boundaries change nothing: the seeds and their mutations, cut at random")
  func chunkBoundariesDoNotMatter() throws {
    var random = SeededRandom(seed: 77)
    for (format, kind, seed) in RecordFuzzTests.seeds {
      for round in 0..<200 {
        let text = round == 0 ? seed : RecordFuzzTests.mutate(seed, &random)
        let whole = Result { try RecordReader.records(text: text, format: format, kind: kind) }
        var decoder = try RecordDecoder(format: format, kind: kind)
        let bytes = Array(text.utf8)
        var pieces = Result<[RecordReader.Record], any Error> {
          var records: [RecordReader.Record] = []
          var start = 0
          while start < bytes.count {
            let end = min(bytes.count, start + 1 + Int(random.next() % 7))
            records += try decoder.feed(Array(bytes[start..<end]))
            start = end
          }
          return records + (try decoder.finish())
        }
        switch (whole, pieces) {
        case (.success(let a), .success(let b)):
          #expect(Self.describe(a) == Self.describe(b), "\(text.debugDescription)")
        case (.failure(let a), .failure(let b)):
          #expect("\(a)" == "\(b)")
        default:
          Issue.record("whole \(whole) but in pieces \(pieces) for \(text.debugDescription)")
        }
        pieces = .success([])
      }
    }
  }

  @Test("a file larger than a chunk: every record, and a bad byte found at its offset")
  func largeFiles() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("streaming-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // 5 MB of survey rows (more than a 4 MiB chunk) whose comments hold 3-byte characters,
    // so chunks end inside them.
    var csv = "event_id,customer_id,kind,score,time,comment\n"
    var count = 0
    while csv.utf8.count < 5 << 20 {
      count += 1
      csv += "s\(count),C\(count % 97),csat,\(1 + count % 5),2026-11-20T10:00:00Z,\"好评 \"\"很好\"\"\r\n第二行\"\r\n"
    }
    let path = directory + "/answers.csv"
    try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
    #expect(try RecordFileReader.firstInvalidUTF8(path: path) == nil)
    // Read on a dispatch thread: seconds of parsing in a debug build would hold a thread of
    // the cooperative pool that parallel suites need.
    let text = csv
    let (read, largestBatch, whole) = try await BlockingWork.run {
      let reader = try RecordFileReader(path: path, format: .csv, kind: .surveyResponse)
      var read: [RecordReader.Record] = []
      var largest = 0
      while case let batch = try reader.next(5_000), !batch.isEmpty {
        largest = max(largest, batch.count)
        read += batch
      }
      return (read, largest, try RecordReader.records(text: text, format: .csv, kind: .surveyResponse))
    }
    #expect(largestBatch == 5_000)
    #expect(read.count == count)
    #expect(read.allSatisfy { if case .success = $0.result { true } else { false } })
    #expect(read.last?.line == 1 + 2 * count - 1)
    #expect(Self.describe(read) == Self.describe(whole))

    // A bad byte beyond the first chunk, right after a character cut by the chunk's end.
    var bytes = Array(csv.utf8)
    let bad = (4 << 20) + 1
    bytes[bad] = 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let found = try #require(try RecordFileReader.firstInvalidUTF8(path: path))
    // Everything before the offset is valid, and the offset is the bad byte or the start of
    // the character it broke.
    #expect(String(validating: bytes[..<found], as: UTF8.self) != nil)
    #expect(found <= bad && bad - found < 4, "found \(found), bad byte at \(bad)")
  }
}
