// The many-tenant benchmark (issue 17): starts the suite's real processes, creates
// `--tenants` tenants through the gateway and ingests 5 events into each; then `--busy`
// tenants keep ingesting at `--rate` events/s in total for `--seconds` while the rest stay
// idle. It prints how long until every tenant's events count in metrics and segmentation,
// the busy tenants' freshness (ingest acknowledged → visible through a min_offset query),
// first and later ingest latency, and open files, threads and resident memory per process
// at 1,000 tenants and at the end. docs/performance.md records the latest figures.
//
// With `--database URL` (and `--database-owner URL`, the role that migrates) every service
// keeps its data in PostgreSQL; give it a fresh database, since the tenants' names must be
// new.
//
//   swift build -c release && .build/release/bench-tenants [--tenants 10000] [--busy 100] [--rate 2000] [--seconds 30]
//     [--database URL [--database-owner URL]]
import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

var settings = ["--tenants": 10_000, "--busy": 100, "--rate": 2_000, "--seconds": 30]
var databaseSettings: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  if ["--database", "--database-owner"].contains(flag), let text = arguments.next() {
    databaseSettings[flag] = text
    continue
  }
  guard settings[flag] != nil, let value = arguments.next().flatMap(Int.init), value > 0 else {
    FileHandle.standardError.write(
      Data(
        "usage: bench-tenants [--tenants N] [--busy N] [--rate EVENTS_PER_S] [--seconds N] [--database URL [--database-owner URL]]\n"
          .utf8))
    exit(2)
  }
  settings[flag] = value
}
let tenantCount = settings["--tenants"]!
let busyCount = min(settings["--busy"]!, tenantCount)
let rate = settings["--rate"]!
let busySeconds = settings["--seconds"]!
let firstStep = min(1_000, tenantCount)

func seconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ share: Double) -> Double {
  guard !values.isEmpty else { return .nan }
  let sorted = values.sorted()
  return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * share))]
}

func latencyLine(_ values: [Double]) -> String {
  String(
    format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)",
    percentile(values, 0.5), percentile(values, 0.99), values.max() ?? .nan, values.count)
}

/// A gauge's value from a process's Prometheus endpoint.
func scrape(port: Int, series: String) async -> Double? {
  guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
    let (data, _) = try? await URLSession.shared.data(from: url)
  else { return nil }
  let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(series + " ") }
  return line.flatMap { Double($0.split(separator: " ").last ?? "") }
}

let directory = NSTemporaryDirectory() + "sightline-tenants-\(getpid())"
let launcher = SuiteLauncher(dataDirectory: directory, portBase: 27_200, binaryDirectory: SuiteLauncher.currentBinaryDirectory)
launcher.prometheusPorts = [.metrics: 27_210, .segmentation: 27_211]
// The limits would turn an onboarding burst away; this measures the consumers, not the limiter.
launcher.environment = ["SIGHTLINE_RATE_LIMIT": "1000000000", "SIGHTLINE_BURST": "1000000000", "SIGHTLINE_MAX_IN_FLIGHT": "100000"]
launcher.environment["SIGHTLINE_DATABASE_URL"] = databaseSettings["--database"]
launcher.environment["SIGHTLINE_DATABASE_OWNER_URL"] = databaseSettings["--database-owner"]
try await launcher.start(output: FileHandle(forWritingAtPath: "/dev/null"))
let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.operatingSystemVersionString)"
print(
  "bench-tenants: \(tenantCount) tenants × 5 events, then \(busyCount) busy at \(rate) events/s for \(busySeconds) s; \(machine); "
    + (databaseSettings["--database"] == nil ? "SQLite" : "PostgreSQL (--database)"))

/// Open files, threads and resident memory of every process.
func resources(_ label: String) -> [SuiteComponent: (files: Int, threads: Int, kib: Int)] {
  var all: [SuiteComponent: (Int, Int, Int)] = [:]
  for (component, pid) in launcher.processIdentifiers.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
    let files = ProcessMetrics.openFiles(pid: pid) ?? -1
    let threads = ProcessMetrics.threads(pid: pid) ?? -1
    let kib = (ProcessMetrics.residentBytes(pid: pid) ?? 0) / 1024
    all[component] = (files, threads, kib)
    print("  \(label) \(component.rawValue): \(files) open files, \(threads) threads, \(kib / 1024) MiB resident")
  }
  return all
}

/// Waits until metrics and segmentation follow `count` tenants with none behind; the time it took.
func waitForConsumers(count: Int, since: ContinuousClock.Instant, limit: Duration = .seconds(600)) async -> Duration? {
  while ContinuousClock.now - since < limit {
    var done = true
    for port in [27_210, 27_211] {
      let followed = await scrape(port: port, series: #"sightline_consumer_tenants{state="followed"}"#) ?? 0
      let behind = await scrape(port: port, series: #"sightline_consumer_tenants{state="behind"}"#) ?? 1
      done = done && Int(followed) >= count && behind == 0
    }
    if done { return ContinuousClock.now - since }
    // Once a second: a scrape stats every tenant's files, and must not be the load.
    try? await Task.sleep(for: .seconds(1))
  }
  return nil
}

/// `busy` tenants each ingest `batch` events every interval (`rate` events/s in all) for
/// `seconds`, each acknowledged ingest followed by a read-your-writes query, alternating
/// metrics and segmentation. Returns later-ingest latencies and freshness (ms), and
/// failures by status.
nonisolated func busyPhase(
  fleet: TenantFleet, busy: [TenantFleet.Member], batch: Int, rate: Int, seconds: Int
) async throws -> ([Double], [Double], [String: Int]) {
  let interval = Duration.milliseconds(Int(1000.0 * Double(batch * busy.count) / Double(rate)))
  final class Collected: Sendable {
    let later = Mutex<[Double]>([])
    let freshness = Mutex<[Double]>([])
    let failures = Mutex<[String: Int]>([:])
  }
  let collected = Collected()
  let end = ContinuousClock.now + .seconds(seconds)
  try await withThrowingDiscardingTaskGroup { group in
    for (index, member) in busy.enumerated() {
      group.addTask {
        try await withThrowingDiscardingTaskGroup { probes in
          var member = member
          var sequence = 1
          // Spread the tenants over the interval, so calls do not arrive in lockstep.
          try await Task.sleep(for: interval * (Double(index) / Double(busy.count)))
          while ContinuousClock.now < end {
            let tick = ContinuousClock.now
            do {
              let (updated, took) = try await fleet.ingest(member, events: batch, sequence: sequence)
              member = updated
              collected.later.withLock { $0.append(took.milliseconds) }
              // The freshness probe runs beside the next ingests, so the rate holds.
              let (acked, probed, service) = (ContinuousClock.now, member, sequence % 2 == 0 ? SuiteComponent.metrics : .segmentation)
              probes.addTask {
                do {
                  try await fleet.readYourWrites(probed, in: service, wait: .seconds(10))
                  collected.freshness.withLock { $0.append((ContinuousClock.now - acked).milliseconds) }
                } catch let error as RPCError {
                  collected.failures.withLock { $0["\(service.rawValue) \(error.code)", default: 0] += 1 }
                }
              }
            } catch let error as RPCError {
              collected.failures.withLock { $0["ingest \(error.code)", default: 0] += 1 }
            }
            sequence += 1
            let next = tick + interval
            if next > ContinuousClock.now { try await Task.sleep(until: next) }
          }
        }
      }
    }
  }
  return (collected.later.withLock { $0 }, collected.freshness.withLock { $0 }, collected.failures.withLock { $0 })
}

extension Duration {
  /// This duration in milliseconds.
  var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

var exitCode: Int32 = 0
do {
  let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
  try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) { client in
    let fleet = TenantFleet(client: client, concurrency: 32)
    var members: [TenantFleet.Member] = []
    var firstIngest: [Double] = []
    var sampled: [String: [SuiteComponent: (files: Int, threads: Int, kib: Int)]] = [:]
    for (step, target) in [(1, firstStep), (2, tenantCount)] where target > members.count {
      var started = ContinuousClock.now
      let created = try await fleet.create(count: target - members.count, prefix: "t\(step)", operatorKey: operatorKey)
      print(
        String(
          format: "created %d tenants in %.1f s (%.0f/s)", created.count, seconds(ContinuousClock.now - started),
          Double(created.count) / seconds(ContinuousClock.now - started)))
      started = ContinuousClock.now
      let ingested = try await fleet.forEach(created) { try await fleet.ingest($0, events: 5) }
      let lastAck = ContinuousClock.now
      firstIngest += ingested.map { seconds($0.1) * 1000 }
      members += ingested.map(\.0)
      print(String(format: "ingested 5 events into each in %.1f s", seconds(lastAck - started)))
      if let caughtUp = await waitForConsumers(count: members.count, since: lastAck) {
        print(
          String(format: "every tenant's events in metrics and segmentation %.1f s after the last ingest (goal ≤ 60 s)", seconds(caughtUp)))
        if seconds(caughtUp) > 60 { exitCode = 1 }
      } else {
        print("the consumers did not catch up within 600 s")
        exitCode = 1
      }
      let missing = try await fleet.waitUntilVisible(members, deadline: .now + .seconds(300))
      print(
        "checked by query: \(members.count - missing.count) of \(members.count) tenants visible (min_offset) in metrics and segmentation")
      if !missing.isEmpty { exitCode = 1 }
      sampled["\(members.count)"] = resources("at \(members.count) tenants:")
    }
    print("first ingest of a new tenant (5 events), \(fleet.concurrency) at once: \(latencyLine(firstIngest))")

    // Onboarding one tenant at a time, on the loaded deployment: a new tenant's first
    // ingest against its second (goal: at most 10×).
    var first: [Double] = []
    var second: [Double] = []
    for member in try await fleet.create(count: 20, prefix: "onboard", operatorKey: operatorKey) {
      let (ingested, firstTook) = try await fleet.ingest(member, events: 5)
      let (_, secondTook) = try await fleet.ingest(ingested, events: 5, sequence: 1)
      first.append(firstTook.milliseconds)
      second.append(secondTook.milliseconds)
    }
    print("onboarding, one tenant at a time: first ingest \(latencyLine(first)); second \(latencyLine(second))")
    print(String(format: "  first / second ingest, p50: %.1f× (goal ≤ 10×)", percentile(first, 0.5) / percentile(second, 0.5)))

    // Busy tenants: each sends a batch every interval; every call's ack is followed by a
    // read-your-writes query, alternating metrics and segmentation, to time freshness.
    let busy = Array(members.prefix(busyCount))
    let batch = 10
    let (later, fresh, failures) = try await busyPhase(fleet: fleet, busy: busy, batch: batch, rate: rate, seconds: busySeconds)
    let events = later.count * batch
    print(
      String(
        format: "busy phase: %d events in %d s (%.0f events/s) from %d tenants", events, busySeconds,
        Double(events) / Double(busySeconds), busy.count))
    print("later ingest (\(batch) events): \(latencyLine(later))")
    print("freshness of a busy tenant (ack → visible): \(latencyLine(fresh)) (goal p99 ≤ 1000 ms)")
    if percentile(fresh, 0.99) > 1000 { exitCode = 1 }
    print("failures: \(failures.isEmpty ? "none" : "\(failures)")")
    let final = resources("after the busy phase:")
    if let small = sampled["\(firstStep)"], tenantCount > firstStep {
      for component in [SuiteComponent.ingestion, .metrics, .segmentation, .gateway] {
        guard let before = small[component], let after = final[component] else { continue }
        let perTenant = Double(after.kib - before.kib) * 1024 / Double(tenantCount - firstStep)
        print(String(format: "  memory per idle tenant, %@: %.1f KB (goal ≤ 50 KB)", component.rawValue, perTenant / 1000))
      }
    }
    for (component, figures) in final where figures.files > 1_000 {
      print("  \(component.rawValue) holds \(figures.files) open files (goal ≤ 1,000)")
      exitCode = 1
    }
  }
} catch {
  print("bench-tenants failed: \(error)")
  exitCode = 1
}
await launcher.stop()
try? FileManager.default.removeItem(atPath: directory)  // `exit` runs no `defer`
exit(exitCode)
