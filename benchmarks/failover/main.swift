// The full-size failover drill (issue 21): two replicas of every service and two gateways
// on a PostgreSQL server of the drill's own (scripts/test-postgres, so Debian's
// `postgresql` package must be installed), while `sightline ingest` sends N events round
// robin over both gateways; one replica of each service and a gateway are SIGKILLed, the
// metrics replica folding the tenant is killed and later paused past its lease, and
// PostgreSQL is restarted. Then every event must be stored once, each alert opened once,
// and the KPIs equal those of a suite that saw no fault. docs/reliability.md records the
// latest run. Needs the executables built in the same configuration:
//
//   swift build -c release && swift run -c release failover-drill --events 1000000 [--seed S]
import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting

var events = 1_000_000
var seed = UInt64.random(in: 1...1_000_000)
var batchSize = 2_000
var leaseSeconds = 5
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  guard let value = arguments.next(), let number = UInt64(value) else {
    FileHandle.standardError.write(Data("usage: failover-drill [--events N] [--seed S] [--batch-size N] [--lease-time S]\n".utf8))
    exit(2)
  }
  switch flag {
  case "--events": events = Int(number)
  case "--seed": seed = number
  case "--batch-size": batchSize = Int(number)
  case "--lease-time": leaseSeconds = Int(number)
  default:
    FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8))
    exit(2)
  }
}

let directory = NSTemporaryDirectory() + "sightline-failover-drill-\(seed)"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
print("failover drill: \(events) events, batches of \(batchSize), lease \(leaseSeconds) s, seed \(seed), in \(directory)")
let report = try await PrivateDatabaseServer.with { server in
  var drill = FailoverDrill(
    events: events, seed: seed, binaryDirectory: SuiteLauncher.currentBinaryDirectory, portBase: 28_000, database: server.database,
    restartDatabase: server.crashAndRestart)
  drill.batchSize = batchSize
  drill.leaseSeconds = leaseSeconds
  drill.log = { print($0) }
  return try await drill.run(in: directory)
}
func seconds(_ duration: Duration) -> String {
  String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}
print("client: exit \(report.clientStatus), \(report.clientSummary), \(report.clientRetries) retries, \(seconds(report.ingest))")
print("stored: \(report.stored) log entries; by kind \(report.storedByKind.sorted { $0.key < $1.key })")
for fault in report.faults { print("fault: \(fault)") }
print("open alerts per rule and line: \(report.openAlerts.sorted { $0.key < $1.key })")
print("folds refused by fencing (logged by the replicas): \(report.fencedWrites)")
print("KPI cells compared with the uninterrupted suite: \(report.cellsCompared), mismatches: \(report.mismatches.count)")
for mismatch in report.mismatches.prefix(10) { print("  \(mismatch)") }
let passed =
  report.clientStatus == 0 && report.stored == Int64(events) && report.storedByKind.values.reduce(0, +) == Int64(events)
  && report.mismatches.isEmpty && report.openAlerts.values.allSatisfy { $0 == 1 } && report.faults.count == 7
print(passed ? "PASS: nothing lost, nothing stored twice, each alert once, KPIs identical" : "FAIL")
exit(passed ? 0 : 1)
