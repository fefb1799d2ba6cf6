import Foundation
import Yams

/// How an export's headers become Sightline's fields (`sightline ingest --map FILE`): a
/// YAML file naming, for each header, the field it holds, or for a duration column (a
/// first reply "in minutes") the time field it gives, counted from another time field:
///
/// ```yaml
/// kind: ticket_export
/// columns:
///   工单编号: ticket_id
///   创建时间: created
///   First reply time in minutes: { field: first_reply, minutes_after: created }
/// ```
///
/// Headers the map does not name keep their own name. `maps/` holds maps for common
/// helpdesks; docs/ingestion.md, "Importing from your helpdesk", explains them.
public struct ColumnMap: Sendable, Equatable {
  /// What a column gives.
  public enum Target: Sendable, Equatable {
    /// The column is this field.
    case field(String)
    /// The column is a duration (in `unitSeconds`) from the time in field `after`; the
    /// field is that time plus the duration.
    case duration(field: String, unitSeconds: Double, after: String)

    /// The field the column fills.
    public var field: String {
      switch self {
      case .field(let name), .duration(let name, _, _): name
      }
    }
  }

  /// The record kind the map is for, if it says.
  public var kind: RecordReader.Kind?
  /// Header → what it gives.
  public var columns: [String: Target]

  public init(kind: RecordReader.Kind? = nil, columns: [String: Target]) {
    self.kind = kind
    self.columns = columns
  }

  /// What `header` gives: its entry in the map, else itself.
  func target(of header: String) -> Target { columns[header] ?? .field(header) }

  static let units: [String: Double] = ["seconds_after": 1, "minutes_after": 60, "hours_after": 3600]

  /// The map in the YAML file at `path`.
  public static func load(path: String) throws -> ColumnMap {
    guard let data = FileManager.default.contents(atPath: path) else { throw RecordReader.CSVError("cannot read the map \(path)") }
    guard let text = String(data: data, encoding: .utf8) else { throw RecordReader.CSVError("the map \(path) is not UTF-8") }
    return try parse(text, name: path)
  }

  /// The map in `yaml`; errors name `name` and the line.
  public static func parse(_ yaml: String, name: String) throws -> ColumnMap {
    func failure(_ node: Node?, _ message: String) -> RecordReader.CSVError {
      RecordReader.CSVError("\(name)\(node?.mark.map { " line \($0.line)" } ?? ""): \(message)")
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch {
      throw RecordReader.CSVError("\(name): not YAML: \(error)")
    }
    guard let root, let top = root.mapping else { throw failure(root, "a map is a YAML mapping with 'columns'") }
    var map = ColumnMap(columns: [:])
    for (key, value) in top {
      switch key.string {
      case "kind":
        guard let text = value.string, let kind = RecordReader.Kind(rawValue: text) else {
          throw failure(value, "kind must be one of \(RecordReader.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        map.kind = kind
      case "source", "description": continue
      case "columns":
        guard let columns = value.mapping else { throw failure(value, "columns must map each header to a field") }
        for (header, target) in columns {
          guard let headerName = header.string?.trimmingCharacters(in: .whitespaces), !headerName.isEmpty else {
            throw failure(header, "a header must be a non-empty text")
          }
          guard map.columns[headerName] == nil else { throw failure(header, "'\(headerName)' is mapped twice") }
          map.columns[headerName] = try Self.target(target, header: headerName, failure: failure)
        }
      default:
        throw failure(key, "unknown key '\(key.string ?? "?")' (kind, columns, source)")
      }
    }
    let fields = map.columns.values.map(\.field)
    if let twice = Dictionary(grouping: fields, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
      throw RecordReader.CSVError("\(name): two headers are mapped to '\(twice)'")
    }
    return map
  }

  private static func target(
    _ node: Node, header: String, failure: (Node?, String) -> RecordReader.CSVError
  ) throws -> Target {
    if let field = node.string, !field.isEmpty { return .field(field) }
    guard let entries = node.mapping else {
      throw failure(node, "'\(header)' must map to a field name or to { field: NAME, minutes_after: FIELD }")
    }
    var field: String?
    var unit: (seconds: Double, after: String)?
    for (key, value) in entries {
      let name = key.string ?? ""
      if name == "field" {
        field = value.string
      } else if let seconds = units[name], let after = value.string {
        guard unit == nil else { throw failure(key, "'\(header)' has two units") }
        unit = (seconds, after)
      } else {
        throw failure(key, "unknown key '\(name)' for '\(header)' (field, seconds_after, minutes_after, hours_after)")
      }
    }
    guard let field, !field.isEmpty else { throw failure(node, "'\(header)' names no field") }
    guard let unit else { return .field(field) }
    return .duration(field: field, unitSeconds: unit.seconds, after: unit.after)
  }
}

extension Node {
  fileprivate var string: String? { scalar?.string }
}
