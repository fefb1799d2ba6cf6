import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Readiness: NOT_SERVING with a reason while a process cannot do its job, and the
/// gateway failing fast with that reason.
@Suite struct ReadinessTests {
  @Test func aConsumerFarBehindOrFailingForLongIsNotReady() {
    let now = ContinuousClock.now
    let tenant = TenantID("acme")!
    let caughtUp = [tenant: LogFollower.Progress(applied: 900, head: 1_000)]
    #expect(LogFollower.readinessProblem(caughtUp, maxLag: 100, failureGrace: .seconds(30), now: now) == nil)
    let behind = [tenant: LogFollower.Progress(applied: 100, head: 1_000)]
    #expect(
      LogFollower.readinessProblem(behind, maxLag: 100, failureGrace: .seconds(30), now: now)
        == "tenant acme is 900 events behind ingestion's log (the limit is 100)")
    let briefly = [tenant: LogFollower.Progress(applied: 1_000, head: 1_000, failingSince: now - .seconds(3), lastError: "unavailable")]
    #expect(
      LogFollower.readinessProblem(briefly, maxLag: 100, failureGrace: .seconds(30), now: now) == nil, "a restart of ingestion passes")
    let failing = [tenant: LogFollower.Progress(applied: 1_000, head: 1_000, failingSince: now - .seconds(45), lastError: "unavailable")]
    #expect(
      LogFollower.readinessProblem(failing, maxLag: 100, failureGrace: .seconds(30), now: now)
        == "the log subscription of tenant acme has failed for 45 s (unavailable)")
  }

  @Test func shutdownIsNotUndoneByReadiness() {
    let health = HealthService(services: ["x"])
    health.setReadiness(problem: "disk full")
    #expect(health.status(of: "x") == .notServing && health.status(of: "") == .notServing && health.reason == "disk full")
    health.setReadiness(problem: nil)
    #expect(health.status(of: "x") == .serving && health.reason == nil)
    health.enterShutdown()
    health.setReadiness(problem: nil)
    #expect(health.status(of: "x") == .notServing && health.reason == "shutting down")
  }

  @Test func anUnwritableDataDirectoryMakesMetricsNotServingAndTheGatewayFailsFast() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("ready")
      let key = SuiteMetadata.bearer(tenant.adminKey)
      // A directory where metrics writes its probe file: the write fails as it would on a
      // full or read-only disk (even for root).
      let probe = "\(suite.directory)/.readiness-sightline.metrics.v1.Metrics"
      try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
      try await suite.withGatewayClient { client in
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let request = Sightline_Metrics_V1_QueryKpisRequest.with { $0.kpis = [.volume] }
        var refusal: RPCError?
        // Probes run every 2 s and the gateway looks every second. The bound is only how long
        // to wait before calling it a failure: with every suite running at once on two cores
        // (CI), the probe, the gateway's look and each query can each wait many seconds.
        let deadline = ContinuousClock.now + .seconds(120)
        while refusal == nil && ContinuousClock.now < deadline {
          do {
            _ = try await metrics.queryKpis(request, metadata: key)
            try await Task.sleep(for: .milliseconds(200))
          } catch let error as RPCError { refusal = error }
        }
        let error = try #require(refusal, "the gateway kept forwarding to a metrics service that is not ready")
        #expect(error.code == .unavailable)
        #expect(error.message.contains("the metrics service is not serving: the data directory"), "\(error.message)")
        // SuiteHealth checks live with a 2 s bound; on a loaded machine a check can time out
        // (UNREACHABLE), so ask a few times.
        var health = Sightline_Gateway_V1_SuiteHealthResponse()
        for _ in 0..<10 {
          health = try await gateway.suiteHealth(.init(), metadata: key)
          if health.services.contains(where: { $0.name == "metrics" && $0.status == "NOT_SERVING" }) { break }
        }
        let entry = try #require(health.services.first { $0.name == "metrics" })
        #expect(entry.status == "NOT_SERVING" && entry.detail.contains("cannot be written"), "\(entry)")
        #expect(health.services.filter { $0.name != "metrics" }.allSatisfy { $0.status != "NOT_SERVING" }, "\(health.services)")

        // Fixed: serving again, and the gateway forwards again.
        try FileManager.default.removeItem(atPath: probe)
        var answered = false
        while !answered && ContinuousClock.now < deadline + .seconds(60) {
          answered = (try? await metrics.queryKpis(request, metadata: key)) != nil
          if !answered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(answered, "metrics did not become ready again")
      }
    }
  }
}
