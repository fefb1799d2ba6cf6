import SightlineSuite
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf
import Testing
import SwiftASN1
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
        // The port is up and answers TLS, so the refusal below is about plaintext.
        let tlsStatus = try await InProcessSuite.withClient(
          HostAndPort(host: "127.0.0.1", port: port), security: SuiteTLS(pki: suite.pki).clientSecurity(identity: identity)
        ) { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
        #expect(tlsStatus == .serving)
        await #expect(throws: RPCError.self) {
          try await InProcessSuite.withClient(HostAndPort(host: "127.0.0.1", port: port), security: .plaintext) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
          }
        }
      }
    }
  }

  @Test func keysAreCheckedRolesEnforcedAndRevocationIsImmediate() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)

        for metadata: Metadata in [[:], InProcessSuite.bearer("slk_" + String(repeating: "0", count: 64)), ["authorization": "Basic abc"]] {
          let error = await #expect(throws: RPCError.self) { try await ingestion.getStats(.init(), metadata: metadata) }
          #expect(error?.code == .unauthenticated)
        }

        let reader = try await gateway.createKey(.with { $0.role = .reader }, metadata: InProcessSuite.bearer(tenant.adminKey))
        let denied = await #expect(throws: RPCError.self) {
          try await ingestion.ingest(.with { $0.events = [ticketCreated("e1")] }, metadata: InProcessSuite.bearer(reader.secret))
        }
        #expect(denied?.code == .permissionDenied)
        // Reading is allowed for a reader.
        #expect(try await ingestion.getStats(.init(), metadata: InProcessSuite.bearer(reader.secret)).lastOffset == 0)

        // The operator key administers tenants but sees no tenant data.
        let operatorRead = await #expect(throws: RPCError.self) {
          try await ingestion.getStats(.init(), metadata: InProcessSuite.bearer(suite.operatorKey))
        }
        #expect(operatorRead?.code == .permissionDenied)
        // A tenant key cannot create tenants.
        let tenantAdmin = await #expect(throws: RPCError.self) {
          try await gateway.createTenant(.with { $0.name = "evil" }, metadata: InProcessSuite.bearer(tenant.adminKey))
        }
        #expect(tenantAdmin?.code == .permissionDenied)

        _ = try await gateway.revokeKey(.with { $0.id = reader.key.id }, metadata: InProcessSuite.bearer(tenant.adminKey))
        let revoked = await #expect(throws: RPCError.self) {
          try await ingestion.getStats(.init(), metadata: InProcessSuite.bearer(reader.secret))
        }
        #expect(revoked?.code == .unauthenticated)
      }
    }
  }

  @Test func aTenantSeesOnlyItsOwnData() async throws {
    try await InProcessSuite.with { suite in
      let a = try await suite.createTenant("tenant-a")
      let b = try await suite.createTenant("tenant-b")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let stored = try await ingestion.ingest(
          .with { $0.events = [ticketCreated("a1"), ticketCreated("a2", ticket: "T2")] }, metadata: InProcessSuite.bearer(a.adminKey))
        #expect(stored.accepted == 2)
        // A tenant key trying to smuggle another tenant through metadata is ignored.
        var smuggled = InProcessSuite.bearer(b.adminKey)
        smuggled.addString(a.id, forKey: SuiteMetadata.tenantKey)
        let statsB = try await ingestion.getStats(.init(), metadata: smuggled)
        #expect(statsB.lastOffset == 0)
        #expect(statsB.eventsByKind.isEmpty)
        // B cannot revoke A's keys either: they do not exist in B's tenant.
        let aKeys = try await gateway.listKeys(.init(), metadata: InProcessSuite.bearer(a.adminKey))
        let crossRevoke = await #expect(throws: RPCError.self) {
          try await gateway.revokeKey(.with { $0.id = aKeys.keys[0].id }, metadata: InProcessSuite.bearer(b.adminKey))
        }
        #expect(crossRevoke?.code == .notFound)
        #expect(try await ingestion.getStats(.init(), metadata: InProcessSuite.bearer(a.adminKey)).lastOffset == 2)
      }
    }
  }
}
