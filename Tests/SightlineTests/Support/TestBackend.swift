import ExperimentsService
import Foundation
import GatewayService
import IngestionService
import Logging
import MetricsService
import SegmentationService
import SightlineModel
import SightlinePostgres
import SightlineStorage
import SightlineTesting
import Synchronization
import Testing

/// The storage backends the store-level tests run on: SQLite always, PostgreSQL when a test
/// server is there (and always under `CI=true`, where a missing server fails the run).
enum TestBackend: String, Sendable, CustomTestStringConvertible {
  case sqlite, postgres

  static var all: [TestBackend] { TestPostgres.available ? [.sqlite, .postgres] : [.sqlite] }

  var testDescription: String { rawValue }

  /// Every tenant's event log on this backend; SQLite files go under `directory`.
  func eventLogs(directory: String) throws -> any EventLogStorage {
    switch self {
    case .sqlite: SQLiteTenantStores<EventLogSchema>(root: directory, service: "ingestion")
    case .postgres:
      PostgresEventLogs(
        pool: try Self.pool(EventLogPostgresSchema.self), service: "ingestion", transferDirectory: directory + "/transfers")
    }
  }

  /// The gateway's tenants and keys on this backend.
  func gatewayStore() throws -> any GatewayStore {
    switch self {
    case .sqlite: try SQLiteGatewayStore.inMemory()
    case .postgres: PostgresGatewayStore(pool: try Self.pool(GatewayPostgresSchema.self))
    }
  }

  /// Every tenant's experiment definitions on this backend.
  func experimentStores(directory: String) throws -> any ExperimentStorage {
    switch self {
    case .sqlite: SQLiteTenantStores<ExperimentSchema>(root: directory, service: "experiments")
    case .postgres:
      PostgresExperimentStores(
        pool: try Self.pool(ExperimentPostgresSchema.self), service: "experiments", transferDirectory: directory + "/transfers")
    }
  }

  /// Every tenant's metrics state and alerts on this backend.
  func metricsStores(directory: String) throws -> any MetricsStorage {
    switch self {
    case .sqlite: SQLiteTenantStores<MetricsSchema>(root: directory, service: "metrics")
    case .postgres:
      PostgresMetricsStores(
        pool: try Self.pool(MetricsPostgresSchema.self), service: "metrics", transferDirectory: directory + "/transfers")
    }
  }

  /// Every tenant's segmentation state on this backend.
  func segmentationStores(directory: String) throws -> any SegmentationStorage {
    switch self {
    case .sqlite: SQLiteTenantStores<SegmentationSchema>(root: directory, service: "segmentation")
    case .postgres:
      PostgresSegmentationStores(
        pool: try Self.pool(SegmentationPostgresSchema.self), service: "segmentation", transferDirectory: directory + "/transfers")
    }
  }

  /// Runs `body` with the whole suite in this process on this backend (PostgreSQL: in a
  /// database of its own, dropped afterwards).
  func withSuite<R: Sendable>(
    logHandler: (@Sendable (String) -> any LogHandler)? = nil, delivery: DeliverySettings = DeliverySettings(),
    _ body: @Sendable (InProcessSuite) async throws -> R
  ) async throws -> R {
    switch self {
    case .sqlite: try await InProcessSuite.with(logHandler: logHandler, delivery: delivery, body)
    case .postgres:
      try await TestPostgres.withScratchDatabase { database in
        try await InProcessSuite.with(logHandler: logHandler, database: database, delivery: delivery, body)
      }
    }
  }

  /// A tenant id no earlier run used: the PostgreSQL test database outlives a run.
  static func freshTenant(_ prefix: String = "t") -> TenantID {
    TenantID(prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())!
  }

  private static let pools = Mutex<[String: PostgresPool]>([:])

  /// The service role's pool in `Schema`'s namespace, migrated once per test process.
  static func pool<Schema: PostgresSchema>(_ schema: Schema.Type) throws -> PostgresPool {
    if let pool = pools.withLock({ $0[Schema.component] }) { return pool }
    let urls = try TestPostgres.urls()
    let pool = try PostgresStartup.pool(
      for: Schema.self, url: urls.service, ownerURL: urls.owner, logger: TestPostgres.logger)
    return pools.withLock { pools in
      if let existing = pools[Schema.component] {
        pool.close()
        return existing
      }
      pools[Schema.component] = pool
      return pool
    }
  }
}
