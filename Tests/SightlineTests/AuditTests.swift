import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// The audit log through the gateway over TLS, on both backends: what is recorded (who,
/// what, when, from where, how it ended, refusals included), who may read it, and that
/// reads are not recorded.
@Suite(.serialized) struct AuditTests {
  @Test(arguments: TestBackend.all) func administrativeActionsAreRecordedWithWhoWhatWhereAndOutcome(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let operatorKey = SuiteMetadata.bearer(suite.operatorKey)
        let started = WallClock.now

        let writer = try await gateway.createKey(
          .with {
            $0.role = .writer; $0.label = "etl job"
          }, metadata: admin)
        let reader = try await gateway.createKey(
          .with {
            $0.role = .reader; $0.label = "wallboard"
          }, metadata: admin)
        _ = await #expect(throws: RPCError.self) {
          try await ingestion.setRedaction(.with { $0.policy = "off" }, metadata: SuiteMetadata.bearer(writer.secret))
        }
        _ = try await ingestion.setRetention(.with { $0.retainDays = 30 }, metadata: admin)
        _ = try await segmentation.defineSegment(
          .with {
            $0.name = "angry_vips"; $0.expression = "tier == \"vip\" && nps_last <= 6"
          }, metadata: SuiteMetadata.bearer(writer.secret))
        _ = await #expect(throws: RPCError.self) {
          try await ingestion.setRedaction(.with { $0.policy = "hide" }, metadata: admin)
        }
        _ = try await gateway.revokeKey(.with { $0.id = reader.key.id }, metadata: admin)
        // Reads are not recorded.
        _ = try await gateway.listKeys(.init(), metadata: admin)
        _ = try await ingestion.getStats(.init(), metadata: admin)

        let records = try await gateway.listAudit(.init(), metadata: admin).records
        #expect(
          records.map(\.action) == [
            "Gateway/CreateTenant", "Gateway/CreateKey", "Gateway/CreateKey", "Ingestion/SetRedaction", "Ingestion/SetRetention",
            "Segmentation/DefineSegment", "Ingestion/SetRedaction", "Gateway/RevokeKey",
          ])
        #expect(records.allSatisfy { $0.tenantID == tenant.id && $0.id.hasPrefix("au_") && $0.address.contains("127.0.0.1") })
        #expect(records.dropFirst().allSatisfy { $0.at.unixMilliseconds >= started && $0.at.unixMilliseconds <= WallClock.now })
        let (created, newKey, denied, retention, segment, invalid, revoked) =
          (records[0], records[1], records[3], records[4], records[5], records[6], records[7])
        #expect(created.actorKind == "operator" && created.actorName == "operator" && created.detail.contains("acme"))
        #expect(newKey.actorKind == "key" && newKey.actorName == "first admin key" && newKey.detail.contains("etl job"))
        #expect(!records.contains { $0.detail.contains(writer.secret) || $0.detail.contains("slk_") })
        #expect(denied.actorName == "etl job" && denied.actorKeyID == writer.key.id && denied.outcome.hasPrefix("PERMISSION_DENIED: "))
        #expect(retention.outcome == "ok" && retention.detail == "retain_days: 30")
        #expect(segment.actorName == "etl job" && segment.detail.contains("angry_vips"))
        #expect(invalid.outcome.hasPrefix("INVALID_ARGUMENT: ") && invalid.outcome.contains("policy"))
        #expect(revoked.detail.contains(reader.key.id))

        // --since and --limit: the newest records at or after a time.
        let since = try await gateway.listAudit(
          .with {
            $0.since = retention.at; $0.limit = 2
          }, metadata: admin
        ).records
        #expect(since.map(\.id) == [invalid.id, revoked.id])

        // Only an admin reads the tenant's log; the operator reads the operator's actions.
        let notAdmin = await #expect(throws: RPCError.self) {
          try await gateway.listAudit(.init(), metadata: SuiteMetadata.bearer(writer.secret))
        }
        #expect(notAdmin?.code == .permissionDenied)
        let operatorLog = try await gateway.listAudit(.init(), metadata: operatorKey).records
        #expect(operatorLog.map(\.id) == [created.id])
        // Another tenant's admin sees none of it.
        let other = try await suite.createTenant("other")
        let foreign = try await gateway.listAudit(.init(), metadata: SuiteMetadata.bearer(other.adminKey)).records
        #expect(foreign.map(\.tenantID) == [other.id])
      }
    }
  }
}
