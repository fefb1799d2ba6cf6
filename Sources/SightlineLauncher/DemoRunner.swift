import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import SightlineDemo
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// What the demo set up.
public struct DemoOutcome: Sendable {
  /// The tenant created, and its admin key.
  public var tenantID: String
  public var tenantName: String
  public var adminKey: String
  /// Events ingested and the log offset reached.
  public var events: Int
  public var offset: Int64
  /// The rollout experiment's name.
  public var experiment: String
  /// The scenario generated.
  public var scenario: DemoScenario
}

/// The demo, against any running gateway: creates a tenant, sets its aliases and time
/// zone, ingests the seeded data set with progress, defines alert rules and the rollout
/// experiment, and waits until the metrics consumer has caught up. `sightline demo` and
/// the tests run it.
public struct DemoRunner: Sendable {
  /// The rollout experiment's name.
  public static let experimentName = "dashboard rollout"

  let client: GRPCClient<HTTP2ClientTransport.Posix>
  let operatorKey: String
  let progress: @Sendable (String) -> Void

  /// A runner calling the gateway through `client`, administering with `operatorKey` and
  /// reporting progress lines through `progress`.
  public init(client: GRPCClient<HTTP2ClientTransport.Posix>, operatorKey: String, progress: @escaping @Sendable (String) -> Void) {
    self.client = client
    self.operatorKey = operatorKey
    self.progress = progress
  }

  /// Runs `call`, riding out a transient failure (a service restarting, a channel still
  /// connecting) with ``TransientRetry``; each retry is reported as progress.
  private func retrying<R: Sendable>(_ call: () async throws -> R) async throws -> R {
    try await TransientRetry.run(report: progress, call)
  }

  /// Runs the demo for `scenario`. Every step is safe to repeat, so each rides out a
  /// transient UNAVAILABLE: a tenant is created under a name still free at that attempt,
  /// ingest is idempotent by event id, and rules and the experiment are added only when
  /// missing.
  public func run(_ scenario: DemoScenario) async throws -> DemoOutcome {
    let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
    let (name, tenant) = try await retrying {
      let existing = Set(try await gateway.listTenants(.init(), metadata: SuiteMetadata.bearer(operatorKey)).tenants.map(\.name))
      let name = (1...).lazy.map { "demo-\(scenario.seed)" + ($0 == 1 ? "" : "-\($0)") }.first { !existing.contains($0) }!
      return (name, try await gateway.createTenant(.with { $0.name = name }, metadata: SuiteMetadata.bearer(operatorKey)))
    }
    let key = SuiteMetadata.bearer(tenant.adminSecret)
    progress("tenant \(name) created")

    let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
    _ = try await retrying {
      try await ingestion.setAliases(
        .with {
          $0.field = .channel; $0.aliases = ["微信": "wechat", "WeChat": "wechat"]
        }, metadata: key)
    }
    let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
    _ = try await retrying {
      try await metrics.setSettings(
        .with {
          $0.settings.timeZone = DemoScenario.timeZone
          $0.settings.workload = .with { workload in
            workload.handleSeconds = DemoScenario.handleSeconds
            workload.liveChannels = DemoScenario.liveChannels
          }
        }, metadata: key)
    }
    try await retrying {
      do {
        _ = try await metrics.changeCalendar(Self.officeCalendar, metadata: key)
      } catch let error as RPCError where error.code == .alreadyExists {
        // A retry after a create whose answer was lost.
      }
    }

    let dataset = DemoDataset(scenario)
    let events = dataset.events
    progress(
      "generated \(events.count) events: "
        + dataset.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    let batch = 5_000
    let reporter = progress
    let reply = try await retrying {
      try await ingestion.ingestStream(
        request: StreamingClientRequest(metadata: key) { writer in
          for start in stride(from: 0, to: events.count, by: batch) {
            try await writer.write(.with { $0.events = Array(events[start..<min(start + batch, events.count)]) })
            reporter(ProgressBar.line(done: min(start + batch, events.count), total: events.count, label: "ingest"))
          }
        })
    }
    guard reply.rejected.isEmpty else {
      throw RPCError(code: .internalError, message: "the demo data set had rejected records: \(reply.rejected.prefix(3))")
    }
    progress("ingested \(reply.accepted) events (log offset \(reply.offset))")

    for rule in Self.alertRules {
      try await retrying {
        let present = try await metrics.listAlertRules(.init(), metadata: key).rules.contains { $0.name == rule.name }
        if !present { _ = try await metrics.addAlertRule(.with { $0.rule = rule }, metadata: key) }
      }
    }
    try await retrying {
      let rules = try await metrics.listAlertRules(.init(), metadata: key).rules
      _ = try await Sightline_Cases_V1_Cases.Client(wrapping: client).setCaseRules(
        .with { $0.rules = Self.caseRules(spikeRuleIDs: rules.filter { $0.name == Self.alertRules[0].name }.map(\.id), scenario) },
        metadata: key)
    }
    let experiment = Self.rolloutExperiment(scenario)
    let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
    try await retrying {
      let present = try await experiments.listExperiments(.init(), metadata: key).experiments.contains { $0.name == experiment.name }
      if !present { _ = try await experiments.createExperiment(.with { $0.experiment = experiment }, metadata: key) }
    }
    progress("alert rules and the '\(Self.experimentName)' experiment defined; waiting for the metrics service to catch up")
    var options = CallOptions.defaults
    options.timeout = .seconds(120)
    _ = try await retrying {
      try await metrics.queryKpis(
        .with {
          $0.kpis = [.volume]; $0.minOffset = reply.offset
        }, metadata: key, options: options)
    }
    return DemoOutcome(
      tenantID: tenant.tenant.id, tenantName: name, adminKey: tenant.adminSecret, events: Int(reply.accepted),
      offset: reply.offset, experiment: Self.experimentName, scenario: scenario)
  }

  /// The demo tenant's calendar (``DemoScenario/calendarName``): office hours on weekdays,
  /// China's 2026 holidays closed, its make-up working days open.
  public static var officeCalendar: Sightline_Metrics_V1_ChangeCalendarRequest {
    let calendar = DemoScenario.officeCalendar
    return .with {
      $0.name = calendar.name
      $0.create = CalendarWire.hours(calendar.versions[0].hours)
    }
  }

  /// Complaint-rate rules: an anomaly rule per region and a fixed ceiling, over two days
  /// (a region sees about 20 tickets a day in the demo: one day is too thin to judge
  /// without paging on noise).
  public static let alertRules: [Sightline_Metrics_V1_AlertRule] = [
    .with {
      $0.name = "complaint spike by region"
      $0.kpi = .complaintRate
      $0.by = .region
      $0.anomaly = true
      $0.windowSeconds = 2 * 86_400
      $0.minSample = 20
    },
    .with {
      $0.name = "complaint ceiling by region"
      $0.kpi = .complaintRate
      $0.by = .region
      $0.comparison = .greater
      // Far enough above the normal 5 % that a region's ~30 tickets of two days do not
      // cross it by chance (6 complaints of 30 do, somewhere, over months of windows).
      $0.threshold = 0.25
      $0.windowSeconds = 2 * 86_400
      $0.minSample = 20
    },
  ]

  /// The demo tenant's case rules (docs/cases.md): the complaint spike rule's alerts open a
  /// case for the region's team, detractors open follow-ups for the service desk, due in 8
  /// business hours on the office calendar, overdue ones go to the duty manager.
  public static func caseRules(spikeRuleIDs: [String], _ scenario: DemoScenario) -> Sightline_Cases_V1_CaseRules {
    .with {
      $0.alertRuleIds = spikeRuleIDs
      $0.detractors = true
      $0.owners = [
        .with {
          $0.dimension = .region; $0.value = scenario.spikeRegion; $0.owner = "\(scenario.spikeRegion)-team"
        }
      ]
      $0.defaultOwner = "service-desk"
      $0.dueHours = 8
      $0.dueInBusinessHours = true
      $0.escalationOwner = "duty-manager"
    }
  }

  /// The action the demo records on the spike's case: what a manager would do.
  public static let spikeAction = "Two more complaint handlers on the south queue; refunds approved the same day"

  /// The dashboard rollout: treated vs control business lines, the pre-period before it.
  public static func rolloutExperiment(_ scenario: DemoScenario) -> Sightline_Experiments_V1_Experiment {
    .with {
      $0.name = experimentName
      $0.hypothesis = "Business lines with the cockpit answer faster and satisfy more customers"
      $0.unit = .businessLine
      $0.explicit = .with {
        $0.treatment = scenario.treatedLines; $0.control = scenario.controlLines
      }
      $0.start = Google_Protobuf_Timestamp(seconds: scenario.rolloutMs / 1000, nanos: 0)
      $0.prePeriodDays = Int32(scenario.rolloutDay)
      $0.primary = [.with { $0.kpi = .firstResponseTime }, .with { $0.kpi = .csat }]
      $0.guardrails = [.with { $0.kpi = .complaintRate }, .with { $0.kpi = .reopenRate }]
    }
  }
}

/// A one-line progress bar for standard error.
public enum ProgressBar {
  /// "ingest [#########.........]  45% 45000/100000".
  public static func line(done: Int, total: Int, label: String, width: Int = 30) -> String {
    let share = total > 0 ? Double(done) / Double(total) : 1
    let filled = Int(share * Double(width))
    return "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
      + "\(Int(share * 100))% \(done)/\(total)"
  }
}
