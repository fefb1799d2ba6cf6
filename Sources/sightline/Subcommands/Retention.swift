import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineRPC
import SightlineRecords
import SightlineWire
import SwiftProtobuf

/// `sightline retention --retain-days N`: how long raw events are kept (admin key).
struct Retention: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Set how long your tenant's raw events are kept (admin key).",
    discussion: """
      Events older than the window (by event time) lose their content at once and hourly after; \
      their ids are kept, so re-sending one is still a duplicate. KPIs, alerts and segments are \
      unchanged: metrics and segmentation keep their own folded state. 0 keeps raw events forever.
      """)

  @Option(help: "Days to keep raw events, by event time (0: forever).") var retainDays: Int
  @OptionGroup var connection: ConnectionOptions

  func validate() throws {
    guard (0...36_500).contains(retainDays) else { throw ValidationError("--retain-days must be 0-36500") }
  }

  func run() async throws {
    let days = Int32(retainDays)
    let reply = try await connection.withGateway { client, metadata in
      try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).setRetention(.with { $0.retainDays = days }, metadata: metadata)
    }
    print(
      reply.retainDays == 0
        ? "raw events are kept forever"
        : "raw events are kept \(reply.retainDays) days; \(reply.prunedEvents) older events pruned now")
  }
}
