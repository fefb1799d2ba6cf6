import Foundation
import SightlineModel
import SightlineWire
import SwiftProtobuf

/// How a file is read: the zone of local times, a column map, the text encoding (nil:
/// detected) and the sheet of a workbook (nil: the first).
public struct ReadOptions: Sendable {
  public var times: TimeReader
  public var map: ColumnMap?
  public var encoding: InputEncoding?
  public var sheet: String?

  public init(
    times: TimeReader = TimeReader(zone: nil, zoneSource: "none"), map: ColumnMap? = nil, encoding: InputEncoding? = nil,
    sheet: String? = nil
  ) {
    self.times = times
    self.map = map
    self.encoding = encoding
    self.sheet = sheet
  }
}

/// What reading a file found beside its records, for the CLI's summary and preview.
public struct ReadReport: Sendable, Equatable {
  /// The encoding the text was read in (nil for NDJSON read as UTF-8 and for .xlsx).
  public var encoding: InputEncoding?
  /// Each header and the field it was read as (nil: used by nothing).
  public var columns: [(header: String, field: String?)] = []
  /// Headers that name no field: listed once, their values not read.
  public var unusedColumns: [String] { columns.filter { $0.field == nil }.map(\.header) }
  /// Times read as local time (without an offset).
  public var localTimes = 0

  public static func == (left: ReadReport, right: ReadReport) -> Bool {
    left.encoding == right.encoding && left.localTimes == right.localTimes
      && left.columns.map(\.header) == right.columns.map(\.header) && left.columns.map(\.field) == right.columns.map(\.field)
  }
}

/// A table (CSV or a sheet): the first row is the header; each row below becomes the
/// records of one `kind`, its values read the ways exports write them (local times,
/// 是/否, 紧急/高/中/低, enum names in any case) and its columns named through a
/// ``ColumnMap``.
struct TableRecords {
  /// What a column position is read as.
  private enum Column {
    case field(String)
    case duration(field: String, unitSeconds: Double, after: String)
    case unused
  }

  let kind: RecordReader.Kind
  let options: ReadOptions
  /// Where the table is a workbook's sheet, its date system (true: 1904). A sheet leaves
  /// out a row's empty cells at its end, which CSV writes, and may hold a time as a date
  /// serial in a cell not formatted as a date.
  let sheetDate1904: Bool?
  private var columns: [Column]?
  /// Field → the header it came from, when they differ (for messages).
  private var labels: [String: String] = [:]
  private(set) var report = ReadReport()

  init(kind: RecordReader.Kind, options: ReadOptions, sheetDate1904: Bool? = nil) {
    self.kind = kind
    self.options = options
    self.sheetDate1904 = sheetDate1904
  }

  /// The records of `rows`; the first row ever seen is the header.
  mutating func records(_ rows: [CSVParser.Row]) -> [RecordReader.Record] {
    var records: [RecordReader.Record] = []
    for var row in rows {
      guard let columns else {
        header(row.fields)
        continue
      }
      if sheetDate1904 != nil && row.fields.count < columns.count {
        row.fields += [String](repeating: "", count: columns.count - row.fields.count)
      }
      let size = row.fields.reduce(0) { $0 + $1.utf8.count }
      var values: [String: String] = [:]
      for (index, column) in columns.enumerated() where index < row.fields.count {
        if case .field(let name) = column { values[name] = row.fields[index] }
      }
      if size > RecordReader.maxRecordBytes {
        records.append((row.line, .failure(RecordReader.tooLarge(size, eventID: values["event_id"] ?? ""))))
        continue
      }
      if row.fields.count != columns.count {
        let problem = RecordReader.ReadProblem(
          eventID: values["event_id"] ?? "", field: "(row)", reason: "\(row.fields.count) columns, the header has \(columns.count)")
        records.append((row.line, .failure(problem)))
        continue
      }
      if let problem = derive(row.fields, into: &values) {
        records.append((row.line, .failure(problem)))
        continue
      }
      if kind == .ticketExport {
        records += exportEvents(values, line: row.line)
      } else {
        records.append((row.line, event(values, kind: kind)))
      }
    }
    return records
  }

  /// Reads the header: each name through the map, then against the kind's fields.
  private mutating func header(_ names: [String]) {
    let known = Set(RecordReader.fields(of: kind) + ["event_id"])
    var columns: [Column] = []
    for raw in names {
      let name = raw.trimmedBlanks
      let target = options.map?.target(of: name) ?? .field(name)
      let field = target.field
      let usable = known.contains(field) || (field.hasPrefix("attr.") && field.count > 5)
      guard usable else {
        columns.append(.unused)
        report.columns.append((name, nil))
        continue
      }
      if name != field { labels[field] = name }
      report.columns.append((name, field))
      switch target {
      case .field: columns.append(.field(field))
      case .duration(_, let unit, let after): columns.append(.duration(field: field, unitSeconds: unit, after: after))
      }
    }
    self.columns = columns
  }

  /// The field as the file names it, for messages: `created (创建时间)`.
  private func label(_ field: String, prefix: String = "") -> String {
    labels[field].map { "\(prefix)\(field) (\($0))" } ?? prefix + field
  }

  /// Fills the fields given as durations: the base time plus the duration.
  private mutating func derive(_ fields: [String], into values: inout [String: String]) -> RecordReader.ReadProblem? {
    guard let columns else { return nil }
    for (index, column) in columns.enumerated() {
      guard case .duration(let field, let unit, let after) = column else { continue }
      let raw = fields[index].trimmedBlanks
      if raw.isEmpty { continue }
      let eventID = values["event_id"] ?? values["ticket_id"] ?? ""
      guard let amount = Double(raw), amount.isFinite, amount >= 0 else {
        return RecordReader.ReadProblem(eventID: eventID, field: label(field), reason: "'\(raw)' is not a duration (a number ≥ 0)")
      }
      guard let base = values[after]?.trimmedBlanks, !base.isEmpty else {
        return RecordReader.ReadProblem(
          eventID: eventID, field: label(field), reason: "is a duration after \(label(after)), which is missing")
      }
      // A base that does not read is reported under its own name when the row is read.
      guard case .success(let start) = reading(base) else { continue }
      values[field] = start.adding(amount * unit).rfc3339
    }
    return nil
  }

  /// `text` read as a time. In a sheet, a bare number is a date serial (a time whose cell
  /// was not formatted as a date).
  private func reading(_ text: String) -> Result<TimeReader.Reading, ReasonError> {
    if let date1904 = sheetDate1904, let serial = Double(text), let local = XLSXCells.excelDate(serial, date1904: date1904) {
      return options.times.read(local)
    }
    return options.times.read(text)
  }

  /// `text` as RFC 3339, counting local times.
  private mutating func time(_ text: String) -> Result<String, ReasonError> {
    reading(text).map { reading in
      if reading.wasLocal { report.localTimes += 1 }
      return reading.rfc3339
    }
  }

  /// A row of a record kind → its event: typed values and enum names for proto3 JSON.
  private mutating func event(
    _ values: [String: String], kind: RecordReader.Kind
  ) -> Result<Sightline_Ingestion_V1_Event, RecordReader.ReadProblem> {
    let eventID = values["event_id"] ?? ""
    func problem(_ name: String, _ reason: String) -> Result<Sightline_Ingestion_V1_Event, RecordReader.ReadProblem> {
      .failure(RecordReader.ReadProblem(eventID: eventID, field: label(name, prefix: "\(kind.rawValue)."), reason: reason))
    }
    // Proto3 JSON, written directly (Foundation's JSONSerialization sorted the keys with
    // a locale and bridged every value: 60 % of a read) and decoded by SwiftProtobuf, whose
    // messages name the field and value that do not fit.
    var record = JSONObject()
    var attributes = JSONObject()
    for (name, raw) in values where name != "event_id" {
      let value = raw.trimmedBlanks
      if value.isEmpty { continue }
      if name.hasPrefix("attr.") {
        attributes.add(String(name.dropFirst(5)), string: value)
        continue
      }
      switch (kind, name) {
      case (.ticketEvent, "kind"): record.add(name, string: "TICKET_EVENT_KIND_" + value.uppercased())
      case (_, "priority"): record.add(name, string: "PRIORITY_" + (FieldValues.priority(value) ?? value.uppercased()))
      case (.surveyResponse, "kind"): record.add(name, string: "SURVEY_KIND_" + value.uppercased())
      case (.feedback, "source"): record.add(name, string: "FEEDBACK_SOURCE_" + value.uppercased())
      case (_, "complaint"):
        guard let flag = FieldValues.boolean(value) else {
          return problem(name, "'\(value)' is not true/false (true/false, yes/no, y/n, 1/0, 是/否, 对/错)")
        }
        record.add(name, literal: flag ? "true" : "false")
      case (_, "score"), (_, "rating"), (_, "amount_minor"):
        guard let number = Int64(value) else { return problem(name, "'\(value)' is not a whole number") }
        record.add(name, literal: String(number))
      case (.ticketEvent, "handle_seconds"):
        // A duration such as "4m30s" or "1h" is read too: helpdesk exports write both.
        guard let seconds = Double(value) ?? (try? HumanDuration.seconds(value).get()).map(Double.init), seconds.isFinite else {
          return problem(name, "'\(value)' is not a number of seconds or a duration such as 4m30s")
        }
        record.add(name, literal: String(seconds))
      case (_, let field) where RecordReader.timeFields.contains(field):
        switch time(value) {
        case .success(let text): record.add(name, string: text)
        case .failure(let error): return problem(name, error.reason)
        }
      default: record.add(name, string: value)
      }
    }
    if !attributes.isEmpty { record.add("attributes", literal: attributes.text) }
    var event = JSONObject()
    event.add("event_id", string: eventID)
    event.add(kind.rawValue, literal: record.text)
    do {
      return .success(try Sightline_Ingestion_V1_Event(jsonString: event.text))
    } catch {
      return .failure(RecordReader.ReadProblem(eventID: eventID, field: "(row)", reason: "not a \(kind.rawValue): \(error)"))
    }
  }

  /// A flat export row → created, first agent reply, resolved, reopened events, with ids
  /// derived from the ticket id (so re-importing the export stores nothing twice).
  private mutating func exportEvents(_ values: [String: String], line: Int) -> [RecordReader.Record] {
    let ticket = values["ticket_id"]?.trimmedBlanks ?? ""
    guard !ticket.isEmpty else {
      return [(line, .failure(RecordReader.ReadProblem(eventID: "", field: label("ticket_id"), reason: "missing")))]
    }
    guard let created = values["created"], !created.trimmedBlanks.isEmpty else {
      return [(line, .failure(RecordReader.ReadProblem(eventID: ticket + ":created", field: label("created"), reason: "missing")))]
    }
    var steps: [(String, String, String)] = []
    for (column, kind) in [("created", "created"), ("first_reply", "agent_reply"), ("resolved", "resolved"), ("reopened", "reopened")] {
      guard let raw = values[column]?.trimmedBlanks, !raw.isEmpty else { continue }
      switch time(raw) {
      case .success(let text): steps.append((column, kind, text))
      case .failure(let error):
        return [(line, .failure(RecordReader.ReadProblem(eventID: "\(ticket):\(column)", field: label(column), reason: error.reason)))]
      }
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

/// A JSON object written as text, member by member.
struct JSONObject {
  private var members: [String] = []

  var isEmpty: Bool { members.isEmpty }
  var text: String { "{" + members.joined(separator: ",") + "}" }

  mutating func add(_ key: String, string value: String) { members.append(Self.quoted(key) + ":" + Self.quoted(value)) }

  /// A value that is JSON already (a number, a boolean, an object).
  mutating func add(_ key: String, literal value: String) { members.append(Self.quoted(key) + ":" + value) }

  /// `text` as a JSON string: quotes, backslashes and control characters escaped.
  static func quoted(_ text: String) -> String {
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
      return "\"" + text + "\""
    }
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

extension String {
  /// Without the blanks (Unicode space separators and tabs, as `CharacterSet.whitespaces`)
  /// at its ends; fast when there are none, which is nearly always.
  var trimmedBlanks: String {
    guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
    func blank(_ scalar: Unicode.Scalar) -> Bool { scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator }
    if !blank(first) && !blank(last) { return self }
    return trimmingCharacters(in: .whitespaces)
  }
}
