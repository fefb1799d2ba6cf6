import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineRPC
import SightlineRecords
import SightlineWire
import SwiftProtobuf

/// `sightline stats`: the tenant's ingestion counters.
struct Stats: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show your tenant's ingestion statistics.")
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let reply = try await connection.withGateway { client, metadata in
      try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: metadata)
    }
    print("last offset  \(reply.lastOffset)")
    print("duplicates   \(reply.duplicates)")
    print("rejections   \(reply.rejections)")
    print(
      "retention    \(reply.retainDays == 0 ? "raw events kept forever" : "\(reply.retainDays) days"), \(reply.prunedEvents) events pruned")
    print("redaction    \(reply.redactionPolicy), redacted \(Redaction.counts(reply.redactionsByKind))")
    printTable(["KIND", "EVENTS"], reply.eventsByKind.sorted { $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
  }
}
