import Foundation
import GRDB
import IngestionService
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

/// The event log's promises (docs/ingestion.md) on both backends.
@Suite struct EventLogStoreTests {
  func record(_ id: String, kind: String = "order", timeMs: Int64 = 1, creates ticket: String? = nil) -> LogRecord {
    LogRecord(eventID: id, kind: kind, eventTimeMs: timeMs, payload: Data(id.utf8), createsTicket: ticket)
  }

  @Test(arguments: TestBackend.all)
  func duplicatesAreIgnoredAndOffsetsAreGapless(_ backend: TestBackend) throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try backend.eventLogs(directory: directory).log(for: TestBackend.freshTenant())
    let first = try store.append([record("a"), record("b"), record("a")])
    #expect(first == AppendOutcome(accepted: 2, duplicateIndices: [2], lastOffset: 2))
    let again = try store.append([record("b"), record("c")], rejected: 2)
    #expect(again == AppendOutcome(accepted: 1, duplicateIndices: [0], lastOffset: 3))
    #expect(try store.records(after: 0, limit: 10).map(\.offset) == [1, 2, 3])
    #expect(try store.records(after: 2, limit: 10).map(\.record.eventID) == ["c"])
    #expect(try store.records(after: 0, limit: 2).map(\.record.payload) == [Data("a".utf8), Data("b".utf8)])
    let stats = try store.statistics()
    #expect(stats.duplicates == 2)
    #expect(stats.rejections == 2)
    #expect(stats.countsByKind == ["order": 3])
    #expect(stats.lastOffset == 3)
  }

  /// The policy defaults to mask; the pseudonym key is made once and then kept; redacted
  /// values are counted for stored records only, not for duplicates.
  @Test(arguments: TestBackend.all)
  func redactionSettingsAndCounts(_ backend: TestBackend) throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let logs = try backend.eventLogs(directory: directory)
    let tenant = TestBackend.freshTenant()
    let store = try logs.log(for: tenant)
    let first = try store.redactionSettings()
    #expect(first.policy == .mask)
    #expect(first.key.count == 32)
    #expect(try store.redactionSettings().key == first.key)
    #expect(try logs.log(for: TestBackend.freshTenant()).redactionSettings().key != first.key)
    try store.setRedactionPolicy(.pseudonymise)
    #expect(try store.redactionSettings().policy == .pseudonymise)
    #expect(try store.redactionSettings().key == first.key)
    var redacted = record("r1")
    redacted.redacted = [.phone, .phone, .email]
    _ = try store.append([redacted, redacted, record("r2")])
    _ = try store.append([redacted])
    let stats = try store.statistics()
    #expect(stats.redactions == ["phone": 2, "email": 1])
    #expect(stats.redactionPolicy == .pseudonymise)
    try store.setRedactionPolicy(.off)
    #expect(try store.statistics().redactionPolicy == .off)
  }

  @Test(arguments: TestBackend.all)
  func creationTimesAliasesAndRetention(_ backend: TestBackend) throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try backend.eventLogs(directory: directory).log(for: TestBackend.freshTenant())
    _ = try store.append([
      record("c1", kind: "ticket_event", timeMs: 500, creates: "T1"), record("c2", kind: "ticket_event", timeMs: 400, creates: "T1"),
      record("c3", kind: "ticket_event", timeMs: 9_000, creates: "T2"),
    ])
    #expect(try store.creationTimes(of: ["T1", "T2", "T3"]) == ["T1": 400, "T2": 9_000])
    #expect(try store.setAliases(field: "channel", [" WeChat ": "wechat ", "微信": "wechat"]) == ["wechat": "wechat", "微信": "wechat"])
    #expect(try store.aliases(field: "channel") == ["wechat": "wechat", "微信": "wechat"])
    #expect(try store.aliases(field: "region") == [:])
    try store.setRetainDays(30)
    #expect(try store.retainDays() == 30)
    #expect(try store.prune(before: 1_000) == 2)
    #expect(try store.prune(before: 1_000) == 0)
    // Pruned entries are skipped, their offsets stay taken, and their ids stay duplicates.
    #expect(try store.records(after: 0, limit: 10).map(\.offset) == [3])
    #expect(try store.append([record("c1")]).duplicateIndices == [0])
    #expect(try store.statistics().pruned == 2)
  }

  /// Two writers (two replicas, each with its own pool on PostgreSQL; two connections of
  /// one file on SQLite) appending to one tenant at once: every offset is taken exactly
  /// once, without gaps, and every event id is stored once.
  @Test(arguments: TestBackend.all)
  func concurrentWritersGetGaplessUniqueOffsets(_ backend: TestBackend) async throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let tenant = TestBackend.freshTenant()
    let writers = try (0..<2).map { _ in try backend.eventLogs(directory: directory).log(for: tenant) }
    let failures = Mutex<[String]>([])
    try await BlockingWork.run {
      DispatchQueue.concurrentPerform(iterations: 8) { worker in
        for batch in 0..<10 {
          // Every id is sent by two workers, so half the records are duplicates.
          let ids = (0..<20).map { "e\((worker / 2) * 1_000 + batch * 20 + $0)" }
          do {
            _ = try writers[worker % 2].append(ids.map { record($0) })
          } catch {
            failures.withLock { $0.append("\(error)") }
          }
        }
      }
    }
    #expect(failures.withLock { $0 } == [])
    let stored = try writers[0].records(after: 0, limit: 10_000)
    #expect(stored.map(\.offset) == Array(1...Int64(800)))
    #expect(Set(stored.map(\.record.eventID)).count == 800)
    #expect(try writers[1].statistics().duplicates == 800)
  }
}

/// A temporary directory for a store test.
enum InProcessSuiteDirectory {
  static func make() -> String {
    let path = NSTemporaryDirectory() + "sightline-store-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }
}

/// A tenant's export from either backend installs into the other with the same contents:
/// how an operator moves a tenant from an embedded deployment to PostgreSQL.
@Suite(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
struct EventLogAcrossBackendsTests {
  @Test func anExportOfEitherBackendInstallsIntoTheOther() throws {
    let directory = InProcessSuiteDirectory.make()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let sqlite = try TestBackend.sqlite.eventLogs(directory: directory)
    let postgres = try TestBackend.postgres.eventLogs(directory: directory)
    let tenant = TestBackend.freshTenant()
    let original = try sqlite.log(for: tenant)
    _ = try original.append(
      [
        LogRecord(eventID: "a", kind: "ticket_event", eventTimeMs: 10, payload: Data([0, 1, 2, 255]), createsTicket: "T1"),
        LogRecord(eventID: "b", kind: "order", eventTimeMs: 20, payload: Data("b".utf8), redacted: [.idNumber]),
      ], rejected: 1)
    _ = try original.setAliases(field: "channel", ["微信": "wechat"])
    try original.setRetainDays(90)
    try original.setRedactionPolicy(.pseudonymise)

    func fingerprint(_ log: any EventLog) throws -> String {
      let records = try log.records(after: 0, limit: 100).map {
        "\($0.offset) \($0.record.eventID) \($0.record.kind) \($0.record.payload.base64EncodedString())"
      }
      let stats = try log.statistics()
      // Dictionaries sorted: their description's order differs between instances.
      // The pseudonym key travels with the tenant, so its pseudonyms stay the same.
      return "\(records) \(stats.countsByKind.sorted { $0.key < $1.key }) \(stats.rejections) \(stats.retainDays) "
        + "\(try log.aliases(field: "channel").sorted { $0.key < $1.key }) \(try log.creationTimes(of: ["T1"])) "
        + "\(stats.redactions) \(stats.redactionPolicy) \(Hex.encode(try log.redactionSettings().key))"
    }
    let expected = try fingerprint(original)

    // SQLite → PostgreSQL.
    let export = directory + "/export.sqlite"
    try sqlite.backup(tenant, to: export)
    try postgres.install(tenant, from: export)
    #expect(try fingerprint(postgres.log(for: tenant)) == expected)
    #expect(try postgres.tenants().contains(tenant))
    // An import over data already there is refused.
    try sqlite.backup(tenant, to: export)
    #expect(throws: TenantDataError.self) { try postgres.install(tenant, from: export) }

    // PostgreSQL → SQLite (a second, empty data directory).
    let back = directory + "/back.sqlite"
    try postgres.backup(tenant, to: back)
    let other = try TestBackend.sqlite.eventLogs(directory: directory + "/other")
    try other.install(tenant, from: back)
    #expect(try fingerprint(other.log(for: tenant)) == expected)

    // Deleted on PostgreSQL: its rows go, and nothing recreates them until an import.
    let removed = try postgres.remove(tenant)
    #expect(removed.rows >= 5)
    #expect(try !postgres.tenants().contains(tenant))
    #expect(throws: TenantDataError.self) { try postgres.log(for: tenant) }
    try other.backup(tenant, to: export)
    try postgres.install(tenant, from: export)
    #expect(try fingerprint(postgres.log(for: tenant)) == expected)
  }

  /// Row-level security is the second wall: a query with no tenant filter, in one tenant's
  /// transaction, sees only that tenant's events.
  @Test func aQueryWithoutTenantFilterSeesOnlyTheTransactionsTenant() throws {
    let pool = try TestBackend.pool(EventLogPostgresSchema.self)
    let logs = PostgresEventLogs(pool: pool, service: "ingestion", transferDirectory: NSTemporaryDirectory())
    let (a, b) = (TestBackend.freshTenant(), TestBackend.freshTenant())
    _ = try logs.log(for: a).append([LogRecord(eventID: "x", kind: "order", eventTimeMs: 1, payload: Data("a".utf8))])
    _ = try logs.log(for: b).append([LogRecord(eventID: "y", kind: "order", eventTimeMs: 1, payload: Data("b".utf8))])
    let seen = try pool.transaction(tenant: a) { session in
      try session.query("SELECT tenant_id FROM event").map { try $0.decode(String.self) }
    }
    #expect(seen == [a.rawValue])
  }

  /// `sightline_database_bytes` on PostgreSQL: each live tenant gets its share, by rows, of
  /// the schema's tables; a deleted tenant is gone; a scrape answers at once with the last
  /// figures and recomputes them in the background.
  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func tenantSizesOnPostgresFollowTheRows() async throws {
    try await TestPostgres.withScratchDatabase { database in
      let pool = try PostgresStartup.pool(
        for: EventLogPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: TestPostgres.logger)
      defer { pool.close() }
      let logs = PostgresEventLogs(pool: pool, service: "ingestion", transferDirectory: InProcessSuiteDirectory.make())
      let (big, small, deleted) = (TenantID("big")!, TenantID("small")!, TenantID("deleted")!)
      for (tenant, count) in [(big, 3_000), (small, 1_000), (deleted, 500)] {
        _ = try logs.log(for: tenant).append(
          (0..<count).map { LogRecord(eventID: "\(tenant.rawValue)-\($0)", kind: "order", eventTimeMs: 1, payload: Data(count: 100)) })
      }
      try logs.remove(deleted)
      let sizes = PostgresTenantSizes(EventLogPostgresSchema.self, pool: pool, refreshInterval: .seconds(3600), logger: TestPostgres.logger)
      let figures = Dictionary(uniqueKeysWithValues: try sizes.compute().map { ($0.tenant, $0.bytes) })
      #expect(figures.keys.sorted() == ["big", "small"])
      let total = try pool.withSession { session in
        try EventLogPostgresSchema.tenantTables.reduce(0) { sum, table in
          sum + (try session.value("SELECT pg_total_relation_size(\("ingestion." + table)::regclass)", as: Int.self) ?? 0)
        }
      }
      // The event table, by far the largest, is three quarters the big tenant's; the small
      // counter table is shared evenly (both tenants keep the same counters).
      let ratio = Double(figures["big"]!) / Double(figures["small"]!)
      #expect(ratio > 2.5 && ratio < 3.001, "\(figures)")
      #expect(figures["big"]! + figures["small"]! <= total)
      #expect(figures["small"]! > 1_000 * 20)

      // The scrape path: nothing before the first computation, then the same figures.
      #expect(sizes.databaseBytes().isEmpty)
      let deadline = ContinuousClock.now + .seconds(30)
      while sizes.databaseBytes().isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
      #expect(Dictionary(uniqueKeysWithValues: sizes.databaseBytes().map { ($0.tenant, $0.bytes) }) == figures)
    }
  }
}
