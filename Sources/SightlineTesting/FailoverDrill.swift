import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PostgresNIO
import SightlineLauncher
import SightlineModel
import SightlinePostgres
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The failover drill of docs/reliability.md, on real processes: two replicas of every
/// service and two gateways on one PostgreSQL database, while the `sightline ingest` CLI
/// sends a file of events round robin over both gateways. At random points of the file it
/// SIGKILLs one replica of each service and one gateway (each is started again after a
/// pause), SIGSTOPs the metrics replica folding the tenant for longer than its lease and
/// then wakes it, and restarts PostgreSQL once.
///
/// Afterwards: every event is stored once with gapless offsets, each alert opened once, the
/// KPIs by line and day equal those of a suite that ingested the same file without faults,
/// and the writes the paused replica attempted after waking were refused by fencing. It
/// reports how long each takeover of the tenant's folding took.
///
/// Run by `FailoverDrillTests` at a size that fits CI and by `failover-drill`
/// (benchmarks/failover) at full size.
public struct FailoverDrill: Sendable {
  /// Events in the file.
  public var events: Int
  /// Seed of the data and of the fault points.
  public var seed: UInt64
  /// Events per CLI batch.
  public var batchSize = 1_000
  /// Seconds a lease lasts (the replicas' `--lease-time`).
  public var leaseSeconds = 3
  /// The tenant's calls per second at the gateways (nil: the default limit), to stretch a
  /// small file over the faults.
  public var callsPerSecond: Int?
  /// Where the `sightline` executables are.
  public var binaryDirectory: String
  /// First of fifteen consecutive free ports (the replicated suite takes ten, the
  /// reference five).
  public var portBase: Int
  /// The PostgreSQL database the replicated suite shares (empty, or a drill's own).
  public var database: SuiteDatabase
  /// Restarts the PostgreSQL server (`scripts/test-postgres crash`, an immediate stop as on
  /// a power cut, then `restart`).
  public var restartDatabase: @Sendable () async throws -> Void
  /// Progress lines.
  public var log: @Sendable (String) -> Void = { _ in }

  /// A drill from its parts.
  public init(
    events: Int, seed: UInt64, binaryDirectory: String, portBase: Int, database: SuiteDatabase,
    restartDatabase: @escaping @Sendable () async throws -> Void
  ) {
    self.events = events
    self.seed = seed
    self.binaryDirectory = binaryDirectory
    self.portBase = portBase
    self.database = database
    self.restartDatabase = restartDatabase
  }

  /// One fault and how the suite got over it.
  public struct Fault: Sendable, CustomStringConvertible {
    /// What was done ("SIGKILL metrics #2", "restart PostgreSQL").
    public var action: String
    /// Events stored when it happened.
    public var storedAt: Int64
    /// For a fault of the replica folding the tenant: the time until another replica held
    /// the tenant's lease (the takeover).
    public var takeover: Duration?

    public var description: String {
      "\(action) at \(storedAt) stored" + (takeover.map { ", lease taken over in \(Self.seconds($0))" } ?? "")
    }

    static func seconds(_ duration: Duration) -> String {
      String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
  }

  /// What the drill found.
  public struct Report: Sendable {
    public var faults: [Fault] = []
    /// The CLI's exit status and summary line, and how often it retried.
    public var clientStatus: Int32 = -1
    public var clientSummary = ""
    public var clientRetries = 0
    /// The log's last offset and its events per kind.
    public var stored: Int64 = 0
    public var storedByKind: [String: Int64] = [:]
    /// Alerts open per rule and dimension value (each must be 1).
    public var openAlerts: [String: Int] = [:]
    /// Folds refused by fencing, as the replicas logged them.
    public var fencedWrites = 0
    /// The replicas' log lines about alerts and leases, to tell why an alert did not open.
    public var alertLog: [String] = []
    public var cellsCompared = 0
    public var mismatches: [String] = []
    public var ingest: Duration = .zero
  }

  /// Runs the drill in `directory` (both suites under it).
  public func run(in directory: String) async throws -> Report {
    var random = SeededRandom(seed: seed)
    let file = directory + "/events.ndjson"
    let range = try FaultDrill.writeEvents(count: events, seed: seed, to: file)
    log("wrote \(events) events to \(file)")
    let replicated = SuiteLauncher(
      dataDirectory: directory + "/replicated", gatewayPort: portBase, servicePorts: Self.ports(from: portBase + 1),
      binaryDirectory: binaryDirectory, replicas: 2)
    replicated.environment = [
      "SIGHTLINE_DATABASE_URL": database.url, "SIGHTLINE_DATABASE_OWNER_URL": database.ownerURL ?? database.url,
      "SIGHTLINE_LEASE_TIME": String(leaseSeconds),
    ]
    if let callsPerSecond {
      replicated.environment["SIGHTLINE_RATE_LIMIT"] = String(callsPerSecond)
      replicated.environment["SIGHTLINE_BURST"] = String(callsPerSecond)
    }
    let reference = SuiteLauncher(dataDirectory: directory + "/reference", portBase: portBase + 10, binaryDirectory: binaryDirectory)
    do {
      let report = try await drive(replicated: replicated, reference: reference, file: file, range: range, random: &random)
      await replicated.stop()
      await reference.stop()
      return report
    } catch {
      await replicated.stop()
      await reference.stop()
      throw error
    }
  }

  static func ports(from base: Int) -> [SuiteComponent: Int] {
    Dictionary(uniqueKeysWithValues: SuiteComponent.backends.enumerated().map { ($0.element, base + $0.offset) })
  }

  private func drive(
    replicated: SuiteLauncher, reference: SuiteLauncher, file: String, range: (Int64, Int64), random: inout SeededRandom
  ) async throws -> Report {
    var report = Report()
    let logPath = replicated.dataDirectory + "/processes.log"
    try FileManager.default.createDirectory(atPath: replicated.dataDirectory, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    let output = FileHandle(forWritingAtPath: logPath)
    try await replicated.start(timeout: .seconds(120), output: output)
    try await reference.start(timeout: .seconds(120), output: FileHandle(forWritingAtPath: "/dev/null"))
    let key = try await replicated.createTenant("drill")
    let referenceKey = try await reference.createTenant("drill")
    try await addAlertRule(replicated, key: key)

    let started = ContinuousClock.now
    let client = try FaultDrill.startIngest(
      file: file, key: key, suite: replicated, binaryDirectory: binaryDirectory, batchSize: batchSize)
    let plan: [Action] = [
      .kill(.ingestion), .killFolder, .pauseFolder, .kill(.segmentation), .restartDatabase, .kill(.experiments), .kill(.gateway),
    ]
    let fractions = plan.indices.map { _ in 0.1 + 0.8 * random.unit() }.sorted()
    let pauses = plan.indices.map { _ in Int(100 + 400 * random.unit()) }
    var stored: Int64 = 0
    // A fault of the folding replica is watched (and undone) in the background, so the
    // next fault need not wait for the takeover.
    var faults: [Task<Fault, any Error>] = []
    for (index, action) in plan.enumerated() {
      let target = Int64(fractions[index] * Double(events))
      while client.process.isRunning {
        stored = (try? await FaultDrill.stats(replicated, key: key).lastOffset) ?? stored
        if stored >= target { break }
        // Seldom: the polls count against the tenant's rate like the client's calls.
        try await Task.sleep(for: .milliseconds(callsPerSecond == nil ? 20 : 300))
      }
      if case .pauseFolder = action {
        // Both metrics replicas up first: the paused one's tenant needs the other.
        for fault in faults { _ = try await fault.value }
      }
      faults.append(
        try await perform(action, on: replicated, key: key, stored: stored, pause: pauses[index], random: &random, output: output))
    }
    for fault in faults {
      let fault = try await fault.value
      log("\(fault)")
      report.faults.append(fault)
    }
    let result = try await client.finish(timeout: .seconds(300 + events / 500))
    report.ingest = ContinuousClock.now - started
    (report.clientStatus, report.clientSummary, report.clientRetries) = result
    log("client: status \(result.status), \(result.summary), \(result.retries) retries")

    let referenceResult = try await FaultDrill.startIngest(
      file: file, key: referenceKey, suite: reference, binaryDirectory: binaryDirectory, batchSize: batchSize
    ).finish()
    guard referenceResult.status == 0 else { throw SuiteError("the reference ingest failed: \(referenceResult.summary)") }

    let stats = try await FaultDrill.stats(replicated, key: key)
    report.stored = stats.lastOffset
    report.storedByKind = stats.eventsByKind
    let found = try await FaultDrill.kpis(replicated, key: key, range: range, minOffset: stats.lastOffset)
    let expected = try await FaultDrill.kpis(reference, key: referenceKey, range: range, minOffset: Int64(events))
    report.cellsCompared = expected.count
    report.mismatches = FaultDrill.differences(found, from: expected)
    // The holder's rounds come every 15 s after the last one ends, and a replica that took
    // the tenant over starts its own: wait (bounded) until every line's alert is open, then
    // one more round, which must open none twice.
    let waitStarted = ContinuousClock.now
    while try await openAlerts(replicated, key: key).count < FaultDrill.businessLines, ContinuousClock.now - waitStarted < .seconds(90) {
      try await Task.sleep(for: .seconds(1))
    }
    log("alerts open after waiting \(ContinuousClock.now - waitStarted)")
    try await Task.sleep(for: .seconds(16))
    report.openAlerts = try await openAlerts(replicated, key: key)
    let processLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    report.fencedWrites = processLog.components(separatedBy: "refused by fencing").count - 1
    report.alertLog = processLog.split(separator: "\n").filter { $0.contains("alert") || $0.contains("lease") }.map(String.init)
    return report
  }

  private enum Action {
    /// SIGKILL a random replica of a component, then start it again after a pause.
    case kill(SuiteComponent)
    /// SIGKILL the metrics replica that holds the tenant's lease.
    case killFolder
    /// SIGSTOP it for twice the lease time and two seconds, then SIGCONT.
    case pauseFolder
    case restartDatabase
  }

  /// Does `action`; the returned task ends once the suite is whole again.
  private func perform(
    _ action: Action, on suite: SuiteLauncher, key: String, stored: Int64, pause: Int, random: inout SeededRandom,
    output: FileHandle?
  ) async throws -> Task<Fault, any Error> {
    switch action {
    case .kill(let component):
      let replica = Int(random.next() % 2)
      suite.crash(component, replica: replica)
      try await Task.sleep(for: .milliseconds(pause))
      try await suite.restart(component, replica: replica, timeout: .seconds(120), output: output)
      return Task { Fault(action: "SIGKILL \(SuiteLauncher.Instance(component, replica: replica))", storedAt: stored) }
    case .killFolder:
      let (replica, member) = try folder(suite)
      let killed = ContinuousClock.now
      suite.crash(.metrics, replica: replica)
      return Task {
        let takeover = try await takeover(from: member, since: killed)
        try await suite.restart(.metrics, replica: replica, timeout: .seconds(120), output: output)
        return Fault(
          action: "SIGKILL \(SuiteLauncher.Instance(.metrics, replica: replica)) (folding the tenant)", storedAt: stored,
          takeover: takeover)
      }
    case .pauseFolder:
      let (replica, member) = try folder(suite)
      let paused = ContinuousClock.now
      suite.signal(.metrics, replica: replica, SIGSTOP)
      return Task {
        let takeover = try await takeover(from: member, since: paused)
        let rest = Duration.seconds(2 * leaseSeconds + 2) - (ContinuousClock.now - paused)
        if rest > .zero { try await Task.sleep(for: rest) }
        suite.signal(.metrics, replica: replica, SIGCONT)
        return Fault(
          action: "SIGSTOP \(SuiteLauncher.Instance(.metrics, replica: replica)) (folding the tenant) for \(2 * leaseSeconds + 2) s",
          storedAt: stored, takeover: takeover)
      }
    case .restartDatabase:
      try await restartDatabase()
      return Task { Fault(action: "PostgreSQL stopped at once and started again", storedAt: stored) }
    }
  }

  /// The member name holding the drill tenant's metrics lease now, if any.
  private func leaseHolder() throws -> String? {
    let owner = try DatabaseURL(database.ownerURL ?? database.url)
    let pool = try PostgresPool(url: owner, maxConnections: 1, logger: .init(label: "drill", factory: { _ in SwiftLogNoOpLogHandler() }))
    defer { pool.close() }
    return try pool.withSession { session in
      try session.value(
        "SELECT owner FROM sightline_lease WHERE component = 'metrics' AND owner <> '' AND expires_at > clock_timestamp() ORDER BY token DESC LIMIT 1",
        as: String.self)
    }
  }

  /// The process id in a member's name (`HOST-PID-RANDOM`).
  static func processIdentifier(of member: String) -> Int32? {
    member.split(separator: "-").dropLast().last.flatMap { Int32($0) }
  }

  /// Which metrics replica holds the drill tenant's lease, and its member name; the first
  /// replica if none does.
  private func folder(_ suite: SuiteLauncher) throws -> (replica: Int, member: String?) {
    let holder = try leaseHolder()
    let pid = holder.flatMap(Self.processIdentifier)
    let replica = suite.instanceProcessIdentifiers.first { $0.key.component == .metrics && $0.value == pid }?.key.replica ?? 0
    return (replica, holder)
  }

  /// The time from `since` until another member holds the lease `member` held (polled every
  /// 50 ms); nil when nobody claims it within 60 s (no work was left to take over).
  private func takeover(from member: String?, since: ContinuousClock.Instant) async throws -> Duration? {
    while ContinuousClock.now - since < .seconds(60) {
      if let holder = try? leaseHolder(), holder != member { return ContinuousClock.now - since }
      try await Task.sleep(for: .milliseconds(50))
    }
    return nil
  }

  /// A rule that opens one alert per business line (every line has tickets).
  private func addAlertRule(_ suite: SuiteLauncher, key: String) async throws {
    _ = try await ClientFactory.withClient(suite.gateway, security: FaultDrill.security(suite)) { client in
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).addAlertRule(
        .with {
          $0.rule = .with {
            $0.name = "volume by line"
            $0.kpi = .volume
            $0.by = .businessLine
            $0.comparison = .greater
            $0.threshold = 0
            $0.minSample = 1
            $0.windowSeconds = 60 * 86_400
          }
        }, metadata: SuiteMetadata.bearer(key))
    }
  }

  /// Open alerts per "rule line".
  private func openAlerts(_ suite: SuiteLauncher, key: String) async throws -> [String: Int] {
    let alerts = try await ClientFactory.withClient(
      ReplicaSet(suite.gateways), security: FaultDrill.security(suite), retryable: RetryableMethods.names
    ) { client in
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listAlerts(
        .with {
          $0.openOnly = true
          $0.limit = 1_000
        }, metadata: SuiteMetadata.bearer(key)
      ).alerts
    }
    return Dictionary(grouping: alerts, by: { "\($0.ruleID) \($0.dimensionValue)" }).mapValues(\.count)
  }
}
