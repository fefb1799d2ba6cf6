import Foundation
import GRPCCore
import IngestionService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Calls the ingestion provider directly (no network) for input-handling tests.
struct IngestionProviderHarness {
  let provider: IngestionProvider
  let tenant = TenantID("t_hostile")!

  init(directory: String) { provider = IngestionProvider(dataDirectory: directory) }

  func ingest(_ events: [Sightline_Ingestion_V1_Event]) throws -> Sightline_Ingestion_V1_IngestResponse {
    try provider.ingest(events, tenant: tenant)
  }
}
