import Foundation
import GRDB
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftASN1
import SwiftProtobuf
import Synchronization
import Testing
import X509

/// TLS, mutual TLS, API keys, roles and tenant isolation, over real sockets.
@Suite(.serialized) struct SecurityTests {
  @Test func developmentPKIHasCANamesAndPrivateKeys() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let pki = PKIDirectory(path: directory + "/pki")
    #expect(try DevelopmentPKI.ensure(pki))
    #expect(try !DevelopmentPKI.ensure(pki), "a complete PKI is reused, not regenerated")
    let ca = try Certificate(pemEncoded: String(contentsOfFile: pki.caCertificate, encoding: .utf8))
    let server = try Certificate(pemEncoded: String(contentsOfFile: pki.serverCertificate, encoding: .utf8))
    #expect(server.issuer == ca.subject)
    let names = try #require(try server.extensions.subjectAlternativeNames)
    #expect(names.contains(.dnsName("localhost")))
    #expect(names.contains(.dnsName("sightline-ingestion")))
    #expect(names.contains(.ipAddress(.init(contentBytes: [127, 0, 0, 1]))))
    for key in [pki.caKey, pki.serverKey, pki.clientKey(.gateway), pki.clientKey(.operator)] {
      let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
      #expect(mode == 0o600, "\(key) must be private")
    }
  }

  @Test func servicePortRefusesClientsWithoutACertificate() async throws {
    try await InProcessSuite.with { suite in
      let noCertificate = SuiteTLS(pki: suite.pki).clientSecurity(identity: nil)
      await #expect(throws: RPCError.self) {
        try await suite.withIngestionClient(security: noCertificate) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(5)
          _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
        }
      }
      // The same call with the operator's certificate succeeds: the refusal was the certificate.
      let status = try await suite.withIngestionClient(security: SuiteTLS(pki: suite.pki).clientSecurity(identity: .operator)) {
        try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status
      }
      #expect(status == .serving)
    }
  }

  @Test func servicePortRefusesACertificateFromAnotherCA() async throws {
    try await InProcessSuite.with { suite in
      let foreign = PKIDirectory(path: suite.directory + "/foreign-pki")
      try DevelopmentPKI.ensure(foreign)
      // Trust the real CA (so the server is accepted) but present a foreign client certificate.
      let security = SuiteTLS.clientSecurity(
        caFile: suite.pki.caCertificate,
        identity: (foreign.clientCertificate(.operator), foreign.clientKey(.operator)))
      await #expect(throws: RPCError.self) {
        try await suite.withIngestionClient(security: security) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(5)
          _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
        }
      }
    }
  }

  @Test func plaintextIsRefusedOnEveryPort() async throws {
    try await InProcessSuite.with { suite in
      for (port, identity) in [(suite.gatewayPort, nil), (suite.ingestionPort, ClientIdentity.operator)] {
        // The port is up and answers TLS (whatever its readiness, which a loaded machine can
        // briefly flip), so the refusal below is about plaintext.
        _ = try await ClientFactory.withClient(
          HostAndPort(host: "127.0.0.1", port: port), security: SuiteTLS(pki: suite.pki).clientSecurity(identity: identity)
        ) { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
        await #expect(throws: RPCError.self) {
          try await ClientFactory.withClient(HostAndPort(host: "127.0.0.1", port: port), security: .plaintext) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
          }
        }
      }
    }
  }

  @Test(arguments: TestBackend.all) func keysAreCheckedRolesEnforcedAndRevocationIsImmediate(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)

        for metadata: Metadata in [[:], SuiteMetadata.bearer("slk_" + String(repeating: "0", count: 64)), ["authorization": "Basic abc"]] {
          let error = await #expect(throws: RPCError.self) { try await ingestion.getStats(.init(), metadata: metadata) }
          #expect(error?.code == .unauthenticated)
        }

        let reader = try await gateway.createKey(.with { $0.role = .reader }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        let denied = await #expect(throws: RPCError.self) {
          try await ingestion.ingest(.with { $0.events = [ticketCreated("e1")] }, metadata: SuiteMetadata.bearer(reader.secret))
        }
        #expect(denied?.code == .permissionDenied)
        // Reading is allowed for a reader.
        #expect(try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(reader.secret)).lastOffset == 0)

        // The operator key administers tenants but sees no tenant data.
        let operatorRead = await #expect(throws: RPCError.self) {
          try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(suite.operatorKey))
        }
        #expect(operatorRead?.code == .permissionDenied)
        // A tenant key cannot create tenants.
        let tenantAdmin = await #expect(throws: RPCError.self) {
          try await gateway.createTenant(.with { $0.name = "evil" }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        }
        #expect(tenantAdmin?.code == .permissionDenied)

        _ = try await gateway.revokeKey(.with { $0.id = reader.key.id }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        let revoked = await #expect(throws: RPCError.self) {
          try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(reader.secret))
        }
        #expect(revoked?.code == .unauthenticated)
      }
    }
  }

  @Test func tenantDirectoriesAndDatabasesArePrivate() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("private")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let stored = try await ingestion.ingest(
          .with { $0.events = [ticketCreated("p1")] }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        // Metrics and segmentation open the tenant's files once they have applied the event.
        _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
          .with {
            $0.kpis = [.volume]; $0.minOffset = stored.offset
          }, metadata: SuiteMetadata.bearer(tenant.adminKey))
      }
      let tenantDirectory = "\(suite.directory)/tenants/\(tenant.id)"
      let files = try FileManager.default.contentsOfDirectory(atPath: tenantDirectory)
      #expect(files.contains("ingestion.sqlite") && files.contains("metrics.sqlite"), "\(files)")
      var checked = ["\(suite.directory)/tenants", tenantDirectory]
      checked += files.map { "\(tenantDirectory)/\($0)" }
      for path in checked {
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        let directory = (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil
        #expect(mode == (directory ? 0o700 : 0o600), "\(path) has mode \(String(mode, radix: 8))")
      }
    }
  }

  @Test func databasesLeftWorldReadableByAnOlderVersionAreTightenedOnOpen() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let tenantDirectory = directory + "/tenants/t_old"
    try FileManager.default.createDirectory(
      atPath: tenantDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let path = tenantDirectory + "/metrics.sqlite"
    #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
    #expect(FileManager.default.createFile(atPath: path + "-wal", contents: nil, attributes: [.posixPermissions: 0o644]))
    let pool = try PrivateFiles.openDatabase(at: path, configuration: TenantDatabases.configuration())
    try pool.write { try $0.execute(sql: "CREATE TABLE probe (x)") }
    for (file, mode) in [(tenantDirectory, 0o700), (path, 0o600), (path + "-wal", 0o600), (path + "-shm", 0o600)] {
      #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == mode, "\(file)")
    }
  }

  @Test(arguments: TestBackend.all) func aTenantSeesOnlyItsOwnData(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let a = try await suite.createTenant("tenant-a")
      let b = try await suite.createTenant("tenant-b")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let stored = try await ingestion.ingest(
          .with { $0.events = [ticketCreated("a1"), ticketCreated("a2", ticket: "T2")] }, metadata: SuiteMetadata.bearer(a.adminKey))
        #expect(stored.accepted == 2)
        // A tenant key trying to smuggle another tenant through metadata is ignored.
        var smuggled = SuiteMetadata.bearer(b.adminKey)
        smuggled.addString(a.id, forKey: SuiteMetadata.tenantKey)
        let statsB = try await ingestion.getStats(.init(), metadata: smuggled)
        #expect(statsB.lastOffset == 0)
        #expect(statsB.eventsByKind.isEmpty)
        // B cannot revoke A's keys either: they do not exist in B's tenant.
        let aKeys = try await gateway.listKeys(.init(), metadata: SuiteMetadata.bearer(a.adminKey))
        let crossRevoke = await #expect(throws: RPCError.self) {
          try await gateway.revokeKey(.with { $0.id = aKeys.keys[0].id }, metadata: SuiteMetadata.bearer(b.adminKey))
        }
        #expect(crossRevoke?.code == .notFound)
        #expect(try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(a.adminKey)).lastOffset == 2)
      }
    }
  }
}

@Suite(.serialized) struct SecretsInLogsTests {
  @Test func noKeyEverAppearsInTheLogs() async throws {
    let lines = Mutex<[String]>.Box([])
    let secrets = Mutex<[String]>.Box([])
    try await InProcessSuite.with(logHandler: { _ in CapturingLogHandler(lines: lines) }) { suite in
      secrets.value.withLock { $0.append(suite.operatorKey) }
      let tenant = try await suite.createTenant("acme")
      secrets.value.withLock { $0.append(tenant.adminKey) }
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let writer = try await gateway.createKey(.with { $0.role = .writer }, metadata: admin)
        secrets.value.withLock { $0.append(writer.secret) }
        _ = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
          .with { $0.events = [ticketCreated("e1")] }, metadata: SuiteMetadata.bearer(writer.secret))
        _ = try await gateway.revokeKey(.with { $0.id = writer.key.id }, metadata: admin)
        // Refused calls: a revoked key, a made-up key, a malformed header.
        for bad in [writer.secret, "slk_" + String(repeating: "ab", count: 32), "not-a-key"] {
          secrets.value.withLock { $0.append(bad) }
          await #expect(throws: RPCError.self) {
            try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: SuiteMetadata.bearer(bad))
          }
        }
      }
    }
    let logged = lines.value.withLock { $0 }
    #expect(logged.count > 10, "the suite logged its calls")
    for secret in secrets.value.withLock({ $0 }) {
      #expect(!logged.contains { $0.contains(secret) }, "a key appeared in the logs")
    }
    #expect(!logged.contains { $0.contains("Bearer") })
  }
}

/// Tenant B's key walks the tenant-scoped RPCs with tenant A's ids, and sees nothing of A.
@Suite(.serialized) struct ForeignTenantTests {
  @Test(arguments: TestBackend.all) func anotherTenantsIdsReachNothing(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let a = try await suite.createTenant("alpha")
      let b = try await suite.createTenant("beta")
      try await suite.withGatewayClient { client in
        let (keyA, keyB) = (SuiteMetadata.bearer(a.adminKey), SuiteMetadata.bearer(b.adminKey))
        // Tenant A's data and definitions.
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = workedExampleEvents() }, metadata: keyA)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let rule = try await metrics.addAlertRule(
          .with {
            $0.rule = .with {
              $0.kpi = .volume; $0.comparison = .greater; $0.threshold = 1
            }
          }, metadata: keyA)
        let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
        _ = try await segmentation.defineSegment(
          .with {
            $0.name = "seg_a"; $0.expression = "tier == 'vip'"
          }, metadata: keyA)
        let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
        _ = try await experiments.createExperiment(
          .with { $0.experiment = ExperimentRPCTests.rolloutExperiment(.init(endMs: todayMidnightMs())) }, metadata: keyA)
        _ = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.minOffset = ingested.offset
          }, metadata: keyA)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let keysOfA = try await gateway.listKeys(.init(), metadata: keyA)

        // Tenant B with A's ids: NOT_FOUND or empty, never A's data.
        func notFound(_ call: () async throws -> Void) async {
          let error = await #expect(throws: RPCError.self) { try await call() }
          #expect(error?.code == .notFound, "\(String(describing: error))")
        }
        await notFound { _ = try await experiments.getExperiment(.with { $0.name = "dashboard rollout" }, metadata: keyB) }
        await notFound { _ = try await experiments.evaluate(.with { $0.name = "dashboard rollout" }, metadata: keyB) }
        await notFound { _ = try await segmentation.getCustomer(.with { $0.customerID = "C1" }, metadata: keyB) }
        await notFound { _ = try await segmentation.listMembers(.with { $0.segment = "seg_a" }, metadata: keyB) }
        await notFound { _ = try await segmentation.deleteSegment(.with { $0.name = "seg_a" }, metadata: keyB) }
        await notFound { _ = try await metrics.removeAlertRule(.with { $0.id = rule.id }, metadata: keyB) }
        await notFound { _ = try await gateway.revokeKey(.with { $0.id = keysOfA.keys[0].id }, metadata: keyB) }
        #expect(try await experiments.listExperiments(.init(), metadata: keyB).experiments.isEmpty)
        #expect(try await segmentation.listSegments(.init(), metadata: keyB).segments.isEmpty)
        #expect(try await metrics.listAlertRules(.init(), metadata: keyB).rules.isEmpty)
        #expect(try await metrics.listAlerts(.init(), metadata: keyB).alerts.isEmpty)
        #expect(try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: keyB).lastOffset == 0)
        let volume = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume];
            $0.range = .with {
              $0.start = timestamp("2026-03-01T00:00:00Z"); $0.end = timestamp("2026-03-04T00:00:00Z")
            }
          },
          metadata: keyB)
        #expect(volume.rows.allSatisfy { $0.values[0].sampleSize == 0 })
        let units = try await metrics.getUnitAggregates(
          .with {
            $0.unit = .businessLine; $0.kpis = [.volume];
            $0.periods = [
              .with {
                $0.start = timestamp("2026-03-01T00:00:00Z"); $0.end = timestamp("2026-03-04T00:00:00Z")
              }
            ]
          },
          metadata: keyB)
        #expect(units.aggregates.isEmpty)
        #expect(try await segmentation.listAtRisk(.init(), metadata: keyB).customers.isEmpty)
        #expect(try await segmentation.getThemes(.init(), metadata: keyB).documents == 0)
        let marchRange = Sightline_Common_V1_TimeRange.with {
          $0.start = timestamp("2026-03-01T00:00:00Z"); $0.end = timestamp("2026-03-04T00:00:00Z")
        }
        let heatmap = try await metrics.getWorkloadHeatmap(
          .with {
            $0.kpi = .volume; $0.range = marchRange
          }, metadata: keyB)
        #expect(heatmap.cells.count == 168 && heatmap.cells.allSatisfy { $0.value.sampleSize == 0 })
        #expect(try await metrics.forecastArrivals(.init(), metadata: keyB).series.isEmpty)
        let plan = try await metrics.planStaffing(.with { $0.range = marchRange }, metadata: keyB)
        #expect(plan.hours.allSatisfy { $0.channels.isEmpty })
        let keysOfB = try await gateway.listKeys(.init(), metadata: keyB)
        #expect(Set(keysOfB.keys.map(\.id)).isDisjoint(with: keysOfA.keys.map(\.id)))
        // A tenant header smuggled in by B is dropped by the gateway.
        var smuggled = keyB
        smuggled.addString(a.id, forKey: "x-sightline-tenant")
        #expect(try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: smuggled).lastOffset == 0)
        // A still sees its own.
        #expect(try await experiments.listExperiments(.init(), metadata: keyA).experiments.count == 1)
      }
    }
  }
}
