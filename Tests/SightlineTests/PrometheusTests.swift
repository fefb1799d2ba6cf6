import Foundation
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension RealProcessSuites {
  /// Every process serves Prometheus text at /metrics: scrape the real processes after known
  /// traffic and find the RPC, ingest and consumer values it must have produced.
  @Suite(.serialized) struct PrometheusTests {
    static func scrape(_ port: Int, path: String = "/metrics") async throws -> (Int, String) {
      let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
      return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The value of the sample `name{labels}` in `text`.
    static func value(_ text: String, _ sample: String) -> Double? {
      text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func scrapesShowRpcIngestAndConsumerFigures() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      for (offset, component) in ([SuiteComponent.gateway] + SuiteComponent.backends).enumerated() {
        launcher.prometheusPorts[component] = base + 6 + offset
      }
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        let key = SuiteMetadata.bearer(try await launcher.createTenant("scraped"))
        let events = (0..<10).map { ticketCreated("m\($0)", ticket: "M\($0)") }
        var bad = ticketCreated("bad", ticket: "B1")
        bad.ticketEvent.time = "yesterday"
        let (offset, tenant) = try await ClientFactory.withClient(
          launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)
        ) { client in
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          let first = try await ingestion.ingest(.with { $0.events = events + [bad] }, metadata: key)
          _ = try await ingestion.ingest(.with { $0.events = Array(events.prefix(4)) }, metadata: key)
          _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
            .with {
              $0.kpis = [.volume]; $0.minOffset = first.offset
            }, metadata: key)
          let whoami = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).whoAmI(.init(), metadata: key)
          return (first.offset, whoami.tenant.id)
        }
        #expect(offset == 10)
        let ingestionPort = launcher.prometheusPorts[.ingestion]!
        let (status, ingestion) = try await Self.scrape(ingestionPort)
        #expect(status == 200)
        let records = "sightline_ingest_records_total{tenant=\"\(tenant)\",kind=\"ticket_event\","
        #expect(Self.value(ingestion, records + "outcome=\"accepted\"}") == 10, "\(ingestion)")
        #expect(Self.value(ingestion, records + "outcome=\"duplicate\"}") == 4)
        #expect(Self.value(ingestion, records + "outcome=\"rejected\"}") == 1)
        #expect(Self.value(ingestion, "sightline_rpc_total{method=\"sightline.ingestion.v1.Ingestion/Ingest\",code=\"ok\"}") == 2)
        #expect(ingestion.contains("sightline_rpc_duration_seconds_bucket{method=\"sightline.ingestion.v1.Ingestion/Ingest\""))
        #expect((Self.value(ingestion, "sightline_process_resident_bytes") ?? 0) > 1_000_000)
        #expect((Self.value(ingestion, "sightline_database_bytes{tenant=\"\(tenant)\"}") ?? 0) > 0)

        let (_, gateway) = try await Self.scrape(launcher.prometheusPorts[.gateway]!)
        #expect(
          Self.value(gateway, "sightline_rpc_total{method=\"sightline.ingestion.v1.Ingestion/Ingest\",code=\"ok\"}") == 2, "\(gateway)")
        #expect(Self.value(gateway, "sightline_rpc_in_flight{method=\"sightline.ingestion.v1.Ingestion/Ingest\"}") == 0)

        let (_, metrics) = try await Self.scrape(launcher.prometheusPorts[.metrics]!)
        #expect(Self.value(metrics, "sightline_consumer_lag_events{tenant=\"\(tenant)\"}") == 0, "\(metrics)")
        #expect(Self.value(metrics, "sightline_rpc_total{method=\"sightline.metrics.v1.Metrics/QueryKpis\",code=\"ok\"}") == 1)

        let (missing, _) = try await Self.scrape(ingestionPort, path: "/other")
        #expect(missing == 404)

        // A deleted tenant leaves no series behind in any process.
        try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
          client in
          let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
          _ = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).deleteTenant(
            .with {
              $0.name = "scraped"; $0.confirm = "scraped"
            }, metadata: SuiteMetadata.bearer(operatorKey))
        }
        for component in SuiteComponent.allCases {
          let (_, text) = try await Self.scrape(launcher.prometheusPorts[component]!)
          let left = text.split(separator: "\n").filter { $0.contains(tenant) }
          #expect(left.isEmpty, "\(component) still shows \(left)")
        }
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
    }
  }
}
