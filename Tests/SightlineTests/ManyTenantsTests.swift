import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import Testing

extension RealProcessSuites {
  /// Many tenants on one deployment of the real executables: the consumers follow every
  /// tenant through one change feed (not a stream per tenant, which stalled at HTTP/2's 100
  /// streams), and a read-your-writes wait ends with its caller.
  @Suite(.serialized) struct ManyTenantsTests {
    static func withSuite(_ body: (SuiteLauncher, TenantFleet, String) async throws -> Void) async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let launcher = SuiteLauncher(
        dataDirectory: directory, portBase: EndToEndTests.freePortBase(), binaryDirectory: EndToEndTests.binaryDirectory)
      launcher.environment = ["SIGHTLINE_RATE_LIMIT": "1000000000", "SIGHTLINE_BURST": "1000000000", "SIGHTLINE_MAX_IN_FLIGHT": "100000"]
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8)
          .trimmingCharacters(in: .whitespacesAndNewlines)
        try await ClientFactory.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) {
          client in
          try await body(launcher, TenantFleet(client: client, concurrency: 16), operatorKey)
        }
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
    }

    @Test func threeHundredTenantsAreAllFollowedWithinThirtySeconds() async throws {
      try await Self.withSuite { launcher, fleet, operatorKey in
        let members = try await fleet.create(count: 300, prefix: "many", operatorKey: operatorKey)
        let ingested = try await fleet.forEach(members) { try await fleet.ingest($0, events: 1).0 }
        #expect(ingested.allSatisfy { $0.offset == 1 })
        let missing = try await fleet.waitUntilVisible(ingested, deadline: .now + .seconds(30))
        #expect(
          missing.isEmpty,
          "\(missing.count) of 300 tenants not visible in metrics and segmentation after 30 s: \(missing.prefix(5).map(\.name))")
        // Each process holds a bounded number of files, not several per tenant.
        for (component, pid) in launcher.processIdentifiers {
          let files = ProcessMetrics.openFiles(pid: pid) ?? 0
          #expect(files <= 1_000, "\(component.rawValue) holds \(files) open files for 300 tenants")
        }
      }
    }

    @Test func abandonedReadYourWritesWaitsEndWithTheirCallers() async throws {
      try await Self.withSuite { launcher, fleet, operatorKey in
        let member = try await fleet.create(count: 1, prefix: "waits", operatorKey: operatorKey)[0]
        let (ingested, _) = try await fleet.ingest(member, events: 1)
        #expect(await fleet.isVisible(ingested, wait: .seconds(10)))
        let metricsPID = try #require(launcher.processIdentifiers[.metrics])

        // 200 callers ask for an offset that will not come, and give up after 300 ms.
        let unreachable = TenantFleet.Member(name: ingested.name, key: ingested.key, offset: 1_000_000)
        let outcomes = try await fleet.forEach(Array(0..<200)) { _ in await fleet.isVisible(unreachable, wait: .milliseconds(300)) }
        #expect(outcomes.allSatisfy { !$0 })

        // Within a second their waits are gone: the metrics process is idle again (it
        // polled the database every 10 ms per wait for 30 s before).
        try await Task.sleep(for: .seconds(1))
        let before = try Self.cpuTicks(metricsPID)
        try await Task.sleep(for: .seconds(2))
        let used = try Self.cpuTicks(metricsPID) - before
        let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))
        #expect(used <= ticksPerSecond / 5, "metrics used \(used) CPU ticks in 2 s after the callers left (\(ticksPerSecond) a second)")

        // A wait whose offset arrives is woken by the consumer, well before its deadline.
        let started = ContinuousClock.now
        async let woken = fleet.isVisible(TenantFleet.Member(name: ingested.name, key: ingested.key, offset: 2), wait: .seconds(20))
        try await Task.sleep(for: .milliseconds(200))
        _ = try await fleet.ingest(ingested, events: 1, sequence: 1)
        #expect(await woken)
        #expect(ContinuousClock.now - started < .seconds(5))
      }
    }

    /// User and system CPU time of `pid` so far, in clock ticks (/proc/PID/stat).
    static func cpuTicks(_ pid: Int32) throws -> Int {
      let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
      // Fields after the command name (which is in parentheses and may hold spaces).
      let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
      return Int(fields[11])! + Int(fields[12])!
    }
  }
}
