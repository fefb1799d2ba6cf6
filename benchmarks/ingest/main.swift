// The ingest benchmark (issue 3): events/s end to end (client → gateway → ingestion →
// committed, over TLS) for generated events, against a plain SQLite batch insert of the
// same rows on the same disk (the local limit). docs/performance.md records the latest run.
//
//   swift run -c release bench-ingest [--events N] [--batch N] [--consumers 0|1] [--database URL [--database-owner URL]]
//
// `--consumers 0` runs the suite without the metrics and segmentation log consumers, which
// otherwise tail the log on the same two cores while it is written.
import Foundation
import GRDB
import GRPCCore
import Logging
import MetricsService
import SegmentationService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization

var events = 1_000_000
var batchSize = 5_000
var followLogs = true
var order = SyntheticHelpdesk.Order.interleaved
var foldPage = 5_000
var cliRun = false
var freshnessSeconds = 0
var databaseURL: String?
var databaseOwnerURL: String?
var iterator = CommandLine.arguments.dropFirst().makeIterator()
while let flag = iterator.next() {
  let text = iterator.next() ?? ""
  let value = Int(text) ?? 0
  switch flag {
  case "--events": events = value
  case "--batch": batchSize = value
  case "--consumers": followLogs = value != 0
  case "--fold-page": foldPage = value
  case "--cli": cliRun = value != 0
  case "--freshness": freshnessSeconds = value
  case "--database": databaseURL = text
  case "--database-owner": databaseOwnerURL = text
  case "--order":
    guard let chosen = SyntheticHelpdesk.Order(rawValue: text) else { fail("--order is interleaved or sorted") }
    order = chosen
  default: fail("unknown flag \(flag)")
  }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(2)
}

func seconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Folds the tenant's whole log from offset 0 with a fresh consumer (its state in a new
/// directory) following the suite's ingestion over mutual TLS, as a consumer catching up
/// on a backlog does; returns the seconds until it has applied `head`.
func catchUp(
  _ suite: InProcessSuite, tenant: TenantID, head: Int64, name: String,
  consumer: (String) -> any LogConsumer
) async throws -> Double {
  let directory = suite.directory + "/catch-up-\(name)"
  let state = consumer(directory)
  return try await suite.withIngestionClient(security: SuiteTLS(pki: suite.pki).clientSecurity(identity: .service)) { client in
    let follower = LogFollower(
      client: client, consumer: state, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    let start = ContinuousClock.now
    let running = Task { try await follower.run() }
    follower.follow(tenant)
    while try state.appliedOffset(tenant: tenant) < head {
      try await Task.sleep(for: .milliseconds(20))
    }
    let elapsed = seconds(ContinuousClock.now - start)
    running.cancel()
    _ = await running.result
    return elapsed
  }
}

let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / (1 << 30)) GiB"
// About 3.4 events per ticket.
let helpdesk = SyntheticHelpdesk(
  tickets: events * 10 / 34, order: order, endMs: Int64(Date().timeIntervalSince1970 * 1000) / 86_400_000 * 86_400_000)
var generated: [[Sightline_Ingestion_V1_Event]] = []
try await helpdesk.forEachBatch(size: batchSize) { generated.append($0) }
let batches = generated
let consumersOn = followLogs
let foldPageEntries = foldPage
let runCLI = cliRun
let freshnessRun = freshnessSeconds
print(
  "bench-ingest: \(batches.reduce(0) { $0 + $1.count }) events of \(helpdesk.tickets) tickets in \(order) order, batches of \(batchSize); \(machine)"
)

/// Every service on PostgreSQL (`--database`, a scratch database: the tables are shared by
/// the run's tenants), else SQLite in a temporary directory.
let database = databaseURL.map { SuiteDatabase(url: $0, ownerURL: databaseOwnerURL) }
if database != nil { print("backend: PostgreSQL (--database)") }

try await InProcessSuite.with(followLogs: consumersOn, database: database) { suite in
  let tenant = try await suite.createTenant("bench")
  try await suite.withGatewayClient { client in
    let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
    let start = ContinuousClock.now
    let reply = try await ingestion.ingestStream(
      request: StreamingClientRequest(metadata: SuiteMetadata.bearer(tenant.adminKey)) { writer in
        for batch in batches { try await writer.write(.with { $0.events = batch }) }
      })
    let elapsed = seconds(ContinuousClock.now - start)
    print(
      String(
        format: "end to end (IngestStream via the gateway, TLS, committed): %d events in %.2f s = %.0f events/s",
        Int(reply.accepted), elapsed, Double(reply.accepted) / elapsed))

    // The fold alone and the catch-up fold into SQLite files of their own: SQLite runs only.
    if !consumersOn && database == nil {
      // The fold alone: the log read into memory first, then applied page by page.
      let id = TenantID(tenant.id)!
      let entries = try await suite.withIngestionClient(security: SuiteTLS(pki: suite.pki).clientSecurity(identity: .service)) {
        client in
        let directory = Sightline_Ingestion_V1_TenantDirectory.Client(wrapping: client)
        var entries: [Sightline_Ingestion_V1_LogEntry] = []
        while entries.count < Int(reply.offset) {
          let page = try await directory.readLog(
            .with {
              $0.fromOffset = entries.last?.offset ?? 0
              $0.maxEntries = 5_000
            }, metadata: SuiteMetadata.forTenant(id))
          entries += page.entries
        }
        return entries
      }
      for (name, make) in [
        ("metrics", { MetricsLogConsumer(dataDirectory: $0) as any LogConsumer }),
        ("segmentation", { SegmentationLogConsumer(dataDirectory: $0) as any LogConsumer }),
      ] as [(String, (String) -> any LogConsumer)] {
        let consumer = make(suite.directory + "/fold-alone-\(name)")
        let start = ContinuousClock.now
        var index = 0
        while index < entries.count {
          let page = Array(entries[index..<min(index + foldPageEntries, entries.count)])
          try consumer.apply(page, throughOffset: page.last!.offset, tenant: id, fence: .sole)
          index += page.count
        }
        let time = seconds(ContinuousClock.now - start)
        print(
          String(
            format: "%@ fold alone (entries in memory, pages of %d): %.2f s = %.0f events/s", name, foldPageEntries, time,
            Double(entries.count) / time))
      }

      // Catching up: each consumer alone folds the whole log (ReadLog over mutual TLS,
      // batch fold, commit), as after a restart or a bulk load.
      for (name, make) in [
        ("metrics", { MetricsLogConsumer(dataDirectory: $0) as any LogConsumer }),
        ("segmentation", { SegmentationLogConsumer(dataDirectory: $0) as any LogConsumer }),
      ] as [(String, (String) -> any LogConsumer)] {
        let time = try await catchUp(suite, tenant: id, head: reply.offset, name: name, consumer: make)
        print(
          String(
            format: "%@ consumer catching up on the whole log alone: %d events in %.2f s = %.0f events/s", name,
            Int(reply.offset), time, Double(reply.offset) / time))
      }
    }

    if runCLI {
      // The same events as an NDJSON file, sent by the CLI (`sightline ingest`, release
      // build) to the same gateway for another tenant: its rate against IngestStream's
      // above, and its peak memory.
      let file = suite.directory + "/events.ndjson"
      FileManager.default.createFile(atPath: file, contents: nil)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
      for batch in batches {
        try handle.write(contentsOf: Data(try batch.map { try $0.jsonString() }.joined(separator: "\n").utf8) + Data("\n".utf8))
      }
      try handle.close()
      let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
      let cliTenant = try await suite.createTenant("bench-cli")
      // GNU time reports the CLI's own peak resident memory (getrusage here would count the
      // bench process's pages that the child shares before it executes).
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
      let timeReport = suite.directory + "/cli-time.txt"
      process.arguments = [
        "-f", "%M", "-o", timeReport, SuiteLauncher.currentBinaryDirectory + "/sightline", "ingest", file, "--gateway",
        "127.0.0.1:\(suite.gatewayPort)", "--ca", suite.pki.caCertificate,
        "--api-key", cliTenant.adminKey,
      ]
      process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
      let cliStart = ContinuousClock.now
      try process.run()
      process.waitUntilExit()
      let cliTime = seconds(ContinuousClock.now - cliStart)
      // The last line (GNU time writes a line about a non-zero exit before it).
      let peakKiB =
        Double(
          try String(contentsOfFile: timeReport, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? "") ?? 0
      let cliRate = Double(batches.reduce(0) { $0 + $1.count }) / cliTime
      print(
        String(
          format:
            "sightline ingest (CLI, %.0f MB NDJSON file, exit %d): %.2f s = %.0f events/s = %.0f %% of IngestStream's rate; peak resident memory %.0f MiB",
          Double(size) / 1e6, process.terminationStatus, cliTime, cliRate, 100 * cliRate / (Double(reply.accepted) / elapsed),
          peakKiB / 1024))
    }

    // The same rows straight into SQLite: one transaction per batch, WAL, synchronous=FULL.
    let path = suite.directory + "/plain.sqlite"
    let pool = try DatabasePool(path: path, configuration: TenantDatabases.configuration())
    try await pool.write { db in
      try db.execute(
        sql:
          #"CREATE TABLE event ("offset" INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, event_time_ms INTEGER NOT NULL, ingested_at_ms INTEGER NOT NULL, payload BLOB NOT NULL)"#
      )
    }
    let rows = try batches.map { batch in try batch.map { ($0.eventID, try $0.serializedData()) } }
    let plainStart = ContinuousClock.now
    var offset = 0
    for batch in rows {
      let first = offset
      try await pool.write { db in
        let insert = try db.cachedStatement(
          sql:
            #"INSERT INTO event ("offset", event_id, kind, event_time_ms, ingested_at_ms, payload) VALUES (?, ?, 'ticket_event', 0, 0, ?)"#)
        for (index, (id, payload)) in batch.enumerated() {
          try insert.execute(arguments: [first + index + 1, id, payload])
        }
      }
      offset += batch.count
    }
    let plain = seconds(ContinuousClock.now - plainStart)
    let endToEndRate = Double(reply.accepted) / elapsed
    let plainRate = Double(offset) / plain
    print(String(format: "plain SQLite batch insert of the same rows: %.2f s = %.0f rows/s", plain, plainRate))
    print(String(format: "end to end reaches %.0f %% of the plain insert rate", 100 * endToEndRate / plainRate))
  }
}

if freshnessRun > 0 {
  // Freshness: ingest steadily at 20,000 events/s (batches of 1,000 every 50 ms) through
  // the gateway with both consumers on; after each acknowledgement a QueryKpis with
  // min_offset = the acknowledged offset (read-your-writes) runs beside the next ingests,
  // and its answer marks the events as counted.
  let stream = batches.flatMap { $0 }
  try await InProcessSuite.with { suite in
    let tenant = try await suite.createTenant("fresh")
    try await suite.withGatewayClient { client in
      let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
      let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      let key = SuiteMetadata.bearer(tenant.adminKey)
      final class Collected: Sendable { let freshness = Mutex<[Double]>([]) }
      let collected = Collected()
      let interval = Duration.milliseconds(50)
      let end = ContinuousClock.now + .seconds(freshnessRun)
      var sent = 0
      let started = ContinuousClock.now
      try await withThrowingDiscardingTaskGroup { probes in
        var next = ContinuousClock.now
        while ContinuousClock.now < end, sent + 1_000 <= stream.count {
          let reply = try await ingestion.ingest(.with { $0.events = Array(stream[sent..<sent + 1_000]) }, metadata: key)
          let acked = ContinuousClock.now
          sent += 1_000
          let offset = reply.offset
          probes.addTask {
            _ = try await metrics.queryKpis(
              .with {
                $0.kpis = [.volume]
                $0.interval = .all
                $0.minOffset = offset
              }, metadata: key,
              options: {
                var o = CallOptions.defaults; o.timeout = .seconds(30); return o
              }())
            let ms =
              Double((ContinuousClock.now - acked).components.attoseconds) / 1e15
              + Double((ContinuousClock.now - acked).components.seconds) * 1000
            collected.freshness.withLock { $0.append(ms) }
          }
          next += interval
          if next > ContinuousClock.now { try await Task.sleep(until: next) }
        }
      }
      let rate = Double(sent) / seconds(ContinuousClock.now - started)
      let sorted = collected.freshness.withLock { $0 }.sorted()
      func at(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
      print(
        String(
          format:
            "freshness at %.0f events/s for %d s (consumers on, %d probes): ack → counted by QueryKpis p50 %.0f ms, p99 %.0f ms, max %.0f ms (goal p99 ≤ 1000 ms)",
          rate, freshnessRun, sorted.count, at(0.5), at(0.99), sorted.last ?? 0))
    }
  }
}
