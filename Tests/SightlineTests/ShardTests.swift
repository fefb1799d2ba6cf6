import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

@testable import SightlineRPC

/// Tenants spread over two PostgreSQL databases (shards): each new tenant goes to the
/// shard with the fewest tenants unless the operator names one, every service reads and
/// writes each tenant's rows on that tenant's shard only, and the answers are those of one
/// database.
@Suite(.enabled(if: TestPostgres.available, TestPostgres.howToRun), .serialized)
struct ShardTests {
  @Test func newTenantsGoToTheEmptiestShardAndTheirRowsLiveThereOnly() async throws {
    try await Self.withTwoShards { suite, client, main, other in
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

  /// A tenant moved to the other shard while its tickets keep arriving: nothing is lost or
  /// doubled, its answers are those from before the move, its old rows are gone only from
  /// the shard it left, and a tenant on the target shard never sees any of it.
  @Test func aTenantMovesUnderIngestLosingNothingAndShowingNothingToAnother() async throws {
    try await Self.withTwoShards { suite, client, main, other in
      let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
      let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
      let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      let operatorKey = SuiteMetadata.bearer(suite.operatorKey)
      let alpha = try await gateway.createTenant(.with { $0.name = "alpha" }, metadata: operatorKey)
      let beta = try await gateway.createTenant(.with { $0.name = "beta" }, metadata: operatorKey)
      #expect([alpha.tenant.shard, beta.tenant.shard] == ["main", "b"])
      let (alphaKey, betaKey) = (SuiteMetadata.bearer(alpha.adminSecret), SuiteMetadata.bearer(beta.adminSecret))
      let hourMs: Int64 = 3_600_000
      let endMs = Int64(Date().timeIntervalSince1970 * 1000) / hourMs * hourMs
      // The answers compared: the first 200 tickets' day, before and after the move.
      let (dayStart, dayEnd) = (endMs - 48 * hourMs, endMs - 24 * hourMs)
      func tickets(_ prefix: String, _ range: Range<Int>, from startMs: Int64) -> [Sightline_Ingestion_V1_Event] {
        range.map { ReplicaSuiteTests.ticketCreated("\(prefix)-\($0)", at: startMs + Int64($0 % 24) * hourMs + Int64($0)) }
      }
      let first = try await ingestion.ingest(.with { $0.events = tickets("early", 0..<200, from: dayStart) }, metadata: alphaKey)
      let foreign = try await ingestion.ingest(.with { $0.events = tickets("beta", 0..<50, from: dayStart) }, metadata: betaKey)
      func volume(_ key: Metadata, from: Int64, to: Int64, after offset: Int64) async throws -> Double {
        try await metrics.queryKpis(ReplicaSuiteTests.volume(from: from, to: to, minOffset: offset), metadata: key)
          .rows.first?.values.first?.value ?? -1
      }
      let before = try await volume(alphaKey, from: dayStart, to: dayEnd, after: first.offset)
      #expect(before == 200)
      #expect(try await volume(betaKey, from: dayStart, to: dayEnd, after: foreign.offset) == 50)

      // Tickets of the last day keep coming, batch by batch, retried when refused.
      let refusals = Mutex(0)
      let feeding = Task {
        var last: Int64 = 0
        for batch in 0..<30 {
          let events = tickets("late", batch * 10..<(batch + 1) * 10, from: dayEnd)
          while true {
            do {
              last = try await ingestion.ingest(.with { $0.events = events }, metadata: alphaKey).offset
              break
            } catch let error as RPCError where error.code == .unavailable {
              refusals.withLock { $0 += 1 }
              #expect(error.metadata[stringValues: "retry-after-ms"].first(where: { _ in true }) != nil, "\(error)")
              try await Task.sleep(for: .milliseconds(20))
            }
          }
          try await Task.sleep(for: .milliseconds(10))
        }
        return last
      }
      // Meanwhile the tenant on the target shard sees its own data only.
      let watching = Task {
        var looks = 0
        while !feeding.isCancelled, looks < 400 {
          let stats = try await ingestion.getStats(.init(), metadata: betaKey)
          #expect(stats.lastOffset == foreign.offset && stats.eventsByKind == ["ticket_event": 50])
          looks += 1
          try await Task.sleep(for: .milliseconds(20))
        }
      }
      try await Task.sleep(for: .milliseconds(100))
      let moved = try await gateway.moveTenant(
        .with {
          $0.name = "alpha"
          $0.toShard = "b"
        }, metadata: operatorKey)
      let last = try await feeding.value
      watching.cancel()
      _ = await watching.result
      #expect(moved.fromShard == "main" && moved.tenant.shard == "b")
      let copied = Dictionary(uniqueKeysWithValues: moved.copied.map { ($0.service, $0.rows) })
      #expect((copied["ingestion"] ?? 0) >= 200 && (copied["metrics"] ?? 0) > 0, "\(copied)")
      let listed = try await gateway.listTenants(.init(), metadata: operatorKey).tenants
      #expect(listed.first { $0.name == "alpha" }?.shard == "b")

      // Every ticket once, the same answers, nothing left behind on main.
      let stats = try await ingestion.getStats(.init(), metadata: alphaKey)
      #expect(stats.eventsByKind == ["ticket_event": 500] && stats.lastOffset == last)
      #expect(try await volume(alphaKey, from: dayStart, to: dayEnd, after: last) == before)
      #expect(try await volume(alphaKey, from: dayStart, to: endMs + 24 * hourMs, after: last) == 500)
      #expect(try Self.events(of: alpha.tenant.id, on: main) == 0)
      #expect(try Self.events(of: alpha.tenant.id, on: other) == 500)
      #expect(try Self.registered(on: main)[alpha.tenant.id] == nil)
      // Experiments too: a service without rows of the tenant marks it during the move.
      #expect(try Self.registered(on: other)[alpha.tenant.id] == ["experiments", "ingestion", "metrics", "segmentation"])
      #expect(try await volume(betaKey, from: dayStart, to: dayEnd, after: foreign.offset) == 50)

      // Moving it again to where it is removes nothing more; an unknown shard is refused.
      let again = try await gateway.moveTenant(
        .with {
          $0.name = "alpha"
          $0.toShard = "b"
        }, metadata: operatorKey)
      #expect(again.copied.isEmpty && again.fromShard == "b")
      let unknown = await #expect(throws: RPCError.self) {
        try await gateway.moveTenant(
          .with {
            $0.name = "alpha"
            $0.toShard = "c"
          }, metadata: operatorKey)
      }
      #expect(unknown?.code == .invalidArgument)
    }
  }

  /// A move whose copy fails on one service is undone on all: the tenant stays where it
  /// was, takes writes again, and the rows the target already held are left alone.
  @Test func aMoveThatCannotCopyIsUndoneEverywhere() async throws {
    try await Self.withTwoShards { suite, client, main, other in
      let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
      let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
      let operatorKey = SuiteMetadata.bearer(suite.operatorKey)
      let alpha = try await gateway.createTenant(.with { $0.name = "alpha" }, metadata: operatorKey)
      let key = SuiteMetadata.bearer(alpha.adminSecret)
      let endMs = Int64(Date().timeIntervalSince1970 * 1000) / 3_600_000 * 3_600_000
      let first = try await ingestion.ingest(
        .with { $0.events = (0..<20).map { ReplicaSuiteTests.ticketCreated("a-\($0)", at: endMs - Int64($0 + 1) * 60_000) } },
        metadata: key)
      _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
        ReplicaSuiteTests.volume(from: endMs - 86_400_000, to: endMs, minOffset: first.offset), metadata: key)
      // Shard b claims to hold alpha's log already: ingestion's copy must refuse.
      try Self.withOwnerPool(other) { pool in
        _ = try pool.withSession { session in
          try session.execute(
            "INSERT INTO sightline_tenant (component, tenant_id, state) VALUES ('ingestion', \(alpha.tenant.id), 'live')")
        }
      }
      let failed = await #expect(throws: RPCError.self) {
        try await gateway.moveTenant(
          .with {
            $0.name = "alpha"
            $0.toShard = "b"
          }, metadata: operatorKey)
      }
      #expect(failed?.code == .alreadyExists, "\(String(describing: failed))")
      let listed = try await gateway.listTenants(.init(), metadata: operatorKey).tenants
      #expect(listed.first { $0.name == "alpha" }?.shard == "main")
      #expect(try Self.registered(on: main)[alpha.tenant.id] == ["experiments", "ingestion", "metrics", "segmentation"])
      // The consumers' copies on b are gone; the row b held already is untouched.
      #expect(try Self.registered(on: other)[alpha.tenant.id] == ["ingestion"])
      #expect(try Self.events(of: alpha.tenant.id, on: other) == 0)
      // Its writes go on where it is.
      let more = try await ingestion.ingest(
        .with { $0.events = [ReplicaSuiteTests.ticketCreated("a-more", at: endMs - 30_000)] }, metadata: key)
      #expect(more.accepted == 1 && more.offset == first.offset + 1)
      #expect(try Self.events(of: alpha.tenant.id, on: main) == 21)
    }
  }

  /// Runs `body` with a suite whose tenants spread over two fresh databases, shard `main`
  /// and shard `b`, and a client of its gateway.
  static func withTwoShards(
    _ body: @Sendable (InProcessSuite, GRPCClient<HTTP2ClientTransport.Posix>, SuiteDatabase, SuiteDatabase) async throws -> Void
  ) async throws {
    try await TestPostgres.withScratchDatabase { main in
      try await TestPostgres.withScratchDatabase { other in
        let database = SuiteDatabase(url: main.url, ownerURL: main.ownerURL, shards: ["b": other.url])
        try await InProcessSuite.with(database: database) { suite in
          try await suite.withGatewayClient { client in try await body(suite, client, main, other) }
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

/// `--shard NAME=URL` as an operator types it, wrong ways included (no database needed).
@Suite struct ShardOptionTests {
  @Test func shardsParseAndEveryMistakeIsNamed() throws {
    let url = "postgres://svc:pw@db-b:5432/sightline"
    #expect(try BackendOptions.shards(["b=\(url)", " c=postgresql://svc@db-c/s ", ""]) == ["b": url, "c": "postgresql://svc@db-c/s"])
    let mistakes: [(String, [String])] = [
      ("must be NAME=URL", ["b"]),
      ("must be 1-32 letters", ["b c=\(url)"]),
      ("--shard main is --database", ["main=\(url)"]),
      ("must be a postgres:// URL", ["b=mysql://x/y"]),
      ("is given twice", ["b=\(url)", "b=\(url)"]),
    ]
    for (message, texts) in mistakes {
      let error = #expect(throws: ValidationError.self) { try BackendOptions.shards(texts) }
      #expect(error?.message.contains(message) == true, "\(texts): \(error?.message ?? "no error")")
    }
  }
}
