import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline explain`: why a KPI moved, split exactly into segments' rate and mix effects.
struct Explain: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Explain a KPI's change: which segments moved it, by their own rate or by the mix.",
    discussion: """
      Compares a period with the one of the same length before it (or --baseline-from/--baseline-to),
      or, with --group DIM=V1,V2, those values against the rest (or --against) over one period.
      Each segment's rate effect and mix effect add up, over a dimension, to the change
      exactly. Dimensions are ranked by how much more of the change their top contributors
      explain than their size would; the best one's top value is drilled into by the next.
      Metrics: \(WireNames.kpiNames.joined(separator: ", ")).
      Dimensions: \(WireNames.dimensionNames.joined(separator: ", ")).
      Definitions: docs/kpis.md, "Explaining a change".
      """)

  @Option(name: .customLong("metric"), help: "The KPI to explain.") var metric = "csat"
  @Option(help: "Length of the period up to --to (or now): Nd or Nw (default 7d), or use --from.")
  var period: String?
  @Option(help: "Start of the period (instead of --period).") var from: String?
  @Option(help: "End of the period, exclusive (default: now).") var to: String?
  @Option(help: "Start of the baseline period (default: the period's length before it).") var baselineFrom: String?
  @Option(help: "End of the baseline period, exclusive (default: the period's start).") var baselineTo: String?
  @Option(help: "Compare groups instead of periods: DIM=V1,V2,... over the period.") var group: String?
  @Option(help: "The group's comparison values V1,V2,... (default: every other value).") var against: String?
  @Option(name: .customLong("by"), help: "A dimension to explain by (repeatable; default: all but customer).")
  var dimensions: [String] = []
  @Option(name: .customLong("where"), help: "Filter DIM=VALUE on both sides (repeatable).") var filters: [String] = []
  @Option(help: "Pool segments smaller than this on both sides into (other) (default 30).") var minSample: Int64 = 0
  @Option(help: "Segments shown per dimension in the table (json and csv show all).") var top = 8
  @Option(help: "Output: table, json or csv.") var format: Kpi.Format = .table
  @Option(help: "Wait until the metrics service applied this ingestion offset (read your writes).")
  var minOffset: Int64 = 0
  @OptionGroup var connection: ConnectionOptions

  func validate() throws {
    if period != nil && from != nil { throw ValidationError("give --period or --from, not both") }
    if (baselineFrom == nil) != (baselineTo == nil) {
      throw ValidationError("give both --baseline-from and --baseline-to, or neither")
    }
    if group != nil && baselineFrom != nil { throw ValidationError("--group compares over one period: drop --baseline-from/--baseline-to") }
    if against != nil && group == nil { throw ValidationError("--against needs --group") }
  }

  /// `Nd` or `Nw` in milliseconds.
  static func periodLength(_ text: String) throws -> Int64 {
    guard let unit = text.last, let count = Int64(text.dropLast()), count > 0, unit == "d" || unit == "w" else {
      throw ValidationError("--period must be Nd or Nw (e.g. 7d, 4w), got '\(text)'")
    }
    return count * (unit == "w" ? 7 : 1) * 86_400_000
  }

  func run() async throws {
    let kpi = try WireNames.kpi(metric)
    let wireDimensions = try dimensions.map(WireNames.dimension)
    let wireFilters = try FilterArgument.parse(filters)
    let length = try period.map(Self.periodLength)
    var groupDimension = Sightline_Common_V1_Dimension.unspecified
    var groupValues: [String] = []
    if let group {
      let parts = group.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { throw ValidationError("--group must be DIM=V1,V2,..., got '\(group)'") }
      groupDimension = try WireNames.dimension(parts[0])
      groupValues = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      guard !groupValues.isEmpty else { throw ValidationError("--group names no values: '\(group)'") }
    }
    let (groupedBy, groupedValues) = (groupDimension, groupValues)
    let againstValues = against?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
    let options = self
    let (reply, zone) = try await connection.withGateway { client, metadata in
      let metricsClient = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      let settings = try await TransientRetry.run { try await metricsClient.getSettings(.init(), metadata: metadata) }
      let zone = TimeZone(identifier: settings.timeZone) ?? .gmt
      let request = try Sightline_Metrics_V1_ExplainChangeRequest.with {
        $0.kpi = kpi
        $0.dimensions = wireDimensions
        $0.filters = wireFilters
        $0.groupDimension = groupedBy
        $0.groupValues = groupedValues
        $0.baselineValues = againstValues
        $0.minSample = options.minSample
        $0.minOffset = options.minOffset
        let end = try options.to.map { try DateArgument.timestamp($0, zone: zone, flag: "--to") }
        if let end { $0.period.end = end }
        if let from = options.from {
          $0.period.start = try DateArgument.timestamp(from, zone: zone, flag: "--from")
        } else if let length {
          let endMs = end?.unixMilliseconds ?? WallClock.unixMilliseconds()
          $0.period.end = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
          $0.period.start = Google_Protobuf_Timestamp(unixMilliseconds: endMs - length)
        }
        if let baselineFrom = options.baselineFrom, let baselineTo = options.baselineTo {
          $0.baseline.start = try DateArgument.timestamp(baselineFrom, zone: zone, flag: "--baseline-from")
          $0.baseline.end = try DateArgument.timestamp(baselineTo, zone: zone, flag: "--baseline-to")
        }
      }
      return (try await TransientRetry.run { try await metricsClient.explainChange(request, metadata: metadata) }, zone)
    }
    let report = ExplanationReport(reply: reply, zone: zone)
    switch format {
    case .table: report.show(top: top)
    case .csv: report.showCSV()
    case .json:
      var json = JSONEncodingOptions()
      json.preserveProtoFieldNames = true
      print(try reply.jsonString(options: json))
    }
  }
}

/// An `ExplainChange` answer laid out for people (a table per dimension) or for tools
/// (one CSV row per dimension and segment).
struct ExplanationReport {
  let reply: Sightline_Metrics_V1_ExplainChangeResponse
  let zone: TimeZone

  private var kpi: KpiKind { WireNames.model(reply.kpi)! }

  /// The CSV columns, also the table's after its first.
  static let header = [
    "dimension", "value", "baseline_n", "current_n", "baseline_share", "current_share", "baseline_value",
    "current_value", "rate_effect", "mix_effect", "effect", "presence", "p_value", "p_value_bh",
  ]

  func show(top: Int) {
    let range = { (r: Sightline_Common_V1_TimeRange) in
      "\(DateArgument.localDate(r.start, zone: zone)) – \(DateArgument.localDate(r.end, zone: zone))"
    }
    print("\(WireNames.name(reply.kpi)): baseline \(range(reply.baselineRange)), current \(range(reply.currentRange))")
    print(reply.summary)
    for dimension in reply.dimensions {
      printDimension(dimension, title: WireNames.name(dimension.dimension), top: top)
    }
    if reply.hasDrillDown {
      let title = "\(WireNames.name(reply.drillDown.dimension)) within \(WireNames.name(reply.drillDimension))=\(reply.drillValue)"
      printDimension(reply.drillDown, title: title, top: top)
    }
  }

  private func printDimension(_ dimension: Sightline_Metrics_V1_DimensionExplanation, title: String, top: Int) {
    print("")
    let paradox = dimension.simpsonsParadox ? "  [Simpson's paradox]" : ""
    print(
      "by \(title): rate \(KpiFormat.change(dimension.rateEffect, kpi)), mix \(KpiFormat.change(dimension.mixEffect, kpi)),"
        + " top contributors explain \(KpiFormat.percent(dimension.topShare))\(paradox)")
    let header = ["value", "n before", "n now", "share before", "share now", "before", "now", "rate", "mix", "effect", "q"]
    let rows = dimension.segments.prefix(top).map { segment in
      [
        segment.value + (segment.pooled > 0 ? " (\(segment.pooled))" : ""), KpiFormat.fixed(segment.baselineCount, digits: 0),
        KpiFormat.fixed(segment.currentCount, digits: 0), KpiFormat.percent(segment.baselineShare),
        KpiFormat.percent(segment.currentShare),
        segment.hasBaselineRate ? KpiFormat.value(segment.baselineRate, kpi) : "–",
        segment.hasCurrentRate ? KpiFormat.value(segment.currentRate, kpi) : "–",
        KpiFormat.change(segment.rateEffect, kpi), KpiFormat.change(segment.mixEffect, kpi),
        KpiFormat.change(segment.effect, kpi), segment.hasPValueBh ? KpiFormat.fixed(segment.pValueBh, digits: 3) : "–",
      ]
    }
    printTable(header, rows)
    if dimension.segments.count > top { print("… \(dimension.segments.count - top) more (--top, or --format csv)") }
  }

  func showCSV() {
    print(Self.header.joined(separator: ","))
    var dimensions = reply.dimensions.map { (WireNames.name($0.dimension), $0) }
    if reply.hasDrillDown {
      dimensions.append(
        (
          "\(WireNames.name(reply.drillDimension))=\(reply.drillValue)>\(WireNames.name(reply.drillDown.dimension))",
          reply.drillDown
        ))
    }
    for (name, dimension) in dimensions {
      for segment in dimension.segments {
        let cells = [
          name, segment.value, "\(segment.baselineCount)", "\(segment.currentCount)", "\(segment.baselineShare)",
          "\(segment.currentShare)", segment.hasBaselineRate ? "\(segment.baselineRate)" : "",
          segment.hasCurrentRate ? "\(segment.currentRate)" : "", "\(segment.rateEffect)", "\(segment.mixEffect)",
          "\(segment.effect)", Self.presence(segment.presence), segment.hasPValue ? "\(segment.pValue)" : "",
          segment.hasPValueBh ? "\(segment.pValueBh)" : "",
        ]
        print(cells.map(CSV.escape).joined(separator: ","))
      }
    }
  }

  static func presence(_ presence: Sightline_Metrics_V1_Presence) -> String {
    switch presence {
    case .entering: "entering"
    case .leaving: "leaving"
    default: "both"
    }
  }
}
