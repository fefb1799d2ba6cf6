import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineWire
import SwiftProtobuf

/// `sightline dashboard`: the cockpit on a terminal.
struct Dashboard: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The cockpit: headline KPIs with change, trends, business lines, alerts, segments and experiments.")

  enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

  @Option(help: "Period ending now, e.g. 30d or 7d.") var period: String = "30d"
  @Flag(help: "Refresh every few seconds until interrupted.") var watch = false
  @Option(help: "Seconds between refreshes with --watch.") var every: Int = 5
  @Option(help: "Output: table or json.") var format: Format = .table
  @Option(help: "Clock of the time KPIs: calendar, or business (the tenant's open hours).")
  var hours: HoursArgument = .calendar
  @OptionGroup var connection: ConnectionOptions

  func validate() throws {
    _ = try Self.days(period)
    guard every >= 1 else { throw ValidationError("--every must be at least 1 second") }
  }

  static func days(_ text: String) throws -> Int32 {
    guard text.hasSuffix("d"), let days = Int32(text.dropLast()), (1...366).contains(days) else {
      throw ValidationError("--period must look like 30d (1-366 days), got '\(text)'")
    }
    return days
  }

  func run() async throws {
    let days = try Self.days(period)
    let (format, watch, every, hours) = (self.format, self.watch, self.every, self.hours)
    try await connection.withGateway { client, metadata in
      let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
      let zone = await DateArgument.tenantZone(client, metadata: metadata)
      repeat {
        let cockpit = try await gateway.dashboard(
          .with {
            $0.periodDays = days; $0.hours = hours.wire
          }, metadata: metadata)
        let text =
          format == .json
          ? try CockpitJSON.render(cockpit) : CockpitView(cockpit, days: Int(days), zone: zone, color: Terminal.isTTY).render()
        if watch && Terminal.isTTY { FileHandle.standardOutput.write(Data("\u{1B}[H\u{1B}[2J".utf8)) }
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
        if watch { try await Task.sleep(for: .seconds(every)) }
      } while watch
    }
  }
}

enum Terminal {
  static var isTTY: Bool { isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }
}

/// The cockpit as JSON: every section present (`null` when unavailable), lists as arrays.
enum CockpitJSON {
  static func render(_ cockpit: Sightline_Gateway_V1_DashboardResponse) throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    func json(_ message: some SwiftProtobuf.Message, present: Bool) throws -> String {
      present ? try message.jsonString(options: options) : "null"
    }
    func array(_ messages: [some SwiftProtobuf.Message]) throws -> String {
      "[" + (try messages.map { try $0.jsonString(options: options) }.joined(separator: ",")) + "]"
    }
    let fields: [(String, String)] = [
      ("sections", try array(cockpit.sections)),
      ("headline", try json(cockpit.headline, present: cockpit.hasHeadline)),
      ("headline_previous", try json(cockpit.headlinePrevious, present: cockpit.hasHeadlinePrevious)),
      ("trend", try json(cockpit.trend, present: cockpit.hasTrend)),
      ("by_business_line", try json(cockpit.byBusinessLine, present: cockpit.hasByBusinessLine)),
      ("alerts", try json(cockpit.alerts, present: cockpit.hasAlerts)),
      ("scorecards", try array(cockpit.scorecards)),
      ("themes", try json(cockpit.themes, present: cockpit.hasThemes)),
      ("at_risk", try json(cockpit.atRisk, present: cockpit.hasAtRisk)),
      ("experiments", try array(cockpit.experiments)),
    ]
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
  }
}

/// The cockpit laid out for a terminal: alerts first, then headline with change, trends
/// as sparklines, the business-line table, experiments and segments. Colour only on a TTY.
struct CockpitView {
  let cockpit: Sightline_Gateway_V1_DashboardResponse
  let days: Int
  /// The tenant's zone, in which times print (named once, in the title line).
  let zone: TimeZone
  let color: Bool

  init(_ cockpit: Sightline_Gateway_V1_DashboardResponse, days: Int, zone: TimeZone, color: Bool) {
    self.cockpit = cockpit
    self.days = days
    self.zone = zone
    self.color = color
  }

  func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
  func bold(_ text: String) -> String { paint(text, "1") }

  func unavailable(_ section: String) -> String? {
    cockpit.sections.first { $0.section == section && !$0.available }.map { "  unavailable: \($0.reason)" }
  }

  func render() -> String {
    var lines: [String] = []
    let generated =
      LocalTime.minute(milliseconds: cockpit.generatedAt.seconds * 1000, zone: zone) + " " + LocalTime.name(zone)
    lines.append(bold("SIGHTLINE COCKPIT") + "  last \(days) days vs the \(days) before  ·  \(generated)")
    lines.append("")
    lines += alerts()
    lines += headline()
    lines += trend()
    lines += byLine()
    lines += experiments()
    lines += segments()
    return lines.joined(separator: "\n")
  }

  func alerts() -> [String] {
    var lines = [bold("ALERTS")]
    if let reason = unavailable("alerts") { return lines + [reason, ""] }
    let alerts = cockpit.alerts.alerts
    if alerts.isEmpty { lines.append("  " + paint("no open alerts", "32")) }
    for alert in alerts {
      let severity = alert.severity == .critical ? paint("CRITICAL", "1;31") : paint("warning ", "33")
      lines.append("  \(severity) \(alert.message)")
      if !alert.contributors.isEmpty { lines.append("           why: \(AlertText.contributors(alert))") }
    }
    return lines + [""]
  }

  func headline() -> [String] {
    let lines = [bold("HEADLINE")]
    if let reason = unavailable("headline") { return lines + [reason, ""] }
    guard let current = cockpit.headline.rows.first else { return lines + ["  no data", ""] }
    let before = cockpit.headlinePrevious.rows.first
    var rows: [[String]] = []
    for (index, value) in current.values.enumerated() {
      guard let kind = WireNames.model(value.kpi) else { continue }
      let previous = before?.values[safe: index]
      let shown = value.sampleSize > 0 ? KpiFormat.value(value.value, kind) : "–"
      let was = previous.map { $0.sampleSize > 0 ? KpiFormat.value($0.value, kind) : "–" } ?? "–"
      let label = value.hours == .business ? " (business h)" : value.hours == .calendar ? " (calendar h)" : ""
      rows.append(["  " + kind.rawValue + label, shown, was, change(value, previous, kind), "n=\(value.sampleSize)"])
    }
    return lines + table(["  kpi", "now", "before", "change", ""], rows) + [""]
  }

  /// An arrow and the change; green when it moved the good way, red when the bad way.
  func change(_ now: Sightline_Metrics_V1_KpiValue, _ before: Sightline_Metrics_V1_KpiValue?, _ kind: KpiKind) -> String {
    guard let before, now.sampleSize > 0, before.sampleSize > 0 else { return "" }
    let delta = now.value - before.value
    let text: String
    if kind.isRate {
      text = (delta >= 0 ? "+" : "−") + KpiFormat.fixed(abs(delta) * 100, digits: 1) + " pts"
    } else if kind == .nps {
      text = (delta >= 0 ? "+" : "−") + KpiFormat.fixed(abs(delta), digits: 1) + " pts"
    } else if before.value != 0 {
      text = (delta >= 0 ? "+" : "−") + KpiFormat.fixed(abs(delta / before.value) * 100, digits: 1) + "%"
    } else {
      text = ""
    }
    let arrow = abs(delta) < 1e-12 ? "→" : delta > 0 ? "↑" : "↓"
    guard let up = kind.higherIsBetter, abs(delta) > 1e-12 else { return "\(arrow) \(text)" }
    return paint("\(arrow) \(text)", (delta > 0) == up ? "32" : "31")
  }

  func trend() -> [String] {
    var lines = [bold("DAILY TREND")]
    if let reason = unavailable("trend") { return lines + [reason, ""] }
    let trend = cockpit.trend
    guard let first = trend.rows.first else { return lines + ["  no data", ""] }
    for (index, value) in first.values.enumerated() {
      guard let kind = WireNames.model(value.kpi) else { continue }
      let series = trend.rows.map { row -> Double? in
        guard let v = row.values[safe: index], v.sampleSize > 0 else { return nil }
        return v.value
      }
      let latest = series.last(where: { $0 != nil }).flatMap { $0 }.map { KpiFormat.value($0, kind) } ?? "–"
      lines.append("  " + kind.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0) + Sparkline.render(series) + "  " + latest)
    }
    return lines + [""]
  }

  func byLine() -> [String] {
    let lines = [bold("BY BUSINESS LINE")]
    if let reason = unavailable("by_business_line") { return lines + [reason, ""] }
    let reply = cockpit.byBusinessLine
    guard !reply.rows.isEmpty else { return lines + ["  no data", ""] }
    let shown: [Sightline_Metrics_V1_Kpi] = [.volume, .firstResponseTime, .csat, .nps, .complaintRate, .backlog]
    let header = ["  line"] + shown.compactMap { WireNames.model($0)?.rawValue }
    let rows = reply.rows.map { row -> [String] in
      ["  " + (row.groupValues.first.map { $0.isEmpty ? "(none)" : $0 } ?? "")]
        + shown.map { kpi in
          guard let value = row.values.first(where: { $0.kpi == kpi }), let kind = WireNames.model(kpi), value.sampleSize > 0
          else { return "–" }
          return KpiFormat.value(value.value, kind)
        }
    }
    return lines + table(header, rows) + [""]
  }

  func experiments() -> [String] {
    var lines = [bold("EXPERIMENTS")]
    if let reason = unavailable("experiments") { return lines + [reason, ""] }
    let evaluations = cockpit.experiments
    if evaluations.isEmpty { lines.append("  no running experiments") }
    for evaluation in evaluations {
      let verdict = ExperimentReport.name(evaluation.verdict).uppercased()
      let painted = evaluation.verdict == .better ? paint(verdict, "1;32") : evaluation.verdict == .worse ? paint(verdict, "1;31") : verdict
      lines.append("  \(evaluation.name): \(painted)\(evaluation.running ? " (running)" : "")")
      for result in evaluation.results {
        guard let kind = WireNames.model(result.metric.kpi) else { continue }
        let relative = result.control != 0 ? " (\(result.relativeEffect >= 0 ? "+" : "")\(KpiFormat.percent(result.relativeEffect)))" : ""
        let decision = ExperimentReport.Decision(result, kind)
        lines.append(
          "    \(kind.rawValue)\(result.guardrail ? " (guardrail)" : ""): \(ExperimentReport.signed(result.effect, kind))\(relative), "
            + "\(ExperimentReport.name(result.verdict)) on \(decision.interval) p=\(decision.p) (\(decision.basis)); "
            + "fixed-horizon \(ExperimentReport.interval(result.ciLow, result.ciHigh, kind)) p=\(KpiFormat.fixed(result.pValueAdjusted, digits: 4))"
        )
      }
      for warning in evaluation.warnings where warning.code != "running" { lines.append("    ! \(warning.message)") }
    }
    return lines + [""]
  }

  func segments() -> [String] {
    var lines = [bold("SEGMENTS, THEMES, FOLLOW-UP")]
    if let reason = unavailable("segments") { return lines + [reason] }
    for card in cockpit.scorecards {
      let figures = card.figures.compactMap { figure -> String? in
        guard let kind = KpiKind(rawValue: figure.name), kind != .volume, figure.sampleSize > 0 else { return nil }
        return "\(kind.rawValue) \(KpiFormat.value(figure.value, kind)) (was \(KpiFormat.value(figure.previous, kind)))"
      }
      lines.append("  \(card.segment) (\(card.members) members): " + figures.joined(separator: ", "))
    }
    if !cockpit.themes.themes.isEmpty {
      lines.append("  negative themes: " + cockpit.themes.themes.prefix(8).map { "\($0.term) (\($0.count))" }.joined(separator: ", "))
    }
    if !cockpit.atRisk.customers.isEmpty {
      lines.append(
        "  call back first: "
          + cockpit.atRisk.customers.prefix(5).map { "\($0.customerID) (\(KpiFormat.fixed($0.score, digits: 0)))" }.joined(separator: ", "))
    }
    return lines
  }

  /// Rows aligned under `header` (colour codes do not count towards widths).
  func table(_ header: [String], _ rows: [[String]]) -> [String] {
    func visible(_ text: String) -> Int { text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression).count }
    let widths = header.indices.map { column in ([header] + rows).map { visible($0[safe: column] ?? "") }.max() ?? 0 }
    return ([header] + rows).map { cells in
      cells.enumerated().map { index, cell in cell + String(repeating: " ", count: max(0, widths[index] - visible(cell))) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.map { "  " + $0 }
  }
}

/// Unicode block sparklines; gaps (no data) show as spaces.
enum Sparkline {
  static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

  static func render(_ series: [Double?]) -> String {
    let values = series.compactMap { $0 }
    guard let low = values.min(), let high = values.max() else { return String(repeating: " ", count: series.count) }
    return String(
      series.map { value -> Character in
        guard let value else { return " " }
        guard high > low else { return blocks[3] }
        return blocks[min(7, Int((value - low) / (high - low) * 7.999))]
      })
  }
}
