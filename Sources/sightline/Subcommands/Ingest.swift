import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineWire
import SwiftProtobuf

/// `sightline ingest FILE…`: sends NDJSON events through the gateway in batches.
struct Ingest: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Ingest NDJSON files of events (one sightline.ingestion.v1.Event per line, proto3 JSON).",
    discussion: "Lines that do not parse and records the service rejects are reported with their line; the exit status is 1 if any was rejected.")

  @Argument(help: "NDJSON files.") var files: [String]
  @Option(help: "Events per batch (at most 10000).") var batchSize: Int = 1000
  @Option(help: "Write rejected records and their reasons to this file (NDJSON).") var rejects: String?
  @OptionGroup var connection: ConnectionOptions

  func validate() throws {
    guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1-10000") }
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
  }

  func run() async throws {
    let (files, batchSize) = (self.files, self.batchSize)
    // One connection for the whole run: batches share it instead of a handshake each.
    let summary = try await connection.withGateway { client, metadata in
      try await Self.send(
        files: files, batchSize: batchSize,
        ingestion: Sightline_Ingestion_V1_Ingestion.Client(wrapping: client), metadata: metadata)
    }
    let rejections = summary.rejections
    for rejection in rejections.prefix(20) {
      FileHandle.standardError.write(Data(
        "rejected \(rejection.file):\(rejection.line) \(rejection.eventID) \(rejection.field): \(rejection.reason)\n".utf8))
    }
    if let rejects {
      let encoder = JSONEncoder()
      let lines = try rejections.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
      try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: rejects, atomically: true, encoding: .utf8)
    }
    print("accepted \(summary.accepted), duplicates \(summary.duplicates), rejected \(rejections.count), log offset \(summary.offset)")
    if !rejections.isEmpty { throw ExitCode.failure }
  }
  /// Reads `files` line by line and ingests them in batches of `batchSize`. Lines that do
  /// not parse are rejected locally; the service's rejections are mapped back to lines.
  static func send(
    files: [String], batchSize: Int,
    ingestion: Sightline_Ingestion_V1_Ingestion.Client<HTTP2ClientTransport.Posix>, metadata: Metadata
  ) async throws -> Summary {
    var summary = Summary()
    for file in files {
      let text = try String(contentsOfFile: file, encoding: .utf8)
      var batch: [(line: Int, event: Sightline_Ingestion_V1_Event)] = []
      func flush() async throws {
        guard !batch.isEmpty else { return }
        let reply = try await ingestion.ingest(.with { $0.events = batch.map(\.event) }, metadata: metadata)
        summary.accepted += reply.accepted
        summary.duplicates += reply.duplicates
        summary.offset = max(summary.offset, reply.offset)
        for error in reply.rejected {
          summary.rejections.append(
            Rejection(file: file, line: batch[Int(error.index)].line, eventID: error.recordID,
                      field: error.field, reason: error.reason))
        }
        batch.removeAll(keepingCapacity: true)
      }
      for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { continue }
        do {
          batch.append((number + 1, try Sightline_Ingestion_V1_Event(jsonString: String(trimmed))))
        } catch {
          summary.rejections.append(
            Rejection(file: file, line: number + 1, eventID: "", field: "(line)", reason: "not a JSON event: \(error)"))
        }
        if batch.count == batchSize { try await flush() }
      }
      try await flush()
    }
    return summary
  }
}

/// `sightline stats`: the tenant's ingestion counters.
struct Stats: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show your tenant's ingestion statistics.")
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let reply = try await connection.withGateway { client, metadata in
      try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(.init(), metadata: metadata)
    }
    print("last offset  \(reply.lastOffset)")
    print("duplicates   \(reply.duplicates)")
    print("rejections   \(reply.rejections)")
    printTable(["KIND", "EVENTS"], reply.eventsByKind.sorted { $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
  }
}
