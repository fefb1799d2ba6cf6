import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineRPC
import SightlineRecords
import SightlineWire
import SwiftProtobuf

/// `sightline ingest FILE…`: sends events from NDJSON, CSV or .xlsx files through the
/// gateway in batches.
struct Ingest: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Ingest files of events: NDJSON (one sightline.ingestion.v1.Event per line, proto3 JSON), CSV or .xlsx.",
    discussion: """
      CSV and .xlsx have a header row naming the record's fields (event_id first; attr.NAME for free profile \
      attributes) and need --kind. --kind ticket_export reads a flat helpdesk export (ticket_id, customer_id, \
      created, first_reply, resolved, reopened, channel, region, business_line, agent, product_module, \
      problem_type, priority, complaint) and ingests the equivalent ticket events; --map FILE names another \
      tool's headers (maps/ has some). Text may be UTF-8 (with or without a byte-order mark), GB18030/GBK or \
      UTF-16; times without an offset are read in --time-zone, else the tenant's zone. --preview shows how the \
      first rows will be read and sends nothing. Lines that do not parse and records the service rejects are \
      reported with their line; the exit status is 1 if any was rejected. Progress goes to stderr. See \
      docs/ingestion.md, "Importing from your helpdesk".
      """)

  @Argument(help: "Files (.ndjson/.jsonl, .csv or .xlsx).") var files: [String]
  @Option(help: "Input format: ndjson, csv or xlsx (default: by extension).") var format: FormatArgument?
  @Option(help: "Record kind of CSV and .xlsx input: ticket_event, survey_response, feedback, customer_profile, order, ticket_export.")
  var kind: KindArgument?
  @Option(help: "Text encoding: utf-8, gb18030, gbk or utf-16 (default: UTF-8, else GB18030 if the file decodes as that).")
  var encoding: EncodingArgument?
  @Option(help: "IANA time zone of times written without an offset (default: the tenant's, from its settings).")
  var timeZone: String?
  @Option(help: "A YAML column map: the export's headers → Sightline's fields (see maps/).") var map: String?
  @Option(help: "The sheet of an .xlsx workbook to read (default: the first).") var sheet: String?
  @Flag(help: "Show how the first rows will be read, and send nothing.") var preview = false
  @Option(help: "Rows --preview shows.") var previewRows: Int = 10
  @Option(help: "Events per batch (at most 10000).") var batchSize: Int = 5000
  @Option(help: "Write rejected records and their reasons to this file (NDJSON).") var rejects: String?
  @OptionGroup var connection: ConnectionOptions

  enum FormatArgument: String, ExpressibleByArgument, CaseIterable { case ndjson, csv, xlsx }
  enum KindArgument: String, ExpressibleByArgument, CaseIterable {
    case ticketEvent = "ticket_event", surveyResponse = "survey_response", feedback, customerProfile = "customer_profile"
    case order, ticketExport = "ticket_export"
  }
  enum EncodingArgument: String, ExpressibleByArgument, CaseIterable {
    case utf8 = "utf-8", gb18030, gbk, utf16 = "utf-16"
  }

  func validate() throws {
    guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1-10000") }
    guard previewRows >= 1 else { throw ValidationError("--preview-rows must be at least 1") }
    if let timeZone, TimeZone(identifier: timeZone) == nil {
      throw ValidationError("--time-zone: '\(timeZone)' is not an IANA time zone (e.g. Asia/Shanghai)")
    }
    for file in files where !FileManager.default.isReadableFile(atPath: file) {
      throw ValidationError("cannot read \(file)")
    }
  }

  /// A rejected line: where it came from and why.
  struct Rejection: Codable, Sendable {
    var file: String
    var line: Int
    var eventID: String
    var field: String
    var reason: String
  }

  /// What one run sent and what came back.
  struct Summary: Sendable {
    var accepted: Int64 = 0
    var duplicates: Int64 = 0
    var offset: Int64 = 0
    var rejections: [Rejection] = []
    /// What was read beside the records, per file: the encoding, local times, unused columns.
    var notes: [String] = []
  }

  func run() async throws {
    let (files, batchSize) = (self.files, self.batchSize)
    let format = self.format.map { RecordReader.Format(rawValue: $0.rawValue)! }
    let kind = self.kind.map { RecordReader.Kind(rawValue: $0.rawValue)! }
    var options = ReadOptions(encoding: encoding.map { InputEncoding(rawValue: $0.rawValue)! }, sheet: sheet)
    if let map {
      do {
        options.map = try ColumnMap.load(path: map)
      } catch {
        throw FileRefused("--map: \(error)")
      }
    }
    if preview {
      options.times = await previewTimes()
      for file in files {
        try Self.preview(file: file, format: format ?? RecordReader.format(of: file), kind: kind, options: options, rows: previewRows)
      }
      return
    }
    let givenZone = timeZone
    let readOptions = options
    // One connection for the whole run: batches share it instead of a handshake each.
    let summary = try await connection.withGateway { client, metadata in
      var options = readOptions
      options.times = await Self.times(given: givenZone, metrics: Sightline_Metrics_V1_Metrics.Client(wrapping: client), metadata: metadata)
      return try await Self.send(
        files: files, format: format, kind: kind, options: options, batchSize: batchSize,
        ingestion: Sightline_Ingestion_V1_Ingestion.Client(wrapping: client), metadata: metadata)
    }
    let rejections = summary.rejections
    for rejection in rejections.prefix(20) {
      FileHandle.standardError.write(
        Data(
          "rejected \(rejection.file):\(rejection.line) \(rejection.eventID) \(rejection.field): \(rejection.reason)\n".utf8))
    }
    if let rejects {
      let encoder = JSONEncoder()
      let lines = try rejections.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
      try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: rejects, atomically: true, encoding: .utf8)
    }
    for note in summary.notes { print(note) }
    print("accepted \(summary.accepted), duplicates \(summary.duplicates), rejected \(rejections.count), log offset \(summary.offset)")
    if !rejections.isEmpty { throw ExitCode.failure }
  }

  /// The zone of local times: `--time-zone`, else the tenant's from its settings. When
  /// neither can be had, local times are refused with the reason (never guessed as UTC).
  static func times(
    given: String?, metrics: Sightline_Metrics_V1_Metrics.Client<HTTP2ClientTransport.Posix>, metadata: Metadata,
    patient: Bool = true
  ) async -> TimeReader {
    if let given, let zone = TimeZone(identifier: given) { return TimeReader(zone: zone, zoneSource: "--time-zone") }
    do {
      // An import rides out a restarting service; a preview asks once, briefly.
      var options = CallOptions.defaults
      options.timeout = .seconds(patient ? 30 : 3)
      let ask = { try await metrics.getSettings(.init(), metadata: metadata, options: options) }
      let settings = try await (patient ? TransientRetry.run(ask) : ask())
      guard let zone = TimeZone(identifier: settings.timeZone) else {
        return TimeReader(
          zone: nil, zoneSource: "none", missingZoneReason: "the tenant's zone '\(settings.timeZone)' is not known here; pass --time-zone")
      }
      return TimeReader(zone: zone, zoneSource: "the tenant's zone")
    } catch {
      return TimeReader(
        zone: nil, zoneSource: "none", missingZoneReason: "the tenant's settings could not be read (\(error)); pass --time-zone")
    }
  }

  /// The zone for `--preview`: `--time-zone`, else the tenant's if the gateway answers.
  private func previewTimes() async -> TimeReader {
    if let timeZone, let zone = TimeZone(identifier: timeZone) { return TimeReader(zone: zone, zoneSource: "--time-zone") }
    do {
      return try await connection.withGateway { client, metadata in
        await Self.times(given: nil, metrics: Sightline_Metrics_V1_Metrics.Client(wrapping: client), metadata: metadata, patient: false)
      }
    } catch {
      return TimeReader(zone: nil, zoneSource: "none", missingZoneReason: "no --time-zone, and the gateway did not answer (\(error))")
    }
  }

  /// The lines of the summary about how `file` was read.
  static func notes(file: String, report: ReadReport, times: TimeReader) -> [String] {
    var notes: [String] = []
    if let encoding = report.encoding, encoding != .utf8 { notes.append("\(file): read as \(encoding)") }
    if report.localTimes > 0, let zone = times.zone {
      notes.append("\(file): \(report.localTimes) times without an offset read in \(DateArgument.zoneName(zone)) (\(times.zoneSource))")
    }
    if !report.unusedColumns.isEmpty {
      notes.append("\(file): columns not used: \(report.unusedColumns.joined(separator: ", "))")
    }
    return notes
  }

  /// Prints how the first `rows` rows of `file` read: the columns and each row's events.
  static func preview(file: String, format: RecordReader.Format, kind: RecordReader.Kind?, options: ReadOptions, rows: Int) throws {
    var options = options
    let inspection = try RecordFileReader.inspect(path: file, format: format, options: options)
    if let problem = inspection.problem { throw FileRefused("\(file): \(problem)") }
    options.encoding = inspection.encoding
    let reader: RecordFileReader
    do {
      reader = try RecordFileReader(path: file, format: format, kind: kind, options: options)
    } catch {
      throw FileRefused("\(file): \(error)")
    }
    var lines: Set<Int> = []
    var shown: [RecordReader.Record] = []
    reading: while true {
      let records = try reader.next(64)
      if records.isEmpty { break }
      for record in records {
        if !lines.contains(record.line) {
          if lines.count == rows { break reading }
          lines.insert(record.line)
        }
        shown.append(record)
      }
    }
    let report = reader.report
    print(
      "\(file): \(inspection.encoding.map { "\($0)" } ?? "workbook"), local times in \(options.times.zone.map(DateArgument.zoneName) ?? "no zone (\(options.times.missingZoneReason))")"
    )
    for column in report.columns {
      print("  column \(column.header) → \(column.field ?? "not used")")
    }
    for (line, result) in shown {
      switch result {
      case .success(let event):
        let json = (try? event.jsonString()) ?? "\(event)"
        print("  line \(line): \(json)")
      case .failure(let problem):
        print("  line \(line): rejected \(problem.eventID) \(problem.field): \(problem.reason)")
      }
    }
  }
  /// Batches sent on one IngestStream before its reply is awaited.
  static let batchesPerStream = 10
  /// A stream that gets no answer within two minutes (a replica stalled without closing its
  /// connection) ends with DEADLINE_EXCEEDED and is sent again, rather than waiting for ever.
  static let streamOptions: CallOptions = {
    var options = CallOptions.defaults
    options.timeout = .seconds(120)
    return options
  }()

  /// Reads `files` a chunk at a time and ingests them in batches of `batchSize`, in the
  /// file's order. Records that do not parse are rejected locally; the service's rejections are mapped back to lines. Progress (records,
  /// records/s, rejected) is redrawn on standard error when it is a terminal.
  static func send(
    files: [String], format: RecordReader.Format?, kind: RecordReader.Kind?, options: ReadOptions = ReadOptions(), batchSize: Int,
    ingestion: Sightline_Ingestion_V1_Ingestion.Client<HTTP2ClientTransport.Posix>, metadata: Metadata
  ) async throws -> Summary {
    var summary = Summary()
    let started = ContinuousClock.now
    var sent = 0
    let tty = isatty(STDERR_FILENO) == 1
    func progress(_ file: String, final: Bool = false) {
      guard tty || final else { return }
      let seconds = max(
        Double((ContinuousClock.now - started).components.seconds)
          + Double((ContinuousClock.now - started).components.attoseconds) / 1e18, 0.001)
      let line = "\(file): \(sent) records, \(Int(Double(sent) / seconds)) records/s, \(summary.rejections.count) rejected"
      FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[K" : "") + line + (final ? "\n" : "")).utf8))
    }
    for file in files {
      // Refused whole before anything is sent: a file with a bad byte, an open quote at its
      // end or a broken workbook must not be half ingested.
      let fileFormat = format ?? RecordReader.format(of: file)
      let reader: RecordFileReader
      do {
        var fileOptions = options
        let inspection = try RecordFileReader.inspect(path: file, format: fileFormat, options: options)
        if let problem = inspection.problem { throw FileRefused("\(file): \(problem)") }
        fileOptions.encoding = inspection.encoding
        reader = try RecordFileReader(path: file, format: fileFormat, kind: kind, options: fileOptions)
      } catch let error as FileRefused {
        throw error
      } catch {
        throw FileRefused("\(file): \(error)")
      }
      // The file streams: batches go out on an IngestStream, which commits each as it
      // arrives, while the next is read and parsed; a stream carries `batchesPerStream`
      // batches, kept until its reply so that a transient failure can send them again
      // (ingest is idempotent by event id).
      let source = BatchSource(reader: reader, batchSize: batchSize)
      // A stream starts only with a batch in hand, so a file that ends on a full stream
      // does not open an empty one.
      while let first = try await source.next() {
        let group = SentBatches()
        group.batches.append(first)
        var reply: Sightline_Ingestion_V1_IngestResponse
        do {
          reply = try await TransientRetry.run {
            try await ingestion.ingestStream(
              request: StreamingClientRequest(metadata: metadata) { writer in
                for batch in group.batches { try await writer.write(.with { $0.events = batch.map(\.event) }) }
                while group.batches.count < Self.batchesPerStream, let batch = try await source.next() {
                  group.batches.append(batch)
                  try await writer.write(.with { $0.events = batch.map(\.event) })
                }
              }, options: Self.streamOptions)
          }
        } catch let error as RecordReader.CSVError {
          // Not expected after the whole-file check; said plainly if it happens.
          throw FileRefused("\(file): \(error)")
        }
        // Every event the stream carried must be answered for: stored, a duplicate or
        // rejected. An answer that accounts for fewer (a stream cut short on its way, seen
        // once in the failover drill) is not taken as the batches' fate: they are sent again
        // on a stream of their own, which stores what is missing (ingest is idempotent by
        // event id). Its answer then accounts for all of them; what the first one stored
        // comes back as duplicates, so those are counted as stored.
        let carried = Int64(group.batches.reduce(0) { $0 + $1.count })
        if reply.accepted + reply.duplicates + Int64(reply.rejected.count) < carried {
          var resent = try await TransientRetry.run {
            try await ingestion.ingestStream(
              request: StreamingClientRequest(metadata: metadata) { writer in
                for batch in group.batches { try await writer.write(.with { $0.events = batch.map(\.event) }) }
              }, options: Self.streamOptions)
          }
          guard resent.accepted + resent.duplicates + Int64(resent.rejected.count) == carried else {
            throw RPCError(
              code: .dataLoss,
              message:
                "the service answered for \(resent.accepted + resent.duplicates + Int64(resent.rejected.count)) of \(carried) events sent again; nothing after line \(group.batches.last?.last?.line ?? 0) of \(file) was sent"
            )
          }
          resent.accepted += reply.accepted
          resent.duplicates -= min(reply.accepted, resent.duplicates)
          reply = resent
        }
        // What did not parse and what the service refused, in the file's order.
        var rejected = Self.rejections(source.takeFailures(), file: file)
        let lines = group.batches.flatMap { $0.map(\.line) }
        for error in reply.rejected {
          let index = Int(error.index)
          rejected.append(
            Rejection(
              file: file, line: lines.indices.contains(index) ? lines[index] : 0, eventID: error.recordID, field: error.field,
              reason: error.reason))
        }
        summary.rejections += rejected.sorted { $0.line < $1.line }
        summary.accepted += reply.accepted
        summary.duplicates += reply.duplicates
        summary.offset = max(summary.offset, reply.offset)
        sent += lines.count
        progress(file)
      }
      // Records that did not parse after the last batch sent (or in a file without one
      // good record).
      summary.rejections += Self.rejections(source.takeFailures(), file: file)
      summary.notes += notes(file: file, report: reader.report, times: options.times)
      progress(file, final: true)
    }
    return summary
  }
}

/// A file refused whole before anything of it is sent (it does not decode, a quote is never
/// closed, a workbook is broken): said on its own, without the usage text a mistyped
/// option gets.
struct FileRefused: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

extension Ingest {
  /// Records that did not parse, as rejections.
  static func rejections(_ failures: [(line: Int, problem: RecordReader.ReadProblem)], file: String) -> [Rejection] {
    failures.map { failure in
      Rejection(
        file: file, line: failure.line, eventID: failure.problem.eventID, field: failure.problem.field,
        reason: failure.problem.reason)
    }
  }
}

/// The batches of one file, each read and parsed while the one before it is sent. Records
/// that do not parse are kept aside as failures. Used by one task at a time (the stream's
/// writer), never concurrently.
final class BatchSource: @unchecked Sendable {
  private let reader: RecordFileReader
  private let batchSize: Int
  private var reading: Task<[RecordReader.Record], any Error>
  private var failures: [(line: Int, problem: RecordReader.ReadProblem)] = []

  init(reader: RecordFileReader, batchSize: Int) {
    self.reader = reader
    self.batchSize = batchSize
    reading = Task { try reader.next(batchSize) }
  }

  /// The next batch of events with their lines; nil at the end of the file.
  func next() async throws -> [(line: Int, event: Sightline_Ingestion_V1_Event)]? {
    while true {
      let records = try await reading.value
      if records.isEmpty { return nil }
      let (reader, batchSize) = (self.reader, self.batchSize)
      reading = Task { try reader.next(batchSize) }
      var batch: [(line: Int, event: Sightline_Ingestion_V1_Event)] = []
      batch.reserveCapacity(records.count)
      for (line, result) in records {
        switch result {
        case .success(let event): batch.append((line, event))
        case .failure(let problem): failures.append((line, problem))
        }
      }
      if !batch.isEmpty { return batch }
    }
  }

  /// The records that did not parse since the last call.
  func takeFailures() -> [(line: Int, problem: RecordReader.ReadProblem)] {
    defer { failures = [] }
    return failures
  }
}

/// The batches one stream has taken from the source (sent again if the stream is retried).
final class SentBatches: @unchecked Sendable {
  var batches: [[(line: Int, event: Sightline_Ingestion_V1_Event)]] = []
}
