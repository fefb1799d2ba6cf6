import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// The database dies in the middle of an ingest (docs/reliability.md, "PostgreSQL"): the
/// client's retries complete once it is back, nothing acknowledged is lost, nothing is
/// stored twice, readiness said NOT_SERVING meanwhile, and the KPIs equal those of a run
/// without the fault.
@Suite(.serialized, .enabled(if: TestPostgres.available, TestPostgres.howToRun))
struct DatabaseFaultTests {
  @Test func aDatabaseCrashMidIngestLosesNothingAndStoresNothingTwice() async throws {
    let endMs = todayMidnightMs()
    var batches: [[Sightline_Ingestion_V1_Event]] = []
    try await SyntheticHelpdesk(tickets: 1_200, days: 20, lines: 4, endMs: endMs).forEachBatch(size: 500) { batches.append($0) }
    let total = batches.reduce(0) { $0 + $1.count }
    let allBatches = batches

    @Sendable func kpis(
      _ client: GRPCClient<HTTP2ClientTransport.Posix>, key: Metadata, minOffset: Int64
    ) async throws
      -> [Sightline_Metrics_V1_KpiRow]
    {
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
        .with {
          $0.kpis = [.volume, .firstResponseTime, .resolutionTime, .fcrRate, .reopenRate, .slaFirstResponse, .csat, .nps]
          $0.range = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: endMs - 21 * 86_400_000)
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
          }
          $0.groupBy = [.businessLine]
          $0.interval = .week
          $0.minOffset = minOffset
        }, metadata: key
      ).rows
    }

    // Without the fault, on the embedded backend.
    let expected = try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("steady")
      return try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        var offset: Int64 = 0
        for batch in allBatches {
          offset = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(.with { $0.events = batch }, metadata: key)
            .offset
        }
        return try await kpis(client, key: key, minOffset: offset)
      }
    }
    #expect(!expected.isEmpty)

    let server = try await PrivateDatabaseServer.start()
    do {
      try await InProcessSuite.with(database: server.database) { suite in
        let tenant = try await suite.createTenant("faulty")
        try await suite.withGatewayClient { client in
          let key = SuiteMetadata.bearer(tenant.adminKey)
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          var offset: Int64 = 0
          var sawNotServing = false
          var retries = 0
          for (index, batch) in allBatches.enumerated() {
            if index == 3 {
              try await server.crash()
              // Readiness notices within a few seconds and says why.
              let deadline = ContinuousClock.now + .seconds(10)
              while ContinuousClock.now < deadline {
                if suite.servers[.ingestion]?.health?.status(of: "") == .notServing {
                  sawNotServing = true
                  break
                }
                try await Task.sleep(for: .milliseconds(100))
              }
              Task {
                try await Task.sleep(for: .seconds(2))
                try await server.restart()
              }
            }
            // As `sightline ingest` does: retry UNAVAILABLE with backoff.
            offset = try await TransientRetry.run(report: { _ in retries += 1 }) {
              try await ingestion.ingest(.with { $0.events = batch }, metadata: key).offset
            }
          }
          #expect(sawNotServing, "readiness never said NOT_SERVING while the database was down")
          #expect(retries > 0, "no call failed while the database was down")
          // Every event once, none lost.
          let stats = try await ingestion.getStats(.init(), metadata: key)
          #expect(stats.lastOffset == Int64(total))
          #expect(offset == Int64(total))
          // Readiness recovered by itself, and the consumers caught up to the same answers
          // (a consumer whose statement was cut by the crash waits out the pool's statement
          // timeout, 15 s, at worst).
          var answers: [Sightline_Metrics_V1_KpiRow]?
          let deadline = ContinuousClock.now + .seconds(90)
          while answers == nil, ContinuousClock.now < deadline {
            do {
              answers = try await kpis(client, key: key, minOffset: offset)
            } catch let error as RPCError where error.code == .unavailable {
              try await Task.sleep(for: .seconds(1))
            }
          }
          #expect(answers == expected)
          #expect(suite.servers[.ingestion]?.health?.status(of: "") == .serving)
        }
      }
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
  }
}
