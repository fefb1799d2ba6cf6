import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline kpi`: any KPIs over a range, by interval, grouped and filtered.
struct Kpi: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Query KPIs: any set, any range, by day/week/month, grouped and filtered by dimensions.",
    discussion: """
      Metrics: \(WireNames.kpiNames.joined(separator: ", ")).
      Dimensions: \(WireNames.dimensionNames.joined(separator: ", ")).
      Dates are YYYY-MM-DD in the tenant's time zone (or RFC 3339); --to is exclusive.
      Definitions: docs/kpis.md.
      """)

  enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }
  enum IntervalArgument: String, ExpressibleByArgument, CaseIterable { case day, week, month, all }

  @Option(name: .customLong("metric"), help: "A KPI (repeatable; default: volume, first_response_time, csat, nps, complaint_rate).")
  var metrics: [String] = []
  @Option(name: .customLong("by"), help: "Group by a dimension (repeatable).") var groupBy: [String] = []
  @Option(name: .customLong("where"), help: "Filter DIM=VALUE (repeatable; repeated DIMs are alternatives).")
  var filters: [String] = []
  @Option(help: "Start date (default: 30 days before --to).") var from: String?
  @Option(help: "End date, exclusive (default: now).") var to: String?
  @Option(help: "Bucket: day, week, month or all.") var interval: IntervalArgument = .all
  @Option(help: "Output: table, json or csv.") var format: Format = .table
  @Option(help: "Clock of first_response_time and resolution_time: calendar, or business (the tenant's open hours).")
  var hours: HoursArgument = .calendar
  @Option(help: "Wait until the metrics service applied this ingestion offset (read your writes).")
  var minOffset: Int64 = 0
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let kpis = try (metrics.isEmpty ? ["volume", "first_response_time", "csat", "nps", "complaint_rate"] : metrics)
      .map(WireNames.kpi)
    let dimensions = try groupBy.map(WireNames.dimension)
    let wireFilters = try FilterArgument.parse(filters)
    let (from, to, interval, minOffset, hours) = (self.from, self.to, self.interval, self.minOffset, self.hours)
    let (reply, zone) = try await connection.withGateway { client, metadata in
      let metricsClient = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      // Reads are safe to repeat: ride out a restarting service or a consumer catching up.
      let settings = try await TransientRetry.run { try await metricsClient.getSettings(.init(), metadata: metadata) }
      let zone = TimeZone(identifier: settings.timeZone) ?? .gmt
      let request = try Sightline_Metrics_V1_QueryKpisRequest.with {
        $0.kpis = kpis
        $0.groupBy = dimensions
        $0.filters = wireFilters
        $0.interval =
          switch interval {
          case .day: .day
          case .week: .week
          case .month: .month
          case .all: .all
          }
        $0.minOffset = minOffset
        $0.hours = hours.wire
        if let from { $0.range.start = try DateArgument.timestamp(from, zone: zone, flag: "--from") }
        if let to { $0.range.end = try DateArgument.timestamp(to, zone: zone, flag: "--to") }
      }
      return (try await TransientRetry.run { try await metricsClient.queryKpis(request, metadata: metadata) }, zone)
    }
    let table = KpiTable(reply: reply, kpis: kpis, groupBy: groupBy, zone: zone)
    switch format {
    case .table:
      printTable(table.header(raw: false), table.rows(raw: false))
      if let note = table.hoursNote(asked: hours) { print(note) }
    case .csv:
      print(table.header(raw: true).map(CSV.escape).joined(separator: ","))
      for row in table.rows(raw: true) { print(row.map(CSV.escape).joined(separator: ",")) }
    case .json: print(try table.json())
    }
  }
}

/// `--hours calendar|business`: the clock of the time KPIs.
enum HoursArgument: String, ExpressibleByArgument, CaseIterable {
  case calendar, business

  var wire: Sightline_Metrics_V1_Hours { self == .business ? .business : .calendar }
}

/// Parses `--where DIM=VALUE` options: a repeated dimension's values are alternatives.
enum FilterArgument {
  static func parse(_ filters: [String]) throws -> [Sightline_Common_V1_DimensionFilter] {
    var filterValues: [(Sightline_Common_V1_Dimension, [String])] = []
    for filter in filters {
      let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[1].isEmpty else { throw ValidationError("--where must be DIM=VALUE, got '\(filter)'") }
      let dimension = try WireNames.dimension(parts[0])
      if let index = filterValues.firstIndex(where: { $0.0 == dimension }) {
        filterValues[index].1.append(parts[1])
      } else {
        filterValues.append((dimension, [parts[1]]))
      }
    }
    return filterValues.map { dimension, values in
      .with {
        $0.dimension = dimension
        $0.values = values
      }
    }
  }
}

/// Parses `--from`/`--to`: a date at local midnight in the tenant's zone, or RFC 3339.
enum DateArgument {
  static func timestamp(_ text: String, zone: TimeZone, flag: String) throws -> Google_Protobuf_Timestamp {
    if let ms = RFC3339.parseMilliseconds(text) {
      return Google_Protobuf_Timestamp(unixMilliseconds: ms)
    }
    let parts = text.split(separator: "-").compactMap { Int($0) }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    guard parts.count == 3,
      let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    else { throw ValidationError("\(flag) must be YYYY-MM-DD or RFC 3339, got '\(text)'") }
    return Google_Protobuf_Timestamp(seconds: Int64(date.timeIntervalSince1970), nanos: 0)
  }

  /// The local date and minute of `timestamp` in `zone`, `YYYY-MM-DD HH:MM`.
  static func localTime(_ timestamp: Google_Protobuf_Timestamp, zone: TimeZone) -> String {
    LocalTime.minute(milliseconds: timestamp.seconds * 1000, zone: zone)
  }

  /// The tenant's time zone (its settings), in which the CLI reads and prints dates; UTC
  /// if the settings cannot be read.
  static func tenantZone(_ client: GRPCClient<HTTP2ClientTransport.Posix>, metadata: Metadata) async -> TimeZone {
    let settings = try? await TransientRetry.run {
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).getSettings(.init(), metadata: metadata)
    }
    return settings.flatMap { TimeZone(identifier: $0.timeZone) } ?? .gmt
  }

  /// The name a zone is printed with: UTC rather than Foundation's GMT.
  static func zoneName(_ zone: TimeZone) -> String { LocalTime.name(zone) }

  /// The local date of `timestamp` in `zone`, YYYY-MM-DD.
  static func localDate(_ timestamp: Google_Protobuf_Timestamp, zone: TimeZone) -> String {
    LocalTime.date(milliseconds: timestamp.seconds * 1000, zone: zone)
  }
}

/// RFC 4180 quoting.
enum CSV {
  static func escape(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}

/// A KPI answer laid out as columns: period, group values, then per KPI its value, the
/// sample size, and (for time KPIs) median and p90, (csat) mean score, (ces) share 5-7.
struct KpiTable {
  let reply: Sightline_Metrics_V1_QueryKpisResponse
  let kpis: [Sightline_Metrics_V1_Kpi]
  let groupBy: [String]
  let zone: TimeZone

  private func extras(_ kpi: Sightline_Metrics_V1_Kpi) -> [String] {
    switch kpi {
    case .firstResponseTime, .resolutionTime: ["p50", "p90"]
    case .csat: ["mean"]
    case .ces: ["share_5_7"]
    default: []
    }
  }

  func header(raw: Bool) -> [String] {
    var header = ["period"] + groupBy
    for kpi in kpis {
      let name = WireNames.name(kpi)
      let shown = raw ? name : name + hoursLabel(kpi)
      header += [shown] + extras(kpi).map { "\(name).\($0)" } + [raw ? "\(name).n" : "n"]
    }
    return header
  }

  /// " (business h)" or " (calendar h)" after a time KPI's name: which clock it ran on.
  private func hoursLabel(_ kpi: Sightline_Metrics_V1_Kpi) -> String {
    guard kpi == .firstResponseTime || kpi == .resolutionTime, let index = kpis.firstIndex(of: kpi),
      let value = reply.rows.first?.values[index]
    else { return "" }
    return value.hours == .business ? " (business h)" : " (calendar h)"
  }

  /// Why business hours were asked for and calendar time came back, if they were.
  func hoursNote(asked: HoursArgument) -> String? {
    guard asked == .business, let index = kpis.firstIndex(where: { $0 == .firstResponseTime || $0 == .resolutionTime }),
      reply.rows.first?.values[index].hours == .calendar
    else { return nil }
    return "the tenant has no business-hours calendar: durations are in calendar time (sightline calendar create)"
  }

  func rows(raw: Bool) -> [[String]] {
    reply.rows.map { row in
      var cells = [DateArgument.localDate(row.bucketStart, zone: zone)] + row.groupValues.map { $0.isEmpty ? "(none)" : $0 }
      for (kpi, value) in zip(kpis, row.values) {
        let model = WireNames.model(kpi)!
        let empty = raw ? "" : "–"
        cells.append(value.sampleSize == 0 ? empty : raw ? "\(value.value)" : KpiFormat.value(value.value, model))
        for extra in extras(kpi) {
          guard value.sampleSize > 0 else {
            cells.append(empty)
            continue
          }
          let (number, text): (Double, String) =
            switch extra {
            case "p50": (value.median, KpiFormat.value(value.median, model))
            case "p90": (value.p90, KpiFormat.value(value.p90, model))
            case "mean": (value.secondary, KpiFormat.fixed(value.secondary, digits: 2))
            default: (value.secondary, KpiFormat.percent(value.secondary))
            }
          cells.append(raw ? "\(number)" : text)
        }
        cells.append(String(value.sampleSize))
      }
      return cells
    }
  }

  func json() throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return try reply.jsonString(options: options)
  }
}
