import Foundation
import GRPCCore
import IngestionService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Ingestion RPCs beyond unary ingest, through the gateway over TLS.
@Suite(.serialized) struct IngestionRPCTests {
  /// grpc-swift's clients refuse messages over 4 MiB by default (the transport checks
  /// replies against the request limit): a 6 MB ingest batch and a 6 MB catch-up message
  /// must both pass, through the gateway's hop as well as the caller's client.
  @Test func messagesOverFourMebibytesPassBothWays() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let text = String(repeating: "很慢 slow reply ", count: 600)  // 12 KB of UTF-8
        let events = (0..<500).map { index in
          Sightline_Ingestion_V1_Event.with {
            $0.eventID = "f\(index)"
            $0.feedback = .with {
              $0.customerID = "C\(index)"
              $0.source = .appReview
              $0.text = text
              $0.time = "2026-03-01T09:30:00+08:00"
            }
          }
        }
        let batch = Sightline_Ingestion_V1_IngestRequest.with { $0.events = events }
        #expect(try batch.serializedData().count > 4 * 1_048_576)
        let reply = try await ingestion.ingest(batch, metadata: key)
        #expect(reply.accepted == 500)
        var options = CallOptions.defaults
        options.timeout = .seconds(60)
        let first = try await ingestion.subscribe(
          .with {
            $0.fromOffset = 0; $0.maxBatch = 500
          }, metadata: key, options: options
        ) {
          response in
          for try await message in response.messages { return message }
          return Sightline_Ingestion_V1_SubscribeResponse()
        }
        #expect(first.entries.count == 500)
        #expect(try first.serializedData().count > 4 * 1_048_576)
      }
    }
  }

  @Test(arguments: TestBackend.all) func subscribeFollowsCommitsAfterCatchingUp(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let key = SuiteMetadata.bearer(tenant.adminKey)
        _ = try await ingestion.ingest(.with { $0.events = [ticketCreated("old")] }, metadata: key)
        let received = Counter()
        var callOptions = CallOptions.defaults
        // Generous: the test asserts delivery, not speed, and CI runs it beside heavy suites.
        callOptions.timeout = .seconds(60)
        let options = callOptions
        let offsets = try await withThrowingTaskGroup(of: [Int64]?.self) { group in
          group.addTask {
            try await ingestion.subscribe(.with { $0.fromOffset = 0 }, metadata: key, options: options) { response in
              var offsets: [Int64] = []
              for try await message in response.messages {
                offsets += message.entries.map(\.offset)
                received.add(message.entries.count)
                if offsets.count == 2 { break }
              }
              return offsets
            }
          }
          group.addTask {
            // Commit a new event only once the subscriber has caught up.
            while received.value < 1 { try await Task.sleep(for: .milliseconds(20)) }
            _ = try await ingestion.ingest(.with { $0.events = [ticketCreated("new", ticket: "T2")] }, metadata: key)
            return nil
          }
          var result: [Int64] = []
          for try await value in group { if let value { result = value } }
          return result
        }
        #expect(offsets == [1, 2])
      }
    }
  }

  @Test(arguments: TestBackend.all) func aliasesApplyToLaterIngestsAndNeedTheAdminRole(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let writer = try await gateway.createKey(.with { $0.role = .writer }, metadata: admin)
        let denied = await #expect(throws: RPCError.self) {
          try await ingestion.setAliases(
            .with {
              $0.field = .channel; $0.aliases = ["微信": "wechat"]
            }, metadata: SuiteMetadata.bearer(writer.secret))
        }
        #expect(denied?.code == .permissionDenied)

        let stored = try await ingestion.setAliases(
          .with {
            $0.field = .channel; $0.aliases = [" WeChat ": "wechat", "微信": "wechat"]
          }, metadata: admin)
        #expect(stored.aliases == ["wechat": "wechat", "微信": "wechat"])
        var event = ticketCreated("e1")
        event.ticketEvent.channel = "微信"
        _ = try await ingestion.ingest(.with { $0.events = [event] }, metadata: admin)

        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        let channel = try await ingestion.subscribe(.with { $0.fromOffset = 0 }, metadata: admin, options: options) { response in
          for try await message in response.messages { return message.entries.first?.event.ticketEvent.channel }
          return nil
        }
        #expect(channel == "wechat")
      }
    }
  }

  @Test(arguments: TestBackend.all) func ingestStreamCommitsEachBatchAndNumbersRejectionsAcrossThem(_ backend: TestBackend) async throws {
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let key = SuiteMetadata.bearer(tenant.adminKey)
        var unnamed = ticketCreated("bad", ticket: "T9")
        unnamed.ticketEvent.ticketID = ""
        let bad = unnamed
        let reply = try await ingestion.ingestStream(metadata: key) { writer in
          try await writer.write(.with { $0.events = [ticketCreated("a"), ticketCreated("b", ticket: "T2")] })
          try await writer.write(.with { $0.events = [ticketCreated("a"), bad, ticketCreated("c", ticket: "T3")] })
        }
        #expect(reply.accepted == 3)
        #expect(reply.duplicates == 1)
        #expect(reply.offset == 3)
        #expect(reply.rejected.map(\.index) == [3], "indices count across the stream's batches")
        #expect(reply.rejected.first?.field == "ticket_event.ticket_id")
      }
    }
  }
}

/// The ordering rule: nothing happens to a ticket before it was created.
@Suite struct TicketOrderingTests {
  static func reply(_ id: String, ticket: String, time: String) -> Sightline_Ingestion_V1_Event {
    .with {
      $0.eventID = id
      $0.ticketEvent = .with {
        $0.ticketID = ticket
        $0.time = time
        $0.kind = .agentReply
      }
    }
  }

  @Test func repliesBeforeTheTicketsCreationAreRejectedInTheBatchAndAcrossBatches() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let provider = IngestionProvider(dataDirectory: directory)
    let tenant = try #require(TenantID("t_ordering"))
    // Same batch: the creation at 09:30+08:00 (01:30Z) and a reply at 01:00Z.
    let first = try provider.ingest(
      [
        ticketCreated("c1", ticket: "T1"), Self.reply("r1", ticket: "T1", time: "2026-03-01T01:00:00Z"),
        Self.reply("r2", ticket: "T1", time: "2026-03-01T02:00:00Z"), Self.reply("r3", ticket: "T9", time: "2026-02-01T00:00:00Z"),
      ],
      tenant: tenant)
    #expect(first.accepted == 3, "the creation, the later reply, and a reply to a ticket not seen yet")
    #expect(first.rejected.map(\.index) == [1])
    #expect(first.rejected.first?.field == "ticket_event.time")
    #expect(first.rejected.first?.code == "before_creation")
    #expect(first.rejected.first?.reason.contains("created at 2026-03-01T01:30:00Z") == true)
    // A later batch: checked against the stored creation.
    let second = try provider.ingest(
      [Self.reply("r4", ticket: "T1", time: "2026-03-01T01:29:59Z"), Self.reply("r5", ticket: "T1", time: "2026-03-01T01:30:00Z")],
      tenant: tenant)
    #expect(second.accepted == 1)
    #expect(second.rejected.map(\.recordID) == ["r4"])
  }
}
