import Foundation
public import Logging
public import ServiceLifecycle
import SightlineModel
import SightlinePostgres
public import SightlineRPC
import SightlineStorage

/// Assembles the segmentation process: the ingestion client, the log follower that folds
/// every tenant's log into customer state, and the mutual-TLS server.
public enum SegmentationProcess {
  /// The fully qualified gRPC service name, as reported by health.
  public static let serviceName = "sightline.segmentation.v1.Segmentation"

  /// The services to run, in dependency order (the server last, so it drains first).
  public static func make(configuration: BackendConfiguration, logger: Logger) throws -> [any Service] {
    let ingestion = try configuration.upstreamClient(.ingestion)
    let database = try configuration.databaseURL.map { url in
      try PostgresStartup.shards(
        for: SegmentationPostgresSchema.self, url: url, ownerURL: configuration.databaseOwnerURL, shards: configuration.shards,
        logger: logger)
    }
    let state =
      if let database {
        SegmentationLogConsumer(
          storage: PostgresSegmentationStores(
            shards: database, service: "segmentation", transferDirectory: "\(configuration.dataDirectory)/transfers"))
      } else {
        SegmentationLogConsumer(dataDirectory: configuration.dataDirectory)
      }
    // On PostgreSQL, replicas share the tenants' work through leases, and hear of each
    // other's folds; on SQLite this process is the only one.
    // Heartbeats and renewals have connections of their own, so a pool busy with folds and
    // queries never holds them up past the lease time.
    let leases = try database?.leases(component: "segmentation", logger: logger)
    let ownership = TenantOwnership(
      store: leases?.store ?? SoleLeases(), component: "segmentation", leaseTime: configuration.leaseTime, logger: logger)
    let follower = LogFollower(client: ingestion.client, consumer: state, logger: logger, ownership: ownership)
    // Folds are announced on the database they commit to: listen on every shard.
    let applied = (database?.all ?? []).map {
      AppliedNotification.listener(component: "segmentation", url: $0.url, logger: logger, follower.observeApplied)
    }
    let provider = SegmentationProvider(state: state, follower: follower, clock: WallClock.unixMilliseconds)
    let server = try SuiteServer.backend(
      configuration: configuration, services: [provider, provider.tenantData(logger: logger)], serviceNames: [serviceName],
      readiness: [follower.readinessCheck(maxLag: configuration.maxConsumerLag)]
        + (database?.all ?? []).map(PostgresStartup.readinessCheck),
      databaseSizes: database.map { PostgresTenantSizes(SegmentationPostgresSchema.self, pools: $0.all, logger: logger) }, logger: logger)
    server.health?.setDetail(follower.healthDetail)
    let pools: [any Service] = (database?.all ?? []) + (leases?.pools ?? [])
    let listeners: [any Service] = applied
    return pools + [ingestion] + listeners + [follower, server]
  }
}
