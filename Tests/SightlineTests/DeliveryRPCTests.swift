import Foundation
import GRDB
import GRPCCore
import Logging
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

@testable import MetricsService

/// Delivery through the gateway on both backends (issue 24), to receivers on 127.0.0.1 that
/// check signatures: admins set endpoints, readers see them with secrets masked; test
/// messages, alert and case events arrive signed under the same id on every attempt; a
/// 5xx is retried, a 410 disables the endpoint and fills the dead letter, which a replay
/// empties; a robot gets at most 20 messages a minute, the rest in a digest; another
/// tenant sees none of it.
@Suite(.serialized) struct DeliveryRPCTests {
  static let fast = DeliverySettings(
    cockpitURL: "https://cockpit.example.com", retry: RetryPolicy(firstDelayMs: 100, maxDelayMs: 1_000, maxAgeMs: 120_000),
    interval: .milliseconds(100), requestTimeout: .seconds(5))

  @Test(arguments: TestBackend.all) func endpointsReceiveSignedMessagesOnceDeliveredAndNothingIsLost(_ backend: TestBackend) async throws {
    let webhookSecret = WebhookSecret.generate()
    let hook = TestReceiver(secret: webhookSecret)
    let ding = TestReceiver(secret: "SEC0123456789abcdefSightline")
    let flaky = TestReceiver(secret: webhookSecret)
    let gone = TestReceiver()
    for receiver in [hook, ding, flaky, gone] { try await receiver.start() }
    flaky.program(statuses: [503, 500])
    gone.program(statuses: [410])
    defer { Task { for receiver in [hook, ding, flaky, gone] { await receiver.stop() } } }

    try await backend.withSuite(delivery: Self.fast) { suite in
      let tenant = try await suite.createTenant("acme")
      let other = try await suite.createTenant("other")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        func key(_ role: Sightline_Gateway_V1_Role) async throws -> Metadata {
          SuiteMetadata.bearer(
            try await gateway.createKey(
              .with {
                $0.role = role; $0.label = "\(role)"
              }, metadata: admin
            ).secret)
        }
        let reader = try await key(.reader)
        let writer = try await key(.writer)
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        func add(
          _ name: String, _ kind: Sightline_Cases_V1_EndpointKind, _ url: String, secret: String = "", events: [String],
          language: String = "en", as metadata: Metadata? = nil
        ) async throws -> Sightline_Cases_V1_AddEndpointResponse {
          try await cases.addEndpoint(
            .with {
              $0.name = name; $0.kind = kind; $0.url = url; $0.secret = secret; $0.events = events; $0.language = language
            }, metadata: metadata ?? admin)
        }

        // Admins alone add endpoints; a wrong field is named.
        for metadata in [reader, writer] {
          let refused = await #expect(throws: RPCError.self) {
            try await add("x", .webhook, hook.url, events: ["alert.opened"], as: metadata)
          }
          #expect(refused?.code == .permissionDenied)
        }
        let insecure = await #expect(throws: RPCError.self) {
          try await add("x", .webhook, "http://hooks.example.com/x", events: ["alert.opened"])
        }
        #expect(insecure?.code == .invalidArgument && insecure?.message.contains("url") == true)
        let unknownEvent = await #expect(throws: RPCError.self) { try await add("x", .slack, gone.url, events: ["alert.closed"]) }
        #expect(unknownEvent?.code == .invalidArgument && unknownEvent?.message.contains("events[0]") == true)

        let hookEndpoint = try await add("ops hook", .webhook, hook.url, secret: webhookSecret, events: ["alert.opened", "case.opened"])
        #expect(hookEndpoint.generatedSecret.isEmpty)
        let dingEndpoint = try await add(
          "客服群", .dingtalk, ding.url + "?access_token=secret-token", secret: ding.secret, events: ["case.opened"], language: "zh")
        let flakyEndpoint = try await add("flaky", .webhook, flaky.url, secret: webhookSecret, events: ["alert.opened"])
        let goneEndpoint = try await add("gone", .slack, gone.url, events: ["alert.opened"])
        // A webhook without a secret gets one, shown once.
        let generated = try await add("generated", .webhook, "https://hooks.example.com/x", events: ["verification.result"])
        #expect(generated.generatedSecret.hasPrefix("whsec_") && WebhookSecret.key(generated.generatedSecret) != nil)

        // Readers see the endpoints, secrets masked and robots' tokens left out.
        let listed = try await cases.listEndpoints(.init(), metadata: reader).endpoints
        #expect(listed.map(\.name) == ["ops hook", "客服群", "flaky", "gone", "generated"])
        #expect(listed[0].maskedSecret == "whsec_…" + webhookSecret.suffix(4))
        #expect(listed[1].url.hasPrefix("http://127.0.0.1:") && !listed[1].url.contains("secret-token"))
        #expect(listed.allSatisfy { !$0.maskedSecret.contains(webhookSecret.dropFirst(6).prefix(8)) })

        // A test message arrives signed.
        let test = try await cases.testEndpoint(.with { $0.id = hookEndpoint.endpoint.id }, metadata: admin)
        let tested = await hook.wait { $0.contains { $0.messageID == test.eventID } }
        #expect(tested.first { $0.messageID == test.eventID }?.signatureValid == true)

        // An alert opens: its event reaches the endpoints that chose it.
        let now = WallClock.unixMilliseconds()
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = CaseRPCTests.recentEvents(nowMs: now) }, metadata: admin)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        _ = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.minOffset = ingested.offset
          }, metadata: reader)
        _ = try await metrics.addAlertRule(
          .with {
            $0.rule = .with {
              $0.name = "volume by line"; $0.kpi = .volume; $0.comparison = .greater; $0.threshold = 0; $0.by = .businessLine
              $0.windowSeconds = 86_400; $0.minSample = 1
            }
          }, metadata: admin)
        let alerts = try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: now)
        let alertEvent = "alert.opened-\(try #require(alerts.first).id)"
        let hookAlert = await hook.wait { $0.contains { $0.messageID == alertEvent } }.first { $0.messageID == alertEvent }
        #expect(hookAlert?.signatureValid == true)
        #expect(hookAlert?.body.contains(#""type":"alert.opened""#) == true)
        #expect(hookAlert?.body.contains("https://cockpit.example.com/why?kpi=volume") == true)

        // A receiver that answers 503 and 500 gets the same message id a third time, and takes it.
        let flakyAttempts = await flaky.wait { $0.contains { $0.status == 200 } }
        #expect(flakyAttempts.map(\.status) == [503, 500, 200])
        #expect(Set(flakyAttempts.compactMap(\.messageID)) == [alertEvent])
        #expect(flakyAttempts.allSatisfy { $0.signatureValid == true })
        let flakyDelivery = try await cases.listDeliveries(.with { $0.endpointID = flakyEndpoint.endpoint.id }, metadata: reader)
        #expect(flakyDelivery.deliveries.map(\.status) == [.delivered] && flakyDelivery.deliveries.first?.attempts == 3)

        // A 410 disables the endpoint; its message waits in the dead letter until replayed.
        _ = await gone.wait { !$0.isEmpty }
        var dead: [Sightline_Cases_V1_Delivery] = []
        for _ in 0..<50 where dead.isEmpty {
          dead = try await cases.listDeliveries(.with { $0.status = .dead }, metadata: reader).deliveries
          if dead.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(dead.map(\.endpointID) == [goneEndpoint.endpoint.id] && dead.first?.lastError == "HTTP 410 Gone")
        let disabled = try await cases.listEndpoints(.init(), metadata: reader).endpoints.first { $0.id == goneEndpoint.endpoint.id }
        #expect(disabled?.enabled == false && disabled?.disabledReason == "HTTP 410 Gone")
        let refusedTest = await #expect(throws: RPCError.self) {
          try await cases.testEndpoint(.with { $0.id = goneEndpoint.endpoint.id }, metadata: admin)
        }
        #expect(refusedTest?.code == .failedPrecondition)
        let replayRefused = await #expect(throws: RPCError.self) {
          try await cases.replayDeliveries(.with { $0.endpointID = goneEndpoint.endpoint.id }, metadata: writer)
        }
        #expect(replayRefused?.code == .permissionDenied)
        let replayed = try await cases.replayDeliveries(.with { $0.endpointID = goneEndpoint.endpoint.id }, metadata: admin)
        #expect(replayed.replayed == 1)
        let back = await gone.wait { $0.contains { $0.status == 200 } }
        #expect(back.map(\.status) == [410, 200])
        #expect(
          try await cases.listEndpoints(.init(), metadata: reader).endpoints.first { $0.id == goneEndpoint.endpoint.id }?.enabled == true)

        // Cases opened by a person reach the DingTalk robot in Chinese, signed, token kept.
        for index in 0..<3 {
          _ = try await cases.openCase(
            .with {
              $0.title = "Case \(index)"; $0.owner = "desk"
            }, metadata: writer)
        }
        let robot = await ding.wait { $0.count >= 3 }
        #expect(robot.count == 3 && robot.allSatisfy { $0.signatureValid == true && $0.query.contains("access_token=secret-token") })
        #expect(robot.allSatisfy { $0.body.contains("新工单：Case") && $0.body.contains("负责人：desk") })
        let hookCases = await hook.wait { $0.filter { $0.body.contains(#""type":"case.opened""#) }.count >= 3 }
        #expect(hookCases.filter { $0.body.contains(#""type":"case.opened""#) }.count == 3)
        #expect(hook.messages.allSatisfy { $0.signatureValid == true })
        let robotDeliveries = try await cases.listDeliveries(.with { $0.endpointID = dingEndpoint.endpoint.id }, metadata: reader)
        #expect(robotDeliveries.deliveries.count == 3 && robotDeliveries.deliveries.allSatisfy { $0.status == .delivered })
        #expect(try await cases.listDeliveries(.with { $0.status = .dead }, metadata: reader).deliveries.isEmpty)

        // Another tenant sees none of it.
        let stranger = SuiteMetadata.bearer(other.adminKey)
        #expect(try await cases.listEndpoints(.init(), metadata: stranger).endpoints.isEmpty)
        #expect(try await cases.listDeliveries(.init(), metadata: stranger).deliveries.isEmpty)
        for call in [
          { try await cases.testEndpoint(.with { $0.id = hookEndpoint.endpoint.id }, metadata: stranger) as Any },
          { try await cases.removeEndpoint(.with { $0.id = hookEndpoint.endpoint.id }, metadata: stranger) as Any },
        ] {
          let error = await #expect(throws: RPCError.self) { _ = try await call() }
          #expect(error?.code == .notFound)
        }
        #expect(try await cases.replayDeliveries(.with { $0.endpointID = hookEndpoint.endpoint.id }, metadata: stranger).replayed == 0)

        // Removing an endpoint removes its deliveries.
        _ = try await cases.removeEndpoint(.with { $0.id = goneEndpoint.endpoint.id }, metadata: admin)
        #expect(
          try await cases.listDeliveries(.with { $0.endpointID = goneEndpoint.endpoint.id }, metadata: reader).deliveries.isEmpty)
      }
    }
  }

  /// 26 cases at once: the robot gets 20 messages in the minute, 19 on their own and one
  /// digest naming the other 7; nothing is dropped, and the next round sends nothing more.
  /// The deliverer is driven by hand here (its background rounds are an hour apart), so the
  /// fold does not depend on timing.
  @Test func aRobotGetsTwentyMessagesAMinuteAndTheRestInADigest() async throws {
    let ding = TestReceiver(secret: "SEC0123456789abcdefSightline")
    try await ding.start()
    defer { Task { await ding.stop() } }
    let settings = DeliverySettings(
      cockpitURL: Self.fast.cockpitURL, retry: Self.fast.retry, interval: .seconds(3600), requestTimeout: .seconds(5))
    try await TestBackend.sqlite.withSuite(delivery: settings) { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        let endpoint = try await cases.addEndpoint(
          .with {
            $0.name = "robot"; $0.kind = .dingtalk; $0.url = ding.url; $0.secret = ding.secret; $0.events = ["case.opened"]
          }, metadata: admin
        ).endpoint
        for index in 0..<26 {
          _ = try await cases.openCase(
            .with {
              $0.title = "Case \(index)"; $0.owner = "desk"
            }, metadata: admin)
        }
        let deliverer = OutboxDeliverer(provider: suite.metrics, settings: settings, logger: .init(label: "test"))
        let poster = MessagePoster(timeout: .seconds(5))
        try await deliverer.deliver(tenantID, fence: .sole, poster: poster)
        try await deliverer.deliver(tenantID, fence: .sole, poster: poster)
        await poster.shutdown()
        let received = ding.messages
        #expect(received.count == 20 && received.allSatisfy { $0.signatureValid == true && $0.status == 200 })
        #expect(received.prefix(19).allSatisfy { $0.body.contains("Case opened: Case") })
        let digest = try #require(received.last)
        #expect(digest.body.contains("7 more messages (folded by the rate limit)"))
        #expect((19..<26).allSatisfy { digest.body.contains("case.opened: Case \($0)") })
        let deliveries = try await cases.listDeliveries(
          .with {
            $0.endpointID = endpoint.id; $0.limit = 1000
          }, metadata: admin
        )
        .deliveries
        let byStatus = Dictionary(grouping: deliveries, by: \.status).mapValues(\.count)
        #expect(byStatus == [.delivered: 20, .folded: 7])
        #expect(deliveries.filter { $0.status == .folded }.allSatisfy { $0.foldedInto.hasPrefix("digest-\(endpoint.id)-") })
      }
    }
  }

  /// A failing endpoint backs off as a whole: its queue is held until the failed message's
  /// next attempt; another endpoint's queue is not (the store, on both backends).
  @Test(arguments: TestBackend.all) func aFailingEndpointsQueueWaitsWithItsFailedMessage(_ backend: TestBackend) throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try backend.metricsStores(directory: directory).deliveries(for: TestBackend.freshTenant())
    for id in ["down", "up"] {
      #expect(
        try store.addEndpoint(
          DeliveryEndpoint(
            id: id, name: id, kind: .slack, url: "https://hooks.example.com/\(id)", secret: "", events: [.caseOpened], language: .en,
            createdMs: 0)))
    }
    for index in 0..<3 {
      var facts = DeliveryFacts()
      facts.summary = "case \(index)"
      for endpoint in ["down", "up"] {
        try store.enqueue(
          DeliveryEvent(id: "test-\(endpoint)-\(index)", kind: .test, atMs: 1_000, facts: facts), endpointID: endpoint, nowMs: 1_000)
      }
    }
    #expect(try store.dueDeliveries(nowMs: 1_000, limit: 100).pending.count == 6)
    try store.record(.retry(atMs: 6_000, error: "HTTP 503"), eventID: "test-down-0", endpointID: "down", atMs: 1_000, fence: .sole)
    try store.postpone(endpointID: "down", untilMs: 6_000, fence: .sole)
    #expect(try store.dueDeliveries(nowMs: 5_999, limit: 100).pending.map(\.endpoint.id) == ["up", "up", "up"])
    #expect(try store.dueDeliveries(nowMs: 6_000, limit: 100).pending.count == 6)
    #expect(try store.nextDeliveryMs() == 1_000)
  }

  /// A stored event this version cannot read (a newer version's, or damaged) goes to the
  /// dead letter with a reason, instead of waiting unseen; the messages beside it go out.
  @Test(arguments: TestBackend.all) func anUnreadableStoredEventGoesToTheDeadLetter(_ backend: TestBackend) async throws {
    let receiver = TestReceiver(secret: "whsec_" + Data("unreadable-event-test-secret-32b".utf8).base64EncodedString())
    try await receiver.start()
    defer { Task { await receiver.stop() } }
    let settings = DeliverySettings(
      cockpitURL: Self.fast.cockpitURL, retry: Self.fast.retry, interval: .seconds(3600), requestTimeout: .seconds(5))
    try await backend.withSuite(delivery: settings) { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        _ = try await cases.addEndpoint(
          .with {
            $0.name = "hook"; $0.kind = .webhook; $0.url = receiver.url; $0.secret = receiver.secret; $0.events = ["case.opened"]
          }, metadata: admin)
        for title in ["Damaged case", "Readable case"] {
          _ = try await cases.openCase(
            .with {
              $0.title = title; $0.owner = "desk"
            }, metadata: admin)
        }
        let damage = "UPDATE outbox_event SET payload = '{\"kind\":\"from.the.future\"}' WHERE payload LIKE '%Damaged case%'"
        switch try suite.metrics.state.deliveries(for: tenantID) {
        case let store as SQLiteStore<MetricsSchema>: try await store.writer.write { try $0.execute(sql: damage) }
        case let store as PostgresStore<MetricsPostgresSchema>: try store.transaction { try $0.execute(PostgresQuery(unsafeSQL: damage)) }
        default: Issue.record("a store of neither backend")
        }
        let deliverer = OutboxDeliverer(provider: suite.metrics, settings: settings, logger: .init(label: "test"))
        let poster = MessagePoster(timeout: .seconds(5))
        try await deliverer.deliver(tenantID, fence: .sole, poster: poster)
        try await deliverer.deliver(tenantID, fence: .sole, poster: poster)
        await poster.shutdown()
        #expect(receiver.messages.count == 1 && receiver.messages.allSatisfy { $0.body.contains("Readable case") })
        let dead = try await cases.listDeliveries(.with { $0.status = .dead }, metadata: admin).deliveries
        #expect(dead.count == 1 && dead.allSatisfy { $0.event == "case.opened" && $0.lastError.contains("cannot be read") })
        let pending = try await cases.listDeliveries(.with { $0.status = .pending }, metadata: admin).deliveries
        #expect(pending.isEmpty)
      }
    }
  }
}

/// Tenants are delivered to side by side: one tenant's slow receiver does not hold back
/// another tenant's message (the metrics process's own deliverer, running).
@Suite struct DeliveryAcrossTenantsTests {
  @Test func aSlowReceiverOfOneTenantDoesNotHoldBackAnothers() async throws {
    let (slow, quick) = (TestReceiver(), TestReceiver())
    try await slow.start()
    try await quick.start()
    defer {
      Task {
        await slow.stop(); await quick.stop()
      }
    }
    // Under the request timeout (5 s): the slow receiver answers, just late.
    slow.program(delay: .seconds(3))
    try await TestBackend.sqlite.withSuite(delivery: DeliveryRPCTests.fast) { suite in
      let (first, second) = (try await suite.createTenant("first"), try await suite.createTenant("second"))
      try await suite.withGatewayClient { client in
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        for (tenant, receiver) in [(first, slow), (second, quick)] {
          _ = try await cases.addEndpoint(
            .with {
              $0.name = "hook"; $0.kind = .slack; $0.url = receiver.url; $0.events = ["case.opened"]
            }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        }
        _ = try await cases.openCase(
          .with {
            $0.title = "Slow one"; $0.owner = "desk"
          }, metadata: SuiteMetadata.bearer(first.adminKey))
        // The first tenant's message is at its receiver, which takes 3 s to answer.
        let arrived = ContinuousClock.now + .seconds(20)
        while slow.arrived == 0 && ContinuousClock.now < arrived { try await Task.sleep(for: .milliseconds(20)) }
        #expect(slow.arrived == 1)
        _ = try await cases.openCase(
          .with {
            $0.title = "Quick one"; $0.owner = "desk"
          }, metadata: SuiteMetadata.bearer(second.adminKey))
        let got = await quick.wait(timeout: .seconds(20)) { !$0.isEmpty }
        #expect(got.count == 1 && got[0].body.contains("Quick one"))
        #expect(slow.messages.isEmpty, "the second tenant's message waited for the first's slow receiver")
        let late = await slow.wait(timeout: .seconds(20)) { !$0.isEmpty }
        #expect(late.count == 1 && late[0].body.contains("Slow one"))
      }
    }
  }
}

/// Events committed while a fan-out runs are not lost: each gets its delivery, by that
/// fan-out or the next (both backends; on PostgreSQL two statements once let an event
/// committed between them be marked fanned out without a delivery).
@Suite struct FanOutRaceTests {
  @Test(arguments: TestBackend.all) func everyEventCommittedDuringFanOutsGetsItsDelivery(_ backend: TestBackend) async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let stores = try backend.metricsStores(directory: directory)
    let tenant = TestBackend.freshTenant()
    let (deliveries, cases) = (try stores.deliveries(for: tenant), try stores.cases(for: tenant))
    #expect(
      try deliveries.addEndpoint(
        DeliveryEndpoint(
          id: "hook", name: "hook", kind: .webhook, url: "https://hooks.example.com/x", secret: WebhookSecret.generate(),
          events: [.caseOpened], language: .en, createdMs: 0)))
    let count = 300
    let opening = CaseChange(atMs: 0, actor: CaseChange.rulesActor, kind: .opened, detail: "opened")
    let done = Mutex<Bool>.Box(false)
    async let opened: Void = BlockingWork.run {
      defer { done.value.withLock { $0 = true } }
      for index in 0..<count {
        let item = ServiceCase(id: "case-\(index)", title: "Case \(index)", source: .person, dueMs: 1, openedMs: 0)
        _ = try cases.open(item, change: opening, fence: .sole)
      }
    }
    async let fanned: Void = BlockingWork.run {
      while !done.value.withLock({ $0 }) { _ = try deliveries.fanOut(nowMs: 1, fence: .sole) }
    }
    try await opened
    try await fanned
    _ = try deliveries.fanOut(nowMs: 1, fence: .sole)
    #expect(try deliveries.deliveries(DeliveryFilter(limit: 10_000)).count == count)
  }
}

/// Sent messages are pruned after the keep period; pending and dead ones stay (the store on
/// both backends, and the deliverer's once-a-day schedule).
@Suite struct DeliveryPruningTests {
  @Test(arguments: TestBackend.all) func sentMessagesGoAfterTheirKeepPeriodPendingAndDeadOnesStay(_ backend: TestBackend) throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try backend.metricsStores(directory: directory).deliveries(for: TestBackend.freshTenant())
    #expect(
      try store.addEndpoint(
        DeliveryEndpoint(
          id: "robot", name: "robot", kind: .slack, url: "https://hooks.example.com/robot", secret: "", events: [.caseOpened],
          language: .en, createdMs: 0)))
    func enqueue(_ id: String) throws {
      var facts = DeliveryFacts()
      facts.summary = id
      try store.enqueue(DeliveryEvent(id: id, kind: .test, atMs: 1_000, facts: facts), endpointID: "robot", nowMs: 1_000)
    }
    for id in ["sent-early", "waiting", "dead", "sent-late", "folded-a", "folded-b"] { try enqueue(id) }
    try store.record(.delivered, eventID: "sent-early", endpointID: "robot", atMs: 2_000, fence: .sole)
    try store.record(.retry(atMs: 90_000, error: "HTTP 503"), eventID: "waiting", endpointID: "robot", atMs: 2_000, fence: .sole)
    try store.record(.dead(error: "too old"), eventID: "dead", endpointID: "robot", atMs: 2_000, fence: .sole)
    try store.record(.delivered, eventID: "sent-late", endpointID: "robot", atMs: 50_000, fence: .sole)
    let digest = DeliveryEvent(id: "digest-robot-3000", kind: .digest, atMs: 3_000, facts: DeliveryFacts())
    try store.fold(eventIDs: ["folded-a", "folded-b"], endpointID: "robot", into: digest, nowMs: 3_000, fence: .sole)
    try store.record(.delivered, eventID: digest.id, endpointID: "robot", atMs: 4_000, fence: .sole)

    // Before 10 s: the early message, the two folded ones and their digest, with their events.
    #expect(try store.prune(beforeMs: 10_000, fence: .sole) == PrunedDeliveries(deliveries: 4, events: 4))
    #expect(Set(try store.deliveries(DeliveryFilter()).map(\.eventID)) == ["waiting", "dead", "sent-late"])
    #expect(try store.prune(beforeMs: 10_000, fence: .sole) == PrunedDeliveries(deliveries: 0, events: 0))
    #expect(try store.prune(beforeMs: 60_000, fence: .sole) == PrunedDeliveries(deliveries: 1, events: 1))
    // The waiting and dead ones stay whatever their age, and can still be sent or replayed.
    #expect(try store.prune(beforeMs: 1_000_000, fence: .sole) == PrunedDeliveries(deliveries: 0, events: 0))
    #expect(try store.dueDeliveries(nowMs: 90_000, limit: 10).pending.map(\.event.id) == ["waiting"])
    #expect(try store.replay(endpointID: nil, eventID: "dead", nowMs: 100_000) == 1)
  }

  @Test func theDelivererPrunesATenantOnceADayAfterItsKeepDays() async throws {
    try await TestBackend.sqlite.withSuite { suite in
      let tenant = try #require(TenantID(try await suite.createTenant("acme").id))
      let store = try suite.metrics.state.deliveries(for: tenant)
      #expect(
        try store.addEndpoint(
          DeliveryEndpoint(
            id: "robot", name: "robot", kind: .slack, url: "https://hooks.example.com/robot", secret: "", events: [.test],
            language: .en, createdMs: 0)))
      func sent(_ id: String) throws {
        try store.enqueue(DeliveryEvent(id: id, kind: .test, atMs: 0, facts: DeliveryFacts()), endpointID: "robot", nowMs: 0)
        try store.record(.delivered, eventID: id, endpointID: "robot", atMs: 0, fence: .sole)
      }
      try sent("old")
      let dayMs: Int64 = 86_400_000
      let deliverer = OutboxDeliverer(provider: suite.metrics, settings: DeliverySettings(keepDays: 2), logger: Logger(label: "test"))
      // Just under two days later it is kept, and the tenant is not looked at again for a
      // day: just under a day after that, still kept, though old enough by then.
      try deliverer.pruneIfDue(tenant, store: store, nowMs: 2 * dayMs - 1, fence: .sole)
      #expect(try store.deliveries(DeliveryFilter()).count == 1)
      try deliverer.pruneIfDue(tenant, store: store, nowMs: 3 * dayMs - 2, fence: .sole)
      #expect(try store.deliveries(DeliveryFilter()).count == 1)
      try deliverer.pruneIfDue(tenant, store: store, nowMs: 3 * dayMs - 1, fence: .sole)
      #expect(try store.deliveries(DeliveryFilter()).isEmpty)
      // Kept 0 days: kept forever.
      try sent("kept")
      let forever = OutboxDeliverer(provider: suite.metrics, settings: DeliverySettings(keepDays: 0), logger: Logger(label: "test"))
      try forever.pruneIfDue(tenant, store: store, nowMs: 100 * dayMs, fence: .sole)
      #expect(try store.deliveries(DeliveryFilter()).count == 1)
    }
  }
}
