// The full-size fault-injection drill (issue 8): while `sightline ingest` streams N events
// through the gateway, SIGKILL ingestion, then metrics, then the gateway at random points
// and restart them; then check every event is stored exactly once and the KPIs equal those
// of a suite that ingested the same file without faults. docs/reliability.md records the
// latest run. Needs the executables built in the same configuration:
//
//   swift build -c release && swift run -c release fault-drill --events 1000000 [--seed S]
import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting

var events = 1_000_000
var seed = UInt64.random(in: 1...1_000_000)
var batchSize = 2_000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  guard let value = arguments.next(), let number = UInt64(value) else {
    FileHandle.standardError.write(Data("usage: fault-drill [--events N] [--seed S] [--batch-size N]\n".utf8))
    exit(2)
  }
  switch flag {
  case "--events": events = Int(number)
  case "--seed": seed = number
  case "--batch-size": batchSize = Int(number)
  default:
    FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8))
    exit(2)
  }
}

let directory = NSTemporaryDirectory() + "sightline-fault-drill-\(seed)"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
var drill = FaultDrill(events: events, seed: seed, binaryDirectory: SuiteLauncher.currentBinaryDirectory, portBase: 27_000)
drill.batchSize = batchSize
drill.log = { print($0) }
print("fault drill: \(events) events, batches of \(batchSize), seed \(seed), in \(directory)")
let report = try await drill.run(in: directory)
func seconds(_ duration: Duration) -> String {
  String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}
print(
  "client under faults: exit \(report.clientStatus), \(report.clientSummary), \(report.clientRetries) retries, \(seconds(report.faultyIngest))"
)
print("reference client without faults: \(seconds(report.cleanIngest))")
print("stored: \(report.stored) log entries; by kind \(report.storedByKind.sorted { $0.key < $1.key })")
print("KPI cells compared with the uninterrupted suite: \(report.cellsCompared), mismatches: \(report.mismatches.count)")
for mismatch in report.mismatches.prefix(10) { print("  \(mismatch)") }
let passed =
  report.clientStatus == 0 && report.stored == Int64(events)
  && report.storedByKind.values.reduce(0, +) == Int64(events) && report.mismatches.isEmpty && report.kills.count == 3
print(passed ? "PASS: nothing lost, nothing stored twice, KPIs identical" : "FAIL")
exit(passed ? 0 : 1)
