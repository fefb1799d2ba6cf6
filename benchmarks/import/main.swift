import Foundation
import SightlineRecords

#if canImport(Glibc)
import Glibc
#endif

/// `bench-import --rows N --file utf8|gbk|xlsx [--keep DIR]`: how fast the CLI's readers
/// turn a Chinese-headed helpdesk export into events, and in how much memory. It writes an
/// export of N tickets (local times, 是/否, Chinese priorities, one unused column), makes the
/// GBK copy with `iconv` or the workbook with scripts/import-fixtures.py (openpyxl, date
/// cells, shared strings), then reads it as `sightline ingest --map
/// maps/chinese-helpdesk.yaml` does: the whole-file check, then the records. It prints
/// rows/s and events/s for each step and the process's peak resident memory, so run one
/// file kind per process (docs/performance.md records the figures).
struct Arguments {
  var rows = 100_000
  var file = "utf8"
  var keep: String?

  init() {
    var rest = Array(CommandLine.arguments.dropFirst())
    while !rest.isEmpty {
      let flag = rest.removeFirst()
      guard let value = rest.first else { fatalError("\(flag) needs a value") }
      rest.removeFirst()
      switch flag {
      case "--rows": rows = Int(value)!
      case "--file": file = value
      case "--keep": keep = value
      default: fatalError("unknown flag \(flag) (--rows N --file utf8|gbk|xlsx [--keep DIR])")
      }
    }
  }
}

func run(_ tool: String, _ arguments: [String], stdout: String? = nil) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = [tool] + arguments
  if let stdout {
    FileManager.default.createFile(atPath: stdout, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: stdout)
  }
  try! process.run()
  process.waitUntilExit()
  precondition(process.terminationStatus == 0, "\(tool) failed")
}

func seconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let arguments = Arguments()
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let directory = arguments.keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-import-\(getpid())").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { if arguments.keep == nil { try? FileManager.default.removeItem(atPath: directory) } }

// The export: ten tickets a minute from 2026-01-01 00:00 local time.
let plain = directory + "/export.csv"
if !FileManager.default.fileExists(atPath: plain) {
  var text = "工单编号,客户ID,创建时间,首次响应时间,解决时间,业务线,渠道,优先级,是否投诉,备注\n"
  let lines = ["宽带", "电视", "手机", "企业专线"]
  let channels = ["电话", "微信", "App", "邮件"]
  let priorities = ["紧急", "高", "普通", "低"]
  for index in 0..<arguments.rows {
    let minute = index / 10
    let created = String(
      format: "2026-%02d-%02d %02d:%02d:%02d", 1 + minute / 43_200 % 12, 1 + minute / 1_440 % 28, minute / 60 % 24, minute % 60,
      index % 10 * 6)
    let reply =
      index % 7 == 0
      ? "" : String(format: "2026/%d/%d %d:%02d", 1 + minute / 43_200 % 12, 1 + minute / 1_440 % 28, minute / 60 % 24, (minute + 17) % 60)
    text +=
      "T\(index),C\(index % 5_000),\(created),\(reply),,\(lines[index % 4]),\(channels[index / 3 % 4]),\(priorities[index % 4]),\(index % 20 == 0 ? "是" : "否"),\(index % 11 == 0 ? "\"回访, 已处理\"" : "")\n"
  }
  try text.write(toFile: plain, atomically: true, encoding: .utf8)
}
let path: String
switch arguments.file {
case "utf8": path = plain
case "gbk":
  path = directory + "/export-gbk.csv"
  if !FileManager.default.fileExists(atPath: path) { run("iconv", ["-f", "UTF-8", "-t", "GBK", plain], stdout: path) }
case "xlsx":
  path = directory + "/export.xlsx"
  if !FileManager.default.fileExists(atPath: path) {
    run("python3", [root + "/scripts/import-fixtures.py", "xlsx", plain, path, "--dates", "创建时间", "--shared-strings"])
  }
default: fatalError("--file utf8|gbk|xlsx")
}
let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0

var options = ReadOptions(
  times: TimeReader(zone: TimeZone(identifier: "Asia/Shanghai")!, zoneSource: "--time-zone"),
  map: try ColumnMap.load(path: root + "/maps/chinese-helpdesk.yaml"))
let format = RecordReader.format(of: path)
let checkStart = ContinuousClock.now
let inspection = try RecordFileReader.inspect(path: path, format: format, options: options)
let check = ContinuousClock.now - checkStart
precondition(inspection.problem == nil, "\(inspection)")
options.encoding = inspection.encoding
let readStart = ContinuousClock.now
let reader = try RecordFileReader(path: path, format: format, kind: nil, options: options)
var (events, failures) = (0, 0)
while case let records = try reader.next(5_000), !records.isEmpty {
  for record in records {
    if case .success = record.result { events += 1 } else { failures += 1 }
  }
}
let read = ContinuousClock.now - readStart
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print("file: \(arguments.file), \(arguments.rows) rows, \(bytes / 1024) KiB, read as \(inspection.encoding.map { "\($0)" } ?? "workbook")")
print(String(format: "whole-file check: %.2f s (%.0f rows/s)", seconds(check), Double(arguments.rows) / seconds(check)))
print(
  String(
    format: "read: %.2f s, %.0f rows/s, %.0f events/s; %d events, %d rejected", seconds(read), Double(arguments.rows) / seconds(read),
    Double(events) / seconds(read), events, failures))
print("peak resident memory: \(usage.ru_maxrss / 1024) MiB")
