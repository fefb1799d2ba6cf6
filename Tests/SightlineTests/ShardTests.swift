import Foundation
import GRPCCore
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Tenants spread over two PostgreSQL databases (shards): each new tenant goes to the
/// shard with the fewest tenants unless the operator names one, every service reads and
/// writes each tenant's rows on that tenant's shard only, and the answers are those of one
/// database.
@Suite(.enabled(if: TestPostgres.available, TestPostgres.howToRun), .serialized)
struct ShardTests {
  @Test func newTenantsGoToTheEmptiestShardAndTheirRowsLiveThereOnly() async throws {
    try await TestPostgres.withScratchDatabase { main in
      try await TestPostgres.withScratchDatabase { other in
        let database = SuiteDatabase(url: main.url, ownerURL: main.ownerURL, shards: ["b": other.url])
        try await InProcessSuite.with(database: database) { suite in
          try await suite.withGatewayClient { client in
            let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
            let operatorKey = SuiteMetadata.bearer(suite.operatorKey)
            func create(_ name: String, on shard: String = "") async throws -> Sightline_Gateway_V1_CreateTenantResponse {
              try await gateway.createTenant(
                .with {
                  $0.name = name
                  $0.shard = shard
                }, metadata: operatorKey)
            }
            // Emptiest first, main winning the tie; a named shard is honoured.
            let alpha = try await create("alpha")
            let beta = try await create("beta")
            let gamma = try await create("gamma", on: "b")
            let delta = try await create("delta")
            #expect([alpha, beta, gamma, delta].map(\.tenant.shard) == ["main", "b", "b", "main"])
            let unknown = await #expect(throws: RPCError.self) { try await create("epsilon", on: "c") }
            #expect(unknown?.code == .invalidArgument)
            #expect(unknown?.message.contains("no shard named 'c': the shards are main, b") == true, "\(unknown?.message ?? "")")
            let listed = try await gateway.listTenants(.init(), metadata: operatorKey).tenants
            #expect(
              Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0.shard) }) == [
                "alpha": "main", "beta": "b", "gamma": "b", "delta": "main",
              ])

            // Each tenant's tickets, through the gateway, answered on its own shard.
            let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
            let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
            let endMs = Int64(Date().timeIntervalSince1970 * 1000) / 3_600_000 * 3_600_000
            for (tenant, count) in [(alpha, 3), (beta, 5)] {
              let key = SuiteMetadata.bearer(tenant.adminSecret)
              let stored = try await ingestion.ingest(
                .with {
                  $0.events = (0..<count).map {
                    ReplicaSuiteTests.ticketCreated("\(tenant.tenant.name)-\($0)", at: endMs - Int64($0 + 1) * 3_600_000)
                  }
                }, metadata: key)
              #expect(stored.accepted == Int32(count))
              let volume = try await metrics.queryKpis(
                ReplicaSuiteTests.volume(from: endMs - 86_400_000, to: endMs, minOffset: stored.offset), metadata: key)
              #expect(volume.rows.first?.values.first?.value == Double(count), "\(tenant.tenant.name)")
              #expect(try await ingestion.getStats(.init(), metadata: key).lastOffset == stored.offset)
            }

            // The rows: alpha's on main only, beta's on b only, for every service.
            let placed = [(main, alpha.tenant.id, beta.tenant.id), (other, beta.tenant.id, alpha.tenant.id)]
            for (shard, own, foreign) in placed {
              let registered = try Self.registered(on: shard)
              #expect(registered[own] == ["ingestion", "metrics", "segmentation"], "\(shard.url)")
              #expect(registered[foreign] == nil, "\(shard.url)")
              #expect(try Self.events(of: own, on: shard) > 0)
              #expect(try Self.events(of: foreign, on: shard) == 0)
            }
          }
        }
      }
    }
  }

  /// The services registered per tenant on one database (`sightline_tenant`), sorted.
  static func registered(on database: SuiteDatabase) throws -> [String: [String]] {
    try withOwnerPool(database) { pool in
      try pool.withSession { session in
        var result: [String: [String]] = [:]
        for row in try session.query("SELECT tenant_id, component FROM sightline_tenant WHERE state = 'live' ORDER BY component") {
          let (tenant, component) = try row.decode((String, String).self)
          result[tenant, default: []].append(component)
        }
        return result
      }
    }
  }

  /// The events of `tenant` in one database's log, read under the tenant's row-level security.
  static func events(of tenant: String, on database: SuiteDatabase) throws -> Int {
    try withOwnerPool(database) { pool in
      try pool.transaction(tenant: TenantID(tenant)!) { session in
        try session.value("SELECT count(*)::bigint FROM ingestion.event WHERE tenant_id = \(tenant)", as: Int.self) ?? 0
      }
    }
  }

  static func withOwnerPool<R>(_ database: SuiteDatabase, _ body: (PostgresPool) throws -> R) throws -> R {
    try TestPostgres.with(try DatabaseURL(database.ownerURL!), body)
  }
}
