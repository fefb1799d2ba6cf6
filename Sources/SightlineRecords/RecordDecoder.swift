import Foundation
import SightlineWire
import SwiftProtobuf

/// Turns the bytes of an input file into records, a chunk at a time, so a file of any size
/// is read in bounded memory: the text decoded to UTF-8 (``TextTranscoder``), then NDJSON
/// line by line or CSV row by row (``CSVParser``, ``TableRecords``), with the same records
/// and line numbers as reading the file whole.
public struct RecordDecoder {
  private enum State {
    case ndjson(NDJSONLines)
    case csv(CSVParser, TableRecords)
  }

  private var state: State
  private var transcoder: TextTranscoder

  /// A decoder for `format` (NDJSON or CSV; CSV needs the record `kind`), reading text in
  /// `options.encoding` (UTF-8 when not given).
  public init(format: RecordReader.Format, kind: RecordReader.Kind?, options: ReadOptions = ReadOptions()) throws {
    switch format {
    case .ndjson: state = .ndjson(NDJSONLines())
    case .csv, .xlsx:
      guard let kind = try Self.tableKind(kind, options: options) else {
        throw RecordReader.CSVError(
          "\(format == .csv ? "CSV" : ".xlsx") input needs --kind (\(RecordReader.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      guard format == .csv else { throw RecordReader.CSVError(".xlsx is read by XLSXReader, not as text") }
      state = .csv(CSVParser(), TableRecords(kind: kind, options: options))
    }
    transcoder = try TextTranscoder(encoding: options.encoding ?? .utf8)
  }

  /// The kind of a table: `--kind`, else the map's; the two must agree.
  static func tableKind(_ kind: RecordReader.Kind?, options: ReadOptions) throws -> RecordReader.Kind? {
    if let kind, let mapped = options.map?.kind, mapped != kind {
      throw RecordReader.CSVError("--kind \(kind.rawValue) differs from the map's kind \(mapped.rawValue)")
    }
    return kind ?? options.map?.kind
  }

  /// What reading found so far beside the records (columns, local times, encoding).
  public var report: ReadReport {
    var report: ReadReport
    switch state {
    case .ndjson: report = ReadReport()
    case .csv(_, let table): report = table.report
    }
    report.encoding = transcoder.encoding
    return report
  }

  /// The records completed by the next chunk of the file.
  public mutating func feed(_ bytes: [UInt8]) throws -> [RecordReader.Record] {
    try records(of: transcoder.feed(bytes), final: false)
  }

  /// The records of the end of the file (a last line without a line break). Throws if the
  /// file as a whole cannot be read (an unclosed quote, an unfinished character).
  public mutating func finish() throws -> [RecordReader.Record] {
    try records(of: transcoder.finish(), final: true)
  }

  private mutating func records(of text: [UInt8], final: Bool) throws -> [RecordReader.Record] {
    switch state {
    case .ndjson(var lines):
      let records = lines.feed(text) + (final ? lines.finish() : [])
      state = .ndjson(lines)
      return records
    case .csv(var parser, var table):
      let rows = parser.feed(text) + (final ? try parser.finish() : [])
      let records = table.records(rows)
      state = .csv(parser, table)
      return records
    }
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

/// Reads the records of a file a chunk at a time (``RecordDecoder``, or ``XLSXReader`` for
/// a workbook): at most one chunk, one unfinished line and the records asked for are in
/// memory, whatever the file's size.
///
/// Not safe for concurrent use: one task at a time calls ``next(_:)`` (the CLI parses the
/// next batch in a task of its own while the previous one is sent, never two at once).
public final class RecordFileReader: @unchecked Sendable {
  private enum Source {
    case text(FileHandle, RecordDecoder)
    case sheet(XLSXReader, TableRecords)
  }

  private var source: Source
  private var ready: [RecordReader.Record] = []
  private var finished = false
  /// Bytes read so far (text files).
  public private(set) var bytesRead = 0
  static let chunkBytes = 4 << 20

  /// A reader of `path` as `format` (CSV and .xlsx need `kind`, here or in the map), its
  /// text in `options.encoding` (UTF-8 when not given: ``inspect(path:format:options:)``
  /// says which encoding a file is in).
  public init(path: String, format: RecordReader.Format, kind: RecordReader.Kind?, options: ReadOptions = ReadOptions()) throws {
    if format == .xlsx {
      guard let kind = try RecordDecoder.tableKind(kind, options: options) else {
        throw RecordReader.CSVError(".xlsx input needs --kind (\(RecordReader.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      let sheet = try XLSXReader(path: path, sheet: options.sheet)
      source = .sheet(sheet, TableRecords(kind: kind, options: options, sheetDate1904: sheet.date1904))
      return
    }
    let decoder = try RecordDecoder(format: format, kind: kind, options: options)
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    source = .text(file, decoder)
  }

  deinit { if case .text(let file, _) = source { try? file.close() } }

  /// What reading found so far beside the records (columns, local times, encoding).
  public var report: ReadReport {
    switch source {
    case .text(_, let decoder): decoder.report
    case .sheet(_, let table): table.report
    }
  }

  /// The next records, at most `count`; empty at the end of the file.
  public func next(_ count: Int) throws -> [RecordReader.Record] {
    while ready.count < count && !finished {
      switch source {
      case .text(let file, var decoder):
        let chunk = try file.read(upToCount: Self.chunkBytes) ?? Data()
        if chunk.isEmpty {
          finished = true
          ready += try decoder.finish()
        } else {
          bytesRead += chunk.count
          ready += try decoder.feed([UInt8](chunk))
        }
        source = .text(file, decoder)
      case .sheet(let sheet, var table):
        var rows: [CSVParser.Row] = []
        while rows.count < max(count - ready.count, 1), let row = try sheet.next() { rows.append(row) }
        if rows.isEmpty { finished = true }
        ready += table.records(rows)
        source = .sheet(sheet, table)
      }
    }
    let taken = Array(ready.prefix(count))
    ready.removeFirst(taken.count)
    return taken
  }

  /// What a whole-file check found: the encoding the text is in (nil for .xlsx), or why
  /// the file cannot be read as a whole.
  public struct Inspection: Sendable, Equatable {
    public var encoding: InputEncoding?
    public var problem: String?
  }

  /// Reads `path` whole once, before anything is sent, so a file that cannot be read as a
  /// whole is refused whole, not half ingested: text that does not decode (refused with
  /// the offset and line of the first bad byte), a CSV quoted field never closed, a
  /// workbook whose zip or XML is broken. Without `options.encoding`, text is UTF-8 (a
  /// byte-order mark allowed), UTF-16 with a byte-order mark, or else GB18030 if it
  /// decodes as that, which the result names.
  public static func inspect(path: String, format: RecordReader.Format, options: ReadOptions = ReadOptions()) throws -> Inspection {
    if format == .xlsx { return Inspection(encoding: nil, problem: XLSXReader.problem(path: path, sheet: options.sheet)) }
    if let encoding = options.encoding {
      return Inspection(encoding: encoding, problem: try problem(path: path, format: format, encoding: encoding))
    }
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    let start = [UInt8](try file.read(upToCount: 2) ?? Data())
    try? file.close()
    if start == [0xFF, 0xFE] || start == [0xFE, 0xFF] {
      return Inspection(encoding: .utf16, problem: try problem(path: path, format: format, encoding: .utf16))
    }
    guard let utf8Problem = try problem(path: path, format: format, encoding: .utf8) else { return Inspection(encoding: .utf8) }
    // Not UTF-8 (or a CSV problem, which GB18030 will repeat): Excel's "CSV" on Chinese
    // Windows is GBK, which GB18030 contains.
    if try problem(path: path, format: format, encoding: .gb18030) == nil { return Inspection(encoding: .gb18030) }
    return Inspection(encoding: .utf8, problem: utf8Problem)
  }

  /// Why `path` cannot be read whole as `format` in `encoding`, or nil.
  static func problem(path: String, format: RecordReader.Format, encoding: InputEncoding) throws -> String? {
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    defer { try? file.close() }
    var transcoder = try TextTranscoder(encoding: encoding)
    var parser = CSVParser()
    do {
      while let chunk = try file.read(upToCount: chunkBytes), !chunk.isEmpty {
        let text = try transcoder.feed([UInt8](chunk))
        if format == .csv { _ = parser.feed(text) }
      }
      let text = try transcoder.finish()
      if format == .csv { _ = parser.feed(text) + (try parser.finish()) }
      return nil
    } catch let error as EncodingError {
      return error.description
    } catch let error as RecordReader.CSVError {
      return error.description
    }
  }

  /// The offset of the first byte of `path` that is not part of valid UTF-8, or nil if it
  /// all is. Reads the file a chunk at a time.
  public static func firstInvalidUTF8(path: String) throws -> Int? {
    guard let file = FileHandle(forReadingAtPath: path) else { throw RecordReader.CSVError("cannot open \(path)") }
    defer { try? file.close() }
    var transcoder = try TextTranscoder(encoding: .utf8)
    do {
      while let chunk = try file.read(upToCount: chunkBytes), !chunk.isEmpty { _ = try transcoder.feed([UInt8](chunk)) }
      _ = try transcoder.finish()
      return nil
    } catch let error as EncodingError {
      return error.offset
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
