// The ingest benchmark (issue 3): events/s end to end (client → gateway → ingestion →
// committed, over TLS) for generated events, against a plain SQLite batch insert of the
// same rows on the same disk (the local limit). docs/performance.md records the latest run.
//
//   swift run -c release bench-ingest [--events N] [--batch N] [--consumers 0|1]
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

var events = 1_000_000
var batchSize = 5_000
var followLogs = true
var order = SyntheticHelpdesk.Order.interleaved
var foldPage = 5_000
var iterator = CommandLine.arguments.dropFirst().makeIterator()
while let flag = iterator.next() {
  let text = iterator.next() ?? ""
  let value = Int(text) ?? 0
  switch flag {
  case "--events": events = value
  case "--batch": batchSize = value
  case "--consumers": followLogs = value != 0
  case "--fold-page": foldPage = value
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
print(
  "bench-ingest: \(batches.reduce(0) { $0 + $1.count }) events of \(helpdesk.tickets) tickets in \(order) order, batches of \(batchSize); \(machine)"
)

try await InProcessSuite.with(followLogs: consumersOn) { suite in
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

    if !consumersOn {
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
          try consumer.apply(page, throughOffset: page.last!.offset, tenant: id)
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
