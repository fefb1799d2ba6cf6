import Foundation
import GRPCCore
import GRPCProtobuf
import GatewayService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// The walking skeleton: client → gateway → ingestion → SQLite → back, over TLS.
@Suite(.serialized) struct GatewayPathTests {
  @Test func ingestedEventsAreStoredOnceAndCountedBack() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let key = SuiteMetadata.bearer(tenant.adminKey)
        var bad = ticketCreated("bad")
        bad.ticketEvent.time = "not a time"
        let first = try await ingestion.ingest(
          .with { $0.events = [ticketCreated("e1"), bad, ticketCreated("e2", ticket: "T2")] }, metadata: key)
        #expect(first.accepted == 2)
        #expect(first.offset == 2)
        #expect(first.rejected.map(\.index) == [1])
        #expect(first.rejected.first?.field == "ticket_event.time")
        // Re-sending the same batch stores nothing twice and reports the duplicates.
        let again = try await ingestion.ingest(
          .with { $0.events = [ticketCreated("e1"), ticketCreated("e2", ticket: "T2")] }, metadata: key)
        #expect(again.accepted == 0)
        #expect(again.duplicates == 2)
        #expect(again.offset == 2)
        let stats = try await ingestion.getStats(.init(), metadata: key)
        #expect(stats.lastOffset == 2)
        #expect(stats.eventsByKind == ["ticket_event": 2])
        #expect(stats.duplicates == 2)
        #expect(stats.rejections == 1)
      }
    }
  }

  @Test func subscribeStreamsThroughTheGatewayAndDeadlinesPropagate() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let key = SuiteMetadata.bearer(tenant.adminKey)
        _ = try await ingestion.ingest(.with { $0.events = [ticketCreated("e1"), ticketCreated("e2", ticket: "T2")] }, metadata: key)
        // Subscribe catches up and then waits for new events, so it only ends at the
        // caller's deadline, which must cross the gateway to the service. (Long enough for
        // the catch-up to arrive while the browser test loads both cores beside this one.)
        var options = CallOptions.defaults
        options.timeout = .seconds(8)
        let start = ContinuousClock.now
        let received = Counter()
        let error = await #expect(throws: RPCError.self) {
          try await ingestion.subscribe(.with { $0.fromOffset = 0 }, metadata: key, options: options) { response in
            for try await message in response.messages { received.add(message.entries.count) }
          }
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(received.value == 2)
        #expect(ContinuousClock.now - start < .seconds(20))
      }
    }
  }

  @Test func invalidRequestsCarryFieldDetails() async throws {
    try await InProcessSuite.with { suite in
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let error = await #expect(throws: RPCError.self) {
          try await gateway.createTenant(.with { $0.name = "no spaces allowed" }, metadata: SuiteMetadata.bearer(suite.operatorKey))
        }
        #expect(error?.code == .invalidArgument)
        let status = try #require(try error?.unpackGoogleRPCStatus())
        #expect(status.details.compactMap(\.badRequest).first?.violations.first?.field == "name")
      }
    }
  }

  @Test func everyBackendMethodHasAnAccessPolicy() {
    for (_, methods) in MethodPolicy.services {
      for method in methods {
        #expect(MethodPolicy.role(for: method) != nil, "\(method) has no role in MethodPolicy")
      }
    }
  }

  /// Every backend is reported by name. Each check is bounded by 2 s, so on a machine busy
  /// with other suites the first answer may say UNREACHABLE while the gateway's channels
  /// still connect: ask again (up to 30 s) until every entry settles, and show the details.
  @Test func suiteHealthReportsEachBackend() async throws {
    try await InProcessSuite.with { suite in
      let components = ["gateway", "ingestion", "metrics", "segmentation", "experiments"]
      var services: [Sightline_Gateway_V1_ServiceHealth] = []
      let deadline = ContinuousClock.now + .seconds(30)
      repeat {
        services = try await suite.withGatewayClient { client in
          try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).suiteHealth(
            .init(), metadata: SuiteMetadata.bearer(suite.operatorKey))
        }.services
        if services.allSatisfy({ $0.status == "SERVING" }) { break }
        try await Task.sleep(for: .milliseconds(500))
      } while ContinuousClock.now < deadline
      #expect(services.map(\.name) == components)
      for service in services {
        #expect(service.status == "SERVING", "\(service.name): \(service.detail)")
        #expect(service.name == "gateway" || !service.address.isEmpty)
      }
    }
  }

  /// SuiteHealth reports the gateway's own health service, not a constant: when the gateway
  /// cannot write its data directory it says NOT_SERVING with the reason, and SERVING again
  /// once the directory is writable.
  @Test func suiteHealthReportsTheGatewaysOwnStatus() async throws {
    try await InProcessSuite.with { suite in
      // A directory where the gateway writes its probe file: the write fails as on a full
      // or read-only disk (even for root).
      let probe = "\(suite.directory)/gateway/.readiness-gateway"
      try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
      try await suite.withGatewayClient { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let key = SuiteMetadata.bearer(suite.operatorKey)
        func gatewayEntry() async throws -> Sightline_Gateway_V1_ServiceHealth? {
          try await gateway.suiteHealth(.init(), metadata: key).services.first { $0.name == "gateway" }
        }
        // Probes run every couple of seconds; the margin is for a loaded machine.
        let deadline = ContinuousClock.now + .seconds(30)
        var entry = try await gatewayEntry()
        while entry?.status != "NOT_SERVING", ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(200))
          entry = try await gatewayEntry()
        }
        #expect(entry?.status == "NOT_SERVING" && entry?.detail.contains("cannot be written") == true, "\(String(describing: entry))")

        try FileManager.default.removeItem(atPath: probe)
        while entry?.status != "SERVING", ContinuousClock.now < deadline + .seconds(15) {
          try await Task.sleep(for: .milliseconds(200))
          entry = try await gatewayEntry()
        }
        #expect(entry?.status == "SERVING", "\(String(describing: entry))")
      }
    }
  }
}
