import Foundation
import SightlineModel
import ZIPFoundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the rows of one sheet of an Excel workbook (.xlsx: a zip of XML parts) as the
/// rows of a table, like CSV: each cell as text, a cell typed as a date as
/// `YYYY-MM-DD HH:MM:SS` (local time, as Excel keeps it), a whole number without `.0`,
/// a boolean as true/false. Each row keeps its sheet row number as its line.
///
/// The sheet streams in bounded memory: it is unzipped to a temporary file a chunk at a
/// time and parsed by a SAX parser on a thread of its own, which hands rows over through
/// a bounded queue. The shared strings (every distinct text of the workbook) and the
/// styles are read whole, as Excel itself does.
final class XLSXReader: @unchecked Sendable {
  /// A workbook that cannot be read: the part and the place.
  struct Problem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  /// The largest column Excel has (XFD) and its largest row.
  static let maxColumns = 16_384, maxRows = 1_048_576
  /// Rows parsed ahead of the reader.
  static let queueCapacity = 2_048

  private let queue = RowQueue(capacity: XLSXReader.queueCapacity)
  /// Whether the workbook counts dates from 1904 (old Mac Excel) rather than 1900.
  let date1904: Bool

  /// Opens `path` and starts reading `sheet` (nil: the first).
  init(path: String, sheet: String?) throws {
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw Problem("not an .xlsx workbook: the zip cannot be read (\(error))")
    }
    let book = try Workbook(archive: archive)
    let (name, part) = try book.sheet(named: sheet)
    date1904 = book.date1904
    guard let entry = archive[part] else { throw Problem("the workbook names sheet '\(name)' at \(part), which it does not hold") }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sightline-sheet-\(UUID().uuidString).xml")
    do {
      guard FileManager.default.createFile(atPath: scratch.path, contents: nil) else {
        throw Problem("sheet '\(name)' (\(part)) cannot be unzipped: \(scratch.path) cannot be created")
      }
      let file = try FileHandle(forWritingTo: scratch)
      defer { try? file.close() }
      var check = XMLPartCheck(part: "sheet '\(name)' (\(part))")
      do {
        _ = try archive.extract(entry) { chunk in
          try check.feed(chunk)
          try file.write(contentsOf: chunk)
        }
      } catch let problem as Problem {
        throw problem
      } catch {
        throw Problem("sheet '\(name)' (\(part)) cannot be unzipped: \(error)")
      }
      try check.finish()
    } catch {
      try? FileManager.default.removeItem(at: scratch)
      throw error
    }
    let (queue, strings, dates, date1904) = (self.queue, book.sharedStrings, book.dateStyles, book.date1904)
    let thread = Thread {
      defer { try? FileManager.default.removeItem(at: scratch) }
      guard let stream = InputStream(url: scratch) else {
        queue.finish(error: Problem("sheet '\(name)': the unzipped part cannot be opened"))
        return
      }
      let delegate = SheetParser(sharedStrings: strings, dateStyles: dates, date1904: date1904, queue: queue)
      let parser = XMLParser(stream: stream)
      parser.shouldProcessNamespaces = true
      parser.delegate = delegate
      let parsed = parser.parse()
      if let problem = delegate.problem {
        queue.finish(error: Problem("sheet '\(name)' (\(part)): \(problem)"))
      } else if !parsed && !queue.isCancelled {
        queue.finish(
          error: Problem(
            "sheet '\(name)' (\(part)) is not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber)"
              + (parser.parserError.map { " (\($0.localizedDescription))" } ?? "")))
      } else if parsed && (delegate.openElements != 0 || !delegate.sawElement) {
        queue.finish(
          error: Problem(
            "sheet '\(name)' (\(part)) is not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber)"
              + " (it ends with \(delegate.openElements) elements still open: the part is cut short)"))
      } else {
        queue.finish(error: nil)
      }
    }
    thread.stackSize = 1 << 20
    thread.start()
  }

  deinit { queue.cancel() }

  /// The next row of the sheet; nil at its end.
  func next() throws -> CSVParser.Row? { try queue.take() }

  /// Every problem the sheet at `path` would raise, without keeping its rows: the CLI
  /// checks a workbook whole before it sends anything, as it does a CSV file.
  static func problem(path: String, sheet: String?) -> String? {
    do {
      let reader = try XLSXReader(path: path, sheet: sheet)
      while try reader.next() != nil {}
      return nil
    } catch {
      return "\(error)"
    }
  }
}

/// Rows handed from the parsing thread to the reader, at most `capacity` at a time.
private final class RowQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var rows: [CSVParser.Row] = []
  private var head = 0
  private var done = false
  private var error: (any Error)?
  private var cancelled = false
  private let capacity: Int

  init(capacity: Int) { self.capacity = capacity }

  var isCancelled: Bool {
    condition.lock()
    defer { condition.unlock() }
    return cancelled
  }

  /// Adds a row, waiting while the queue is full; false once the reader has gone.
  func put(_ row: CSVParser.Row) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while rows.count - head >= capacity && !cancelled { condition.wait() }
    guard !cancelled else { return false }
    rows.append(row)
    condition.broadcast()
    return true
  }

  func finish(error: (any Error)?) {
    condition.lock()
    defer { condition.unlock() }
    done = true
    self.error = error
    condition.broadcast()
  }

  func cancel() {
    condition.lock()
    defer { condition.unlock() }
    cancelled = true
    condition.broadcast()
  }

  func take() throws -> CSVParser.Row? {
    condition.lock()
    defer { condition.unlock() }
    while head == rows.count && !done { condition.wait() }
    if head < rows.count {
      let row = rows[head]
      head += 1
      if head > 1_024 && head * 2 > rows.count {
        rows.removeFirst(head)
        head = 0
      }
      condition.broadcast()
      return row
    }
    if let error { throw error }
    return nil
  }
}

/// The workbook's small parts: its sheets, the shared strings, which styles are dates.
private struct Workbook {
  var sheets: [(name: String, part: String)] = []
  var sharedStrings: [String] = []
  var dateStyles: Set<Int> = []
  var date1904 = false

  init(archive: Archive) throws {
    let workbook = try Self.part("xl/workbook.xml", of: archive, required: true)!
    var relationships: [(id: String, name: String)] = []
    try XMLEvents.parse(workbook, part: "xl/workbook.xml") { event in
      guard case .start(let name, let attributes) = event else { return }
      if name == "workbookPr", let flag = attributes["date1904"] { date1904 = flag == "1" || flag == "true" }
      if name == "sheet", let sheetName = attributes["name"], let id = attributes["r:id"] ?? attributes["id"] {
        relationships.append((id, sheetName))
      }
    }
    var targets: [String: String] = [:]
    if let rels = try Self.part("xl/_rels/workbook.xml.rels", of: archive, required: false) {
      try XMLEvents.parse(rels, part: "xl/_rels/workbook.xml.rels") { event in
        if case .start("Relationship", let attributes) = event, let id = attributes["Id"], let target = attributes["Target"] {
          targets[id] = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
        }
      }
    }
    sheets = relationships.enumerated().map { index, relationship in
      (relationship.name, targets[relationship.id] ?? "xl/worksheets/sheet\(index + 1).xml")
    }
    if let strings = try Self.part("xl/sharedStrings.xml", of: archive, required: false) {
      sharedStrings = try Self.sharedStrings(strings)
    }
    if let styles = try Self.part("xl/styles.xml", of: archive, required: false) {
      dateStyles = try Self.dateStyles(styles)
    }
  }

  /// The part at `path` (read whole: these parts are small next to a sheet).
  static func part(_ path: String, of archive: Archive, required: Bool) throws -> Data? {
    guard let entry = archive[path] else {
      if required { throw XLSXReader.Problem("not an .xlsx workbook: it holds no \(path)") }
      return nil
    }
    var data = Data()
    do {
      _ = try archive.extract(entry) { data.append($0) }
    } catch {
      throw XLSXReader.Problem("\(path) cannot be unzipped: \(error)")
    }
    var check = XMLPartCheck(part: path)
    try check.feed(data)
    try check.finish()
    return data
  }

  func sheet(named wanted: String?) throws -> (name: String, part: String) {
    guard let wanted else {
      guard let first = sheets.first else { throw XLSXReader.Problem("the workbook has no sheet") }
      return first
    }
    guard let sheet = sheets.first(where: { $0.name == wanted }) else {
      throw XLSXReader.Problem("the workbook has no sheet '\(wanted)' (it has \(sheets.map { "'\($0.name)'" }.joined(separator: ", ")))")
    }
    return sheet
  }

  /// Each `<si>`'s text: its `<t>` runs, without phonetic guides (`<rPh>`).
  static func sharedStrings(_ data: Data) throws -> [String] {
    var strings: [String] = []
    var current = ""
    var inText = false, inPhonetic = false
    try XMLEvents.parse(data, part: "xl/sharedStrings.xml") { event in
      switch event {
      case .start("si", _): current = ""
      case .start("rPh", _): inPhonetic = true
      case .end("rPh"): inPhonetic = false
      case .start("t", _): inText = !inPhonetic
      case .end("t"): inText = false
      case .text(let text) where inText: current += text
      case .end("si"): strings.append(current)
      default: break
      }
    }
    return strings
  }

  /// The indexes of the cell formats (`cellXfs`) whose number format shows a date.
  static func dateStyles(_ data: Data) throws -> Set<Int> {
    var customDates: Set<Int> = []
    var inCellFormats = false
    var index = 0
    var dates: Set<Int> = []
    try XMLEvents.parse(data, part: "xl/styles.xml") { event in
      switch event {
      case .start("numFmt", let attributes):
        if let id = attributes["numFmtId"].flatMap(Int.init), let code = attributes["formatCode"], isDateFormat(code) {
          customDates.insert(id)
        }
      case .start("cellXfs", _): inCellFormats = true
      case .end("cellXfs"): inCellFormats = false
      case .start("xf", let attributes) where inCellFormats:
        let id = attributes["numFmtId"].flatMap(Int.init) ?? 0
        if builtInDates.contains(id) || customDates.contains(id) { dates.insert(index) }
        index += 1
      default: break
      }
    }
    return dates
  }

  /// Excel's built-in date and time formats (including the East Asian ones).
  static let builtInDates: Set<Int> = Set(14...22).union(27...36).union(45...47).union(50...58)

  /// Whether a custom number format shows a date or time: a y, d, h or s outside quoted
  /// text, escapes and [colour] brackets (an m alone could be minutes or months, and comes
  /// with one of those).
  static func isDateFormat(_ code: String) -> Bool {
    var quoted = false, bracket = false, escaped = false
    for character in code.lowercased() {
      if escaped {
        escaped = false
        continue
      }
      switch character {
      case "\"": quoted.toggle()
      case "\\" where !quoted: escaped = true
      case "[" where !quoted: bracket = true
      case "]" where !quoted: bracket = false
      case "y", "d", "h",
        "s" where !quoted && !bracket:
        return true
      default: break
      }
    }
    return false
  }
}

/// The SAX delegate of a sheet: `<row r>` of `<c r t s>` cells with a `<v>` value or an
/// inline `<is><t>` text.
private final class SheetParser: NSObject, XMLParserDelegate {
  let sharedStrings: [String]
  let dateStyles: Set<Int>
  let date1904: Bool
  let queue: RowQueue
  /// What made the sheet unreadable (a bad reference), with the cell.
  var problem: String?

  private var rowNumber = 0
  private var cells: [Int: String] = [:]
  private var column = -1
  private var cellReference = ""
  private var cellType = "n"
  private var cellStyle = 0
  private var text = ""
  private var collecting = false
  private var inInline = false, inPhonetic = false
  /// Elements open, and whether any was: a part cut short ends with some still open (the
  /// stream parser does not say so by itself).
  private(set) var openElements = 0
  private(set) var sawElement = false

  init(sharedStrings: [String], dateStyles: Set<Int>, date1904: Bool, queue: RowQueue) {
    self.sharedStrings = sharedStrings
    self.dateStyles = dateStyles
    self.date1904 = date1904
    self.queue = queue
  }

  private func fail(_ parser: XMLParser, _ message: String) {
    guard problem == nil else { return }
    problem = message
    parser.abortParsing()
  }

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
  ) {
    openElements += 1
    sawElement = true
    guard problem == nil else { return }
    switch name {
    case "row":
      let number = attributes["r"].map { Int($0) } ?? rowNumber + 1
      guard let number, number > rowNumber, number <= XLSXReader.maxRows else {
        return fail(parser, "row '\(attributes["r"] ?? "")' after row \(rowNumber) is not a row number in order (1-\(XLSXReader.maxRows))")
      }
      rowNumber = number
      cells = [:]
      column = -1
    case "c":
      cellReference = attributes["r"] ?? ""
      if cellReference.isEmpty {
        column += 1
      } else {
        guard let (columnIndex, row) = XLSXCells.reference(cellReference), row == rowNumber else {
          return fail(
            parser, "cell reference '\(cellReference)' in row \(rowNumber) is not a cell of that row (A\(rowNumber)-XFD\(rowNumber))")
        }
        guard columnIndex > column else { return fail(parser, "cell \(cellReference) comes after a cell to its right") }
        column = columnIndex
      }
      guard column < XLSXReader.maxColumns else { return fail(parser, "row \(rowNumber) has more than \(XLSXReader.maxColumns) columns") }
      cellType = attributes["t"] ?? "n"
      cellStyle = attributes["s"].flatMap(Int.init) ?? 0
      text = ""
    case "v": collecting = true
    case "is": inInline = true
    case "rPh": inPhonetic = true
    case "t" where inInline && !inPhonetic: collecting = true
    default: break
    }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if collecting { text += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    openElements -= 1
    guard problem == nil else { return }
    switch name {
    case "v", "t": collecting = false
    case "is": inInline = false
    case "rPh": inPhonetic = false
    case "c":
      switch value() {
      case .success(let value): if !value.isEmpty { cells[column] = value }
      case .failure(let error): fail(parser, "cell \(cellName): \(error.reason)")
      }
    case "row":
      guard let last = cells.keys.max() else { return }
      var fields = [String](repeating: "", count: last + 1)
      for (index, value) in cells { fields[index] = value }
      if !queue.put(CSVParser.Row(line: rowNumber, fields: fields)) { parser.abortParsing() }
    default: break
    }
  }

  private var cellName: String { cellReference.isEmpty ? "\(XLSXCells.columnName(column))\(rowNumber)" : cellReference }

  /// The cell's value as text.
  private func value() -> Result<String, ReasonError> {
    switch cellType {
    case "s":
      guard let index = Int(text.trimmingCharacters(in: .whitespaces)), sharedStrings.indices.contains(index) else {
        return .failure(ReasonError("shared string '\(text)' does not exist (the workbook has \(sharedStrings.count))"))
      }
      return .success(sharedStrings[index])
    case "inlineStr", "str", "e", "d": return .success(text)
    case "b": return .success(text == "1" ? "true" : text == "0" ? "false" : text)
    default:
      let raw = text.trimmingCharacters(in: .whitespaces)
      guard !raw.isEmpty, let number = Double(raw), number.isFinite else { return .success(raw) }
      if dateStyles.contains(cellStyle) {
        guard let date = XLSXCells.excelDate(number, date1904: date1904) else {
          return .failure(ReasonError("date serial \(raw) is outside the years 1900-9999"))
        }
        return .success(date)
      }
      if number == number.rounded(), abs(number) < 1e15 { return .success(String(Int64(number))) }
      return .success(String(number))
    }
  }

}

/// Cell values and references of a sheet.
enum XLSXCells {
  /// An Excel date serial (days since 1899-12-30, or 1904-01-01 in the 1904 system) as
  /// `YYYY-MM-DD HH:MM:SS[.mmm]`, rounded to the millisecond (a serial's double holds
  /// about a microsecond at today's dates, so the milliseconds written come back).
  static func excelDate(_ serial: Double, date1904: Bool) -> String? {
    guard serial >= 0, serial < 2_958_466 else { return nil }
    let base = Int64(date1904 ? RFC3339.daysFromCivil(year: 1904, month: 1, day: 1) : RFC3339.daysFromCivil(year: 1899, month: 12, day: 30))
    let milliseconds = Int64((serial * 86_400_000).rounded())
    let (days, millisecond) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
    let second = millisecond / 1000
    let (year, month, day) = RFC3339.civilFromDays(Int(base + days))
    let pad = TimeReader.Reading.pad
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(Int(second / 3600), 2)):\(pad(Int(second % 3600 / 60), 2)):"
      + pad(Int(second % 60), 2) + (millisecond % 1000 == 0 ? "" : "." + pad(Int(millisecond % 1000), 3))
  }

  /// `B12` → (1, 12): column letters (at most XFD) and a row number.
  static func reference(_ text: String) -> (column: Int, row: Int)? {
    let bytes = Array(text.utf8)
    let letters = bytes.prefix { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    let digits = bytes[letters.count...]
    guard (1...3).contains(letters.count), (1...7).contains(digits.count),
      digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
    else { return nil }
    let column = letters.reduce(0) { $0 * 26 + Int($1 - UInt8(ascii: "A")) + 1 }
    guard column <= XLSXReader.maxColumns, let row = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
    return (column - 1, row)
  }

  static func columnName(_ index: Int) -> String {
    var name = ""
    var rest = index + 1
    while rest > 0 {
      let digit = (rest - 1) % 26
      name = String(UnicodeScalar(UInt8(ascii: "A") + UInt8(digit))) + name
      rest = (rest - 1) / 26
    }
    return name
  }
}

/// Checks that an XML part's bytes are UTF-8 before FoundationXML parses it, a chunk at a
/// time. libxml2 hands a tag or attribute name whose bytes are not UTF-8 on to
/// FoundationXML, whose `XMLParser` force-unwraps the name's decoding and traps
/// (swift-corelibs-foundation, Swift 6.3): one corrupt byte in a tag would end the process
/// instead of refusing the workbook. A part that starts as UTF-16 (a byte-order mark, or
/// `<` as a 16-bit unit) is left to libxml2, which decodes it itself and never passes on a
/// bad name. Every writer of .xlsx writes UTF-8, so a part declaring another encoding is
/// refused too, by the same check.
struct XMLPartCheck {
  /// The part as an error names it.
  let part: String
  private var transcoder: TextTranscoder?
  private var started = false

  init(part: String) { self.part = part }

  mutating func feed(_ chunk: Data) throws {
    guard !chunk.isEmpty else { return }
    if !started {
      started = true
      let head = Array(chunk.prefix(2))
      let utf16 = head == [0xFF, 0xFE] || head == [0xFE, 0xFF] || head == [0x3C, 0x00] || head == [0x00, 0x3C]
      transcoder = utf16 ? nil : try TextTranscoder(encoding: .utf8)
    }
    do {
      _ = try transcoder?.feed([UInt8](chunk))
    } catch let error as EncodingError {
      throw problem(error)
    }
  }

  mutating func finish() throws {
    do {
      _ = try transcoder?.finish()
    } catch let error as EncodingError {
      throw problem(error)
    }
  }

  private func problem(_ error: EncodingError) -> XLSXReader.Problem {
    XLSXReader.Problem(
      "\(part) is not UTF-8 text: the byte at offset \(error.offset) (line \(error.line)) is not part of a UTF-8 character"
        + " (the part is damaged, or written in another encoding; save the workbook again from Excel)")
  }
}

/// SAX events of a small XML part, through a closure.
private enum XMLEvents {
  enum Event {
    case start(String, [String: String])
    case end(String)
    case text(String)
  }

  private final class Delegate: NSObject, XMLParserDelegate {
    let handle: (Event) -> Void
    /// Elements open: a part cut short ends with some still open.
    var open = 0
    var sawElement = false
    init(_ handle: @escaping (Event) -> Void) { self.handle = handle }
    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      open += 1
      sawElement = true
      handle(.start(name, attributes))
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
      open -= 1
      handle(.end(name))
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { handle(.text(string)) }
  }

  static func parse(_ data: Data, part: String, _ handle: (Event) -> Void) throws {
    let parser = XMLParser(data: data)
    parser.shouldProcessNamespaces = true
    // The delegate lives only while `parse()` runs, so the closure never escapes.
    let parsed = withoutActuallyEscaping(handle) { handle in
      let delegate = Delegate(handle)
      parser.delegate = delegate
      defer { parser.delegate = nil }
      return parser.parse() && delegate.open == 0 && delegate.sawElement
    }
    guard parsed else {
      throw XLSXReader.Problem("\(part) is not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber)")
    }
  }
}
