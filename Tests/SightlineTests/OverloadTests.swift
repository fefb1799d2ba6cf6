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

/// Per-tenant admission at the gateway: RESOURCE_EXHAUSTED with retry advice, and a quiet
/// tenant unaffected by a noisy one.
@Suite(.serialized) struct OverloadTests {
  @Test func theBucketRefusesWithRetryAdviceAndRefills() async throws {
    let limiter = TenantLimiter(limits: .init(ratePerSecond: 100, burst: 3, maxInFlight: 2))
    let tenant = try #require(TenantID("t_noisy"))
    try limiter.admit(tenant, holdsSlot: true)
    try limiter.admit(tenant, holdsSlot: true)
    // Two in flight: a third is refused even though tokens remain.
    #expect(throws: Overloaded.self) { try limiter.admit(tenant, holdsSlot: true) }
    limiter.release(tenant)
    try limiter.admit(tenant, holdsSlot: false)  // the third token; live streams hold no slot
    let refusal = #expect(throws: Overloaded.self) { try limiter.admit(tenant, holdsSlot: false) }
    #expect(refusal?.retryAfter ?? .zero > .zero && refusal?.retryAfter ?? .zero <= .milliseconds(11))
    try await Task.sleep(for: .milliseconds(30))  // 100/s: three tokens back
    try limiter.admit(tenant, holdsSlot: false)
    // Another tenant has its own bucket.
    try limiter.admit(try #require(TenantID("t_quiet")), holdsSlot: true)
  }

  @Test func aNoisyTenantIsThrottledAndAQuietOneIsNot() async throws {
    try await InProcessSuite.with(limits: .init(ratePerSecond: 20, burst: 20, maxInFlight: 4)) { suite in
      let noisy = try await suite.createTenant("noisy")
      let quiet = try await suite.createTenant("quiet")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let outcomes = try await withThrowingTaskGroup(of: (String, RPCError?, Duration).self) { group in
          for _ in 0..<120 {
            group.addTask {
              do {
                _ = try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(noisy.adminKey))
                return ("noisy", nil, .zero)
              } catch let error as RPCError {
                return ("noisy", error, .zero)
              }
            }
          }
          group.addTask {
            // The quiet tenant's calls, one after another while the flood runs.
            var slowest = Duration.zero
            for _ in 0..<5 {
              let start = ContinuousClock.now
              _ = try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(quiet.adminKey))
              slowest = max(slowest, ContinuousClock.now - start)
            }
            return ("quiet", nil, slowest)
          }
          var all: [(String, RPCError?, Duration)] = []
          for try await outcome in group { all.append(outcome) }
          return all
        }
        let refused = outcomes.compactMap { $0.0 == "noisy" ? $0.1 : nil }
        #expect(refused.count >= 80, "20 calls/s with a burst of 20 cannot admit 120 at once")
        #expect(refused.allSatisfy { $0.code == .resourceExhausted })
        let first = try #require(refused.first)
        #expect(first.message.contains("noisy") || first.message.contains("t_"))
        #expect(first.metadata[stringValues: "retry-after-ms"].first(where: { _ in true }) != nil)
        let status = try #require(try first.unpackGoogleRPCStatus())
        #expect(status.details.contains { $0.retryInfo != nil })
        let quietOutcome = try #require(outcomes.first { $0.0 == "quiet" })
        // Every quiet call succeeded (a refusal would have thrown). The bound only catches a
        // quiet tenant queued behind the flood: the whole test run, fault drill and load
        // test included, shares two cores (alone the slowest call takes a few milliseconds).
        #expect(quietOutcome.2 < .seconds(30), "the quiet tenant's slowest call took \(quietOutcome.2)")
      }
    }
  }

  @Test func anOversizedMessageIsRefusedWithAClearError() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        // 17 MiB of comment text in one batch: over the 16 MiB message limit.
        let big = String(repeating: "x", count: 16_000)
        let events = (0..<1_100).map { index in
          Sightline_Ingestion_V1_Event.with {
            $0.eventID = "big\(index)"
            $0.feedback = .with {
              $0.customerID = "C1"; $0.source = .chat; $0.text = big; $0.time = "2026-11-20T10:00:00Z"
            }
          }
        }
        let error = await #expect(throws: RPCError.self) {
          try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(
            .with { $0.events = events }, metadata: SuiteMetadata.bearer(tenant.adminKey))
        }
        #expect(error?.code == .resourceExhausted, "\(String(describing: error))")
        #expect(error?.message.contains("the limit is 16777216 bytes") == true, "\(error?.message ?? "")")
      }
    }
  }
}
