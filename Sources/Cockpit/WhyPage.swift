import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// "Why did it move?": a headline KPI's change against the period before, split into the
/// contributions of the segments that drove it (one `ExplainChange` call): a waterfall of
/// the largest contributors in rate and mix, every dimension ranked, the chosen one's
/// segments, and the drill-down into its top value.
enum WhyPage {
  /// Contributors drawn in the waterfall; the rest are summed into one step.
  static let steps = 8

  /// `template` with each `%@` (and `%d`) replaced by the next of `values`, in order.
  static func fill(_ template: String, _ values: any CustomStringConvertible...) -> String {
    var text = ""
    var rest = values.makeIterator()
    var remaining = Substring(template)
    while let range = remaining.range(of: "%@") ?? remaining.range(of: "%d") {
      text += remaining[..<range.lowerBound] + (rest.next()?.description ?? "")
      remaining = remaining[range.upperBound...]
    }
    return text + remaining
  }

  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let kind = context.parameter("kpi").flatMap(KpiKind.init(rawValue:)) ?? .csat
    let days = OverviewPage.days(context)
    let chosen = context.parameter("by").flatMap(KpiDimension.init(rawValue:))
    // The overview's rolling period ending now, or the tenant's whole local days from
    // `from` to `to` (inclusive, as in the explorer), against as many days before.
    var end = WallClock.now / 60_000 * 60_000
    var start = end - Int64(days) * 86_400_000
    if let from = context.parameter("from").flatMap(LocalTime.parseDate), let to = context.parameter("to").flatMap(LocalTime.parseDate),
      to >= from
    {
      (start, end) = (LocalTime.startOfDay(from, zone: context.zone), LocalTime.startOfDay(to + 1, zone: context.zone))
    }
    let reply = try await Sightline_Metrics_V1_Metrics.Client(wrapping: gateway).explainChange(
      .with {
        $0.kpi = KpiWire.wireKpis[kind]!
        $0.period = .with {
          $0.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
          $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
        }
      }, metadata: Cockpit.metadata(context.session))
    let name = context.language.kpi(kind)
    let title = WhyPage.fill(context.text("why.title"), name)
    var body = OverviewPage.periodPicker(context, days: days, keeping: [("kpi", kind.rawValue)])
    let range = context.day(reply.currentRange.start) + " – " + context.day(reply.currentRange.end)
    let baseline = context.day(reply.baselineRange.start) + " – " + context.day(reply.baselineRange.end)
    body += "<p class=\"meta\">\(HTML.escape(WhyPage.fill(context.text("why.range"), range, baseline)))</p>"
    body += "<p class=\"kpis\">" + OverviewPageKpis.links(context, current: kind, days: days) + "</p>"
    guard reply.baselineCount > 0 || reply.decomposition == .additive, let top = reply.dimensions.first else {
      return Layout.page(context, title: title, body: body + "<p>\(HTML.escape(context.text("why.nodata")))</p>")
    }
    let change = { (delta: Double) in KpiFormat.change(delta, kind) }
    body +=
      "<p class=\"lead\" data-change=\"\(reply.change)\">\(HTML.escape(WhyPage.fill(context.text("why.moved"), name, KpiFormat.value(reply.baselineValue, kind), KpiFormat.value(reply.currentValue, kind), change(reply.change))))</p>"
    if context.language == .en { body += "<p class=\"summary\">\(HTML.escape(reply.summary))</p>" }
    let selected = reply.dimensions.first { KpiWire.dimensions[$0.dimension] == chosen } ?? top
    let dimensionName = KpiWire.dimensions[selected.dimension].map(context.language.dimension) ?? ""
    if selected.simpsonsParadox {
      body += "<p class=\"warning\" role=\"note\">\(HTML.escape(context.text("why.simpson")))</p>"
    }
    body +=
      "<section aria-labelledby=\"waterfall\"><h2 id=\"waterfall\">\(HTML.escape(WhyPage.fill(context.text("why.by"), dimensionName)))</h2>"
    body += waterfall(context, reply, selected, kind: kind)
    body += segmentTable(context, selected, kind: kind, caption: WhyPage.fill(context.text("why.by"), dimensionName))
    body += "</section>"
    if reply.hasDrillDown, let drilled = KpiWire.dimensions[reply.drillDown.dimension],
      let within = KpiWire.dimensions[reply.drillDimension]
    {
      let caption = String(
        format: context.text("why.drill"), context.language.dimension(drilled), context.language.dimension(within),
        reply.drillValue)
      body += "<section aria-labelledby=\"drill\"><h2 id=\"drill\">\(HTML.escape(caption))</h2>"
      body += segmentTable(context, reply.drillDown, kind: kind, caption: caption)
      body += "</section>"
    }
    body += "<section aria-labelledby=\"dimensions\"><h2 id=\"dimensions\">\(HTML.escape(context.text("why.dimensions")))</h2>"
    body += dimensionTable(context, reply, kind: kind, days: days)
    body += "</section>"
    return Layout.page(context, title: title, body: body)
  }

  static func waterfall(
    _ context: PageContext, _ reply: Sightline_Metrics_V1_ExplainChangeResponse,
    _ dimension: Sightline_Metrics_V1_DimensionExplanation, kind: KpiKind
  ) -> String {
    let shown = dimension.segments.prefix(steps)
    var stepsDrawn = shown.map { Charts.Step(label: $0.value, rate: $0.rateEffect, mix: $0.mixEffect) }
    let rest = dimension.segments.dropFirst(steps)
    if !rest.isEmpty {
      stepsDrawn.append(
        Charts.Step(
          label: WhyPage.fill(context.text("why.rest"), rest.count), rate: rest.reduce(0) { $0 + $1.rateEffect },
          mix: rest.reduce(0) { $0 + $1.mixEffect }))
    }
    let name = context.language.kpi(kind)
    return "<figure class=\"chart-box wide\">"
      + Charts.waterfall(
        title: WhyPage.fill(context.text("why.waterfall"), name),
        description: String(
          format: context.text("why.waterfall.desc"), KpiFormat.value(reply.baselineValue, kind),
          KpiFormat.value(reply.currentValue, kind)),
        start: (context.text("why.before"), reply.baselineValue), steps: stepsDrawn,
        end: (context.text("why.now"), reply.currentValue),
        legend: (context.text("why.rate"), context.text("why.mix")), value: { KpiFormat.value($0, kind) },
        change: { KpiFormat.change($0, kind) }) + "</figure>"
  }

  static func segmentTable(
    _ context: PageContext, _ dimension: Sightline_Metrics_V1_DimensionExplanation, kind: KpiKind, caption: String
  ) -> String {
    let header = [
      context.text("explore.group"), context.text("why.shareBefore"), context.text("why.shareNow"), context.text("why.before"),
      context.text("why.now"), context.text("why.rate"), context.text("why.mix"), context.text("why.effect"),
      context.text("experiments.p"),
    ]
    let rows = dimension.segments.map { segment in
      [
        HTML.escape(segment.value), KpiFormat.percent(segment.baselineShare), KpiFormat.percent(segment.currentShare),
        segment.hasBaselineRate ? KpiFormat.value(segment.baselineRate, kind) : "–",
        segment.hasCurrentRate ? KpiFormat.value(segment.currentRate, kind) : "–",
        KpiFormat.change(segment.rateEffect, kind), KpiFormat.change(segment.mixEffect, kind),
        "<strong>\(KpiFormat.change(segment.effect, kind))</strong>",
        segment.hasPValueBh ? KpiFormat.fixed(segment.pValueBh, digits: 3) : "–",
      ].map { $0.hasPrefix("<strong>") ? $0 : HTML.escape($0) }
    }
    return Layout.table(caption: caption, header: header, rows: rows)
  }

  static func dimensionTable(
    _ context: PageContext, _ reply: Sightline_Metrics_V1_ExplainChangeResponse, kind: KpiKind, days: Int32
  ) -> String {
    let header = [context.text("why.dimension"), context.text("why.top"), context.text("why.explains")]
    let rows = reply.dimensions.compactMap { dimension -> [String]? in
      guard let model = KpiWire.dimensions[dimension.dimension] else { return nil }
      let link =
        "<a href=\"/why\(HTML.escape(HTML.query([("kpi", kind.rawValue), ("days", "\(days)"), ("by", model.rawValue)])))\">"
        + HTML.escape(context.language.dimension(model)) + "</a>"
      let top = dimension.segments.filter { $0.effect * reply.change > 0 }.prefix(3)
        .map { "\($0.value) (\(KpiFormat.change($0.effect, kind)))" }.joined(separator: ", ")
      return [link, HTML.escape(top.isEmpty ? "–" : top), HTML.escape(KpiFormat.percent(dimension.topShare))]
    }
    return Layout.table(caption: context.text("why.dimensions"), header: header, rows: rows)
  }
}

/// Links between the headline KPIs' "why" pages.
enum OverviewPageKpis {
  /// The KPIs of the overview's cards (the gateway's `DashboardAssembler.headlineKpis`).
  static let headline: [KpiKind] = [
    .volume, .firstResponseTime, .resolutionTime, .fcrRate, .slaFirstResponse, .csat, .nps, .complaintRate, .reopenRate,
    .backlog,
  ]

  static func links(_ context: PageContext, current: KpiKind, days: Int32) -> String {
    headline.map { kind in
      let label = HTML.escape(context.language.kpi(kind))
      return kind == current
        ? "<strong aria-current=\"true\">\(label)</strong>"
        : "<a href=\"/why\(HTML.escape(HTML.query([("kpi", kind.rawValue), ("days", "\(days)")])))\">\(label)</a>"
    }.joined(separator: " · ")
  }
}
