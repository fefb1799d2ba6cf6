public import SightlineModel
public import SightlineRPC
public import SightlineStorage
public import SightlineWire
import Synchronization

/// The metrics service's per-tenant databases, and the consumer that folds ingestion's
/// log into them.
public final class MetricsState: LogConsumer {
  let databases: TenantDatabases
  /// When each tenant's consumer last applied a batch (for ``RollupWarmer``).
  private let lastApplied = Mutex<[TenantID: ContinuousClock.Instant]>([:])

  /// State under `dataDirectory` (`tenants/<tenant>/metrics.sqlite`).
  public init(dataDirectory: String) {
    databases = TenantDatabases(root: dataDirectory, service: "metrics", migrator: MetricsStore.migrator)
  }

  /// The KPI state of `tenant`.
  public func store(for tenant: TenantID) throws -> MetricsStore { MetricsStore(writer: try databases.database(for: tenant)) }

  /// The alert rules and alerts of `tenant`.
  public func alerts(for tenant: TenantID) throws -> AlertStore { AlertStore(writer: try databases.database(for: tenant)) }

  /// Tenants with metrics state.
  public func tenants() -> [TenantID] { databases.tenants() }

  public func appliedOffset(tenant: TenantID) throws -> Int64 { try store(for: tenant).appliedOffset() }

  public func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID) throws {
    try store(for: tenant).apply(entries.map { ($0.offset, WireMapping.metricsEvent($0)) }, throughOffset: throughOffset)
    lastApplied.withLock { $0[tenant] = .now }
  }

  /// How long since `tenant`'s consumer last applied a batch (forever, if not since start).
  func quietFor(_ tenant: TenantID) -> Duration {
    lastApplied.withLock { $0[tenant] }.map { .now - $0 } ?? .seconds(1_000_000)
  }
}
