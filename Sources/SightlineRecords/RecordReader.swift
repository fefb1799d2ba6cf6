import Foundation
public import SightlineWire
import SwiftProtobuf

/// Turns an input file into events: NDJSON (one proto3-JSON `Event` per line), CSV of one
/// record kind (header row; columns named like the record's fields, `event_id` first), or a
/// flat ticket export (one row per ticket with its created / first reply / resolved /
/// reopened times) that becomes the equivalent ticket events. Each record keeps its line
/// number, so the service's rejections can be reported against the file.
public enum RecordReader {
  /// Input formats.
  public enum Format: String, CaseIterable, Sendable { case ndjson, csv, xlsx }

  /// Record kinds a CSV file can hold.
  public enum Kind: String, CaseIterable, Sendable {
    case ticketEvent = "ticket_event", surveyResponse = "survey_response", feedback, customerProfile = "customer_profile"
    case order, ticketExport = "ticket_export"
  }

  /// One record: its line in the file, and the event or why it could not be read.
  public typealias Record = (line: Int, result: Result<Sightline_Ingestion_V1_Event, ReadProblem>)

  /// Why a record could not be read: the event id (if any), the field and the reason.
  public struct ReadProblem: Error, Sendable {
    public var eventID: String
    public var field: String
    public var reason: String
  }

  /// The format of `path` when not given: CSV or .xlsx by extension, else NDJSON.
  public static func format(of path: String) -> Format {
    let lowered = path.lowercased()
    return lowered.hasSuffix(".csv") ? .csv : lowered.hasSuffix(".xlsx") ? .xlsx : .ndjson
  }

  /// Every record of `text` (NDJSON or CSV), in order. Throws only when the file as a whole
  /// cannot be read (CSV without a kind, an unclosed quote); a bad record is a failure in
  /// its place.
  public static func records(text: String, format: Format, kind: Kind?, options: ReadOptions = ReadOptions()) throws -> [Record] {
    var decoder = try RecordDecoder(format: format, kind: kind, options: options)
    return try decoder.feed(Array(text.utf8)) + decoder.finish()
  }

  /// Largest line (NDJSON) or row (CSV) read as a record: an event's text fields hold at
  /// most 16 KiB each, so anything larger cannot be a valid event, and refusing it here
  /// keeps one huge line from making a whole batch too large to send.
  public static let maxRecordBytes = 1 << 20

  static func tooLarge(_ size: Int, eventID: String) -> ReadProblem {
    ReadProblem(eventID: eventID, field: "(line)", reason: "the record is \(size) bytes; at most \(maxRecordBytes) are read as one event")
  }

  /// A CSV file that cannot be read as a whole.
  public struct CSVError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
  }

  /// The fields a CSV column of `kind` may name (besides `event_id` and `attr.NAME` for
  /// free profile attributes).
  public static func fields(of kind: Kind) -> [String] {
    switch kind {
    case .ticketEvent:
      [
        "ticket_id", "customer_id", "time", "kind", "channel", "region", "business_line", "agent", "product_module", "problem_type",
        "priority", "complaint", "handle_seconds",
      ]
    case .surveyResponse: ["customer_id", "ticket_id", "kind", "score", "comment", "time", "channel"]
    case .feedback: ["customer_id", "ticket_id", "source", "text", "time", "rating"]
    case .customerProfile: ["customer_id", "type", "tier", "region", "industry", "age_band", "signup_time", "time"]
    case .order: ["customer_id", "amount_minor", "currency", "time"]
    case .ticketExport:
      [
        "ticket_id", "customer_id", "created", "first_reply", "resolved", "reopened", "channel", "region", "business_line", "agent",
        "product_module", "problem_type", "priority", "complaint",
      ]
    }
  }

  /// Fields that hold times, read by ``TimeReader``.
  static let timeFields: Set<String> = ["time", "signup_time", "created", "first_reply", "resolved", "reopened"]
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. Works on the
/// UTF-8 bytes: every byte it looks for is ASCII, which never occurs inside a multi-byte
/// character, so splitting bytes is safe and much faster than walking characters. It is fed
/// a chunk at a time (a file need not fit in memory) and keeps its place across chunks.
struct CSVParser {
  struct Row {
    var line: Int
    var fields: [String]
  }

  private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
  private static let carriageReturn = UInt8(ascii: "\r")

  private var fields: [String] = []
  private var field: [UInt8] = []
  private var quoted = false
  /// The previous chunk ended inside a quoted field on a quote, which may be the first of
  /// an escaped pair ("").
  private var quoteAtEnd = false
  /// The previous row ended with "\r": a "\n" right after it belongs to it.
  private var afterCarriageReturn = false
  private var line = 1
  private var rowLine = 1

  /// Every row of `text`.
  static func rows(_ text: String) throws -> [Row] {
    var parser = CSVParser()
    return parser.feed(Array(text.utf8)) + (try parser.finish())
  }

  /// The rows completed by `bytes`.
  mutating func feed(_ bytes: [UInt8]) -> [Row] {
    var rows: [Row] = []
    var index = 0
    if quoteAtEnd, !bytes.isEmpty {
      quoteAtEnd = false
      if bytes[0] == Self.quote {
        field.append(Self.quote)
        index = 1
      } else {
        quoted = false
      }
    }
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if afterCarriageReturn {
        afterCarriageReturn = false
        if byte == Self.newline { continue }
      }
      if quoted {
        if byte == Self.quote {
          if index == bytes.count {
            quoteAtEnd = true
          } else if bytes[index] == Self.quote {
            field.append(Self.quote)
            index += 1
          } else {
            quoted = false
          }
        } else {
          if byte == Self.newline { line += 1 }
          field.append(byte)
        }
        continue
      }
      switch byte {
      case Self.quote where field.isEmpty: quoted = true
      case Self.comma: endField()
      case Self.newline, Self.carriageReturn:
        // "\r\n" ends one row, as does a lone "\r" or "\n".
        afterCarriageReturn = byte == Self.carriageReturn
        endRow(into: &rows)
        line += 1
        rowLine = line
      default: field.append(byte)
      }
    }
    return rows
  }

  /// The last row, if the input did not end with a line break.
  mutating func finish() throws -> [Row] {
    if quoteAtEnd { (quoteAtEnd, quoted) = (false, false) }
    if quoted { throw RecordReader.CSVError("line \(rowLine): a quoted field is not closed") }
    var rows: [Row] = []
    if !field.isEmpty || !fields.isEmpty { endRow(into: &rows) }
    return rows
  }

  private mutating func endField() {
    fields.append(String(decoding: field, as: UTF8.self))
    field.removeAll(keepingCapacity: true)
  }

  private mutating func endRow(into rows: inout [Row]) {
    endField()
    if !(fields.count == 1 && fields[0].isEmpty) { rows.append(Row(line: rowLine, fields: fields)) }
    fields = []
  }
}
