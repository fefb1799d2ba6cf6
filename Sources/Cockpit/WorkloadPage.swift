import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Workload and staffing (docs/workload.md): a KPI by weekday and hour as a heatmap drawn
/// on the server, the agents each hour needs, the understaffed hours of a pasted roster with
/// the KPIs there against the other hours, and the arrivals forecast.
enum WorkloadPage {
  /// The KPIs the page offers, the first the default.
  static let kpis: [KpiKind] = [.volume, .firstResponseTime, .csat, .nps, .slaFirstResponse, .backlog]
  static let weekOptions = [4, 8, 12]
  /// The longest roster the form takes (characters).
  static let maxRoster = 8_000
  static let hourMs: Int64 = 3_600_000

  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let kind = context.parameter("kpi").flatMap(KpiKind.init(rawValue:)).flatMap { kpis.contains($0) ? $0 : nil } ?? kpis[0]
    let weeks = context.parameter("weeks").flatMap(Int.init).flatMap { weekOptions.contains($0) ? $0 : nil } ?? weekOptions[0]
    let line = context.parameter("line").map { String($0.prefix(100)).trimmingCharacters(in: .whitespaces) } ?? ""
    let rosterText = String((context.parameter("roster") ?? "").prefix(maxRoster))
    let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: gateway)
    let metadata = Cockpit.metadata(context.session)
    let end = WallClock.now / hourMs * hourMs
    let range = Sightline_Common_V1_TimeRange.with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: end - Int64(weeks * 7 * 24) * hourMs)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
    }
    let filters: [Sightline_Common_V1_DimensionFilter] =
      line.isEmpty
      ? []
      : [
        .with {
          $0.dimension = .businessLine; $0.values = [line]
        }
      ]
    var roster: Roster?
    var rosterProblem: String?
    if !rosterText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      do { roster = try Roster(csv: rosterText) } catch { rosterProblem = error.description }
    }
    let heatmap = try await metrics.getWorkloadHeatmap(
      .with {
        $0.kpi = KpiWire.wireKpis[kind]!; $0.range = range; $0.filters = filters
      }, metadata: metadata)
    let plan = try await metrics.planStaffing(
      .with {
        $0.range = range; $0.filters = filters
        $0.roster = KpiWire.rosterHours(roster?.agents ?? [:])
      }, metadata: metadata)
    let forecast = try await metrics.forecastArrivals(
      .with {
        $0.days = 14; $0.filters = filters; $0.backtest = true
      }, metadata: metadata)

    var body = form(context, kind: kind, weeks: weeks, line: line, roster: rosterText)
    let name = context.language.kpi(kind)
    body +=
      "<section aria-labelledby=\"heatmap\"><h2 id=\"heatmap\">\(HTML.escape(WhyPage.fill(context.text("workload.heatmap"), name)))</h2>"
    body +=
      "<p class=\"meta\">\(HTML.escape(context.day(range.start))) – \(HTML.escape(context.day(range.end))) · \(HTML.escape(heatmap.timeZone))</p>"
    let counts = kind == .volume || kind == .backlog
    let cells = heatmap.cells.map { cell in
      Cell(
        weekday: Int(cell.weekday), hour: Int(cell.hour), value: cell.value.value,
        sample: counts ? nil : Int(cell.value.sampleSize), present: counts ? cell.hours > 0 : cell.value.sampleSize > 0)
    }
    body += svg(context, cells: cells, format: { counts ? KpiFormat.fixed($0, digits: 1) : KpiFormat.value($0, kind) })
    body += "</section>"

    body += "<section aria-labelledby=\"staffing\"><h2 id=\"staffing\">\(HTML.escape(context.text("workload.need")))</h2>"
    if !plan.missingHandleTime.isEmpty {
      body +=
        "<p class=\"warning\" role=\"note\">\(HTML.escape(WhyPage.fill(context.text("workload.missing"), plan.missingHandleTime.joined(separator: ", "))))</p>"
    }
    let needs = plan.hours.map { hour in
      Cell(weekday: Int(hour.weekday), hour: Int(hour.hour), value: hour.needed, sample: nil, present: true)
    }
    body += svg(context, cells: needs, format: { KpiFormat.fixed($0, digits: 1) })
    body += understaffed(context, plan: plan, problem: rosterProblem)
    body += "</section>"
    body += forecastSection(context, forecast)
    return Layout.page(context, title: context.text("workload.title"), body: body)
  }

  static func form(_ context: PageContext, kind: KpiKind, weeks: Int, line: String, roster: String) -> String {
    let kpiOptions = kpis.map {
      "<option value=\"\($0.rawValue)\"\($0 == kind ? " selected" : "")>\(HTML.escape(context.language.kpi($0)))</option>"
    }.joined()
    let weekOptions = weekOptions.map {
      "<option value=\"\($0)\"\($0 == weeks ? " selected" : "")>\(HTML.escape(WhyPage.fill(context.text("workload.weeks.n"), $0)))</option>"
    }.joined()
    return """
      <form class="filters" method="get" action="/workload">
      <input type="hidden" name="lang" value="\(context.language.rawValue)">
      <label>\(HTML.escape(context.text("workload.kpi"))) <select name="kpi">\(kpiOptions)</select></label>
      <label>\(HTML.escape(context.text("workload.weeks"))) <select name="weeks">\(weekOptions)</select></label>
      <label>\(HTML.escape(context.language.dimension(.businessLine))) <input name="line" value="\(HTML.escape(line))" size="8"></label>
      <label class="roster">\(HTML.escape(context.text("workload.roster"))) <textarea name="roster" rows="3" cols="28" placeholder="weekday,hour,agents&#10;Mon,09-18,5">\(HTML.escape(roster))</textarea></label>
      <button type="submit">\(HTML.escape(context.text("explore.show")))</button></form>
      """
  }

  /// One hour of the week as drawn.
  struct Cell {
    var weekday: Int
    var hour: Int
    var value: Double
    /// Observations behind a rate or time (nil for counts).
    var sample: Int?
    var present: Bool
  }

  /// Weekdays down, hours across; darker is more. Every cell carries a hover title with its
  /// weekday, hour, value and n; cells on fewer than 30 observations are hatched (class
  /// `small`), cells without data left blank.
  static func svg(_ context: PageContext, cells: [Cell], format: (Double) -> String) -> String {
    let (left, top, cellWidth, cellHeight) = (44.0, 18.0, 26.0, 20.0)
    let width = left + 24 * cellWidth + 4, legendTop = top + 7 * cellHeight + 8
    let height = legendTop + 30
    let present = cells.filter(\.present)
    let low = present.map(\.value).min() ?? 0, high = present.map(\.value).max() ?? 0
    let names = context.language == .zh ? TimeOfWeek.chineseWeekdayNames : TimeOfWeek.weekdayNames
    func shade(_ value: Double) -> String {
      let t = high > low ? (value - low) / (high - low) : 0.5
      // From #eef3fb to #1f4e9a.
      let channel = { (from: Double, to: Double) in Int((from + (to - from) * t).rounded()) }
      return String(format: "#%02x%02x%02x", channel(0xee, 0x1f), channel(0xf3, 0x4e), channel(0xfb, 0x9a))
    }
    var svg =
      "<svg class=\"chart heatmap\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(context.text("workload.heatmap.label")))\">"
    for hour in stride(from: 0, to: 24, by: 3) {
      svg +=
        "<text x=\"\(left + Double(hour) * cellWidth + 2)\" y=\"\(top - 5)\" class=\"axis\">\(hour < 10 ? "0\(hour)" : "\(hour)")</text>"
    }
    for (index, name) in names.enumerated() {
      svg += "<text x=\"2\" y=\"\(top + Double(index) * cellHeight + 14)\" class=\"axis\">\(HTML.escape(name))</text>"
    }
    for cell in cells {
      let x = left + Double(cell.hour) * cellWidth, y = top + Double(cell.weekday - 1) * cellHeight
      let when = "\(names[cell.weekday - 1]) \(cell.hour < 10 ? "0\(cell.hour)" : "\(cell.hour)"):00"
      guard cell.present else {
        svg +=
          "<rect class=\"cell empty\" x=\"\(x)\" y=\"\(y)\" width=\"\(cellWidth - 1)\" height=\"\(cellHeight - 1)\"><title>\(HTML.escape(when)) · \(HTML.escape(context.text("nodata")))</title></rect>"
        continue
      }
      let small = Int64(cell.sample ?? Int.max) < Charts.smallSample
      let n = cell.sample.map { " (n=\($0))" } ?? ""
      svg +=
        "<rect class=\"cell\(small ? " small" : "")\" x=\"\(x)\" y=\"\(y)\" width=\"\(cellWidth - 1)\" height=\"\(cellHeight - 1)\" fill=\"\(shade(cell.value))\">"
        + "<title>\(HTML.escape(when)) · \(HTML.escape(format(cell.value)))\(n)</title></rect>"
    }
    // Legend: five steps from the lowest to the highest value.
    for step in 0...4 {
      let value = low + (high - low) * Double(step) / 4
      let x = left + Double(step) * 120
      svg += "<rect x=\"\(x)\" y=\"\(legendTop)\" width=\"14\" height=\"14\" fill=\"\(shade(value))\"></rect>"
      svg += "<text x=\"\(x + 18)\" y=\"\(legendTop + 12)\" class=\"axis\">\(HTML.escape(format(value)))</text>"
    }
    return svg + "</svg>"
  }

  static func understaffed(
    _ context: PageContext, plan: Sightline_Metrics_V1_PlanStaffingResponse, problem: String?
  ) -> String {
    if let problem {
      return "<p class=\"warning\" role=\"alert\">\(HTML.escape(context.text("workload.roster.bad"))): \(HTML.escape(problem))</p>"
    }
    guard plan.rosterSource != .none else { return "<p>\(HTML.escape(context.text("workload.roster.none")))</p>" }
    let source = plan.rosterSource == .stored ? "<p>\(HTML.escape(context.text("workload.roster.stored")))</p>" : ""
    guard !plan.understaffed.isEmpty else { return source + "<p class=\"ok\">\(HTML.escape(context.text("workload.covered")))</p>" }
    let names = context.language == .zh ? TimeOfWeek.chineseWeekdayNames : TimeOfWeek.weekdayNames
    func hour(_ value: Int32) -> String { (value % 24 < 10 ? "0" : "") + "\(value % 24):00" }
    let rows = plan.understaffed.map { run -> [String] in
      let when = "\(names[Int(run.weekday) - 1]) \(hour(run.fromHour))–\(hour(run.toHour))"
      let comparisons = run.comparisons.compactMap { comparison -> String? in
        guard let kpi = KpiWire.kpis[comparison.kpi], comparison.understaffed.sampleSize > 0, comparison.other.sampleSize > 0 else {
          return nil
        }
        let p = comparison.pValue < 0.001 ? "p < 0.001" : "p = \(KpiFormat.fixed(comparison.pValue, digits: 3))"
        return WhyPage.fill(
          context.text("workload.versus"), context.language.kpi(kpi), KpiFormat.value(comparison.understaffed.value, kpi),
          KpiFormat.value(comparison.other.value, kpi), p)
      }
      return [HTML.escape(when), HTML.escape(comparisons.joined(separator: "; ")), KpiFormat.fixed(run.shortfall, digits: 1)]
    }
    return source
      + Layout.table(
        caption: context.text("workload.understaffed"),
        header: [context.text("workload.when"), context.text("workload.service"), context.text("workload.short")], rows: rows,
        numericFrom: 2)
  }

  static func forecastSection(_ context: PageContext, _ forecast: Sightline_Metrics_V1_ForecastArrivalsResponse) -> String {
    var body = "<section aria-labelledby=\"forecast\"><h2 id=\"forecast\">\(HTML.escape(context.text("workload.forecast")))</h2>"
    guard let series = forecast.series.first, !series.hours.isEmpty else {
      let problem = forecast.series.first?.problem ?? ""
      return body + "<p>\(HTML.escape(problem.isEmpty ? context.text("nodata") : problem))</p></section>"
    }
    if series.hasBacktest {
      let b = series.backtest
      body +=
        "<p class=\"meta\">\(HTML.escape(WhyPage.fill(context.text("workload.backtest"), KpiFormat.percent(b.wape), KpiFormat.percent(b.naiveWape), KpiFormat.percent(b.coverage80))))</p>"
    }
    var days: [(String, Double, Double, Double)] = []
    for hour in series.hours {
      let day = context.day(hour.start)
      if days.last?.0 == day {
        days[days.count - 1].1 += hour.mean
        days[days.count - 1].2 += hour.lower80
        days[days.count - 1].3 += hour.upper80
      } else {
        days.append((day, hour.mean, hour.lower80, hour.upper80))
      }
    }
    body += Layout.table(
      caption: context.text("workload.forecast"),
      header: [context.text("workload.day"), context.text("workload.expected"), context.text("workload.bounds")],
      rows: days.map { day, mean, low, high in
        [HTML.escape(day), KpiFormat.fixed(mean, digits: 0), "\(KpiFormat.fixed(low, digits: 0))–\(KpiFormat.fixed(high, digits: 0))"]
      })
    return body + "</section>"
  }
}
