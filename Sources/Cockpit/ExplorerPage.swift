import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The KPI explorer: any KPI, grouped by any dimension (or none), at any interval, over any
/// range, with the sample size behind every point, as a chart, a table and a CSV download.
/// Every choice is a URL parameter, so a view can be bookmarked and shared.
struct ExplorerQuery: Sendable {
  static let intervals: [(String, Sightline_Metrics_V1_Interval)] = [("day", .day), ("week", .week), ("month", .month), ("all", .all)]
  static let groupable: [KpiDimension] = [
    .businessLine, .channel, .region, .problemType, .productModule, .priority, .agent, .customerTier, .customerType,
  ]

  var kpi: KpiKind
  var dimension: KpiDimension?
  var interval: String
  /// The range, Unix ms, [from, to): whole local days of `zone`.
  var fromMs: Int64
  var toMs: Int64
  /// The tenant's zone, in which the dates of the URL are read and written.
  var zone: TimeZone

  /// The query of a request's parameters; missing or unknown values take defaults (CSAT by
  /// business line, weekly, the last 90 days).
  init(_ context: PageContext, nowMs: Int64 = WallClock.now) {
    kpi = context.parameter("kpi").flatMap(KpiKind.init(rawValue:)) ?? .csat
    dimension = context.parameter("by").flatMap(KpiDimension.init(rawValue:)).flatMap { Self.groupable.contains($0) ? $0 : nil }
    if context.parameter("by") == nil { dimension = .businessLine }
    interval = context.parameter("interval").flatMap { name in Self.intervals.contains { $0.0 == name } ? name : nil } ?? "week"
    // Dates are the tenant's local days: `to` is the last day included.
    zone = context.zone
    let lastDay = context.parameter("to").flatMap(LocalTime.parseDate) ?? LocalTime.day(milliseconds: nowMs, zone: zone)
    var firstDay = context.parameter("from").flatMap(LocalTime.parseDate) ?? lastDay - 89
    if firstDay > lastDay { firstDay = lastDay }
    fromMs = LocalTime.startOfDay(firstDay, zone: zone)
    toMs = LocalTime.startOfDay(lastDay + 1, zone: zone)
  }

  var parameters: [(String, String)] {
    [
      ("kpi", kpi.rawValue), ("by", dimension?.rawValue ?? "none"), ("interval", interval),
      ("from", LocalTime.date(milliseconds: fromMs, zone: zone)),
      ("to", LocalTime.date(milliseconds: toMs - 1, zone: zone)),
    ]
  }

  var request: Sightline_Metrics_V1_QueryKpisRequest {
    .with {
      $0.kpis = [KpiWire.wireKpis[kpi]!]
      $0.range = .with {
        $0.start = Google_Protobuf_Timestamp(unixMilliseconds: fromMs)
        $0.end = Google_Protobuf_Timestamp(unixMilliseconds: toMs)
      }
      $0.interval = Self.intervals.first { $0.0 == interval }!.1
      if let dimension { $0.groupBy = [KpiWire.wireDimensions[dimension]!] }
    }
  }

  func run(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> [Sightline_Metrics_V1_KpiRow] {
    try await Sightline_Metrics_V1_Metrics.Client(wrapping: gateway).queryKpis(request, metadata: Cockpit.metadata(context.session)).rows
  }
}

enum ExplorerPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let query = ExplorerQuery(context)
    let rows = try await query.run(context, gateway: gateway)
    var body = form(context, query)
    body +=
      "<p><a class=\"button\" href=\"/explore.csv\(HTML.escape(HTML.query(query.parameters)))\" download>\(HTML.escape(context.text("explore.csv")))</a></p>"
    guard !rows.isEmpty else {
      return Layout.page(context, title: context.text("explore.title"), body: body + "<p>\(HTML.escape(context.text("nodata")))</p>")
    }
    let kind = query.kpi
    let starts = Array(Set(rows.map { $0.bucketStart.unixMilliseconds })).sorted()
    let buckets = starts.map { context.day(milliseconds: $0) }
    let groups = Array(Set(rows.map { $0.groupValues.first ?? "" })).sorted()
    // One line per group, one point per bucket; no data leaves a gap.
    var cells: [String: Sightline_Metrics_V1_KpiValue] = [:]
    for row in rows {
      if let value = row.values.first { cells[context.day(row.bucketStart) + "|" + (row.groupValues.first ?? "")] = value }
    }
    let series: [Charts.Series] = groups.map { group in
      let values = buckets.map { cells[$0 + "|" + group] }
      return Charts.Series(
        name: group.isEmpty ? context.language.kpi(kind) : group,
        points: values.map { value in value.flatMap { $0.sampleSize > 0 ? $0.value : nil } },
        sizes: values.map { $0?.sampleSize ?? 0 })
    }
    let partial = Self.partialBuckets(starts, query: query)
    let name = context.language.kpi(kind)
    body += "<figure class=\"chart-box wide\"><figcaption>\(HTML.escape(name))</figcaption>"
    body += Charts.line(
      title: name, description: "\(name), \(buckets.first ?? "") – \(buckets.last ?? "")", labels: buckets, series: series,
      format: { KpiFormat.value($0, kind) }, partial: partial, partialName: context.text("chart.partial"),
      othersName: context.text("chart.others"))
    body += "</figure>"
    // One column per group (pivoted) unless asked for the long form or ungrouped.
    let long = context.parameter("table") == "long" || query.dimension == nil
    let other = HTML.query(query.parameters + [("table", long ? "pivot" : "long"), ("lang", context.language.rawValue)])
    body +=
      "<p><a data-table-toggle href=\"/explore\(HTML.escape(other))\">\(HTML.escape(context.text(long ? "explore.pivot" : "explore.long")))</a></p>"
    if long {
      let tableRows = rows.map { row -> [String] in
        let value = row.values.first ?? .init()
        return [
          context.day(row.bucketStart), HTML.escape(row.groupValues.first ?? "–"),
          "<span data-value=\"\(value.value)\">\(HTML.escape(Layout.value(value, kind)))</span>", "\(value.sampleSize)",
        ]
      }
      body += Layout.table(
        caption: name,
        header: [
          context.text("explore.bucket"), context.text("explore.group"), context.text("explore.value"), context.text("explore.sample"),
        ],
        rows: tableRows, numericFrom: 2)
    } else {
      body += Layout.table(
        caption: "\(name) · \(context.text("explore.pivot.caption"))",
        header: [context.text("explore.bucket")] + groups.map { $0.isEmpty ? "–" : $0 },
        rows: buckets.enumerated().map { index, bucket in
          [bucket + (partial.contains(index) ? " *" : "")]
            + groups.map { group in
              guard let value = cells[bucket + "|" + group], value.sampleSize > 0 else { return "–" }
              let small = value.sampleSize < Charts.smallSample
              return
                "<span data-pivot=\"\(HTML.escape(group))\" data-value=\"\(value.value)\" class=\"\(small ? "small-n" : "")\" title=\"n=\(value.sampleSize)\">"
                + "\(HTML.escape(Layout.value(value, kind)))</span><br><span class=\"sample\">n=\(value.sampleSize)</span>"
            }
        }, numericFrom: 1)
      if !partial.isEmpty { body += "<p class=\"note\">* \(HTML.escape(context.text("chart.partial")))</p>" }
    }
    return Layout.page(context, title: context.text("explore.title"), body: body)
  }

  /// The buckets the range or today cuts: the first when it starts before the range, the
  /// last when it ends after the range or after now.
  static func partialBuckets(_ starts: [Int64], query: ExplorerQuery, nowMs: Int64 = WallClock.now) -> Set<Int> {
    guard let first = starts.first, let last = starts.last, query.interval != "all" else { return [] }
    var partial = Set<Int>()
    if first < query.fromMs { partial.insert(0) }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = query.zone
    let lastStart = Date(timeIntervalSince1970: Double(last) / 1000)
    let component: Calendar.Component = query.interval == "month" ? .month : query.interval == "week" ? .weekOfYear : .day
    if let next = calendar.date(byAdding: component, value: 1, to: lastStart) {
      let nextMs = Int64(next.timeIntervalSince1970 * 1000)
      if nextMs > min(query.toMs, nowMs) { partial.insert(starts.count - 1) }
    }
    return partial
  }

  static func form(_ context: PageContext, _ query: ExplorerQuery) -> String {
    func options(_ items: [(String, String)], selected: String) -> String {
      items.map { "<option value=\"\($0.0)\"\($0.0 == selected ? " selected" : "")>\(HTML.escape($0.1))</option>" }.joined()
    }
    let kpis = KpiKind.allCases.map { ($0.rawValue, context.language.kpi($0)) }
    let dimensions =
      [("none", context.text("explore.none"))] + ExplorerQuery.groupable.map { ($0.rawValue, context.language.dimension($0)) }
    let intervals = ExplorerQuery.intervals.map { ($0.0, context.text("interval." + $0.0)) }
    let values = Dictionary(query.parameters, uniquingKeysWith: { $1 })
    return """
      <form class="filters" method="get" action="/explore">
      <label>\(HTML.escape(context.text("explore.kpi"))) <select name="kpi">\(options(kpis, selected: query.kpi.rawValue))</select></label>
      <label>\(HTML.escape(context.text("explore.by"))) <select name="by">\(options(dimensions, selected: query.dimension?.rawValue ?? "none"))</select></label>
      <label>\(HTML.escape(context.text("explore.interval"))) <select name="interval">\(options(intervals, selected: query.interval))</select></label>
      <label>\(HTML.escape(context.text("explore.from"))) <input type="date" name="from" value="\(values["from"] ?? "")"></label>
      <label>\(HTML.escape(context.text("explore.to"))) <input type="date" name="to" value="\(values["to"] ?? "")"></label>
      <input type="hidden" name="lang" value="\(context.language.rawValue)">
      <button type="submit">\(HTML.escape(context.text("explore.show")))</button>
      </form>
      """
  }

  /// `text` as one CSV field: quoted when it holds a comma, quote or line break, and with a
  /// leading `'` when a spreadsheet would run it as a formula (= + - @).
  static func csvField(_ text: String) -> String {
    var text = text
    if let first = text.first, "=+-@".contains(first) { text = "'" + text }
    return text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
  }

  /// The explorer's rows as CSV: bucket start, group, value, sample size, median, p90.
  static func csv(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let query = ExplorerQuery(context)
    let rows = try await query.run(context, gateway: gateway)
    var lines = ["bucket_start,\(query.dimension?.rawValue ?? "group"),kpi,value,sample_size,median,p90"]
    for row in rows {
      let value = row.values.first ?? .init()
      lines.append(
        [
          context.day(row.bucketStart), csvField(row.groupValues.first ?? ""), query.kpi.rawValue,
          value.sampleSize > 0 ? "\(value.value)" : "", "\(value.sampleSize)",
          value.sampleSize > 0 ? "\(value.median)" : "", value.sampleSize > 0 ? "\(value.p90)" : "",
        ].joined(separator: ","))
    }
    return lines.joined(separator: "\r\n") + "\r\n"
  }
}
