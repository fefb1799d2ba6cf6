import Foundation
public import SightlineWire
import SwiftProtobuf

/// Turns the bytes of an input file into records, a chunk at a time, so a file of any size
/// is read in bounded memory: NDJSON line by line, CSV row by row (``CSVParser``), with the
/// same records and line numbers as reading the file whole.
public struct RecordDecoder {
  private enum State {
    case ndjson(NDJSONLines)
    case csv(CSVParser, kind: RecordReader.Kind, header: [String]?)
  }

  private var state: State

  /// A decoder for `format`; CSV needs the record `kind`.
  public init(format: RecordReader.Format, kind: RecordReader.Kind?) throws {
    switch format {
    case .ndjson: state = .ndjson(NDJSONLines())
    case .csv:
      guard let kind else {
        throw RecordReader.CSVError(
          "CSV input needs --kind (\(RecordReader.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      state = .csv(CSVParser(), kind: kind, header: nil)
    }
  }

  /// The records completed by the next chunk of the file.
  public mutating func feed(_ bytes: [UInt8]) throws -> [RecordReader.Record] {
    switch state {
    case .ndjson(var lines):
      let records = lines.feed(bytes)
      state = .ndjson(lines)
      return records
    case .csv(var parser, let kind, var header):
      let rows = parser.feed(bytes)
      let records = Self.records(rows, kind: kind, header: &header)
      state = .csv(parser, kind: kind, header: header)
      return records
    }
  }

  /// The records of the end of the file (a last line without a line break). Throws if the
  /// file as a whole cannot be read (an unclosed quote).
  public mutating func finish() throws -> [RecordReader.Record] {
    switch state {
    case .ndjson(var lines):
      let records = lines.finish()
      state = .ndjson(lines)
      return records
    case .csv(var parser, let kind, var header):
      let rows = try parser.finish()
      let records = Self.records(rows, kind: kind, header: &header)
      state = .csv(parser, kind: kind, header: header)
      return records
    }
  }

  /// CSV rows as records: the first row is the header.
  private static func records(_ rows: [CSVParser.Row], kind: RecordReader.Kind, header: inout [String]?) -> [RecordReader.Record] {
    var records: [RecordReader.Record] = []
    for row in rows {
      guard let names = header else {
        header = row.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        continue
      }
      var values: [String: String] = [:]
      for (index, name) in names.enumerated() where index < row.fields.count { values[name] = row.fields[index] }
      let size = row.fields.reduce(0) { $0 + $1.utf8.count }
      if size > RecordReader.maxRecordBytes {
        records.append((row.line, .failure(RecordReader.tooLarge(size, eventID: values["event_id"] ?? ""))))
      } else if row.fields.count != names.count {
        records.append(
          (
            row.line,
            .failure(
              RecordReader.ReadProblem(
                eventID: values["event_id"] ?? "", field: "(row)",
                reason: "\(row.fields.count) columns, the header has \(names.count)"))
          ))
      } else if kind == .ticketExport {
        records += RecordReader.exportEvents(values, line: row.line)
      } else {
        records.append((row.line, RecordReader.event(values, kind: kind)))
      }
    }
    return records
  }
}

/// NDJSON split into lines across chunks. A line longer than
/// ``RecordReader/maxRecordBytes`` is counted, not kept, and becomes one failure.
struct NDJSONLines {
  private var pending: [UInt8] = []
  /// The size of the current line when it is too long to keep.
  private var oversized: Int?
  private var line = 0

  mutating func feed(_ bytes: [UInt8]) -> [RecordReader.Record] {
    var records: [RecordReader.Record] = []
    var start = 0
    while start < bytes.count {
      guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
        keep(bytes[start...])
        break
      }
      keep(bytes[start..<end])
      if let record = endLine() { records.append(record) }
      start = end + 1
    }
    return records
  }

  mutating func finish() -> [RecordReader.Record] {
    guard !pending.isEmpty || oversized != nil else { return [] }
    return endLine().map { [$0] } ?? []
  }

  private mutating func keep(_ bytes: ArraySlice<UInt8>) {
    if let size = oversized {
      oversized = size + bytes.count
    } else if pending.count + bytes.count > RecordReader.maxRecordBytes {
      oversized = pending.count + bytes.count
      pending = []
    } else {
      pending += bytes
    }
  }

  private mutating func endLine() -> RecordReader.Record? {
    line += 1
    defer {
      pending.removeAll(keepingCapacity: pending.capacity <= 1 << 16)
      oversized = nil
    }
    if let size = oversized { return (line, .failure(RecordReader.tooLarge(size, eventID: ""))) }
    var body = pending[...]
    while let first = body.first, Self.isBlank(first) { body.removeFirst() }
    while let last = body.last, Self.isBlank(last) { body.removeLast() }
    // Unicode spaces at an edge (rare): trim them as text.
    if let first = body.first, let last = body.last, first >= 0x80 || last >= 0x80 {
      let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      body = ArraySlice(text.utf8)
    }
    guard !body.isEmpty else { return nil }
    do {
      return (line, .success(try Sightline_Ingestion_V1_Event(jsonUTF8Bytes: Array(body))))
    } catch {
      return (line, .failure(RecordReader.ReadProblem(eventID: "", field: "(line)", reason: "not a JSON event: \(error)")))
    }
  }

  private static func isBlank(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
  }
}

/// Reads the records of a file a chunk at a time (``RecordDecoder``): at most one chunk,
/// one unfinished line and the records asked for are in memory, whatever the file's size.
///
/// Not safe for concurrent use: one task at a time calls ``next(_:)`` (the CLI parses the
/// next batch in a task of its own while the previous one is sent, never two at once).
public final class RecordFileReader: @unchecked Sendable {
  private let file: FileHandle
  private var decoder: RecordDecoder
  private var ready: [RecordReader.Record] = []
  private var finished = false
  /// Bytes read so far.
  public private(set) var bytesRead = 0
  static let chunkBytes = 4 << 20

  /// A reader of `path` as `format` (CSV needs `kind`).
  public init(path: String, format: RecordReader.Format, kind: RecordReader.Kind?) throws {
    decoder = try RecordDecoder(format: format, kind: kind)
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    self.file = file
  }

  deinit { try? file.close() }

  /// The next records, at most `count`; empty at the end of the file.
  public func next(_ count: Int) throws -> [RecordReader.Record] {
    while ready.count < count && !finished {
      let chunk = try file.read(upToCount: Self.chunkBytes) ?? Data()
      if chunk.isEmpty {
        finished = true
        ready += try decoder.finish()
      } else {
        bytesRead += chunk.count
        ready += try decoder.feed([UInt8](chunk))
      }
    }
    let taken = Array(ready.prefix(count))
    ready.removeFirst(taken.count)
    return taken
  }

  /// Why `path` cannot be read as a whole, or nil: a byte that is not UTF-8 (with its
  /// offset), or in CSV a quoted field that is never closed. The CLI checks this before it
  /// sends anything, so such a file is refused whole, not half ingested.
  public static func wholeFileProblem(path: String, format: RecordReader.Format) throws -> String? {
    if let offset = try firstInvalidUTF8(path: path) {
      return "not valid UTF-8 (the first bad byte is at offset \(offset))"
    }
    guard format == .csv else { return nil }
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    defer { try? file.close() }
    var parser = CSVParser()
    while let chunk = try file.read(upToCount: chunkBytes), !chunk.isEmpty { _ = parser.feed([UInt8](chunk)) }
    do {
      _ = try parser.finish()
      return nil
    } catch {
      return "\(error)"
    }
  }

  /// The offset of the first byte of `path` that is not part of valid UTF-8, or nil if it
  /// all is. Reads the file a chunk at a time.
  public static func firstInvalidUTF8(path: String) throws -> Int? {
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    defer { try? file.close() }
    var carried: [UInt8] = []
    var base = 0
    while true {
      let chunk = try file.read(upToCount: chunkBytes) ?? Data()
      var bytes = carried + [UInt8](chunk)
      if chunk.isEmpty {
        return bytes.isEmpty || String(validating: bytes, as: UTF8.self) != nil ? nil : base + firstInvalid(bytes)
      }
      // Keep an unfinished character for the next chunk: back off over continuation
      // bytes (10xxxxxx) and the lead byte they follow.
      var cut = bytes.count
      var backed = 0
      while cut > 0, backed < 3, bytes[cut - 1] & 0xC0 == 0x80 {
        cut -= 1
        backed += 1
      }
      if cut > 0, bytes[cut - 1] >= 0xC0 { cut -= 1 } else if backed > 0 { cut = bytes.count }
      carried = Array(bytes[cut...])
      bytes.removeSubrange(cut...)
      if String(validating: bytes, as: UTF8.self) == nil { return base + firstInvalid(bytes) }
      base += bytes.count
    }
  }

  /// Offset of the first byte that does not belong to a valid UTF-8 sequence.
  static func firstInvalid(_ bytes: [UInt8]) -> Int {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
    return offset
  }
}
