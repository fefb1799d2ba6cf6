import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineWire
import SwiftProtobuf

/// `sightline settings …`: the tenant's KPI settings, and its cockpit targets.
struct SettingsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "settings",
    abstract: "Show the tenant's KPI settings and cockpit targets; set them, or a target (admin key).",
    subcommands: [Show.self, Set.self, Target.self])

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the time zone, SLA and complaint targets, and every KPI's cockpit target.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let settings = try await connection.withGateway { client, metadata in
        try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).getSettings(.init(), metadata: metadata)
      }
      printSettings(settings)
      print("")
      let own = Dictionary(
        settings.targets.compactMap { target in WireNames.model(target.kpi).map { ($0, target) } }, uniquingKeysWith: { $1 })
      let rows = KpiKind.allCases.compactMap { kind -> [String]? in
        if let target = own[kind] {
          return [
            kind.rawValue, Self.direction(kind) + KpiFormat.value(target.goal, kind), KpiFormat.value(target.tolerance, kind), "tenant",
          ]
        }
        guard let target = KpiTarget.defaults[kind] else { return nil }
        return [
          kind.rawValue, Self.direction(kind) + KpiFormat.value(target.goal, kind), KpiFormat.value(target.tolerance, kind), "default",
        ]
      }
      printTable(["KPI", "TARGET", "AMBER WITHIN", "SET BY"], rows)
    }

    static func direction(_ kind: KpiKind) -> String { kind.higherIsBetter == true ? "≥ " : "≤ " }
  }

  /// The time zone and targets, durations as people write them.
  static func printSettings(_ settings: Sightline_Metrics_V1_TenantSettings) {
    let sla = settings.sla
    print("time zone          \(settings.timeZone)")
    print(
      "first-response SLA urgent \(HumanDuration.text(sla.urgentSeconds)), high \(HumanDuration.text(sla.highSeconds)), "
        + "normal \(HumanDuration.text(sla.normalSeconds)), low \(HumanDuration.text(sla.lowSeconds))")
    print("complaint target   \(HumanDuration.text(settings.complaintTargetSeconds))")
    print("repeat window      \(HumanDuration.text(settings.repeatWindowSeconds))")
  }

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set the time zone, first-response SLA targets, complaint target or repeat window (admin key).",
      discussion: """
        Durations are written as people write them: 45s, 30m, 1h30m, 1.5h, 48h, 7d, 2w. Settings not given are \
        kept. Example: sightline settings set --time-zone Asia/Shanghai --sla urgent=1h,high=4h,normal=8h,low=24h \
        --complaint-target 48h --repeat-window 7d
        """)
    @Option(help: "IANA time zone of the tenant's days, weeks and months, e.g. Asia/Shanghai.") var timeZone: String?
    @Option(help: "First-response SLA targets by priority, e.g. urgent=1h,high=4h,normal=8h,low=24h (any of them).")
    var sla: String?
    @Option(help: "Complaint closure target, e.g. 48h.") var complaintTarget: String?
    @Option(help: "Repeat-contact window, e.g. 7d.") var repeatWindow: String?
    @OptionGroup var connection: ConnectionOptions

    /// The settings asked for, each parsed: a mistake names its flag.
    struct Changes: Sendable {
      var timeZone: String?
      var sla: [String: Int64] = [:]
      var complaintTarget: Int64?
      var repeatWindow: Int64?
    }

    static func duration(_ text: String, flag: String) throws -> Int64 {
      switch HumanDuration.seconds(text) {
      case .success(let seconds): return seconds
      case .failure(let error): throw ValidationError("\(flag): \(error)")
      }
    }

    func changes() throws -> Changes {
      var changes = Changes()
      if let timeZone {
        guard TimeZone(identifier: timeZone) != nil else {
          throw ValidationError("--time-zone: '\(timeZone)' is not an IANA time zone (e.g. Asia/Shanghai)")
        }
        changes.timeZone = timeZone
      }
      if let sla {
        for part in sla.split(separator: ",") {
          let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
          guard pair.count == 2, ["urgent", "high", "normal", "low"].contains(pair[0].lowercased()) else {
            throw ValidationError("--sla: '\(part)' is not PRIORITY=DURATION (priorities urgent, high, normal, low)")
          }
          let priority = pair[0].lowercased()
          guard changes.sla[priority] == nil else { throw ValidationError("--sla: \(priority) is given twice") }
          changes.sla[priority] = try Self.duration(pair[1], flag: "--sla \(priority)")
        }
      }
      if let complaintTarget { changes.complaintTarget = try Self.duration(complaintTarget, flag: "--complaint-target") }
      if let repeatWindow { changes.repeatWindow = try Self.duration(repeatWindow, flag: "--repeat-window") }
      return changes
    }

    func validate() throws {
      guard timeZone != nil || sla != nil || complaintTarget != nil || repeatWindow != nil else {
        throw ValidationError("give at least one of --time-zone, --sla, --complaint-target, --repeat-window")
      }
      _ = try changes()
    }

    func run() async throws {
      let changes = try self.changes()
      let settings = try await connection.withGateway { client, metadata in
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        // SetSettings replaces the whole settings: start from the current ones.
        var settings = try await metrics.getSettings(.init(), metadata: metadata)
        if let zone = changes.timeZone { settings.timeZone = zone }
        if let seconds = changes.sla["urgent"] { settings.sla.urgentSeconds = seconds }
        if let seconds = changes.sla["high"] { settings.sla.highSeconds = seconds }
        if let seconds = changes.sla["normal"] { settings.sla.normalSeconds = seconds }
        if let seconds = changes.sla["low"] { settings.sla.lowSeconds = seconds }
        if let seconds = changes.complaintTarget { settings.complaintTargetSeconds = seconds }
        if let seconds = changes.repeatWindow { settings.repeatWindowSeconds = seconds }
        return try await metrics.setSettings(.with { $0.settings = settings }, metadata: metadata)
      }
      SettingsCommand.printSettings(settings)
    }
  }

  struct Target: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set (or with --clear, remove) the tenant's cockpit target for one KPI.",
      discussion: "Shares are fractions (csat 0.9), times seconds (first_response_time 1800). Other settings are kept.")
    @Argument(help: "The KPI, e.g. csat or first_response_time.") var kpi: String
    @Option(help: "The value to reach: at least, when higher is better; at most, otherwise.") var goal: Double?
    @Option(help: "How far short of the goal is still amber (default 0).") var tolerance: Double = 0
    @Flag(help: "Go back to the default target.") var clear = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      _ = try WireNames.kpi(kpi)
      guard clear != (goal != nil) else { throw ValidationError("give --goal (and --tolerance), or --clear") }
    }

    func run() async throws {
      let kpi = try WireNames.kpi(self.kpi)
      let (goal, tolerance, clear) = (self.goal, self.tolerance, self.clear)
      let settings = try await connection.withGateway { client, metadata in
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        // SetSettings replaces the whole settings: start from the current ones.
        var settings = try await metrics.getSettings(.init(), metadata: metadata)
        settings.targets.removeAll { $0.kpi == kpi }
        if !clear, let goal {
          settings.targets.append(
            .with {
              $0.kpi = kpi; $0.goal = goal; $0.tolerance = tolerance
            })
        }
        return try await metrics.setSettings(.with { $0.settings = settings }, metadata: metadata)
      }
      let target = settings.targets.first { $0.kpi == kpi }
      print(target.map { "\(self.kpi): goal \($0.goal), amber within \($0.tolerance)" } ?? "\(self.kpi): the default target")
    }
  }
}
