import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

/// The tenant data lifecycle end to end through the gateway: export, delete, import.
@Suite(.serialized) struct TenantLifecycleTests {
  /// Everything a tenant's users read: KPIs by business line and day, every segment's
  /// scorecard, the at-risk list, text themes, experiments. Fixed ranges and "as of"
  /// times, so two reads a minute apart must be equal.
  struct Answers: Equatable {
    var kpis: [Sightline_Metrics_V1_KpiRow]
    var scorecards: [Sightline_Segmentation_V1_Scorecard]
    var atRisk: [Sightline_Segmentation_V1_AtRiskCustomer]
    var themes: [Sightline_Segmentation_V1_Theme]
    var experiments: [Sightline_Experiments_V1_Experiment]
    var stats: Sightline_Ingestion_V1_GetStatsResponse
  }

  static func answers(
    _ client: GRPCClient<HTTP2ClientTransport.Posix>, key: Metadata, endMs: Int64, minOffset: Int64
  )
    async throws -> Answers
  {
    let range = Sightline_Common_V1_TimeRange.with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: endMs - 40 * 86_400_000)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
    }
    let kpis = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
      .with {
        $0.kpis = [
          .volume, .firstResponseTime, .resolutionTime, .fcrRate, .reopenRate, .slaFirstResponse, .csat, .nps, .ces,
          .complaintClosureRate, .repeatContactRate,
        ]
        $0.range = range
        $0.groupBy = [.businessLine]
        $0.interval = .day
        $0.minOffset = minOffset
      }, metadata: key)
    let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
    let segments = try await segmentation.listSegments(.init(), metadata: key)
    var scorecards: [Sightline_Segmentation_V1_Scorecard] = []
    for segment in segments.builtin + segments.segments.map(\.name) {
      scorecards.append(
        try await segmentation.getScorecard(
          .with {
            $0.segment = segment
            $0.range = range
            $0.minOffset = minOffset
          }, metadata: key))
    }
    let atRisk = try await segmentation.listAtRisk(
      .with {
        $0.limit = 50
        $0.asOf = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
      }, metadata: key)
    let themes = try await segmentation.getThemes(
      .with {
        $0.range = range; $0.limit = 10
      }, metadata: key)
    let experiments = try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).listExperiments(.init(), metadata: key)
    let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: key)
    return Answers(
      kpis: kpis.rows, scorecards: scorecards, atRisk: atRisk.customers, themes: themes.themes,
      experiments: experiments.experiments, stats: stats)
  }

  /// Files under `directory` whose path names `tenantID`.
  static func files(of tenantID: String, under directory: String) -> [String] {
    let paths = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
    return paths.filter { $0.contains(tenantID) }
  }

  @Test(arguments: TestBackend.all) func exportDeleteImportGivesIdenticalAnswersAndLeavesOtherTenantsAlone(
    _ backend: TestBackend
  ) async throws {
    var scenario = DemoScenario(endMs: Int64(Date().timeIntervalSince1970 * 1000) / 60_000 * 60_000)
    scenario.days = 40
    scenario.rolloutDay = 20
    scenario.customers = 300
    scenario.ticketsPerLineDay = 3
    let planted = scenario
    let exportDirectory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: exportDirectory) }
    let lines = Mutex<[String]>.Box([])
    let (archive, before, demoKey) = try await backend.withSuite(logHandler: { _ in CapturingLogHandler(lines: lines) }) { suite in
      try await suite.withGatewayClient { client in
        let operatorKey = SuiteMetadata.bearer(suite.operatorKey)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        // Tenant A: the demo's data, segments and experiment. Tenant B: a few tickets.
        let demo = try await DemoRunner(client: client, operatorKey: suite.operatorKey) { _ in }.run(planted)
        let keyA = SuiteMetadata.bearer(demo.adminKey)
        let b = try await suite.createTenant("bystander")
        let keyB = SuiteMetadata.bearer(b.adminKey)
        let storedB = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
          .with {
            $0.events = (0..<30).map { index in
              ticketCreated("b\(index)", ticket: "B\(index)", time: RFC3339.format(milliseconds: planted.endMs - Int64(index) * 3_600_000))
            }
          }, metadata: keyB)
        let beforeA = try await Self.answers(client, key: keyA, endMs: planted.endMs, minOffset: demo.offset)
        let beforeB = try await Self.answers(client, key: keyB, endMs: planted.endMs, minOffset: storedB.offset)
        #expect(beforeA.kpis.count > 40 && beforeA.scorecards.count > 3 && !beforeA.experiments.isEmpty)

        // Export: four verified files, a manifest, nothing left behind in transit.
        let archive = try await TenantExportDirectory.export(
          name: demo.tenantName, into: exportDirectory, gateway: client, metadata: operatorKey)
        #expect(archive.files.map(\.service) == ["experiments", "segmentation", "metrics", "ingestion"])
        #expect(archive.tenant.id == demo.tenantID && archive.keys.count >= 1)
        #expect(try TenantExportDirectory.read(exportDirectory) == archive)
        // The tenant's audit log travels with it: the demo's settings, segments, experiment.
        let exportedActions = Set(archive.audit.map(\.action))
        #expect(exportedActions.isSuperset(of: ["Gateway/CreateTenant", "Metrics/SetSettings", "Experiments/CreateExperiment"]))
        #expect(Self.files(of: demo.tenantID, under: suite.directory).allSatisfy { !$0.contains("transfers") })
        #expect(
          (try FileManager.default.attributesOfItem(atPath: exportDirectory)[.posixPermissions] as? Int) == 0o700)

        // Delete: refused without the confirmation; then keys revoked, every file gone.
        let unconfirmed = await #expect(throws: RPCError.self) {
          try await gateway.deleteTenant(
            .with {
              $0.name = demo.tenantName; $0.confirm = "demo"
            }, metadata: operatorKey)
        }
        #expect(unconfirmed?.code == .invalidArgument)
        let notOperator = await #expect(throws: RPCError.self) {
          try await gateway.deleteTenant(
            .with {
              $0.name = demo.tenantName; $0.confirm = demo.tenantName
            }, metadata: keyA)
        }
        #expect(notOperator?.code == .permissionDenied)
        // On PostgreSQL a tenant has rows, not files (EventLogAcrossBackendsTests counts them).
        #expect(Self.files(of: demo.tenantID, under: suite.directory).isEmpty == (backend == .postgres))
        let deleted = try await gateway.deleteTenant(
          .with {
            $0.name = demo.tenantName; $0.confirm = demo.tenantName
          }, metadata: operatorKey)
        #expect(deleted.tenant.id == demo.tenantID && deleted.keysRevoked >= 1)
        #expect(deleted.services.map(\.service) == ["ingestion", "metrics", "segmentation", "experiments"])
        #expect(deleted.services.allSatisfy { backend == .postgres || ($0.filesRemoved >= 1 && $0.bytesRemoved > 0) })
        // Consumers that were following the tenant must not recreate its files.
        try await Task.sleep(for: .seconds(3))
        #expect(Self.files(of: demo.tenantID, under: suite.directory) == [])
        let revoked = await #expect(throws: RPCError.self) {
          try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: keyA)
        }
        #expect(revoked?.code == .unauthenticated)
        #expect(try await gateway.listTenants(.init(), metadata: operatorKey).tenants.map(\.name) == ["bystander"])
        #expect(lines.value.withLock { $0.contains { $0.contains("tenant deleted") && $0.contains(demo.tenantID) } })
        // The operator's log keeps the deletion, and the refused attempt with the tenant's key
        // went with the tenant's own records.
        let operatorLog = try await gateway.listAudit(.init(), metadata: operatorKey).records
        #expect(
          operatorLog.contains { $0.action == "Gateway/DeleteTenant" && $0.tenantID == demo.tenantID && $0.outcome == "ok" },
          "\(operatorLog.map(\.action))")
        #expect(operatorLog.contains { $0.action == "Gateway/DeleteTenant" && $0.outcome.hasPrefix("INVALID_ARGUMENT") })
        #expect(operatorLog.contains { $0.action == "Gateway/ExportTenant" && $0.tenantID == demo.tenantID && $0.outcome == "ok" })
        #expect(!operatorLog.contains { $0.actorKind != "operator" })
        // Deleting again finishes nothing more and fails nothing; tenant B is untouched.
        let again = try await gateway.deleteTenant(
          .with {
            $0.name = demo.tenantName; $0.confirm = demo.tenantName
          }, metadata: operatorKey)
        #expect(again.keysRevoked == 0 && again.services.allSatisfy { $0.filesRemoved == 0 })
        #expect(try await Self.answers(client, key: keyB, endMs: planted.endMs, minOffset: storedB.offset) == beforeB)

        // A damaged export is refused before anything is sent.
        let damaged = InProcessSuite.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: damaged) }
        try FileManager.default.copyItem(atPath: exportDirectory, toPath: damaged)
        let metricsFile = try FileHandle(forUpdating: URL(fileURLWithPath: damaged + "/metrics.sqlite"))
        try metricsFile.seek(toOffset: 5000)
        try metricsFile.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
        try metricsFile.close()
        #expect(throws: TenantExportDirectory.Problem.self) { try TenantExportDirectory.read(damaged) }

        // A file that is not a database, with a manifest rewritten to match it, reaches the
        // metrics service, which refuses it; what experiments and segmentation installed
        // before is removed again, and the tenant does not come back.
        let forged = InProcessSuite.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: forged) }
        try FileManager.default.copyItem(atPath: exportDirectory, toPath: forged)
        let garbage = Data(repeating: 0x5A, count: 8192)
        try garbage.write(to: URL(fileURLWithPath: forged + "/metrics.sqlite"))
        var forgedArchive = archive
        forgedArchive.files[2].bytes = Int64(garbage.count)
        forgedArchive.files[2].sha256 = SHA256.hash(data: garbage).map { String(format: "%02x", $0) }.joined()
        try forgedArchive.jsonUTF8Data().write(to: URL(fileURLWithPath: forged + "/manifest.json"))
        let refused = await #expect(throws: RPCError.self) {
          try await TenantExportDirectory.importTenant(from: forged, gateway: client, metadata: operatorKey)
        }
        #expect(refused?.code == .invalidArgument, "\(String(describing: refused))")
        #expect(refused?.message.contains("not a sound SQLite database") == true)
        #expect(Self.files(of: demo.tenantID, under: suite.directory).filter { !$0.contains("transfers") } == [])
        #expect(try await gateway.listTenants(.init(), metadata: operatorKey).tenants.map(\.name) == ["bystander"])

        // Import: the tenant, its keys and its answers are back, exactly.
        let imported = try await TenantExportDirectory.importTenant(from: exportDirectory, gateway: client, metadata: operatorKey)
        #expect(imported.tenant.id == demo.tenantID && imported.files.count == 4)
        let afterA = try await Self.answers(client, key: keyA, endMs: planted.endMs, minOffset: demo.offset)
        #expect(afterA == beforeA)
        #expect(try await Self.answers(client, key: keyB, endMs: planted.endMs, minOffset: storedB.offset) == beforeB)
        // The tenant lives again: new data flows through its consumers.
        let more = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
          .with { $0.events = [ticketCreated("after-import", ticket: "AI1", time: RFC3339.format(milliseconds: planted.endMs - 60_000))] },
          metadata: keyA)
        let later = try await Self.answers(client, key: keyA, endMs: planted.endMs, minOffset: more.offset)
        #expect(later.stats.lastOffset == beforeA.stats.lastOffset + 1)
        #expect(later.kpis != beforeA.kpis)
        // A second import of a tenant that exists is refused.
        let twice = await #expect(throws: RPCError.self) {
          try await TenantExportDirectory.importTenant(from: exportDirectory, gateway: client, metadata: operatorKey)
        }
        #expect(twice?.code == .alreadyExists)
        return (archive, beforeA, demo.adminKey)
      }
    }

    // Into a fresh deployment: same answers, with the tenant's own keys.
    try await backend.withSuite { fresh in
      try await fresh.withGatewayClient { client in
        let imported = try await TenantExportDirectory.importTenant(
          from: exportDirectory, gateway: client, metadata: SuiteMetadata.bearer(fresh.operatorKey))
        #expect(imported.tenant == archive.tenant)
        // Its audit log came along: the records of its export, then the import's own.
        let audit = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listAudit(
          .init(), metadata: SuiteMetadata.bearer(demoKey)
        ).records
        #expect(Array(audit.prefix(archive.audit.count)) == archive.audit)
        #expect(audit.last?.action == "Gateway/ImportTenant" && audit.last?.tenantID == archive.tenant.id)
        let after = try await Self.answers(
          client, key: SuiteMetadata.bearer(demoKey), endMs: planted.endMs, minOffset: before.stats.lastOffset)
        #expect(after == before)
      }
    }
  }
}

/// An export taken while the tenant ingests is a consistent cut: the log as of one commit,
/// the consumers' state at or before it, and after an import into a fresh deployment the
/// consumers catch up to exactly that log.
@Suite(.serialized) struct LiveExportTests {
  @Test func anExportTakenDuringIngestIsConsistent() async throws {
    let exportDirectory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: exportDirectory) }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let (archive, key) = try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("busy")
      let key = SuiteMetadata.bearer(tenant.adminKey)
      return try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        // Ingest 40 batches of 250 new tickets while the export runs.
        let writer = Task {
          for batch in 0..<40 {
            let reply = try await ingestion.ingest(
              .with {
                $0.events = (0..<250).map { index in
                  ticketCreated(
                    "e\(batch)-\(index)", ticket: "T\(batch)-\(index)",
                    time: RFC3339.format(milliseconds: now - 3_600_000 - Int64(batch * 250 + index) * 1000))
                }
              }, metadata: key)
            #expect(reply.accepted == 250)
          }
        }
        // Export once a few batches are in, while the rest are still coming.
        while try await ingestion.getStats(.init(), metadata: key).lastOffset < 1_000 {
          try await Task.sleep(for: .milliseconds(20))
        }
        let archive = try await TenantExportDirectory.export(
          name: "busy", into: exportDirectory, gateway: client, metadata: SuiteMetadata.bearer(suite.operatorKey))
        try await writer.value
        let stats = try await ingestion.getStats(.init(), metadata: key)
        #expect(stats.lastOffset == 10_000)
        return (archive, key)
      }
    }
    try await InProcessSuite.with { fresh in
      try await fresh.withGatewayClient { client in
        _ = try await TenantExportDirectory.importTenant(
          from: exportDirectory, gateway: client, metadata: SuiteMetadata.bearer(fresh.operatorKey))
        let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: key)
        // A cut taken mid-ingest: some batches, whole ones (each is one transaction).
        #expect(stats.lastOffset >= 1_000 && stats.lastOffset < 10_000, "the export was not taken mid-ingest: \(stats.lastOffset)")
        #expect(stats.lastOffset % 250 == 0, "\(stats.lastOffset)")
        #expect(archive.files.count == 4)
        // Every ticket in the copied log is counted once: the consumers resumed from their
        // copied offsets and neither missed nor repeated an event.
        let volume = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
          .with {
            $0.kpis = [.volume]
            $0.range = .with {
              $0.start = Google_Protobuf_Timestamp(unixMilliseconds: now - 30 * 86_400_000)
              $0.end = Google_Protobuf_Timestamp(unixMilliseconds: now)
            }
            $0.minOffset = stats.lastOffset
          }, metadata: key)
        #expect(volume.rows.first?.values.first?.value == Double(stats.lastOffset))
        #expect(volume.appliedOffset == stats.lastOffset)
      }
    }
  }
}
