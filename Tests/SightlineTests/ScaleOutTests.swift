import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import IngestionService
import Logging
import MetricsService
import PostgresNIO
import SightlinePostgres
import SightlineTesting
import SightlineWire
import Synchronization
import Testing

@testable import SightlineModel
@testable import SightlineRPC

/// The assignment of tenants to replicas, on its own (no database).
@Suite struct TenantAssignmentTests {
  static let tenants = (1...60).map { TenantID(String(format: "t%03d", $0))! }

  @Test func loadsDifferByAtMostOneAndEveryReplicaComputesTheSameAnswer() {
    for members in [["a"], ["a", "b"], ["r1", "r2", "r3"], ["x", "y", "z", "w", "v", "u", "s"]] {
      let assignment = TenantAssignment.assign(Self.tenants, to: members)
      #expect(assignment.count == Self.tenants.count)
      let loads = Dictionary(grouping: assignment.values, by: { $0 }).mapValues(\.count)
      #expect(Set(loads.keys) == Set(members) || Self.tenants.count < members.count)
      #expect(loads.values.max()! - loads.values.min()! <= 1, "\(members): \(loads)")
      // The order members are listed in, or tenants given in, changes nothing.
      #expect(TenantAssignment.assign(Self.tenants.reversed(), to: members.reversed()) == assignment)
    }
  }

  @Test func aReplicaLeavingMovesItsTenantsAndFewOthers() {
    let before = TenantAssignment.assign(Self.tenants, to: ["r1", "r2", "r3", "r4"])
    let after = TenantAssignment.assign(Self.tenants, to: ["r1", "r2", "r3"])
    let moved = Self.tenants.filter { before[$0] != after[$0] }
    let orphaned = Self.tenants.filter { before[$0] == "r4" }
    #expect(Set(orphaned).isSubset(of: Set(moved)))
    // Its 15 tenants move, and some others to even the loads out; far from all 60.
    #expect(moved.count < 35, "\(moved.count) of 60 tenants moved")
  }

  @Test func theRankIsTheSameInEveryProcess() {
    // A value worked out apart (FNV-1a then SplitMix64, in Python): a hash seeded per
    // process, like Swift's hashValue, would have replicas disagree.
    #expect(TenantAssignment.rank("r1", TenantID("acme")!) == 0xd5f3_6a3c_631a_5491)
    #expect(TenantAssignment.rank("r2", TenantID("acme")!) != 0xd5f3_6a3c_631a_5491)
  }
}

/// Leases, fencing, balance and concurrent writers on a real PostgreSQL server.
@Suite(.enabled(if: TestPostgres.available, TestPostgres.howToRun), .serialized)
struct ScaleOutTests {
  let logger = TestPostgres.logger

  @Test func aLeaseMovesWithAGrowingTokenAndTheOldOwnersWriteIsRefused() async throws {
    try await TestPostgres.withScratchDatabase { database in
      let pool = try PostgresStartup.pool(
        for: MetricsPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: logger)
      defer { pool.close() }
      let leases = PostgresLeases(pool: pool, component: "metrics")
      let tenant = TenantID("acme")!
      let ttl = Duration.seconds(1)

      let first = try #require(try leases.claim(tenant, member: "a", ttl: ttl))
      #expect(try leases.claim(tenant, member: "a", ttl: ttl) == first, "the owner's claim in time keeps the token")
      #expect(try leases.claim(tenant, member: "b", ttl: ttl) == nil, "held by a")
      #expect(try leases.renew([tenant: first], member: "a", ttl: ttl) == [tenant])

      // a stops renewing (paused); once its time is out, b takes over with a greater token.
      try await Task.sleep(for: .milliseconds(1_100))
      let second = try #require(try leases.claim(tenant, member: "b", ttl: .seconds(30)))
      #expect(second > first)
      #expect(try leases.renew([tenant: first], member: "a", ttl: ttl).isEmpty)
      #expect(try leases.claim(tenant, member: "a", ttl: ttl) == nil)

      // a wakes up and writes with its old fence: refused, nothing stored; b's write lands.
      let store = try PostgresMetricsStores(pool: pool, service: "metrics", transferDirectory: "/tmp").metrics(for: tenant)
      let entries = [(offset: Int64(1), event: MetricsEvent.other)]
      #expect(throws: LeaseLost.self) { try store.apply(entries, throughOffset: 1, fence: LeaseFence(token: first)) }
      #expect(try store.appliedOffset() == 0)
      #expect(try store.apply(entries, throughOffset: 1, fence: LeaseFence(token: second)) == 1)
      // The case rules' writes are fenced the same way: a's case is not opened, b's is.
      let cases = try PostgresMetricsStores(pool: pool, service: "metrics", transferDirectory: "/tmp").cases(for: tenant)
      let item = ServiceCase(id: ServiceCase.id(answer: "r1"), title: "Follow up", source: .detractor, dueMs: 1, openedMs: 0)
      let opening = CaseChange(atMs: 0, actor: CaseChange.rulesActor, kind: .opened, detail: "opened")
      #expect(throws: LeaseLost.self) { try cases.open(item, change: opening, fence: LeaseFence(token: first)) }
      #expect(try cases.serviceCase(id: item.id) == nil)
      #expect(try cases.open(item, change: opening, fence: LeaseFence(token: second)))
      #expect(try !cases.open(item, change: opening, fence: LeaseFence(token: second)), "a case is opened once")
      // So are the deliverer's: a's record of an attempt is refused, b's lands.
      let outbox = try PostgresMetricsStores(pool: pool, service: "metrics", transferDirectory: "/tmp").deliveries(for: tenant)
      let endpoint = DeliveryEndpoint(
        id: "ep-1", name: "ops", kind: .slack, url: "https://hooks.example.com/x", secret: "", events: [.caseOpened], language: .en,
        createdMs: 0)
      #expect(try outbox.addEndpoint(endpoint))
      #expect(try outbox.fanOut(nowMs: 1, fence: LeaseFence(token: second)) == 1, "the case's opening is in the outbox")
      #expect(throws: LeaseLost.self) { try outbox.fanOut(nowMs: 1, fence: LeaseFence(token: first)) }
      let event = "case.opened-\(item.id)"
      #expect(throws: LeaseLost.self) {
        try outbox.record(.delivered, eventID: event, endpointID: "ep-1", atMs: 2, fence: LeaseFence(token: first))
      }
      #expect(try outbox.deliveries(DeliveryFilter()).map(\.status) == [.pending])
      try outbox.record(.delivered, eventID: event, endpointID: "ep-1", atMs: 2, fence: LeaseFence(token: second))
      #expect(try outbox.deliveries(DeliveryFilter()).map(\.status) == [.delivered])

      // Released, the next claim (by anyone) takes a greater token still.
      try leases.release(tenant, member: "b", token: second)
      #expect(try leases.claim(tenant, member: "a", ttl: ttl)! > second)
    }
  }

  /// An owner paused in the middle of a fenced write holds the lease row; the database
  /// ends that write once it has been idle for the lease time, so the takeover waits no
  /// longer than that, and the paused write never commits.
  @Test func aWritePausedHoldingTheLeaseRowEndsAfterTheLeaseTimeAndTheTakeoverGoesAhead() async throws {
    try await TestPostgres.withScratchDatabase { database in
      let pool = try PostgresStartup.pool(
        for: MetricsPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: logger)
      defer { pool.close() }
      let leases = PostgresLeases(pool: pool, component: "metrics")
      let tenant = TenantID("acme")!
      let ttl = Duration.seconds(1)
      let first = try #require(try leases.claim(tenant, member: "a", ttl: ttl))
      let started = ContinuousClock.now
      // a checks its fence, then stops talking for 12 s in the middle of its transaction (on
      // a thread of its own, as a paused process would: not one the test needs).
      let outcome = Mutex<Result<Void, any Error>?>(nil)
      Thread {
        let result = Result {
          try pool.transaction(tenant: tenant) { session in
            try session.checkFence(LeaseFence(token: first, leaseTime: ttl), component: "metrics", tenant: tenant)
            Thread.sleep(forTimeInterval: 12)
          }
        }
        outcome.withLock { $0 = result }
      }.start()
      try await Task.sleep(for: .milliseconds(1_100))
      // b claims once a's time is out; a claim waits a second at most, then is tried again.
      var second: Int64?
      while second == nil, ContinuousClock.now - started < .seconds(20) {
        second = try? await BlockingWork.run { try leases.claim(tenant, member: "b", ttl: .seconds(30)) }
        if second == nil { try await Task.sleep(for: .milliseconds(100)) }
      }
      let takeover = ContinuousClock.now - started
      #expect(try #require(second) > first)
      // Without the end of idle transactions it waits the whole 12-s pause. (The margin over
      // the 1-s lease is for a machine starved by the other suites.)
      #expect(takeover < .seconds(9), "the takeover waited \(takeover) behind the paused write")
      // a wakes up: its session was ended, nothing of its transaction commits.
      while outcome.withLock({ $0 == nil }), ContinuousClock.now - started < .seconds(60) {
        try await Task.sleep(for: .milliseconds(50))
      }
      #expect(throws: (any Error).self) { try outcome.withLock { $0 }?.get() }
      #expect(outcome.withLock { $0 } != nil)
    }
  }

  @Test func threeReplicasShareSixtyTenantsEvenlyAndTakeOverADeadOnesWithinTheLeaseTime() async throws {
    try await TestPostgres.withScratchDatabase { database in
      let pool = try PostgresStartup.pool(
        for: MetricsPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: logger)
      defer { pool.close() }
      let leaseTime = Duration.seconds(2)
      let replicas = (0..<3).map { _ in
        TenantOwnership(store: PostgresLeases(pool: pool, component: "metrics"), component: "metrics", leaseTime: leaseTime, logger: logger)
      }
      let tenants = TenantAssignmentTests.tenants
      for replica in replicas { replica.know(tenants) }
      // Two rounds: the first records every member, the second sees them all.
      for _ in 0..<2 { for replica in replicas { replica.beat() } }
      #expect(replicas.allSatisfy { $0.members.count == 3 })

      // Each tenant is one replica's, and each replica has between 15 and 25.
      let owned = replicas.map { replica in Set(tenants.filter { replica.isAssigned($0) }) }
      for set in owned { #expect((15...25).contains(set.count), "\(owned.map(\.count))") }
      #expect(owned.reduce(Set()) { $0.union($1) }.count == tenants.count)
      #expect(owned.map(\.count).reduce(0, +) == tenants.count, "no tenant is two replicas'")
      // Claiming agrees: each tenant's lease is held by its replica, refused to the others.
      for tenant in tenants {
        let claims = try replicas.map { try $0.fence(for: tenant) }
        #expect(claims.count { if case .held = $0 { true } else { false } } == 1, "\(tenant): \(claims)")
      }

      // The third dies: it stops beating. Its member row and tenant leases run out within
      // the lease time of its last beat, so the first round of the survivors that starts
      // after that (with a margin for the database's clock) owns and holds all its tenants.
      // The bound is on when a round starts, not on how long it takes: on a machine starved
      // by other suites one round of beats and 20 claims can itself take seconds.
      let dead = owned[2]
      let expired = ContinuousClock.now + leaseTime + .milliseconds(250)
      var roundsAfterExpiry: [Int] = []  // how many of the dead's tenants each such round held
      while roundsAfterExpiry.last != dead.count, ContinuousClock.now < expired + .seconds(30) {
        let roundStart = ContinuousClock.now
        for replica in replicas.prefix(2) { replica.beat() }
        let held = try dead.filter { tenant in
          try replicas.prefix(2).contains { replica in
            if case .held = try replica.fence(for: tenant) { true } else { false }
          }
        }
        if roundStart >= expired { roundsAfterExpiry.append(held.count) }
        try await Task.sleep(for: replicas[0].heartbeatInterval)
      }
      #expect(roundsAfterExpiry.first == dead.count, "held per round after the lease ran out: \(roundsAfterExpiry) of \(dead.count)")
      // Settled (two rounds, as at the start: on a machine starved by other suites a beat can
      // come later than the 2-s lease, and one survivor then briefly counts the other out),
      // the two share the sixty evenly.
      for _ in 0..<2 { for replica in replicas.prefix(2) { replica.beat() } }
      let survivors = replicas.prefix(2).map { replica in tenants.count { replica.isAssigned($0) } }
      #expect(survivors.sorted() == [30, 30])

      // A replica that leaves cleanly gives its tenants up at once.
      try PostgresLeases(pool: pool, component: "metrics").leave(member: replicas[1].member)
      replicas[0].beat()
      #expect(tenants.allSatisfy { replicas[0].isAssigned($0) })
      for tenant in tenants { #expect(try replicas[0].fence(for: tenant) != .busy) }
    }
  }

  @Test func twoIngestionReplicasWritingOneTenantStoreEachEventOnceWithGaplessOffsets() async throws {
    try await TestPostgres.withScratchDatabase { database in
      // Two pools: two replicas, each with connections of its own.
      let pools = try (0..<2).map { _ in
        try PostgresStartup.pool(for: EventLogPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: logger)
      }
      defer { for pool in pools { pool.close() } }
      let tenant = TenantID("shared")!
      let events = 6_000
      @Sendable func record(_ index: Int) -> LogRecord {
        LogRecord(eventID: "e\(index)", kind: "order", eventTimeMs: Int64(index), payload: Data("payload \(index)".utf8))
      }
      // Each writer sends every event, in overlapping batches of different sizes and
      // orders, several at once: every id reaches the log twice or more.
      let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { group in
        for (writer, pool) in pools.enumerated() {
          let log = try PostgresEventLogs(pool: pool, service: "ingestion", transferDirectory: "/tmp").log(for: tenant)
          let batch = writer == 0 ? 250 : 170
          let order = writer == 0 ? Array(0..<events) : Array((0..<events).reversed())
          for lane in 0..<3 {
            group.addTask {
              try await BlockingWork.run {
                stride(from: lane * batch, to: events, by: 3 * batch).map { start in
                  try! log.append(order[start..<min(start + batch, events)].map(record))
                }
              }
            }
          }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(outcomes.map(\.accepted).reduce(0, +) == events)
      #expect(outcomes.map(\.duplicateIndices.count).reduce(0, +) == events)
      let log = try PostgresEventLogs(pool: pools[0], service: "ingestion", transferDirectory: "/tmp").log(for: tenant)
      let stored = try log.records(after: 0, limit: events * 2)
      #expect(stored.map(\.offset) == Array(1...Int64(events)), "gapless offsets from 1")
      #expect(Set(stored.map(\.record.eventID)).count == events, "each event once")
      #expect(try log.lastOffset() == Int64(events))
    }
  }
}

/// Rollups shared by replicas (PostgreSQL): a build never lands a day older than a change
/// whose mark another replica cleared, and a day missing under a reader is scanned.
@Suite(.enabled(if: TestPostgres.available, TestPostgres.howToRun), .serialized)
struct SharedRollupTests {
  let logger = TestPostgres.logger

  /// A replica's store whose every rollup store is preceded by another replica's late
  /// event and invalidation: the worst moment for the build.
  struct InterruptedStore: MetricsStore {
    let inner: any MetricsStore
    let other: any MetricsStore
    let late: @Sendable () throws -> Void

    func appliedOffset() throws -> Int64 { try inner.appliedOffset() }
    func apply(_ entries: [(offset: Int64, event: MetricsEvent)], throughOffset: Int64, fence: LeaseFence) throws -> Int64 {
      try inner.apply(entries, throughOffset: throughOffset, fence: fence)
    }
    func forEachTicket(_ selection: KpiSelection, _ body: (TicketFacts, [String]) throws -> Void) throws {
      try inner.forEachTicket(selection, body)
    }
    func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws {
      try inner.forEachSurvey(selection, body)
    }
    func forEachStatusHistory(
      filters: [KpiDimension: [String]], groupBy: [KpiDimension], sinceMs: Int64, beforeMs: Int64,
      _ body: ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
    ) throws {
      try inner.forEachStatusHistory(filters: filters, groupBy: groupBy, sinceMs: sinceMs, beforeMs: beforeMs, body)
    }
    func settings() throws -> KpiSettings { try inner.settings() }
    func setSettings(_ settings: KpiSettings) throws { try inner.setSettings(settings) }
    func invalidateChangedRollups() throws -> BuiltRollups { try inner.invalidateChangedRollups() }
    func unchangedRollupDays(fromMs: Int64, toMs: Int64) throws -> [Int64: BuiltDay] {
      try inner.unchangedRollupDays(fromMs: fromMs, toMs: toMs)
    }
    func storeRollups(dayStartMs: Int64, dayEndMs: Int64, settings: String, rows: [RollupEntry], generation: Int64) throws {
      try late()
      _ = try other.invalidateChangedRollups()
      try inner.storeRollups(dayStartMs: dayStartMs, dayEndMs: dayEndMs, settings: settings, rows: rows, generation: generation)
    }
    func rollups(
      series: RollupSeries, part: RollupPart, fromMs: Int64, toMs: Int64, valuePrefix: String, timeDistributions: Bool
    ) throws -> RollupRead {
      try inner.rollups(
        series: series, part: part, fromMs: fromMs, toMs: toMs, valuePrefix: valuePrefix, timeDistributions: timeDistributions)
    }
  }

  @Test func aBuildInterruptedByAnotherReplicasInvalidationStoresNothingStaleAndQueriesStayExact() async throws {
    try await TestPostgres.withScratchDatabase { database in
      let pools = try (0..<2).map { _ in
        try PostgresStartup.pool(for: MetricsPostgresSchema.self, url: database.url, ownerURL: database.ownerURL, logger: logger)
      }
      defer { for pool in pools { pool.close() } }
      let tenant = TenantID("shared")!
      let (a, b) = (
        try PostgresMetricsStores(pool: pools[0], service: "metrics", transferDirectory: "/tmp").metrics(for: tenant),
        try PostgresMetricsStores(pool: pools[1], service: "metrics", transferDirectory: "/tmp").metrics(for: tenant)
      )
      let events = RollupTests.randomEvents(seed: 11, tickets: 150)
      try a.apply(events.enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: Int64(events.count))
      let day3 = RollupTests.start + 3 * RollupTests.day

      // A store under a generation another replica's invalidation has moved past is refused.
      let before = try a.invalidateChangedRollups().generation
      try a.apply([(Int64(events.count + 1), .other)], throughOffset: Int64(events.count + 1))
      let lateTicket = MetricsEvent.ticket(
        ticketID: "late", customerID: "C1", type: .created, timeMs: day3 + RollupTests.hour,
        attributes: TicketAttributes(channel: "email", region: "r1", businessLine: "L1", agent: "", priority: .normal, complaint: false))
      try a.apply([(Int64(events.count + 2), lateTicket)], throughOffset: Int64(events.count + 2))
      let after = try b.invalidateChangedRollups().generation
      #expect(after > before)
      try a.storeRollups(dayStartMs: day3, dayEndMs: day3 + RollupTests.day, settings: "x", rows: [], generation: before)
      #expect(
        try a.rollups(series: .tenant, part: .tickets, fromMs: day3, toMs: day3 + 1, valuePrefix: "", timeDistributions: true).built.isEmpty
      )
      try a.storeRollups(dayStartMs: day3, dayEndMs: day3 + RollupTests.day, settings: "x", rows: [], generation: after)
      #expect(
        try a.rollups(series: .tenant, part: .tickets, fromMs: day3, toMs: day3 + 1, valuePrefix: "", timeDistributions: true).built[day3]
          != nil)

      // Every build of A is interrupted by a late event folded and B's invalidation: A's
      // days are refused, and its answers, scanned instead, still equal a scan; once the
      // interruptions stop, the days are built and the answers stay the same.
      let offset = Mutex(Int64(events.count + 2))
      let interrupted = InterruptedStore(inner: a, other: b) {
        let next = offset.withLock {
          $0 += 1; return $0
        }
        var late = lateTicket
        if case .ticket(_, let customer, let type, let time, let attributes, _) = late {
          late = .ticket(ticketID: "late\(next)", customerID: customer, type: type, timeMs: time + next, attributes: attributes)
        }
        try a.apply([(next, late)], throughOffset: next)
      }
      let nowMs = RollupTests.start + 25 * RollupTests.day
      try RollupTests.expectRollupsEqualScan(interrupted, nowMs: nowMs, comment: "interrupted", quick: true)
      #expect(try a.invalidateChangedRollups().days.count <= 1, "no interrupted build was stored")
      try RollupTests.expectRollupsEqualScan(a, nowMs: nowMs, comment: "quiet")
      #expect(try a.invalidateChangedRollups().days.count > 20)
    }
  }
}

/// The calls clients retry on another replica, and the replica sets they spread over.
@Suite struct ReplicaClientTests {
  @Test func everyRetryableMethodExistsAndNothingThatCreatesIsRetried() {
    let known = Set(
      (Sightline_Ingestion_V1_Ingestion.Method.descriptors + Sightline_Ingestion_V1_TenantDirectory.Method.descriptors
        + Sightline_Metrics_V1_Metrics.Method.descriptors + Sightline_Segmentation_V1_Segmentation.Method.descriptors
        + Sightline_Experiments_V1_Experiments.Method.descriptors + Sightline_Tenantdata_V1_TenantData.Method.descriptors
        + Sightline_Cases_V1_Cases.Method.descriptors + Grpc_Health_V1_Health.Method.descriptors).map(\.fullyQualifiedMethod))
    for name in RetryableMethods.names { #expect(known.contains(name), "\(name) is not a method") }
    for name in [
      "sightline.metrics.v1.Metrics/AddAlertRule", "sightline.experiments.v1.Experiments/CreateExperiment",
      "sightline.tenantdata.v1.TenantData/ImportData", "sightline.tenantdata.v1.TenantData/DeleteData",
      "sightline.cases.v1.Cases/OpenCase", "sightline.cases.v1.Cases/UpdateCase", "sightline.cases.v1.Cases/RecordFollowUp",
    ] {
      #expect(!RetryableMethods.names.contains(name), "\(name) must not be sent twice")
    }
  }

  @Test func gatewaysStartingAtOnceAgreeOnOneOperatorKey() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/data/operator.key"
    let keys = try await withThrowingTaskGroup(of: String.self) { group in
      for _ in 0..<8 { group.addTask { try OperatorKey.loadOrCreate(path: path) } }
      return try await group.reduce(into: Set<String>()) { $0.insert($1) }
    }
    #expect(keys.count == 1)
    #expect(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == keys.first)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/data")
    #expect(leftovers == ["operator.key"], "no candidate file is left behind")
  }

  @Test func aReplicaSetParsesSeveralAddressesAndResolvesEachToAnEndpoint() throws {
    let set = try #require(ReplicaSet("127.0.0.1:7502, [::1]:7506,localhost:7510"))
    #expect(set.addresses.map(\.port) == [7502, 7506, 7510])
    #expect(set.description == "127.0.0.1:7502,[::1]:7506,localhost:7510")
    let resolved = try set.resolve()
    #expect(resolved.count >= 3, "\(resolved)")
    #expect(resolved.contains(.ipv4(host: "127.0.0.1", port: 7502)))
    #expect(resolved.contains(.ipv6(host: "::1", port: 7506)))
    #expect(ReplicaSet("") == nil)
    #expect(ReplicaSet("a:1,b") == nil)
    #expect(throws: RPCError.self) { try ReplicaSet("no-such-host.invalid:1")!.resolve() }
  }
}
