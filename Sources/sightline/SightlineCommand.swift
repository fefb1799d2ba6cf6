import ArgumentParser

/// The `sightline` command-line tool: runs a local suite and talks to a gateway.
@main
struct SightlineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sightline",
    abstract: "Service-quality analytics: run the Sightline suite and talk to its gateway.",
    version: "0.1.0",
    subcommands: [
      Demo.self, Up.self, Health.self, TenantCommand.self, KeyCommand.self, WhoAmI.self, Ingest.self, Stats.self, Retention.self,
      Redaction.self, AuditCommand.self, Kpi.self,
      Explain.self, WorkloadCommand.self,
      AlertsCommand.self, ExperimentCommand.self, Dashboard.self, SegmentsCommand.self, CustomersCommand.self,
      ThemesCommand.self, SettingsCommand.self, CalendarCommand.self, SlaPolicyCommand.self, CasesCommand.self, FollowUpsCommand.self,
      CaseRulesCommand.self, EndpointsCommand.self,
    ])
}
