public import GRPCCore
import SightlineModel
import SightlineStorage
import SwiftProtobuf
public import SightlineWire

/// Lists the tenants that have an event log, for the downstream consumers (metrics,
/// segmentation) to discover what to tail. Served on ingestion's mutual-TLS port only;
/// the gateway does not forward it.
public struct TenantDirectoryProvider: Sightline_Ingestion_V1_TenantDirectory.ServiceProtocol {
  private let databases: TenantDatabases

  /// A directory over the ingestion databases under `dataDirectory`.
  public init(dataDirectory: String) {
    databases = TenantDatabases(root: dataDirectory, service: "ingestion", migrator: EventLogStore.migrator)
  }

  public func listTenants(
    request: ServerRequest<Sightline_Ingestion_V1_ListTenantsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_ListTenantsResponse> {
    let tenants = databases.tenants().map(\.rawValue)
    return ServerResponse(message: .with { $0.tenants = tenants })
  }
}
