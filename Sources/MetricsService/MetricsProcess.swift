public import Logging
public import ServiceLifecycle
import SightlineModel
import SightlinePostgres
public import SightlineRPC

/// The parts of a metrics process, as ``make(configuration:logger:alertInterval:)``
/// assembles them: the ingestion client, the log follower that folds every tenant's log
/// into KPI state, the alert scheduler, the rollup warmer, the outbox's deliverer, and the
/// mutual-TLS server.
public struct MetricsProcess: Sendable {
  /// Everything to run, in dependency order (the server last, so it drains first).
  public var services: [any Service]
  /// The provider (tests evaluate alerts through it).
  public var provider: MetricsProvider
  /// The mutual-TLS server.
  public var server: SuiteServer

  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.metrics.v1.Metrics"
  /// The cases service the metrics process serves too (docs/cases.md).
  public static let casesServiceName = "sightline.cases.v1.Cases"

  /// A metrics process for `configuration`. Alert rules are evaluated every
  /// `alertInterval`; the outbox is delivered as `delivery` says.
  public static func make(
    configuration: BackendConfiguration, logger: Logger, alertInterval: Duration = .seconds(15),
    delivery: DeliverySettings = DeliverySettings()
  ) throws -> MetricsProcess {
    let ingestion = try configuration.upstreamClient(.ingestion)
    let database = try configuration.databaseURL.map { url in
      try PostgresStartup.shards(
        for: MetricsPostgresSchema.self, url: url, ownerURL: configuration.databaseOwnerURL, shards: configuration.shards, logger: logger)
    }
    let state =
      if let database {
        MetricsLogConsumer(
          storage: PostgresMetricsStores(
            shards: database, service: "metrics", transferDirectory: "\(configuration.dataDirectory)/transfers"))
      } else {
        MetricsLogConsumer(dataDirectory: configuration.dataDirectory)
      }
    // On PostgreSQL, replicas share the tenants' work through leases, and hear of each
    // other's folds; on SQLite this process is the only one.
    // Heartbeats and renewals have connections of their own, so a pool busy with folds and
    // queries never holds them up past the lease time.
    let leases = try database?.leases(component: "metrics", logger: logger)
    let ownership = TenantOwnership(
      store: leases?.store ?? SoleLeases(), component: "metrics", leaseTime: configuration.leaseTime, logger: logger)
    let follower = LogFollower(client: ingestion.client, consumer: state, logger: logger, ownership: ownership)
    // Folds are announced on the database they commit to: listen on every shard.
    let applied = (database?.all ?? []).map {
      AppliedNotification.listener(component: "metrics", url: $0.url, logger: logger, follower.observeApplied)
    }
    // The segmentation service lists customers at risk for the case rules (when configured).
    let segmentation = try configuration.upstreams[.segmentation].map { _ in try configuration.upstreamClient(.segmentation) }
    let provider = MetricsProvider(state: state, follower: follower, segmentation: segmentation?.client)
    let server = try SuiteServer.backend(
      configuration: configuration, services: [provider, CasesProvider(metrics: provider), provider.tenantData(logger: logger)],
      serviceNames: [serviceName, casesServiceName],
      readiness: [follower.readinessCheck(maxLag: configuration.maxConsumerLag)]
        + (database?.all ?? []).map(PostgresStartup.readinessCheck),
      databaseSizes: database.map { PostgresTenantSizes(MetricsPostgresSchema.self, pools: $0.all, logger: logger) }, logger: logger)
    server.health?.setDetail(follower.healthDetail)
    let scheduler = AlertScheduler(provider: provider, logger: logger)
    let announcements = database.map { database in
      PostgresListener(url: database.main.url, channel: AlertAnnouncementChannel.name, logger: logger) { payload in
        if let announcement = AlertAnnouncementChannel.parse(payload) { provider.hear(announcement) }
      }
    }
    let warmer = RollupWarmer(state: state, ownership: ownership, logger: logger)
    let pools: [any Service] = (database?.all ?? []) + (leases?.pools ?? [])
    let listeners: [any Service] = applied + [announcements].compactMap { $0 }
    let services: [any Service] =
      pools + [ingestion] + [segmentation].compactMap { $0 } + listeners + [
        follower,
        PeriodicService(interval: alertInterval) {
          try? await BlockingWork.run { scheduler.evaluateAll() }
          let atRisk = await scheduler.fetchAtRisk()
          try? await BlockingWork.run { scheduler.runCaseRules(atRisk: atRisk) }
        },
        PeriodicService(interval: .seconds(10)) { await warmer.warmQuietTenants() },
        OutboxDeliverer(provider: provider, settings: delivery, logger: logger), server,
      ]
    return MetricsProcess(services: services, provider: provider, server: server)
  }
}
