import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import SightlineLauncher
public import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The fault-injection drill of docs/reliability.md, on real processes: while the
/// `sightline ingest` CLI streams a file of events through the gateway (retrying with
/// backoff and jitter), ingestion, then metrics, then the gateway are killed with SIGKILL
/// at random points and started again. Afterwards the log must hold every event exactly
/// once, and the KPIs must equal those of a second suite that ingested the same file
/// without faults.
///
/// Run by `FaultDrillTests` at a size that fits CI and by `fault-drill` (benchmarks/faults)
/// at full size.
public struct FaultDrill: Sendable {
  /// Events in the file.
  public var events: Int
  /// Seed of the data and of the kill points.
  public var seed: UInt64
  /// Events per CLI batch.
  public var batchSize = 1_000
  /// Where the `sightline` executables are.
  public var binaryDirectory: String
  /// First of ten consecutive free ports (the faulty suite takes five, the reference five).
  public var portBase: Int
  /// Progress lines.
  public var log: @Sendable (String) -> Void = { _ in }

  /// A drill from its parts.
  public init(events: Int, seed: UInt64, binaryDirectory: String, portBase: Int) {
    self.events = events
    self.seed = seed
    self.binaryDirectory = binaryDirectory
    self.portBase = portBase
  }

  /// One kill.
  public struct Kill: Sendable, CustomStringConvertible {
    public var component: SuiteComponent
    /// Events stored when it was killed.
    public var storedAtKill: Int64
    /// Whether the CLI was still sending.
    public var duringIngest: Bool
    /// Time from the kill until every process was healthy again.
    public var recovery: Duration

    public var description: String {
      "\(component.rawValue) at \(storedAtKill) stored (\(duringIngest ? "mid-stream" : "after the stream")), healthy again in \(recovery)"
    }
  }

  /// What the drill found.
  public struct Report: Sendable {
    public var kills: [Kill] = []
    /// The CLI's exit status and summary line under faults.
    public var clientStatus: Int32 = -1
    public var clientSummary = ""
    /// How many times the CLI retried.
    public var clientRetries = 0
    /// The faulty suite's log: its last offset (one per stored event) and events per kind.
    public var stored: Int64 = 0
    public var storedByKind: [String: Int64] = [:]
    /// Time the CLI took under faults, and without.
    public var faultyIngest: Duration = .zero
    public var cleanIngest: Duration = .zero
    /// KPI cells compared, and those that differ (described).
    public var cellsCompared = 0
    public var mismatches: [String] = []
  }

  /// Runs the drill in `directory` (two suites under it).
  public func run(in directory: String) async throws -> Report {
    var random = SeededRandom(seed: seed)
    let file = directory + "/events.ndjson"
    let range = try Self.writeEvents(count: events, seed: seed, to: file)
    log("wrote \(events) events to \(file)")

    let faulty = SuiteLauncher(dataDirectory: directory + "/faulty", portBase: portBase, binaryDirectory: binaryDirectory)
    let clean = SuiteLauncher(dataDirectory: directory + "/clean", portBase: portBase + 5, binaryDirectory: binaryDirectory)
    // Both suites are stopped before this returns, whatever happens.
    do {
      let report = try await drive(faulty: faulty, clean: clean, file: file, range: range, random: &random)
      await faulty.stop()
      await clean.stop()
      return report
    } catch {
      await faulty.stop()
      await clean.stop()
      throw error
    }
  }

  /// Starts both suites, streams the file into each (the faulty one under kills), and
  /// compares.
  private func drive(
    faulty: SuiteLauncher, clean: SuiteLauncher, file: String, range: (Int64, Int64), random: inout SeededRandom
  ) async throws -> Report {
    var report = Report()
    let output = FileHandle(forWritingAtPath: "/dev/null")
    try await faulty.start(timeout: .seconds(120), output: output)
    try await clean.start(timeout: .seconds(120), output: output)
    let faultyKey = try await faulty.createTenant("drill")
    let cleanKey = try await clean.createTenant("drill")

    // Under faults: kill points at random fractions of the file, in order.
    let started = ContinuousClock.now
    let client = try Self.startIngest(
      file: file, key: faultyKey, suite: faulty, binaryDirectory: binaryDirectory, batchSize: batchSize)
    let fractions = (0..<3).map { _ in 0.15 + 0.7 * random.unit() }.sorted()
    let pauses = (0..<3).map { _ in Int(100 + 400 * random.unit()) }
    // One watching connection for the whole phase (it reconnects after the gateway's
    // restart): a handshake per poll would be slower than the client being watched.
    report.kills = try await ClientFactory.withClient(faulty.gateway, security: Self.security(faulty)) { watcher in
      let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: watcher)
      var options = CallOptions.defaults
      options.timeout = .seconds(1)
      var kills: [Kill] = []
      var stored: Int64 = 0
      for (index, component) in [SuiteComponent.ingestion, .metrics, .gateway].enumerated() {
        let target = Int64(fractions[index] * Double(events))
        while client.process.isRunning {
          let stats = try? await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(faultyKey), options: options)
          stored = stats?.lastOffset ?? stored
          if stored >= target { break }
          try await Task.sleep(for: .milliseconds(10))
        }
        let duringIngest = client.process.isRunning
        let killed = ContinuousClock.now
        faulty.crash(component)
        try await Task.sleep(for: .milliseconds(pauses[index]))
        try await faulty.restart(component, timeout: .seconds(60), output: output)
        let kill = Kill(component: component, storedAtKill: stored, duringIngest: duringIngest, recovery: ContinuousClock.now - killed)
        log("killed \(kill)")
        kills.append(kill)
      }
      return kills
    }
    let result = try await client.finish()
    report.faultyIngest = ContinuousClock.now - started
    (report.clientStatus, report.clientSummary, report.clientRetries) = result
    log("client under faults: status \(result.status), \(result.summary), \(result.retries) retries")

    let cleanStarted = ContinuousClock.now
    let cleanResult = try await Self.startIngest(
      file: file, key: cleanKey, suite: clean, binaryDirectory: binaryDirectory, batchSize: batchSize
    ).finish()
    report.cleanIngest = ContinuousClock.now - cleanStarted
    guard cleanResult.status == 0 else { throw SuiteError("the reference ingest failed: \(cleanResult.summary)") }

    let stats = try await Self.stats(faulty, key: faultyKey)
    report.stored = stats.lastOffset
    report.storedByKind = stats.eventsByKind
    let faultyKpis = try await Self.kpis(faulty, key: faultyKey, range: range, minOffset: stats.lastOffset)
    let cleanKpis = try await Self.kpis(clean, key: cleanKey, range: range, minOffset: Int64(events))
    report.cellsCompared = cleanKpis.count
    report.mismatches = Self.differences(faultyKpis, from: cleanKpis)
    return report
  }

  /// The cells of `found` that differ from `expected`, described.
  static func differences(_ found: [String: [Double]], from expected: [String: [Double]]) -> [String] {
    var mismatches: [String] = []
    for (cell, value) in expected where found[cell] != value {
      mismatches.append("\(cell): \(found[cell].map { "\($0)" } ?? "missing") instead of \(value)")
    }
    for cell in found.keys where expected[cell] == nil { mismatches.append("\(cell): unexpected") }
    return mismatches.sorted()
  }

  // MARK: - Parts

  static func security(_ suite: SuiteLauncher) -> HTTP2ClientTransport.Posix.TransportSecurity {
    SuiteTLS(pki: suite.pki).clientSecurity(identity: nil)
  }

  static func stats(_ suite: SuiteLauncher, key: String) async throws -> Sightline_Ingestion_V1_GetStatsResponse {
    try await ClientFactory.withClient(ReplicaSet(suite.gateways), security: Self.security(suite), retryable: RetryableMethods.names) {
      client in
      var options = CallOptions.defaults
      options.timeout = .seconds(5)
      return try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(
        .init(), metadata: SuiteMetadata.bearer(key), options: options)
    }
  }

  /// A running `sightline ingest`.
  struct IngestRun {
    var process: Process
    var output: String

    /// Waits for the CLI, at most `timeout` (then stops it and throws); returns its status,
    /// summary line and number of retries.
    func finish(timeout: Duration = .seconds(1_800)) async throws -> (status: Int32, summary: String, retries: Int) {
      let deadline = ContinuousClock.now + timeout
      while process.isRunning {
        guard ContinuousClock.now < deadline else {
          process.terminate()
          throw SuiteError("sightline ingest did not finish within \(timeout); see \(output)")
        }
        try await Task.sleep(for: .milliseconds(50))
      }
      let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
      let lines = text.split(separator: "\n")
      let summary = lines.last { $0.hasPrefix("accepted ") }.map(String.init) ?? text.suffix(500).description
      return (process.terminationStatus, summary, lines.filter { $0.hasPrefix("retrying after") }.count)
    }
  }

  /// Starts `sightline ingest` against `suite` (every gateway of it), logging to its data
  /// directory.
  static func startIngest(file: String, key: String, suite: SuiteLauncher, binaryDirectory: String, batchSize: Int) throws -> IngestRun {
    let output = suite.dataDirectory + "/ingest-client.log"
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binaryDirectory + "/sightline")
    process.arguments = [
      "ingest", file, "--batch-size", String(batchSize), "--api-key", key, "--data-dir", suite.dataDirectory,
      "--gateway", ReplicaSet(suite.gateways).description,
    ]
    let handle = FileHandle(forWritingAtPath: output)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return IngestRun(process: process, output: output)
  }

  /// Every KPI by business line and day over `range`, read once metrics has applied
  /// `minOffset`: cell ("day line kpi") → value, sample size, median, p90, secondary.
  static func kpis(_ suite: SuiteLauncher, key: String, range: (Int64, Int64), minOffset: Int64) async throws -> [String: [Double]] {
    let request = Sightline_Metrics_V1_QueryKpisRequest.with {
      $0.kpis = Sightline_Metrics_V1_Kpi.allCases.filter { $0 != .unspecified && $0 != .backlog }
      $0.range = .with {
        $0.start = Google_Protobuf_Timestamp(unixMilliseconds: range.0)
        $0.end = Google_Protobuf_Timestamp(unixMilliseconds: range.1)
      }
      $0.interval = .day
      $0.groupBy = [.businessLine]
      $0.minOffset = minOffset
    }
    let deadline = ContinuousClock.now + .seconds(600)
    while true {
      do {
        let response = try await ClientFactory.withClient(
          ReplicaSet(suite.gateways), security: Self.security(suite), retryable: RetryableMethods.names
        ) { client in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(request, metadata: SuiteMetadata.bearer(key))
        }
        var cells: [String: [Double]] = [:]
        for row in response.rows {
          for value in row.values {
            cells["\(row.bucketStart.unixMilliseconds) \(row.groupValues.joined(separator: "/")) \(value.kpi)"] = [
              value.value, Double(value.sampleSize), value.median, value.p90, value.secondary,
            ]
          }
        }
        return cells
      } catch let error as RPCError where [.unavailable, .deadlineExceeded].contains(error.code) && ContinuousClock.now < deadline {
        // Metrics is still catching up (the read-your-writes wait timed out): ask again.
        try await Task.sleep(for: .milliseconds(200))
      }
    }
  }

  /// The business lines of the drill's tickets (L1…L5), each with tickets.
  public static let businessLines = 5

  /// Writes `count` events (tickets with replies, resolutions, reopens and CSAT answers,
  /// over 30 days ending 3 days ago) as NDJSON; returns the range of whole UTC days they
  /// fall in.
  static func writeEvents(count: Int, seed: UInt64, to path: String) throws -> (Int64, Int64) {
    var random = SeededRandom(seed: seed)
    let day: Int64 = 86_400_000
    let now = WallClock.now
    let end = now - now % day - 2 * day
    let start = end - 30 * day
    var lines: [String] = []
    lines.reserveCapacity(count)
    var ticket = 0
    while lines.count < count {
      ticket += 1
      let id = "T\(ticket)"
      let customer = "C\(Int(random.next() % UInt64(max(count / 8, 1))))"
      let line = "L\(ticket % Self.businessLines + 1)"
      let created = start + Int64(random.unit() * Double(29 * day))
      let priority = ["PRIORITY_LOW", "PRIORITY_NORMAL", "PRIORITY_HIGH"][ticket % 3]
      func event(_ suffix: String, _ kind: String, _ ms: Int64) {
        guard lines.count < count else { return }
        lines.append(
          #"{"eventId":"\#(id)-\#(suffix)","ticketEvent":{"ticketId":"\#(id)","customerId":"\#(customer)","kind":"TICKET_EVENT_KIND_\#(kind)","time":"\#(RFC3339.format(milliseconds: ms))","channel":"wechat","businessLine":"\#(line)","region":"r\#(ticket % 3)","priority":"\#(priority)","complaint":\#(random.chance(0.08))}}"#
        )
      }
      event("c", "CREATED", created)
      guard random.chance(0.95) else { continue }
      let reply = created + Int64(random.unit() * 8 * 3_600_000) + 60_000
      event("r", "AGENT_REPLY", reply)
      guard random.chance(0.9) else { continue }
      let resolved = reply + Int64(random.unit() * 24 * 3_600_000) + 60_000
      event("s", "RESOLVED", resolved)
      if random.chance(0.1) {
        event("o", "REOPENED", resolved + 3_600_000)
        event("s2", "RESOLVED", resolved + 7_200_000)
      }
      if random.chance(0.4) && lines.count < count {
        lines.append(
          #"{"eventId":"\#(id)-q","surveyResponse":{"customerId":"\#(customer)","ticketId":"\#(id)","kind":"SURVEY_KIND_CSAT","score":\#(1 + random.next() % 5),"time":"\#(RFC3339.format(milliseconds: resolved + 600_000))"}}"#
        )
      }
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    return (start, end + 3 * day)
  }
}
