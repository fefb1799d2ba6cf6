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
var iterator = CommandLine.arguments.dropFirst().makeIterator()
while let flag = iterator.next() {
  let value = iterator.next().flatMap(Int.init) ?? 0
  switch flag {
  case "--events": events = value
  case "--batch": batchSize = value
  case "--consumers": followLogs = value != 0
  default: FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8)); exit(2)
  }
}

func seconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The i-th generated event: ticket creations and replies over the last 30 days.
func event(_ index: Int) -> Sightline_Ingestion_V1_Event {
  let now = Int64(Date().timeIntervalSince1970 * 1000)
  return .with {
    $0.eventID = "e\(index)"
    $0.ticketEvent = .with {
      $0.ticketID = "T\(index / 2)"
      $0.customerID = "C\(index % 10_000)"
      $0.time = RFC3339.format(milliseconds: now - 30 * 86_400_000 + Int64(index) * 1_000 % (29 * 86_400_000))
      $0.kind = index % 2 == 0 ? .created : .customerReply
      $0.channel = "wechat"
      $0.businessLine = "L\(index % 20)"
    }
  }
}

let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / (1 << 30)) GiB"
print("bench-ingest: \(events) events in batches of \(batchSize); \(machine)")
let batches = stride(from: 0, to: events, by: batchSize).map { start in (start..<min(start + batchSize, events)).map(event) }

try await InProcessSuite.with(followLogs: followLogs) { suite in
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
