import Foundation
import SightlineModel
import SightlineWire
import Testing
import ZIPFoundation

@testable import SightlineRecords

/// Imports of what helpdesks and Excel export (docs/ingestion.md, "Importing from your
/// helpdesk"): encodings, byte-order marks, local times, 是/否, column maps and .xlsx. The
/// fixtures are made by the real tools: `iconv` for GBK and UTF-16, Python (openpyxl) for
/// BOM CSVs and workbooks (scripts/import-fixtures.py).
@Suite struct HelpdeskImportTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let shanghai = TimeReader(zone: TimeZone(identifier: "Asia/Shanghai")!, zoneSource: "--time-zone")
  static let newYork = TimeReader(zone: TimeZone(identifier: "America/New_York")!, zoneSource: "--time-zone")
  static let chineseMap = try! ColumnMap.load(path: root.path + "/maps/chinese-helpdesk.yaml")

  /// A Chinese team's export, as the helpdesk writes it (UTF-8, LF).
  static let chineseExport = """
    工单编号,客户ID,创建时间,首次响应时间,解决时间,业务线,渠道,优先级,是否投诉,备注
    T1,C1,2026-11-20 09:00:00,2026/11/20 10:00,2026-11-21 09:00:00.250,宽带,电话,紧急,是,"回访, 已解决"
    T2,C2,2026/11/20 9:05,,,宽带,微信,中,否,
    T3,C3,2026-11-21 18:30:00,2026-11-21 18:45:00,,电视,App,低,否,夜班

    """

  /// Runs `tool` with `arguments`; fails the test if it fails.
  static func run(_ tool: String, _ arguments: [String], stdout: String? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    if let stdout {
      FileManager.default.createFile(atPath: stdout, contents: nil)
      process.standardOutput = FileHandle(forWritingAtPath: stdout)
    }
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw RecordReader.CSVError("\(tool) \(arguments) failed: \(message)") }
  }

  static func fixtures<R>(_ body: (String) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imports-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
  }

  static func fixtures<R>(_ body: (String) async throws -> R) async throws -> R {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imports-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
  }

  /// Every record of `path` as the CLI reads it (the encoding found by the whole-file
  /// check), and what reading found.
  static func read(
    _ path: String, kind: RecordReader.Kind? = .ticketExport, options: ReadOptions
  ) throws -> (records: [RecordReader.Record], report: ReadReport, inspection: RecordFileReader.Inspection) {
    let format = RecordReader.format(of: path)
    let inspection = try RecordFileReader.inspect(path: path, format: format, options: options)
    var options = options
    options.encoding = inspection.encoding
    let reader = try RecordFileReader(path: path, format: format, kind: kind, options: options)
    var records: [RecordReader.Record] = []
    while case let next = try reader.next(100), !next.isEmpty { records += next }
    return (records, reader.report, inspection)
  }

  static func events(_ records: [RecordReader.Record]) -> [Sightline_Ingestion_V1_Event] {
    records.compactMap { try? $0.result.get() }
  }

  static func problems(_ records: [RecordReader.Record]) -> [String] {
    records.compactMap { record in
      if case .failure(let problem) = record.result { "line \(record.line) \(problem.field): \(problem.reason)" } else { nil }
    }
  }

  @Test func aByteOrderMarkIsSkippedAndCRLFLineEndingsKept() throws {
    try Self.fixtures { directory in
      try Self.chineseExport.write(toFile: directory + "/plain.csv", atomically: true, encoding: .utf8)
      try Self.run(
        "python3", [Self.root.path + "/scripts/import-fixtures.py", "bom-csv", directory + "/plain.csv", directory + "/bom.csv"])
      let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/bom.csv"))
      #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]) && bytes.contains(0x0D), "the fixture has a BOM and CRLF")
      let options = ReadOptions(times: Self.shanghai, map: Self.chineseMap)
      let plain = try Self.read(directory + "/plain.csv", options: options)
      let marked = try Self.read(directory + "/bom.csv", options: options)
      #expect(marked.inspection == .init(encoding: .utf8, problem: nil))
      #expect(marked.report.columns.first?.header == "工单编号" && marked.report.columns.first?.field == "ticket_id")
      #expect(Self.problems(marked.records).isEmpty, "\(Self.problems(marked.records))")
      #expect(Self.events(marked.records) == Self.events(plain.records) && Self.events(plain.records).count == 6)
      #expect(marked.records.map(\.line) == plain.records.map(\.line))
    }
  }

  @Test func gbkAndUTF16AreReadLikeUTF8AndTheEncodingIsNamed() throws {
    try Self.fixtures { directory in
      let plain = directory + "/plain.csv"
      try Self.chineseExport.write(toFile: plain, atomically: true, encoding: .utf8)
      try Self.run("iconv", ["-f", "UTF-8", "-t", "GBK", plain], stdout: directory + "/gbk.csv")
      try Self.run("iconv", ["-f", "UTF-8", "-t", "UTF-16", plain], stdout: directory + "/utf16.csv")
      let options = ReadOptions(times: Self.shanghai, map: Self.chineseMap)
      let expected = Self.events(try Self.read(plain, options: options).records)
      let gbk = try Self.read(directory + "/gbk.csv", options: options)
      #expect(gbk.inspection == .init(encoding: .gb18030, problem: nil), "found without --encoding")
      #expect(gbk.report.encoding == .gb18030)
      #expect(Self.events(gbk.records) == expected)
      var named = options
      named.encoding = .gbk
      #expect(Self.events(try Self.read(directory + "/gbk.csv", options: named).records) == expected)
      let utf16 = try Self.read(directory + "/utf16.csv", options: options)
      #expect(utf16.inspection == .init(encoding: .utf16, problem: nil))
      #expect(Self.events(utf16.records) == expected)
      // Read as UTF-8 when told so, the GBK file is refused at its first Chinese byte.
      var wrong = options
      wrong.encoding = .utf8
      let refused = try RecordFileReader.inspect(path: directory + "/gbk.csv", format: .csv, options: wrong)
      #expect(refused.problem == "not valid UTF-8 (the first bad byte is at offset 0, line 1)", "\(refused)")
    }
  }

  @Test func aFileInNeitherEncodingIsRefusedWithItsOffsetAndLine() throws {
    try Self.fixtures { directory in
      // 0xFF starts no character in UTF-8 or in GB18030.
      var bytes = Array("ticket_id,created\nT1,2026-11-20T09:00:00Z\nT2,".utf8)
      let offset = bytes.count
      bytes += [0xFF] + Array("2026-11-20T09:00:00Z\n".utf8)
      try Data(bytes).write(to: URL(fileURLWithPath: directory + "/bad.csv"))
      let inspection = try RecordFileReader.inspect(path: directory + "/bad.csv", format: .csv)
      #expect(inspection.problem == "not valid UTF-8 (the first bad byte is at offset \(offset), line 3)", "\(inspection)")
      var gbk = ReadOptions()
      gbk.encoding = .gbk
      let named = try RecordFileReader.inspect(path: directory + "/bad.csv", format: .csv, options: gbk)
      #expect(named.problem == "not valid GBK (the first bad byte is at offset \(offset), line 3)", "\(named)")
    }
  }

  @Test func timesInEveryAcceptedFormAreReadInTheirZone() throws {
    // The reference: Foundation's calendar in the same zone.
    func instant(_ zone: String, _ parts: (Int, Int, Int, Int, Int, Int)) -> Int64 {
      var calendar = Calendar(identifier: .gregorian)
      calendar.timeZone = TimeZone(identifier: zone)!
      let date = calendar.date(
        from: DateComponents(year: parts.0, month: parts.1, day: parts.2, hour: parts.3, minute: parts.4, second: parts.5))!
      return Int64(date.timeIntervalSince1970)
    }
    let cases: [(String, String, Int64)] = [
      ("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00", instant("Asia/Shanghai", (2026, 11, 20, 9, 0, 0))),
      ("2026-11-20 09:00:00", "2026-11-20T09:00:00+08:00", instant("Asia/Shanghai", (2026, 11, 20, 9, 0, 0))),
      ("2026/11/20 10:00", "2026-11-20T10:00:00+08:00", instant("Asia/Shanghai", (2026, 11, 20, 10, 0, 0))),
      ("2026/1/5 9:05", "2026-01-05T09:05:00+08:00", instant("Asia/Shanghai", (2026, 1, 5, 9, 5, 0))),
      ("2026-11-20", "2026-11-20T00:00:00+08:00", instant("Asia/Shanghai", (2026, 11, 20, 0, 0, 0))),
      ("2026-11-20 09:00:00.250", "2026-11-20T09:00:00.250+08:00", instant("Asia/Shanghai", (2026, 11, 20, 9, 0, 0))),
      ("2026-11-20 09:00:00 +0000", "2026-11-20T09:00:00Z", instant("UTC", (2026, 11, 20, 9, 0, 0))),
      ("2026-11-20 09:00 UTC", "2026-11-20T09:00:00Z", instant("UTC", (2026, 11, 20, 9, 0, 0))),
      ("2024-02-29 23:59:59-05:30", "2024-02-29T23:59:59-05:30", instant("UTC", (2024, 3, 1, 5, 29, 59))),
    ]
    for (text, rfc3339, seconds) in cases {
      let reading = try Self.shanghai.read(text).get()
      #expect(reading.rfc3339 == rfc3339, "\(text)")
      #expect(reading.seconds == seconds, "\(text)")
    }
    // New York's clocks skip 02:00-03:00 on 8 March 2026 and repeat 01:00-02:00 on 1 November.
    #expect(
      Self.newYork.read("2026-03-08 02:30").failureReason
        == "'2026-03-08 02:30' does not exist in America/New_York (the clocks skip it); it would be "
        + "2026-03-08T02:30:00-05:00 or 2026-03-08T02:30:00-04:00")
    #expect(
      Self.newYork.read("2026-11-01 01:30").failureReason
        == "'2026-11-01 01:30' happens twice in America/New_York (the clocks go back): "
        + "2026-11-01T01:30:00-05:00 or 2026-11-01T01:30:00-04:00; write it with its offset")
    #expect(try Self.newYork.read("2026-11-01 01:30-04:00").get().rfc3339 == "2026-11-01T01:30:00-04:00")
    #expect(try Self.newYork.read("2026-07-01 12:00").get().rfc3339 == "2026-07-01T12:00:00-04:00")
    for bad in ["2026-02-30 10:00", "20/11/2026 10:00", "2026-11-20 24:00", "2026-11-20 9:5", "2026-11-20T10:00:00+25:00", "yesterday"] {
      #expect(Self.shanghai.read(bad).failureReason == "'\(bad)' is not a time (\(TimeReader.forms))", "\(bad)")
    }
    let noZone = TimeReader(zone: nil, zoneSource: "none", missingZoneReason: "no --time-zone was given")
    #expect(
      noZone.read("2026-11-20 09:00").failureReason
        == "'2026-11-20 09:00' has no offset and no time zone is known to read it in (no --time-zone was given)")
    #expect(try noZone.read("2026-11-20T09:00:00Z").get().rfc3339 == "2026-11-20T09:00:00Z")
  }

  @Test func valuesAreReadTheWaysExportsWriteThem() throws {
    let csv = """
      event_id,ticket_id,customer_id,kind,time,priority,complaint
      e1,T1,C1,Created,2026-11-20T09:00:00Z,紧急,是
      e2,T2,C1,created,2026-11-20T09:00:00Z,High,Y
      e3,T3,C1,CREATED,2026-11-20T09:00:00Z,普通,对
      e4,T4,C1,created,2026-11-20T09:00:00Z,中,否
      e5,T5,C1,created,2026-11-20T09:00:00Z,低,错
      e6,T6,C1,created,2026-11-20T09:00:00Z,medium,No
      e7,T7,C1,created,2026-11-20T09:00:00Z,low,maybe
      e8,T8,C1,created,2026-11-20T09:00:00Z,最高,0
      """
    let records = try RecordReader.records(text: csv, format: .csv, kind: .ticketEvent)
    let tickets = records.prefix(6).map { try? $0.result.get().ticketEvent }
    #expect(tickets.map { $0?.priority } == [.urgent, .high, .normal, .normal, .low, .normal])
    #expect(tickets.map { $0?.complaint } == [true, true, true, false, false, false])
    #expect(tickets.allSatisfy { $0?.kind == .created })
    let problems = Self.problems(records)
    #expect(problems.count == 2, "\(problems)")
    #expect(problems.first == "line 8 ticket_event.complaint: 'maybe' is not true/false (true/false, yes/no, y/n, 1/0, 是/否, 对/错)")
    #expect(problems.last?.hasPrefix("line 9 (row): not a ticket_event") == true, "\(problems)")
  }

  @Test func aColumnMapNamesHeadersDerivesDurationsAndListsUnusedColumns() throws {
    let map = try ColumnMap.parse(
      """
      kind: ticket_export
      columns:
        Id: ticket_id
        Requester id: customer_id
        Created at: created
        First reply time in minutes: { field: first_reply, minutes_after: created }
        Priority: priority
      """, name: "test.yaml")
    let csv = """
      Id,Requester id,Created at,First reply time in minutes,Priority,Satisfaction Score,Tags
      101,C1,2026-11-20 09:00:00 +0800,90,Urgent,Good,a b
      102,C2,2026-11-20 09:00:00 +0800,,Low,,
      103,C3,2026-11-20 09:00:00 +0800,soon,Low,,
      """
    var decoder = try RecordDecoder(format: .csv, kind: nil, options: ReadOptions(times: Self.shanghai, map: map))
    let records = try decoder.feed(Array(csv.utf8)) + decoder.finish()
    let events = Self.events(records).map(\.ticketEvent)
    #expect(events.map(\.ticketID) == ["101", "101", "102"])
    #expect(events.map(\.time) == ["2026-11-20T09:00:00+08:00", "2026-11-20T10:30:00+08:00", "2026-11-20T09:00:00+08:00"])
    #expect(events.map(\.kind) == [.created, .agentReply, .created])
    #expect(
      Self.problems(records) == ["line 4 first_reply (First reply time in minutes): 'soon' is not a duration (a number ≥ 0)"])
    #expect(decoder.report.unusedColumns == ["Satisfaction Score", "Tags"])
    #expect(decoder.report.localTimes == 0, "every time had its offset")

    // A map's mistakes are named with their line.
    let mistakes: [(String, String)] = [
      ("columns:\n  Id: ticket_id\n  Created: { field: created, days_after: x }\n", "m.yaml line 3: unknown key 'days_after'"),
      ("kind: tickets\ncolumns: {}\n", "m.yaml line 1: kind must be one of"),
      ("columns:\n  A: created\n  B: created\n", "m.yaml: two headers are mapped to 'created'"),
      ("colums:\n  A: created\n", "m.yaml line 1: unknown key 'colums'"),
      ("- a\n- b\n", "m.yaml line 1: a map is a YAML mapping"),
    ]
    for (yaml, message) in mistakes {
      #expect(throws: RecordReader.CSVError.self) { try ColumnMap.parse(yaml, name: "m.yaml") }
      let error = try? #require(throws: RecordReader.CSVError.self) { try ColumnMap.parse(yaml, name: "m.yaml") }
      #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "") ← \(yaml)")
    }
    #expect(throws: RecordReader.CSVError.self) {
      try RecordDecoder(format: .csv, kind: .ticketEvent, options: ReadOptions(map: map))
    }
  }

  @Test func theShippedMapsParseAndNameOnlyFieldsOfTheirKind() throws {
    let directory = Self.root.path + "/maps"
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(files == ["chinese-helpdesk.yaml", "kf5-tickets.yaml", "zendesk-tickets.yaml"])
    for file in files {
      let map = try ColumnMap.load(path: "\(directory)/\(file)")
      let kind = try #require(map.kind, "\(file) names its kind")
      let known = Set(RecordReader.fields(of: kind))
      for (header, target) in map.columns {
        #expect(known.contains(target.field), "\(file): \(header) → \(target.field)")
        if case .duration(_, _, let after) = target { #expect(known.contains(after), "\(file): \(header) after \(after)") }
      }
    }
  }

  @Test func workbookCellsReadLikeTheCSVTheyWereMadeFrom() throws {
    try Self.fixtures { directory in
      let plain = directory + "/plain.csv"
      try Self.chineseExport.write(toFile: plain, atomically: true, encoding: .utf8)
      let script = Self.root.path + "/scripts/import-fixtures.py"
      let dates = "创建时间,解决时间"
      try Self.run("python3", [script, "xlsx", plain, directory + "/first.xlsx", "--dates", dates])
      try Self.run("python3", [script, "xlsx", plain, directory + "/shared.xlsx", "--dates", dates, "--shared-strings"])
      try Self.run("python3", [script, "xlsx", plain, directory + "/named.xlsx", "--sheet", "工单", "--dates", dates])
      try Self.run("python3", [script, "xlsx", plain, directory + "/mac.xlsx", "--dates", dates, "--date1904"])
      let options = ReadOptions(times: Self.shanghai, map: Self.chineseMap)
      let expected = try Self.read(plain, options: options)
      for file in ["first.xlsx", "shared.xlsx", "mac.xlsx"] {
        let workbook = try Self.read(directory + "/" + file, options: options)
        #expect(workbook.inspection == .init(encoding: nil, problem: nil), "\(file)")
        #expect(Self.events(workbook.records) == Self.events(expected.records), "\(file)")
        #expect(workbook.records.map(\.line) == expected.records.map(\.line), "\(file): sheet rows are the lines")
        #expect(workbook.report.unusedColumns == ["备注"])
      }
      // The data on a second sheet: the first is notes.
      var sheet = options
      sheet.sheet = "工单"
      #expect(Self.events(try Self.read(directory + "/named.xlsx", options: sheet).records) == Self.events(expected.records))
      sheet.sheet = "Sheet9"
      let missing = try RecordFileReader.inspect(path: directory + "/named.xlsx", format: .xlsx, options: sheet)
      #expect(missing.problem == "the workbook has no sheet 'Sheet9' (it has '说明', '工单')", "\(missing)")
    }
  }

  @Test func aTimeKeptAsAPlainNumberInASheetIsADateSerial() throws {
    try Self.fixtures { directory in
      let plain = directory + "/serials.csv"
      try "工单编号,创建时间\nS1,46346.375\nS2,46346.5\n".write(toFile: plain, atomically: true, encoding: .utf8)
      try Self.run(
        "python3", [Self.root.path + "/scripts/import-fixtures.py", "xlsx", plain, directory + "/serials.xlsx", "--numbers", "创建时间"])
      let options = ReadOptions(times: Self.shanghai, map: Self.chineseMap)
      let sheet = try Self.read(directory + "/serials.xlsx", options: options)
      #expect(Self.events(sheet.records).map(\.ticketEvent.time) == ["2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00"])
      // In a CSV the same text is not a time: only a workbook keeps serials.
      #expect(
        Self.problems(try Self.read(plain, options: options).records).first
          == "line 2 created (创建时间): '46346.375' is not a time (\(TimeReader.forms))")
    }
  }

  @Test func excelSerialsAndCellReferencesReadExactly() {
    #expect(SheetParserProbe.date(45_981.375) == "2025-11-20 09:00:00")
    #expect(SheetParserProbe.date(45_981.375 + 0.25 / 86_400) == "2025-11-20 09:00:00.250")
    #expect(SheetParserProbe.date(1, date1904: true) == "1904-01-02 00:00:00")
    #expect(SheetParserProbe.date(-1) == nil)
    #expect(SheetParserProbe.reference("A1")! == (0, 1) && SheetParserProbe.reference("XFD1048576")! == (16_383, 1_048_576))
    for bad in ["XFE1", "AAAA1", "A", "1", "a1", "A1B", "A12345678"] { #expect(SheetParserProbe.reference(bad) == nil, "\(bad)") }
  }

  @Test(arguments: [
    ("truncated-zip", "not an .xlsx workbook: the zip cannot be read"),
    ("truncated-sheet", "sheet 'Sheet' (xl/worksheets/sheet1.xml) is not well-formed XML at line"),
    ("bad-reference", "sheet 'Sheet' (xl/worksheets/sheet1.xml): cell reference 'ZZZZ2' in row 2 is not a cell of that row"),
    ("bad-shared-string", "sheet 'Sheet' (xl/worksheets/sheet1.xml): cell A1: shared string '99999' does not exist"),
    ("no-workbook", "not an .xlsx workbook: it holds no xl/workbook.xml"),
  ])
  func aBrokenWorkbookIsRefusedWholeNamingThePlace(_ kind: String, _ message: String) throws {
    try Self.fixtures { directory in
      let plain = directory + "/plain.csv"
      try Self.chineseExport.write(toFile: plain, atomically: true, encoding: .utf8)
      try Self.run("python3", [Self.root.path + "/scripts/import-fixtures.py", "broken-xlsx", plain, directory + "/broken.xlsx", kind])
      let inspection = try RecordFileReader.inspect(path: directory + "/broken.xlsx", format: .xlsx)
      #expect(inspection.problem?.hasPrefix(message) == true, "\(inspection.problem ?? "no problem found")")
    }
  }
}

extension HelpdeskImportTests {
  /// The readers' contract on a mutated GBK or UTF-16 file: records with lines in the file
  /// and failures naming a field, or a refusal naming the byte offset (within the file)
  /// and line, or the CSV line; never a trap.
  static func checkText(_ bytes: [UInt8], encoding: InputEncoding) {
    let options = ReadOptions(times: shanghai, map: chineseMap, encoding: encoding)
    do {
      var decoder = try RecordDecoder(format: .csv, kind: .ticketExport, options: options)
      var records: [RecordReader.Record] = []
      for start in stride(from: 0, to: bytes.count, by: 7) {
        records += try decoder.feed(Array(bytes[start..<min(start + 7, bytes.count)]))
      }
      records += try decoder.finish()
      for record in records {
        #expect(record.line >= 1 && record.line <= bytes.count + 1)
        if case .failure(let problem) = record.result { #expect(!problem.field.isEmpty && !problem.reason.isEmpty, "\(problem)") }
      }
    } catch let error as EncodingError {
      #expect((0...bytes.count).contains(error.offset) && error.line >= 1, "\(error)")
    } catch let error as RecordReader.CSVError {
      #expect(error.description.hasPrefix("line "), "\(error)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  /// The contract on a mutated workbook: read whole, or refused with a message naming the
  /// zip, the part or the cell; never a trap.
  @discardableResult
  static func checkWorkbook(_ path: String) -> String? {
    let options = ReadOptions(times: shanghai, map: chineseMap)
    guard let problem = XLSXReader.problem(path: path, sheet: nil) else {
      do {
        let reader = try RecordFileReader(path: path, format: .xlsx, kind: .ticketExport, options: options)
        while case let records = try reader.next(100), !records.isEmpty {
          for record in records { #expect((1...XLSXReader.maxRows).contains(record.line)) }
        }
      } catch {
        Issue.record("the check passed, the read failed: \(error)")
      }
      return nil
    }
    let places = ["not an .xlsx workbook", "sheet '", "xl/", "the workbook"]
    #expect(places.contains { problem.hasPrefix($0) }, "\(problem)")
    return problem
  }

  @Test func mutatedEncodingsAndWorkbooksGiveRecordsOrAPlaceNeverATrap() throws {
    try Self.fixtures { directory in
      let plain = directory + "/plain.csv"
      try Self.chineseExport.write(toFile: plain, atomically: true, encoding: .utf8)
      try Self.run("iconv", ["-f", "UTF-8", "-t", "GBK", plain], stdout: directory + "/gbk.csv")
      try Self.run("iconv", ["-f", "UTF-8", "-t", "UTF-16", plain], stdout: directory + "/utf16.csv")
      try Self.run(
        "python3",
        [Self.root.path + "/scripts/import-fixtures.py", "xlsx", plain, directory + "/book.xlsx", "--dates", "创建时间", "--shared-strings"])
      var random = SeededRandom(seed: 27)
      for (file, encoding) in [("gbk.csv", InputEncoding.gbk), ("utf16.csv", .utf16), ("gbk.csv", .gb18030)] {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)")))
        for _ in 0..<2_000 {
          var bytes = original
          for _ in 0..<(1 + Int(random.next() % 3)) {
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 4 {
            case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2: bytes.remove(at: position)
            default: bytes = Array(bytes.prefix(position))
            }
            if bytes.isEmpty { bytes = [0x80] }
          }
          Self.checkText(bytes, encoding: encoding)
        }
      }
      // The workbook: its zip's bytes, and its sheet's XML re-zipped (so the XML parser,
      // not only the zip's checksums, meets the damage).
      let book = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/book.xlsx")))
      let mutated = directory + "/mutated.xlsx"
      for _ in 0..<150 {
        var bytes = book
        for _ in 0..<(1 + Int(random.next() % 3)) {
          bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
        }
        if random.next() % 4 == 0 { bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count)))) }
        try Data(bytes).write(to: URL(fileURLWithPath: mutated))
        Self.checkWorkbook(mutated)
      }
      let parts = try Self.parts(of: directory + "/book.xlsx")
      var outcomes: [String: Int] = [:]
      // Bytes that are no UTF-8 (a lone lead byte, a stray continuation byte) land inside
      // tag names too, where FoundationXML's parser would trap on them.
      let fragments =
        [
          "<", ">", "</row>", "<row r=\"1\">", "r=\"ZZZ9\"", "r=\"A0\"", "t=\"s\"", "<v>-1</v>", "&", "&#0;", "s=\"99\"", "<v>1e308</v>",
        ].map { Array($0.utf8) } + [[0xE7], [0xB8, 0xAD], [0xFF]]
      for _ in 0..<250 {
        var damaged: [(String, Data)] = []
        for (path, data) in parts {
          var content = data
          if path.hasPrefix("xl/worksheets/") || (path == "xl/sharedStrings.xml" && random.next() % 4 == 0) {
            var text = [UInt8](data)
            for _ in 0..<(1 + Int(random.next() % 3)) {
              let position = Int(random.next() % UInt64(text.count))
              switch random.next() % 3 {
              case 0: text.insert(contentsOf: random.pick(fragments), at: position)
              case 1: text.removeSubrange(position..<min(text.count, position + Int(random.next() % 20)))
              default: text = Array(text.prefix(position))
              }
            }
            content = Data(text)
          }
          damaged.append((path, content))
        }
        try Self.zip(damaged, to: mutated)
        let problem = Self.checkWorkbook(mutated)
        let outcome = problem == nil ? "read" : problem!.contains("not well-formed XML") ? "broken XML" : "refused otherwise"
        outcomes[outcome, default: 0] += 1
      }
      // The mutations reach every outcome (a fuzzer that only ever breaks the zip tests little).
      #expect(outcomes.count == 3 && outcomes.values.allSatisfy { $0 >= 1 }, "\(outcomes)")
      print("HelpdeskImportTests: 250 re-zipped workbook mutations: \(outcomes.sorted { $0.key < $1.key })")
    }
  }

  /// A byte that is no UTF-8 inside a tag or attribute name made FoundationXML's parser
  /// trap (CI, 2026-12-03). Such a part is refused, naming the part and the byte; a part
  /// in UTF-16 is still read, by libxml2's own decoding.
  @Test func aNameThatIsNotUTF8IsRefusedNotATrap() throws {
    try Self.fixtures { directory in
      let plain = directory + "/plain.csv"
      try Self.chineseExport.write(toFile: plain, atomically: true, encoding: .utf8)
      try Self.run(
        "python3",
        [Self.root.path + "/scripts/import-fixtures.py", "xlsx", plain, directory + "/book.xlsx", "--dates", "创建时间", "--shared-strings"])
      let parts = try Self.parts(of: directory + "/book.xlsx")
      let sheetPath = try #require(parts.first { $0.0.hasPrefix("xl/worksheets/") }?.0)
      let original = try Self.rows(of: directory + "/book.xlsx")
      func damaged(_ path: String, _ change: (String) -> [UInt8]) throws -> String? {
        let target = directory + "/damaged.xlsx"
        try Self.zip(parts.map { ($0.0, $0.0 == path ? Data(change(String(decoding: $0.1, as: UTF8.self))) : $0.1) }, to: target)
        return Self.checkWorkbook(target)
      }
      func spliced(_ text: String, after marker: String, _ bytes: [UInt8]) -> [UInt8] {
        let range = text.range(of: marker)!
        return Array(text[..<range.upperBound].utf8) + bytes + Array(text[range.upperBound...].utf8)
      }
      // A lead byte inside the name of a row's tag.
      let inTag = try #require(try damaged(sheetPath) { spliced($0, after: "<row", [0xE7, 0x30, 0x36]) })
      #expect(inTag.hasPrefix("sheet '") && inTag.contains("(\(sheetPath)) is not UTF-8 text: the byte at offset"), "\(inTag)")
      // A stray byte inside an attribute name of the shared strings.
      let inAttribute = try #require(try damaged("xl/sharedStrings.xml") { spliced($0, after: "<sst ", [0x78, 0xE7]) })
      #expect(inAttribute.hasPrefix("xl/sharedStrings.xml is not UTF-8 text"), "\(inAttribute)")
      // A declaration of UTF-16 over 8-bit bytes: libxml2 reads the bytes as UTF-8.
      let declared = try #require(
        try damaged(sheetPath) { text in
          let body = text.hasPrefix("<?xml") ? String(text[text.range(of: "?>")!.upperBound...]) : text
          return Array("<?xml version=\"1.0\" encoding=\"UTF-16\"?>".utf8) + spliced(body, after: "<c", [0xFF])
        })
      #expect(declared.contains("is not UTF-8 text"), "\(declared)")
      // The same sheet in UTF-16 with a byte-order mark reads as before.
      let utf16 = directory + "/utf16.xlsx"
      try Self.zip(
        parts.map { path, data in
          guard path == sheetPath else { return (path, data) }
          let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"UTF-16\"")
          return (path, Data([0xFF, 0xFE]) + text.data(using: .utf16LittleEndian)!)
        }, to: utf16)
      #expect(Self.checkWorkbook(utf16) == nil)
      #expect(try Self.rows(of: utf16) == original)
    }
  }

  /// The rows of a workbook's first sheet.
  static func rows(of path: String) throws -> [[String]] {
    let reader = try XLSXReader(path: path, sheet: nil)
    var rows: [[String]] = []
    while let row = try reader.next() { rows.append(row.fields) }
    return rows
  }
}

extension HelpdeskImportTests {
  /// Each part of the workbook at `path`, in order.
  static func parts(of path: String) throws -> [(String, Data)] {
    let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    var parts: [(String, Data)] = []
    for entry in archive {
      var data = Data()
      _ = try archive.extract(entry) { data.append($0) }
      parts.append((entry.path, data))
    }
    return parts
  }

  /// Writes `parts` as a workbook at `path`.
  static func zip(_ parts: [(String, Data)], to path: String) throws {
    let archive = try Archive(accessMode: .create)
    for (name, content) in parts {
      try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(content.count), compressionMethod: .deflate) {
        position, size in content.subdata(in: Int(position)..<Int(position) + size)
      }
    }
    try archive.data!.write(to: URL(fileURLWithPath: path))
  }
}

/// The sheet parser's pure helpers, under test names.
enum SheetParserProbe {
  static func date(_ serial: Double, date1904: Bool = false) -> String? { XLSXCells.excelDate(serial, date1904: date1904) }
  static func reference(_ text: String) -> (Int, Int)? { XLSXCells.reference(text).map { ($0.column, $0.row) } }
}

extension Result where Failure == ReasonError {
  var failureReason: String? {
    if case .failure(let error) = self { error.reason } else { nil }
  }
}
