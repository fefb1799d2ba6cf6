import ArgumentParser
import GRPCCore
import SightlineModel
import SightlineWire
import SwiftProtobuf

/// `sightline settings …`: the tenant's KPI settings, and its cockpit targets.
struct SettingsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "settings", abstract: "Show the tenant's KPI settings and cockpit targets; set a target (admin key).",
    subcommands: [Show.self, Target.self])

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the time zone, SLA and complaint targets, and every KPI's cockpit target.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let settings = try await connection.withGateway { client, metadata in
        try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).getSettings(.init(), metadata: metadata)
      }
      print("time zone         \(settings.timeZone)")
      print(
        "first-response SLA urgent \(settings.sla.urgentSeconds) s, high \(settings.sla.highSeconds) s, normal \(settings.sla.normalSeconds) s, low \(settings.sla.lowSeconds) s"
      )
      print("complaint target  \(settings.complaintTargetSeconds) s")
      print("repeat window     \(settings.repeatWindowSeconds) s")
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
