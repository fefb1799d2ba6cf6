import Foundation
import GRPCCore
import Logging
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

@testable import MetricsService

/// A consumer that crashes (throws before its transaction) on chosen calls, as a process
/// killed mid-stream would stop: nothing of that batch is stored.
final class CrashingConsumer: LogConsumer {
  let inner: MetricsLogConsumer
  let crashOnCalls: Set<Int>
  private let calls = Mutex(0)

  init(_ inner: MetricsLogConsumer, crashOnCalls: Set<Int>) {
    self.inner = inner
    self.crashOnCalls = crashOnCalls
  }

  func appliedOffset(tenant: TenantID) throws -> Int64 { try inner.appliedOffset(tenant: tenant) }

  func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID, fence: LeaseFence) throws {
    let call = calls.withLock {
      $0 += 1; return $0
    }
    if crashOnCalls.contains(call) { throw CancellationError() }
    try inner.apply(entries, throughOffset: throughOffset, tenant: tenant, fence: fence)
  }
}

@Suite(.serialized) struct ConsumerRestartTests {
  @Test(arguments: TestBackend.all) func aConsumerRestartedMidStreamEndsWithTheSameKpisAsAnUninterruptedOne(
    _ backend: TestBackend
  ) async throws {
    var scenario = DemoScenario(endMs: todayMidnightMs())
    scenario.days = 30
    scenario.lineCount = 4
    scenario.treatedLineCount = 2
    scenario.customers = 300
    scenario.rolloutDay = 15
    let events = DemoDataset(scenario).events
    let start = scenario.startMs
    let end = scenario.endMs
    try await backend.withSuite { suite in
      let tenant = try await suite.createTenant("acme")
      let tenantID = try #require(TenantID(tenant.id))
      let last = try await suite.withGatewayClient { client in
        try await ingestThroughGateway(events, client: client, key: SuiteMetadata.bearer(tenant.adminKey))
      }
      #expect(last > 2_000, "the log spans several Subscribe batches")

      // A second consumer in its own directory crashes on its 2nd and 3rd batches, resumes
      // from its stored offset, then "restarts" (a new state object on the same files).
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
      let security = SuiteTLS(pki: suite.pki).clientSecurity(identity: .service)
      try await ClientFactory.withClient(HostAndPort(host: "127.0.0.1", port: suite.ingestionPort), security: security) { client in
        for crashes in [Set([2, 3]), Set<Int>()] {
          let state = MetricsLogConsumer(dataDirectory: directory)
          let follower = LogFollower(client: client, consumer: CrashingConsumer(state, crashOnCalls: crashes), logger: logger)
          follower.follow(tenantID)
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await follower.run() }
            // The first run stops part-way; the second catches up to the end.
            let target = crashes.isEmpty ? last : 1
            let deadline = ContinuousClock.now + .seconds(60)
            while try state.appliedOffset(tenant: tenantID) < target, ContinuousClock.now < deadline {
              try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
          }
        }
      }
      let restarted = MetricsLogConsumer(dataDirectory: directory)
      #expect(try restarted.appliedOffset(tenant: tenantID) == last)

      // The suite's own metrics consumed the same log without interruption.
      let uninterrupted = suite.metrics.state
      let deadline = ContinuousClock.now + .seconds(60)
      while try uninterrupted.appliedOffset(tenant: tenantID) < last, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
      }
      let buckets = try CalendarBuckets(startMs: start, endMs: end, interval: .week, timeZone: "UTC")
      func answer(_ state: MetricsLogConsumer) throws -> [String] {
        try KpiEngine(store: state.store(for: tenantID), settings: .defaults, nowMs: end, buildLock: RollupBuildLock())
          .compute(kpis: Set(KpiKind.allCases), buckets: buckets, filters: [:], groupBy: [.businessLine])
          .map { cell, accumulator in
            "\(cell.bucket) \(cell.group) " + KpiKind.allCases.map { "\(accumulator.result($0))" }.joined(separator: " ")
          }
      }
      let expected = try answer(uninterrupted)
      #expect(expected.count == buckets.starts.count * 4)
      #expect(try answer(restarted) == expected)
    }
  }
}
