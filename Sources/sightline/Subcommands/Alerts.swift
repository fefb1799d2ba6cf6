import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline alerts …`: alerts and alert rules of the caller's tenant.
struct AlertsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "alerts", abstract: "List and watch alerts; add, list and remove alert rules.",
    subcommands: [List.self, Watch.self, RuleCommand.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List alerts, newest first.")
    @Flag(help: "Only open alerts.") var open = false
    @Option(help: "At most this many.") var limit: Int32 = 50
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (open, limit) = (self.open, self.limit)
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listAlerts(
            .with {
              $0.openOnly = open; $0.limit = limit
            }, metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      if reply.alerts.isEmpty {
        print(open ? "No open alerts." : "No alerts.")
        return
      }
      printTable(
        [
          "state", "severity", "opened (\(DateArgument.zoneName(zone)))", "metric", "where", "value", "expected", "n",
          "why (vs a week before)",
        ],
        reply.alerts.map { alert in
          [
            alert.hasResolvedAt ? "resolved" : "OPEN", AlertText.severity(alert.severity),
            DateArgument.localTime(alert.openedAt, zone: zone), AlertText.metric(alert), AlertText.scope(alert),
            AlertText.value(alert), AlertText.expected(alert), String(alert.sampleSize),
            AlertText.contributors(alert),
          ]
        })
    }
  }

  struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print alerts as they open and resolve, until interrupted.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      try await connection.withGateway { client, metadata in
        // Each line starts with the local time, named once here.
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        FileHandle.standardOutput.write(Data("watching alerts (times in \(LocalTime.name(zone)))\n".utf8))
        try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).watchAlerts(.init(), metadata: metadata) { response in
          for try await message in response.messages {
            let alert = message.alert
            let state = alert.hasResolvedAt ? "resolved" : "OPENED  "
            let line =
              "\(LocalTime.minute(milliseconds: WallClock.now, zone: zone)) \(state) "
              + "\(AlertText.severity(alert.severity)) \(alert.message)"
              + (alert.contributors.isEmpty || alert.hasResolvedAt ? "" : "; why: \(AlertText.contributors(alert))") + "\n"
            // Unbuffered, so a pipe sees each alert as it happens.
            FileHandle.standardOutput.write(Data(line.utf8))
          }
        }
      }
    }
  }

  struct RuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule", abstract: "Alert rules.", subcommands: [Add.self, List.self, Remove.self, Test.self])

    struct Add: AsyncParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Add a threshold (--above/--below), anomaly (--anomaly) or staffing-gap (--staffing-gap) rule.",
        discussion: """
          Example: sightline alerts rule add --metric complaint_rate --by region --window 1d --above 0.08
          A staffing-gap rule watches the forecast need per hour over the next --ahead against the tenant's stored roster
          (sightline workload roster FILE), and alerts on each run of hours short by --short-by agents or more:
          sightline alerts rule add --staffing-gap --short-by 2 --ahead 7d
          """)
      @Option(help: "The KPI watched (not for --staffing-gap).") var metric: String?
      @Option(help: "Evaluate per value of this dimension.") var by: String?
      @Option(help: "Window: e.g. 1d, 6h, 30m, 1h30m (default 1d).") var window: String = "1d"
      @Option(help: "Alert when the value is above this.") var above: Double?
      @Option(help: "Alert when the value is below this.") var below: Double?
      @Flag(help: "Alert on values outside the robust baseline (same weekday, last 4 weeks).") var anomaly = false
      @Option(help: "Windows with fewer observations are not judged (default 20).") var minSample: Int64 = 20
      @Flag(help: "Alert on hours ahead whose forecast need exceeds the stored roster.") var staffingGap = false
      @Option(help: "--staffing-gap: agents short that make an hour a gap (default 1).") var shortBy: Double = 1
      @Option(help: "--staffing-gap: how far ahead to look, 1h to 28d (default 7d).") var ahead: String = "7d"
      @Option(help: "A name for people.") var name: String = ""
      @OptionGroup var connection: ConnectionOptions

      func validate() throws {
        let modes = [above != nil, below != nil, anomaly, staffingGap].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --above, --below, --anomaly, --staffing-gap") }
        if staffingGap {
          guard metric == nil && by == nil else { throw ValidationError("--staffing-gap watches the roster: no --metric or --by") }
          _ = try Self.seconds(ahead, flag: "--ahead")
        } else {
          guard metric != nil else { throw ValidationError("--metric is required (or --staffing-gap)") }
          _ = try Self.seconds(window)
        }
      }

      static func seconds(_ text: String, flag: String = "--window") throws -> Int64 {
        switch HumanDuration.seconds(text) {
        case .success(let seconds): return seconds
        case .failure(let error): throw ValidationError("\(flag): \(error)")
        }
      }

      func run() async throws {
        let rule = try staffingGap ? staffingGapRule() : kpiRule()
        let added = try await connection.withGateway { client, metadata in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).addAlertRule(
            .with { $0.rule = rule }, metadata: metadata)
        }
        print("rule \(added.id) added: \(AlertText.describe(added))")
      }

      private func staffingGapRule() throws -> Sightline_Metrics_V1_AlertRule {
        try .with {
          $0.name = name
          $0.kind = .staffingGap
          $0.kpi = .volume
          $0.windowSeconds = try Self.seconds(ahead, flag: "--ahead")
          $0.threshold = shortBy
        }
      }

      private func kpiRule() throws -> Sightline_Metrics_V1_AlertRule {
        try .with {
          $0.name = name
          $0.kpi = try WireNames.kpi(metric ?? "")
          if let by { $0.by = try WireNames.dimension(by) }
          $0.windowSeconds = try Self.seconds(window)
          if let above { $0.comparison = .greater; $0.threshold = above }
          if let below { $0.comparison = .less; $0.threshold = below }
          $0.anomaly = anomaly
          $0.minSample = minSample
        }
      }
    }

    struct List: AsyncParsableCommand {
      static let configuration = CommandConfiguration(abstract: "List alert rules.")
      @OptionGroup var connection: ConnectionOptions

      func run() async throws {
        let reply = try await connection.withGateway { client, metadata in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listAlertRules(.init(), metadata: metadata)
        }
        if reply.rules.isEmpty {
          print("No alert rules. Add one with: sightline alerts rule add --metric complaint_rate --by region --above 0.08")
          return
        }
        printTable(["id", "name", "rule"], reply.rules.map { [$0.id, $0.name, AlertText.describe($0)] })
      }
    }

    struct Test: AsyncParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Replay a rule over history, as the scheduler would have judged it; nothing is written.",
        discussion: """
          Prints when the rule would have opened and resolved, per dimension value, with the value, the expected
          range and what moved the KPI. Judged every --step on what is known now, by event time.
          Example: sightline alerts rule test rule_1a2b3c4d --over 90d
          """)
      @Argument(help: "Rule id (see: sightline alerts rule list).") var id: String
      @Option(help: "How far back: e.g. 90d (default), 14d, 12h.") var over: String = "90d"
      @Option(help: "How often to judge: e.g. 1h (default), 15m, 1d.") var step: String = "1h"
      @Option(help: "Output: table or json.") var format: Kpi.Format = .table
      @OptionGroup var connection: ConnectionOptions

      func validate() throws {
        _ = try Add.seconds(over, flag: "--over")
        _ = try Add.seconds(step, flag: "--step")
      }

      func run() async throws {
        let request = try Sightline_Metrics_V1_TestAlertRuleRequest.with {
          $0.ruleID = id
          $0.overSeconds = try Add.seconds(over, flag: "--over")
          $0.stepSeconds = try Add.seconds(step, flag: "--step")
        }
        let (reply, zone) = try await connection.withGateway { client, metadata in
          (
            try await TransientRetry.run {
              try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).testAlertRule(request, metadata: metadata)
            },
            await DateArgument.tenantZone(client, metadata: metadata)
          )
        }
        if format == .json {
          var options = JSONEncodingOptions()
          options.preserveProtoFieldNames = true
          print(try reply.jsonString(options: options))
          return
        }
        let time = { (t: Google_Protobuf_Timestamp) in DateArgument.localTime(t, zone: zone) }
        print(
          "\(reply.rule.name): \(AlertText.describe(reply.rule)); judged \(reply.evaluations) times, every "
            + "\(reply.stepSeconds / 60) min, \(time(reply.range.start)) – \(time(reply.range.end)) "
            + "(times in \(DateArgument.zoneName(zone)))")
        guard !reply.episodes.isEmpty else {
          print("It would not have alerted.")
          return
        }
        printTable(
          ["where", "opened", "resolved", "severity", "value", "expected", "n", "why (vs a week before)"],
          reply.episodes.map { episode in
            let alert = Sightline_Metrics_V1_Alert.with {
              $0.kpi = reply.rule.kpi
              $0.dimension = reply.rule.by
              $0.dimensionValue = episode.dimensionValue
              $0.expectedLow = episode.expectedLow
              $0.expectedHigh = episode.expectedHigh
              $0.contributors = episode.contributors
            }
            return [
              AlertText.scope(alert), time(episode.openedAt), episode.hasResolvedAt ? time(episode.resolvedAt) : "still open",
              AlertText.severity(episode.severity), AlertText.value(episode.value, reply.rule.kpi), AlertText.expected(alert),
              String(episode.sampleSize), AlertText.contributors(alert),
            ]
          })
      }
    }

    struct Remove: AsyncParsableCommand {
      static let configuration = CommandConfiguration(abstract: "Remove an alert rule.")
      @Argument(help: "Rule id.") var id: String
      @OptionGroup var connection: ConnectionOptions

      func run() async throws {
        let id = self.id
        _ = try await connection.withGateway { client, metadata in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).removeAlertRule(
            .with { $0.id = id }, metadata: metadata)
        }
        print("rule \(id) removed")
      }
    }
  }
}

/// How alerts and rules read on a terminal.
enum AlertText {
  static func severity(_ severity: Sightline_Metrics_V1_Severity) -> String {
    switch severity {
    case .critical: "CRITICAL"
    case .warning: "warning"
    case .info: "info"
    default: "-"
    }
  }

  static func scope(_ alert: Sightline_Metrics_V1_Alert) -> String {
    if alert.ruleKind == .staffingGap { return "from \(alert.dimensionValue), \(alert.sampleSize) h" }
    return alert.dimension == .unspecified ? "all" : "\(WireNames.name(alert.dimension))=\(alert.dimensionValue)"
  }

  /// What the alert is about: its KPI, or the staffing gap.
  static func metric(_ alert: Sightline_Metrics_V1_Alert) -> String {
    alert.ruleKind == .staffingGap ? "staffing gap" : WireNames.name(alert.kpi)
  }

  /// An alert's value: agents short for a staffing gap, else in its KPI's unit.
  static func value(_ alert: Sightline_Metrics_V1_Alert) -> String {
    alert.ruleKind == .staffingGap ? "\(KpiFormat.fixed(alert.value, digits: 1)) agents" : value(alert.value, alert.kpi)
  }

  static func value(_ value: Double, _ kpi: Sightline_Metrics_V1_Kpi) -> String {
    WireNames.model(kpi).map { KpiFormat.value(value, $0) } ?? "\(value)"
  }

  /// The alert's top contributors, "region=south +3.5 pts, …" ("–" without any).
  static func contributors(_ alert: Sightline_Metrics_V1_Alert) -> String {
    guard let kpi = WireNames.model(alert.kpi), !alert.contributors.isEmpty else { return "–" }
    return alert.contributors.map {
      "\(WireNames.name($0.dimension))=\($0.value) \(KpiFormat.change($0.effect, kpi))"
    }.joined(separator: ", ")
  }

  static func expected(_ alert: Sightline_Metrics_V1_Alert) -> String {
    if alert.ruleKind == .staffingGap { return "short by < \(KpiFormat.fixed(alert.expectedHigh, digits: 1))" }
    return "\(value(alert.expectedLow, alert.kpi))–\(value(alert.expectedHigh, alert.kpi))"
  }

  static func describe(_ rule: Sightline_Metrics_V1_AlertRule) -> String {
    if rule.kind == .staffingGap {
      let ahead = rule.windowSeconds % 86_400 == 0 ? "\(rule.windowSeconds / 86_400)d" : "\(rule.windowSeconds / 3_600)h"
      return "staffing gap: forecast need over the roster by ≥ \(KpiFormat.fixed(rule.threshold, digits: 1)) agents, \(ahead) ahead"
    }
    let scope = rule.by == .unspecified ? "" : " by \(WireNames.name(rule.by))"
    let window = rule.windowSeconds % 86_400 == 0 ? "\(rule.windowSeconds / 86_400)d" : "\(rule.windowSeconds / 3_600)h"
    let test =
      rule.anomaly
      ? "anomalous"
      : "\(rule.comparison == .less ? "<" : ">") \(value(rule.threshold, rule.kpi))"
    return "\(WireNames.name(rule.kpi)) \(test)\(scope) over \(window) (min sample \(rule.minSample))"
  }
}
