import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The overview: open alerts on top, the headline KPIs with their change against the
/// previous period and a traffic light against their targets, daily trends, and the
/// breakdown by business line. One `Dashboard` call fills it.
enum OverviewPage {
  static let periods: [Int32] = [7, 30, 90]

  /// The period of a page (URL `days`): one of `periods`, else 30.
  static func days(_ context: PageContext) -> Int32 {
    context.parameter("days").flatMap(Int32.init).flatMap { periods.contains($0) ? $0 : nil } ?? 30
  }

  /// The clock of the time KPIs (URL `hours`): business or calendar (the default).
  static func hours(_ context: PageContext) -> Sightline_Metrics_V1_Hours {
    context.parameter("hours") == "business" ? .business : .calendar
  }

  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let days = Self.days(context)
    let hours = Self.hours(context)
    let metadata = Cockpit.metadata(context.session)
    async let dashboard = Sightline_Gateway_V1_Gateway.Client(wrapping: gateway).dashboard(
      .with {
        $0.periodDays = days; $0.hours = hours
      }, metadata: metadata)
    // The tenant's own targets; without them (metrics unreachable) the defaults.
    async let settings = try? Sightline_Metrics_V1_Metrics.Client(wrapping: gateway).getSettings(.init(), metadata: metadata)
    let cockpit = try await dashboard
    let targets = Self.targets(await settings)
    func unavailable(_ section: String) -> String? {
      cockpit.sections.first { $0.section == section && !$0.available }.map { Layout.unavailable(context, $0.reason) }
    }
    var body = periodPicker(context, days: days, keeping: hours == .business ? [("hours", "business")] : [])
    body += hoursPicker(context, days: days, hours: hours)
    body +=
      "<p class=\"meta\">\(HTML.escape(String(format: context.text("period.vs"), Int(days)))) · \(HTML.escape(context.text("updated"))) <time>\(context.time(cockpit.generatedAt))</time> · <span class=\"live\">\(HTML.escape(context.text("live")))</span></p>"
    body += "<section aria-labelledby=\"alerts\"><h2 id=\"alerts\">\(HTML.escape(context.text("alerts.title")))</h2>"
    body += unavailable("alerts") ?? alerts(context, cockpit.alerts.alerts)
    body += "</section>"
    body += "<section aria-labelledby=\"headline\"><h2 id=\"headline\">\(HTML.escape(context.text("headline.title")))</h2>"
    body +=
      unavailable("headline")
      ?? headline(
        context, days: days, targets: targets, now: cockpit.hasHeadline ? cockpit.headline : nil,
        before: cockpit.hasHeadlinePrevious ? cockpit.headlinePrevious : nil)
    body += "</section>"
    body += "<section aria-labelledby=\"trend\"><h2 id=\"trend\">\(HTML.escape(context.text("trend.title")))</h2>"
    body += unavailable("trend") ?? trend(context, cockpit.hasTrend ? cockpit.trend : nil)
    body += "</section>"
    body += "<section aria-labelledby=\"lines\"><h2 id=\"lines\">\(HTML.escape(context.text("lines.title")))</h2>"
    body +=
      unavailable("by_business_line")
      ?? byLine(context, cockpit.hasByBusinessLine ? cockpit.byBusinessLine : nil)
    body += "</section>"
    return Layout.page(context, title: context.text("nav.overview"), live: true, body: body)
  }

  /// Links to the same page over each period, keeping the `keeping` parameters.
  static func periodPicker(_ context: PageContext, days: Int32, keeping: [(String, String)] = []) -> String {
    "<p class=\"periods\">\(HTML.escape(context.text("period"))): "
      + periods.map { option in
        let label = HTML.escape(String(format: context.text("period.days"), Int(option)))
        return option == days
          ? "<strong aria-current=\"true\">\(label)</strong>"
          : "<a href=\"\(context.path)\(HTML.escape(HTML.query(keeping + [("days", "\(option)")])))\">\(label)</a>"
      }.joined(separator: " · ") + "</p>"
  }

  /// The calendar / business hours toggle of the time KPIs, keeping the period.
  static func hoursPicker(_ context: PageContext, days: Int32, hours: Sightline_Metrics_V1_Hours) -> String {
    "<p class=\"hours\">\(HTML.escape(context.text("hours"))): "
      + [(Sightline_Metrics_V1_Hours.calendar, "calendar"), (.business, "business")].map { option, name in
        let label = HTML.escape(context.text("hours." + name))
        return option == hours
          ? "<strong aria-current=\"true\">\(label)</strong>"
          : "<a href=\"\(context.path)\(HTML.escape(HTML.query([("days", "\(days)"), ("hours", name)])))\">\(label)</a>"
      }.joined(separator: " · ") + "</p>"
  }

  static func alerts(_ context: PageContext, _ alerts: [Sightline_Metrics_V1_Alert]) -> String {
    guard !alerts.isEmpty else { return "<p class=\"ok\">\(HTML.escape(context.text("alerts.none")))</p>" }
    return "<ul class=\"alerts\">"
      + alerts.map { alert in
        let critical = alert.severity == .critical
        let severity = "<strong>\(HTML.escape(context.text(critical ? "alerts.critical" : "alerts.warning")))</strong> "
        let item = "<li class=\"\(critical ? "critical" : "warning")\" data-alert=\"\(HTML.escape(alert.id))\">"
        if alert.ruleKind == .staffingGap {
          let detail = WhyPage.fill(
            context.text("alerts.staffing_gap.detail"), alert.dimensionValue, "\(alert.sampleSize)",
            KpiFormat.fixed(alert.value, digits: 1), KpiFormat.fixed(alert.expectedHigh, digits: 1))
          return item + severity + "\(HTML.escape(context.text("alerts.staffing_gap"))) · \(HTML.escape(detail)) · "
            + "<time>\(context.time(alert.openedAt))</time>" + openCaseButton(context, alert) + "</li>"
        }
        let kind = KpiWire.kpis[alert.kpi]
        let name = kind.map(context.language.kpi) ?? "\(alert.kpi)"
        let scope = KpiWire.dimensions[alert.dimension].map { "\(context.language.dimension($0)) = \(alert.dimensionValue)" } ?? ""
        let value = kind.map { KpiFormat.value(alert.value, $0) } ?? "\(alert.value)"
        let expected = kind.map { " (\(KpiFormat.value(alert.expectedLow, $0)) – \(KpiFormat.value(alert.expectedHigh, $0)))" } ?? ""
        return item + severity
          + "\(HTML.escape(name)) · \(HTML.escape(scope)): \(HTML.escape(value))\(HTML.escape(expected)) · <time>\(context.time(alert.openedAt))</time>"
          + contributors(context, alert, kind) + openCaseButton(context, alert) + "</li>"
      }.joined() + "</ul>"
  }

  /// A form that opens the alert's case (writers and admins; a reader sees none).
  static func openCaseButton(_ context: PageContext, _ alert: Sightline_Metrics_V1_Alert) -> String {
    guard context.session.role != "reader" else { return "" }
    return
      "<form class=\"open-case\" method=\"post\" action=\"/cases/open\"><input type=\"hidden\" name=\"csrf\" value=\"\(context.session.csrf)\">"
      + "<input type=\"hidden\" name=\"alert\" value=\"\(HTML.escape(alert.id))\"><button type=\"submit\">\(HTML.escape(context.text("cases.open_case")))</button></form>"
  }

  /// What moved the alert's KPI when it opened: its top contributors against a week before.
  static func contributors(_ context: PageContext, _ alert: Sightline_Metrics_V1_Alert, _ kind: KpiKind?) -> String {
    guard let kind, !alert.contributors.isEmpty else { return "" }
    let items = alert.contributors.map { contributor in
      let dimension = KpiWire.dimensions[contributor.dimension].map(context.language.dimension) ?? ""
      return "\(HTML.escape(dimension)) = \(HTML.escape(contributor.value)) \(HTML.escape(KpiFormat.change(contributor.effect, kind)))"
    }
    return "<br><span class=\"why\">\(HTML.escape(context.text("alerts.why"))): \(items.joined(separator: ", "))</span>"
  }

  /// Each KPI's target: the tenant's where it set one, else the default.
  static func targets(_ settings: Sightline_Metrics_V1_TenantSettings?) -> [KpiKind: KpiTarget] {
    var targets = KpiTarget.defaults
    for target in settings?.targets ?? [] {
      if let kind = KpiWire.kpis[target.kpi] { targets[kind] = KpiTarget(goal: target.goal, tolerance: target.tolerance) }
    }
    return targets
  }

  static func headline(
    _ context: PageContext, days: Int32, targets: [KpiKind: KpiTarget], now: Sightline_Metrics_V1_QueryKpisResponse?,
    before: Sightline_Metrics_V1_QueryKpisResponse?
  ) -> String {
    guard let current = now?.rows.first else { return "<p>\(HTML.escape(context.text("nodata")))</p>" }
    let previous = before?.rows.first?.values ?? []
    return "<div class=\"cards\">"
      + current.values.compactMap { value -> String? in
        guard let kind = KpiWire.kpis[value.kpi] else { return nil }
        let earlier = previous.first { $0.kpi == value.kpi }
        let target = targets[kind]
        let status = target?.status(value.value, kind: kind, sampleSize: value.sampleSize) ?? .none
        let targetText =
          target.map { "\(context.text("target")) \(kind.higherIsBetter == true ? "≥" : "≤") \(KpiFormat.value($0.goal, kind))" } ?? ""
        return """
          <article class="card \(status.rawValue)" data-kpi="\(kind.rawValue)">
          <h3>\(HTML.escape(context.language.kpi(kind)))</h3>\(hoursLabel(context, value))
          <p class="value" data-value="\(value.value)">\(HTML.escape(Layout.value(value, kind)))</p>
          <p class="change">\(change(value, earlier, kind, context))</p>
          \(target == nil ? "" : "<p class=\"status\"><span class=\"light\" aria-hidden=\"true\"></span>\(HTML.escape(context.text("status." + status.rawValue))) · \(HTML.escape(targetText))</p>")
          <p class="sample">\(HTML.escape(context.text("headline.sample")))=<span class="n">\(value.sampleSize)</span></p>
          <p class="why"><a href="/why\(HTML.escape(HTML.query([("kpi", kind.rawValue), ("days", "\(days)")])))">\(HTML.escape(context.text("why.link")))</a></p>
          </article>
          """
      }.joined() + "</div>"
  }

  /// "(business hours)" or "(calendar time)" under a time KPI's name: the clock its value ran on.
  static func hoursLabel(_ context: PageContext, _ value: Sightline_Metrics_V1_KpiValue) -> String {
    switch value.hours {
    case .business: "<p class=\"hours\" data-hours=\"business\">\(HTML.escape(context.text("hours.business.label")))</p>"
    case .calendar: "<p class=\"hours\" data-hours=\"calendar\">\(HTML.escape(context.text("hours.calendar.label")))</p>"
    default: ""
    }
  }

  /// The change against the previous period: an arrow, the amount (points for shares and
  /// NPS, percent otherwise), coloured by whether it moved the good way.
  static func change(
    _ now: Sightline_Metrics_V1_KpiValue, _ before: Sightline_Metrics_V1_KpiValue?, _ kind: KpiKind, _ context: PageContext
  ) -> String {
    guard let before, now.sampleSize > 0, before.sampleSize > 0 else { return "" }
    let delta = now.value - before.value
    let amount: String
    if kind.isRate {
      amount = KpiFormat.fixed(abs(delta) * 100, digits: 1) + context.text("unit.points")
    } else if kind == .nps {
      amount = KpiFormat.fixed(abs(delta), digits: 1) + context.text("unit.scorePoints")
    } else if before.value != 0 {
      amount = KpiFormat.fixed(abs(delta / before.value) * 100, digits: 1) + "%"
    } else {
      amount = ""
    }
    let flat = abs(delta) < 1e-12
    let arrow = flat ? "→" : delta > 0 ? "↑" : "↓"
    let tone = flat || kind.higherIsBetter == nil ? "neutral" : (delta > 0) == kind.higherIsBetter! ? "good" : "bad"
    let was = "\(context.text("headline.previous")) \(Layout.value(before, kind))"
    return "<span class=\"\(tone)\">\(arrow) \(HTML.escape(amount))</span> <span class=\"was\">\(HTML.escape(was))</span>"
  }

  static func trend(_ context: PageContext, _ trend: Sightline_Metrics_V1_QueryKpisResponse?) -> String {
    guard let trend, let first = trend.rows.first else { return "<p>\(HTML.escape(context.text("nodata")))</p>" }
    let labels = trend.rows.map { String(context.day($0.bucketStart).dropFirst(5)) }
    return "<div class=\"charts\">"
      + first.values.compactMap { value -> String? in
        guard let kind = KpiWire.kpis[value.kpi] else { return nil }
        let points = trend.rows.map { row -> Double? in
          guard let point = row.values.first(where: { $0.kpi == value.kpi }), point.sampleSize > 0 else { return nil }
          return point.value
        }
        let name = context.language.kpi(kind)
        let latest = points.last { $0 != nil }.flatMap { $0 }.map { KpiFormat.value($0, kind) } ?? "–"
        let sizes = trend.rows.map { row in row.values.first(where: { $0.kpi == value.kpi })?.sampleSize ?? 0 }
        // The last day is today, still going.
        let chart = Charts.line(
          title: name, description: "\(name), \(labels.first ?? "") – \(labels.last ?? ""): \(latest)", labels: labels,
          series: [.init(name: name, points: points, sizes: sizes)], format: { KpiFormat.value($0, kind) },
          partial: [labels.count - 1], partialName: context.text("chart.today"))
        return
          "<figure class=\"chart-box\" data-trend=\"\(kind.rawValue)\"><figcaption>\(HTML.escape(name)) · \(HTML.escape(latest))</figcaption>\(chart)</figure>"
      }.joined() + "</div>"
  }

  static func byLine(_ context: PageContext, _ reply: Sightline_Metrics_V1_QueryKpisResponse?) -> String {
    guard let reply, !reply.rows.isEmpty else { return "<p>\(HTML.escape(context.text("nodata")))</p>" }
    let shown: [Sightline_Metrics_V1_Kpi] = [
      .volume, .firstResponseTime, .fcrRate, .slaFirstResponse, .csat, .nps, .complaintRate, .backlog,
    ]
    let kinds = shown.compactMap { KpiWire.kpis[$0] }
    let rows = reply.rows.map { row -> [String] in
      [HTML.escape(row.groupValues.first.map { $0.isEmpty ? "–" : $0 } ?? "")]
        + shown.map { kpi in
          guard let value = row.values.first(where: { $0.kpi == kpi }), let kind = KpiWire.kpis[kpi] else { return "–" }
          return
            "<span data-line=\"\(HTML.escape(row.groupValues.first ?? ""))\" data-kpi=\"\(kind.rawValue)\">\(HTML.escape(Layout.value(value, kind)))</span>"
        }
    }
    let csat = reply.rows.compactMap { row -> (String, Double)? in
      guard let value = row.values.first(where: { $0.kpi == .csat }), value.sampleSize > 0 else { return nil }
      return (row.groupValues.first ?? "", value.value)
    }
    let name = context.language.kpi(.csat)
    let chart = Charts.bars(
      title: "\(name) · \(context.language.dimension(.businessLine))",
      description: csat.map { "\($0.0): \(KpiFormat.percent($0.1))" }.joined(separator: "; "), items: csat,
      format: KpiFormat.percent)
    return Layout.table(
      caption: context.text("lines.title"), header: [context.language.dimension(.businessLine)] + kinds.map(context.language.kpi),
      rows: rows) + "<figure class=\"chart-box\"><figcaption>\(HTML.escape(name))</figcaption>\(chart)</figure>"
  }
}
