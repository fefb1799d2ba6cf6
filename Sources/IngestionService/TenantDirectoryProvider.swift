public import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineStorage
public import SightlineWire
import SwiftProtobuf

/// How the downstream consumers (metrics, segmentation) follow every tenant's log: the
/// list of tenants, the change feed, and bounded reads of one tenant's log. Served on
/// ingestion's mutual-TLS port only; the gateway does not forward it.
public struct TenantDirectoryProvider: Sightline_Ingestion_V1_TenantDirectory.ServiceProtocol {
  /// Most entries one `ReadLog` returns.
  public static let maxReadEntries = 10_000
  /// Entries a `ReadLog` without `max_entries` returns at most.
  public static let defaultReadEntries = 2_000

  private let ingestion: IngestionProvider

  /// The directory of `ingestion`'s logs.
  public init(ingestion: IngestionProvider) {
    self.ingestion = ingestion
  }

  public func listTenants(
    request: ServerRequest<Sightline_Ingestion_V1_ListTenantsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_ListTenantsResponse> {
    let tenants = try ingestion.storage.tenants().map(\.rawValue)
    return ServerResponse(message: .with { $0.tenants = tenants })
  }

  public func watchChanges(
    request: ServerRequest<Sightline_Ingestion_V1_WatchChangesRequest>, context: ServerContext
  ) async throws -> StreamingServerResponse<Sightline_Ingestion_V1_WatchChangesResponse> {
    StreamingServerResponse { writer in
      // Ends when the consumer leaves or the server drains; it reconnects and gets every
      // head again, so nothing is missed in between.
      try await runLiveStream {
        try await ingestion.feed.watch { changes in
          try await writer.write(
            .with { message in
              message.heads = changes.heads.sorted { $0.key.rawValue < $1.key.rawValue }.map { tenant, head in
                .with {
                  $0.tenant = tenant.rawValue
                  $0.headOffset = head
                }
              }
              message.deleted = changes.deleted.map(\.rawValue).sorted()
              message.snapshotComplete = changes.snapshotComplete
            })
        }
      }
      return [:]
    }
  }

  public func readLog(
    request: ServerRequest<Sightline_Ingestion_V1_ReadLogRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_ReadLogResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let message = request.message
    guard message.fromOffset >= 0 else { throw InvalidInput(field: "from_offset", reason: "must not be negative") }
    guard (0...Self.maxReadEntries).contains(Int(message.maxEntries)) else {
      throw InvalidInput(field: "max_entries", reason: "must be 0 (the default, \(Self.defaultReadEntries)) to \(Self.maxReadEntries)")
    }
    let limit = message.maxEntries > 0 ? Int(message.maxEntries) : Self.defaultReadEntries
    let from = message.fromOffset
    let (entries, head) = try await BlockingWork.run {
      let store = try ingestion.store(for: tenant)
      let records = try store.records(after: from, limit: limit)
      return (try records.map(IngestionProvider.logEntry), max(records.last?.offset ?? 0, try store.lastOffset()))
    }
    return ServerResponse(
      message: .with {
        $0.entries = entries
        $0.headOffset = head
      })
  }
}
