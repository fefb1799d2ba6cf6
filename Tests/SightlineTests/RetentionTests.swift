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
import Synchronization
import Testing

/// Retention of raw events: old events lose their content and leave Subscribe, their ids
/// stay (a re-sent one is a duplicate), and the KPIs are unchanged.
@Suite struct RetentionTests {
  @Test func retentionDropsOldRawEventsAndKeepsKpisAndIdempotency() async throws {
    let day: Int64 = 86_400_000
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    func event(
      _ id: String, ticket: String, _ kind: Sightline_Ingestion_V1_TicketEventKind, daysAgo: Int64, minutes: Int64 = 0
    )
      -> Sightline_Ingestion_V1_Event
    {
      var event = ticketCreated(id, ticket: ticket, time: RFC3339.format(milliseconds: now - daysAgo * day + minutes * 60_000))
      event.ticketEvent.kind = kind
      return event
    }
    // 20 tickets 40-59 days ago and 20 in the last 20 days, each created and answered.
    var oldEvents: [Sightline_Ingestion_V1_Event] = []
    var recentEvents: [Sightline_Ingestion_V1_Event] = []
    for index in 0..<20 {
      oldEvents += [
        event("o\(index)c", ticket: "O\(index)", .created, daysAgo: 40 + Int64(index)),
        event("o\(index)r", ticket: "O\(index)", .agentReply, daysAgo: 40 + Int64(index), minutes: 30 + Int64(index)),
      ]
      recentEvents += [
        event("n\(index)c", ticket: "N\(index)", .created, daysAgo: 1 + Int64(index)),
        event("n\(index)r", ticket: "N\(index)", .agentReply, daysAgo: 1 + Int64(index), minutes: 10 + Int64(index)),
      ]
    }
    let (old, recent) = (oldEvents, recentEvents)
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("retained")
      let key = SuiteMetadata.bearer(tenant.adminKey)
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let stored = try await ingestion.ingest(.with { $0.events = old + recent }, metadata: key)
        #expect(stored.accepted == 80)
        func kpis(days: Int64) async throws -> [Double] {
          let reply = try await metrics.queryKpis(
            .with {
              $0.kpis = [.volume, .firstResponseTime, .unanswered]
              $0.range = .with {
                $0.start = Google_Protobuf_Timestamp(unixMilliseconds: now - days * day)
                $0.end = Google_Protobuf_Timestamp(unixMilliseconds: now + day)
              }
              $0.minOffset = stored.offset
            }, metadata: key)
          return reply.rows.flatMap { $0.values.flatMap { [$0.value, Double($0.sampleSize), $0.median] } }
        }
        let allTimeBefore = try await kpis(days: 90)
        let windowBefore = try await kpis(days: 30)
        #expect(allTimeBefore[0] == 40 && windowBefore[0] == 20)

        // A reader may not set retention; an admin may.
        let reader = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createKey(.with { $0.role = .reader }, metadata: key)
        let refused = await #expect(throws: RPCError.self) {
          try await ingestion.setRetention(.with { $0.retainDays = 30 }, metadata: SuiteMetadata.bearer(reader.secret))
        }
        #expect(refused?.code == .permissionDenied)
        let bad = await #expect(throws: RPCError.self) { try await ingestion.setRetention(.with { $0.retainDays = -1 }, metadata: key) }
        #expect(bad?.code == .invalidArgument)
        let retention = try await ingestion.setRetention(.with { $0.retainDays = 30 }, metadata: key)
        #expect(retention.retainDays == 30 && retention.prunedEvents == 40)
        let stats = try await ingestion.getStats(.init(), metadata: key)
        #expect(stats.retainDays == 30 && stats.prunedEvents == 40 && stats.lastOffset == 80)

        // Subscribe no longer delivers the pruned events, only the recent ones.
        var options = CallOptions.defaults
        options.timeout = .seconds(30)
        let delivered = try await ingestion.subscribe(.with { $0.fromOffset = 0 }, metadata: key, options: options) { response in
          var ids: [String] = []
          for try await message in response.messages {
            ids += message.entries.map(\.event.eventID)
            if ids.count >= 40 { break }
          }
          return ids
        }
        #expect(Set(delivered) == Set(recent.map(\.eventID)))

        // Re-sending an old event is still a duplicate; the KPIs did not move.
        let again = try await ingestion.ingest(.with { $0.events = Array(old.prefix(2)) }, metadata: key)
        #expect(again.duplicates == 2 && again.accepted == 0)
        #expect(try await kpis(days: 90) == allTimeBefore)
        #expect(try await kpis(days: 30) == windowBefore)
      }
    }
  }
}

/// Retention applied while a tenant ingests: at most hourly, by the provider's clock.
@Suite struct RetentionScheduleTests {
  @Test func ingestingAppliesRetentionAtMostHourly() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let day: Int64 = 86_400_000
    let start = Int64(Date().timeIntervalSince1970 * 1000)
    let clock = Mutex<Int64>(start)
    let provider = IngestionProvider(dataDirectory: directory, clock: { clock.withLock { $0 } })
    let tenant = TenantID("t_retention")!
    func ingest(_ id: String, daysBeforeNow: Int64) throws {
      let time = clock.withLock { $0 } - daysBeforeNow * day
      let reply = try provider.ingest([ticketCreated(id, ticket: id, time: RFC3339.format(milliseconds: time))], tenant: tenant)
      #expect(reply.accepted == 1)
    }
    try ingest("a", daysBeforeNow: 10)
    try provider.store(for: tenant).setRetainDays(30)
    func pruned() throws -> Int64 { try provider.store(for: tenant).statistics().pruned }

    // 25 days later "a" is 35 days old: the next batch applies the window.
    clock.withLock { $0 += 25 * day }
    try ingest("b", daysBeforeNow: 1)
    #expect(try pruned() == 1)
    // An old event ingested half an hour later waits for the next hourly pass...
    clock.withLock { $0 += 1_800_000 }
    try ingest("c", daysBeforeNow: 40)
    #expect(try pruned() == 1)
    // ...which comes with the first batch after the hour.
    clock.withLock { $0 += 2 * 3_600_000 }
    try ingest("d", daysBeforeNow: 1)
    #expect(try pruned() == 2)
    #expect(try provider.store(for: tenant).records(after: 0, limit: 10).map(\.record.eventID) == ["b", "d"])
  }
}
