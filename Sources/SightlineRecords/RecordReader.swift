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
  public enum Format: String, CaseIterable, Sendable { case ndjson, csv }

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

  /// The format of `path` when not given: CSV by extension, else NDJSON.
  public static func format(of path: String) -> Format { path.lowercased().hasSuffix(".csv") ? .csv : .ndjson }

  /// Every record of `text`, in order. Throws only when the file as a whole cannot be
  /// read (CSV without a kind, an unclosed quote); a bad record is a failure in its place.
  public static func records(text: String, format: Format, kind: Kind?) throws -> [Record] {
    switch format {
    case .ndjson:
      return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { number, line in
        if line.utf8.count > maxRecordBytes { return (number + 1, .failure(tooLarge(line.utf8.count, eventID: ""))) }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        do {
          return (number + 1, .success(try Sightline_Ingestion_V1_Event(jsonString: String(trimmed))))
        } catch {
          return (number + 1, .failure(ReadProblem(eventID: "", field: "(line)", reason: "not a JSON event: \(error)")))
        }
      }
    case .csv:
      guard let kind else { throw CSVError("CSV input needs --kind (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))") }
      let rows = try CSVParser.rows(text)
      guard let header = rows.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces) }) else { return [] }
      return rows.dropFirst().flatMap { row -> [Record] in
        var values: [String: String] = [:]
        for (index, name) in header.enumerated() where index < row.fields.count { values[name] = row.fields[index] }
        let size = row.fields.reduce(0) { $0 + $1.utf8.count }
        if size > maxRecordBytes { return [(row.line, .failure(tooLarge(size, eventID: values["event_id"] ?? "")))] }
        if row.fields.count != header.count {
          return [
            (
              row.line,
              .failure(
                ReadProblem(
                  eventID: values["event_id"] ?? "", field: "(row)",
                  reason: "\(row.fields.count) columns, the header has \(header.count)"))
            )
          ]
        }
        return kind == .ticketExport ? exportEvents(values, line: row.line) : [(row.line, event(values, kind: kind))]
      }
    }
  }

  /// Largest line (NDJSON) or row (CSV) read as a record: an event's text fields hold at
  /// most 16 KiB each, so anything larger cannot be a valid event, and refusing it here
  /// keeps one huge line from making a whole batch too large to send.
  public static let maxRecordBytes = 1 << 20

  private static func tooLarge(_ size: Int, eventID: String) -> ReadProblem {
    ReadProblem(eventID: eventID, field: "(line)", reason: "the record is \(size) bytes; at most \(maxRecordBytes) are read as one event")
  }

  /// A CSV file that cannot be read as a whole.
  public struct CSVError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
  }

  /// Short enum names and typed values for the proto3 JSON of `kind`.
  static func event(_ values: [String: String], kind: Kind) -> Result<Sightline_Ingestion_V1_Event, ReadProblem> {
    let eventID = values["event_id"] ?? ""
    var record: [String: Any] = [:]
    var attributes: [String: String] = [:]
    for (name, raw) in values where name != "event_id" {
      let value = raw.trimmingCharacters(in: .whitespaces)
      if value.isEmpty { continue }
      if name.hasPrefix("attr.") {
        attributes[String(name.dropFirst(5))] = value
        continue
      }
      switch (kind, name) {
      case (.ticketEvent, "kind"): record[name] = "TICKET_EVENT_KIND_" + value.uppercased()
      case (_, "priority"): record[name] = "PRIORITY_" + value.uppercased()
      case (.surveyResponse, "kind"): record[name] = "SURVEY_KIND_" + value.uppercased()
      case (.feedback, "source"): record[name] = "FEEDBACK_SOURCE_" + value.uppercased()
      case (_, "complaint"):
        guard let flag = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][value.lowercased()] else {
          return .failure(ReadProblem(eventID: eventID, field: "\(kind.rawValue).complaint", reason: "'\(value)' is not true/false"))
        }
        record[name] = flag
      case (_, "score"), (_, "rating"), (_, "amount_minor"):
        guard let number = Int64(value) else {
          return .failure(ReadProblem(eventID: eventID, field: "\(kind.rawValue).\(name)", reason: "'\(value)' is not a whole number"))
        }
        record[name] = number
      default: record[name] = value
      }
    }
    if !attributes.isEmpty { record["attributes"] = attributes }
    do {
      let json = try JSONSerialization.data(withJSONObject: ["event_id": eventID, kind.rawValue: record])
      return .success(try Sightline_Ingestion_V1_Event(jsonUTF8Data: json))
    } catch {
      return .failure(ReadProblem(eventID: eventID, field: "(row)", reason: "not a \(kind.rawValue): \(error)"))
    }
  }

  /// A flat export row → created, first agent reply, resolved, reopened events, with ids
  /// derived from the ticket id (so re-importing the export stores nothing twice).
  static func exportEvents(_ values: [String: String], line: Int) -> [Record] {
    let ticket = values["ticket_id"]?.trimmingCharacters(in: .whitespaces) ?? ""
    guard !ticket.isEmpty else {
      return [(line, .failure(ReadProblem(eventID: "", field: "ticket_id", reason: "missing")))]
    }
    guard let created = values["created"], !created.trimmingCharacters(in: .whitespaces).isEmpty else {
      return [(line, .failure(ReadProblem(eventID: ticket + ":created", field: "created", reason: "missing")))]
    }
    var steps: [(String, String, String)] = [("created", "created", created)]
    for (column, kind) in [("first_reply", "agent_reply"), ("resolved", "resolved"), ("reopened", "reopened")] {
      if let time = values[column], !time.trimmingCharacters(in: .whitespaces).isEmpty { steps.append((column, kind, time)) }
    }
    let attributes = [
      "customer_id", "channel", "region", "business_line", "agent", "product_module", "problem_type", "priority", "complaint",
    ]
    return steps.map { column, kind, time in
      var row = ["event_id": "\(ticket):\(column)", "ticket_id": ticket, "kind": kind, "time": time]
      for name in attributes { if let value = values[name] { row[name] = value } }
      return (line, event(row, kind: .ticketEvent))
    }
  }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. Works on the
/// UTF-8 bytes: every byte it looks for is ASCII, which never occurs inside a multi-byte
/// character, so splitting bytes is safe and much faster than walking characters.
enum CSVParser {
  struct Row {
    var line: Int
    var fields: [String]
  }

  private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
  private static let carriageReturn = UInt8(ascii: "\r")

  static func rows(_ text: String) throws -> [Row] {
    var rows: [Row] = []
    var fields: [String] = []
    var field: [UInt8] = []
    var quoted = false
    var line = 1
    var rowLine = 1
    func endField() {
      fields.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
    }
    func endRow() {
      endField()
      if !(fields.count == 1 && fields[0].isEmpty) { rows.append(Row(line: rowLine, fields: fields)) }
      fields = []
    }
    let bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if quoted {
        if byte == quote {
          if index < bytes.count && bytes[index] == quote {
            field.append(quote)
            index += 1
          } else {
            quoted = false
          }
        } else {
          if byte == newline { line += 1 }
          field.append(byte)
        }
        continue
      }
      switch byte {
      case quote where field.isEmpty: quoted = true
      case comma: endField()
      case newline, carriageReturn:
        // "\r\n" ends one row, as does a lone "\r" or "\n".
        if byte == carriageReturn && index < bytes.count && bytes[index] == newline { index += 1 }
        endRow()
        line += 1
        rowLine = line
      default: field.append(byte)
      }
    }
    if quoted { throw RecordReader.CSVError("line \(rowLine): a quoted field is not closed") }
    if !field.isEmpty || !fields.isEmpty { endRow() }
    return rows
  }
}
