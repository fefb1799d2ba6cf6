import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import SightlineLauncher
public import SightlineModel
import SightlineRPC
import SightlineWire

/// A bounded load test of a running suite's gateway: `concurrency` callers repeat a unary
/// RPC (Ingestion/GetStats: authentication, admission, forwarding over mTLS, a SQLite read)
/// for `duration`, while the gateway's and ingestion's resident memory is sampled, so a
/// long run (soak) shows whether memory stays flat. Run by `LoadTests` briefly and by
/// `bench-load` (benchmarks/load) at any length.
public struct GatewayLoad: Sendable {
  /// Callers at once.
  public var concurrency = 32
  /// How long to call.
  public var duration: Duration = .seconds(20)
  /// How often to sample memory.
  public var sampleEvery: Duration = .seconds(2)

  /// A load of `concurrency` callers for `duration`.
  public init(concurrency: Int, duration: Duration) {
    self.concurrency = concurrency
    self.duration = duration
  }

  /// One memory sample.
  public struct MemorySample: Sendable {
    /// Since the load started.
    public var at: Duration
    /// Resident set size per process, KiB.
    public var residentKiB: [SuiteComponent: Int]
  }

  /// What the load measured.
  public struct Report: Sendable {
    public var calls = 0
    /// Failed calls by status code.
    public var failures: [String: Int] = [:]
    public var elapsed: Duration = .zero
    /// Latency percentiles, ms.
    public var p50Ms = 0.0
    public var p99Ms = 0.0
    public var maxMs = 0.0
    public var memory: [MemorySample] = []

    /// Calls per second.
    public var throughput: Double { Double(calls) / max(GatewayLoad.seconds(elapsed), 1e-9) }

    /// Growth of `component`'s resident memory from the first sample after the first
    /// quarter of the run (warm-up: connections, caches) to the last, KiB.
    public func growthKiB(_ component: SuiteComponent) -> Int? {
      guard let last = memory.last?.residentKiB[component] else { return nil }
      let warm = memory.first { GatewayLoad.seconds($0.at) >= GatewayLoad.seconds(elapsed) / 4 } ?? memory.first
      return warm?.residentKiB[component].map { last - $0 }
    }
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }

  /// Runs the load against `suite` with the tenant key `key`.
  public func run(against suite: SuiteLauncher, key: String) async throws -> Report {
    let security = SuiteTLS(pki: suite.pki).clientSecurity(identity: nil)
    let started = ContinuousClock.now
    let deadline = started + duration
    let pids = suite.processIdentifiers
    let sampler = Task {
      var samples: [MemorySample] = []
      while !Task.isCancelled {
        var resident: [SuiteComponent: Int] = [:]
        for component in [SuiteComponent.gateway, .ingestion] {
          if let pid = pids[component], let bytes = ProcessMetrics.residentBytes(pid: pid) { resident[component] = bytes / 1024 }
        }
        samples.append(MemorySample(at: ContinuousClock.now - started, residentKiB: resident))
        try? await Task.sleep(for: sampleEvery)
      }
      return samples
    }
    // Two connections, each multiplexing half the callers.
    let results = try await withThrowingTaskGroup(of: ([Double], [String: Int]).self) { group in
      for connection in 0..<2 {
        let callers = concurrency / 2 + (connection == 0 ? concurrency % 2 : 0)
        group.addTask {
          try await ClientFactory.withClient(suite.gateway, security: security) { client in
            let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
            return await withTaskGroup(of: ([Double], [String: Int]).self) { callersGroup in
              for _ in 0..<callers {
                callersGroup.addTask {
                  var latencies: [Double] = []
                  var failures: [String: Int] = [:]
                  while ContinuousClock.now < deadline {
                    let start = ContinuousClock.now
                    do {
                      _ = try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(key))
                      latencies.append(Self.seconds(ContinuousClock.now - start) * 1000)
                    } catch let error as RPCError {
                      failures["\(error.code)", default: 0] += 1
                    } catch {
                      failures["\(type(of: error))", default: 0] += 1
                    }
                  }
                  return (latencies, failures)
                }
              }
              var all: ([Double], [String: Int]) = ([], [:])
              for await (latencies, failures) in callersGroup {
                all.0 += latencies
                all.1.merge(failures, uniquingKeysWith: +)
              }
              return all
            }
          }
        }
      }
      var all: ([Double], [String: Int]) = ([], [:])
      for try await (latencies, failures) in group {
        all.0 += latencies
        all.1.merge(failures, uniquingKeysWith: +)
      }
      return all
    }
    var report = Report()
    report.elapsed = ContinuousClock.now - started
    sampler.cancel()
    report.memory = await sampler.value
    let sorted = results.0.sorted()
    report.calls = sorted.count
    report.failures = results.1
    report.p50Ms = Percentile.linear(sorted: sorted, 0.5) ?? 0
    report.p99Ms = Percentile.linear(sorted: sorted, 0.99) ?? 0
    report.maxMs = sorted.last ?? 0
    return report
  }
}
