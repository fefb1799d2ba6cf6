import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// A PostgreSQL server of the test's own (not the shared one the other tests use), so it can
/// be crashed: `scripts/test-postgres` on a port of its own.
struct PrivateDatabaseServer {
  let directory: String
  let database: SuiteDatabase

  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/test-postgres").path

  static func start() async throws -> PrivateDatabaseServer {
    let port = 55_000 + Int.random(in: 0..<5_000)
    let (status, output) = try await Shell.run(["/usr/bin/env", "SIGHTLINE_TEST_DATABASE_PORT=\(port)", "bash", script, "start"])
    guard status == 0 else { throw Failure(description: "cannot start a private PostgreSQL server: \(output)") }
    var exports: [String: String] = [:]
    for line in output.split(separator: "\n") where line.hasPrefix("export ") {
      let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
      if pair.count == 2 { exports[String(pair[0])] = String(pair[1]) }
    }
    guard let directory = exports["SIGHTLINE_TEST_DATABASE_DIR"], let url = exports["SIGHTLINE_TEST_DATABASE_URL"],
      let owner = exports["SIGHTLINE_TEST_DATABASE_OWNER_URL"]
    else { throw Failure(description: "scripts/test-postgres printed no URLs: \(output)") }
    return PrivateDatabaseServer(directory: directory, database: SuiteDatabase(url: url, ownerURL: owner))
  }

  /// `pg_ctl stop -m immediate`: the server dies without a checkpoint, as on a power cut.
  func crash() async throws { try await run("crash") }
  func restart() async throws { try await run("restart") }
  func stop() async { _ = try? await run("stop") }

  private func run(_ command: String) async throws {
    let (status, output) = try await Shell.run(["/bin/bash", Self.script, command, directory])
    guard status == 0 else { throw Failure(description: "scripts/test-postgres \(command): \(output)") }
  }

  struct Failure: Error, CustomStringConvertible { let description: String }
}

/// Runs a command to its end with `posix_spawn` and `waitpid`, its output in a file.
/// (Foundation's `Process` did not see a `scripts/test-postgres start` child exit: its
/// `waitUntilExit` hung on the zombie, perhaps because the server it starts keeps running.)
enum Shell {
  static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let outputPath = NSTemporaryDirectory() + "shell-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    return try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else {
          continuation.resume(throwing: PrivateDatabaseServer.Failure(description: "cannot run \(arguments[0]): \(spawned)"))
          return
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WEXITSTATUS
        continuation.resume(returning: ((status >> 8) & 0xff, output))
      }
    }
  }
}

/// The database dies in the middle of an ingest (docs/reliability.md, "PostgreSQL"): the
/// client's retries complete once it is back, nothing acknowledged is lost, nothing is
/// stored twice, readiness said NOT_SERVING meanwhile, and the KPIs equal those of a run
/// without the fault.
@Suite(.serialized, .enabled(if: TestPostgres.available, TestPostgres.howToRun))
struct DatabaseFaultTests {
  @Test func aDatabaseCrashMidIngestLosesNothingAndStoresNothingTwice() async throws {
    let endMs = todayMidnightMs()
    var batches: [[Sightline_Ingestion_V1_Event]] = []
    try await SyntheticHelpdesk(tickets: 1_200, days: 20, lines: 4, endMs: endMs).forEachBatch(size: 500) { batches.append($0) }
    let total = batches.reduce(0) { $0 + $1.count }
    let allBatches = batches

    @Sendable func kpis(
      _ client: GRPCClient<HTTP2ClientTransport.Posix>, key: Metadata, minOffset: Int64
    ) async throws
      -> [Sightline_Metrics_V1_KpiRow]
    {
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
        .with {
          $0.kpis = [.volume, .firstResponseTime, .resolutionTime, .fcrRate, .reopenRate, .slaFirstResponse, .csat, .nps]
          $0.range = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: endMs - 21 * 86_400_000)
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: endMs)
          }
          $0.groupBy = [.businessLine]
          $0.interval = .week
          $0.minOffset = minOffset
        }, metadata: key
      ).rows
    }

    // Without the fault, on the embedded backend.
    let expected = try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("steady")
      return try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        var offset: Int64 = 0
        for batch in allBatches {
          offset = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).ingest(.with { $0.events = batch }, metadata: key)
            .offset
        }
        return try await kpis(client, key: key, minOffset: offset)
      }
    }
    #expect(!expected.isEmpty)

    let server = try await PrivateDatabaseServer.start()
    do {
      try await InProcessSuite.with(database: server.database) { suite in
        let tenant = try await suite.createTenant("faulty")
        try await suite.withGatewayClient { client in
          let key = SuiteMetadata.bearer(tenant.adminKey)
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          var offset: Int64 = 0
          var sawNotServing = false
          var retries = 0
          for (index, batch) in allBatches.enumerated() {
            if index == 3 {
              try await server.crash()
              // Readiness notices within a few seconds and says why.
              let deadline = ContinuousClock.now + .seconds(10)
              while ContinuousClock.now < deadline {
                if suite.servers[.ingestion]?.health?.status(of: "") == .notServing {
                  sawNotServing = true
                  break
                }
                try await Task.sleep(for: .milliseconds(100))
              }
              Task {
                try await Task.sleep(for: .seconds(2))
                try await server.restart()
              }
            }
            // As `sightline ingest` does: retry UNAVAILABLE with backoff.
            offset = try await TransientRetry.run(report: { _ in retries += 1 }) {
              try await ingestion.ingest(.with { $0.events = batch }, metadata: key).offset
            }
          }
          #expect(sawNotServing, "readiness never said NOT_SERVING while the database was down")
          #expect(retries > 0, "no call failed while the database was down")
          // Every event once, none lost.
          let stats = try await ingestion.getStats(.init(), metadata: key)
          #expect(stats.lastOffset == Int64(total))
          #expect(offset == Int64(total))
          // Readiness recovered by itself, and the consumers caught up to the same answers
          // (a consumer whose statement was cut by the crash waits out the pool's statement
          // timeout, 15 s, at worst).
          var answers: [Sightline_Metrics_V1_KpiRow]?
          let deadline = ContinuousClock.now + .seconds(90)
          while answers == nil, ContinuousClock.now < deadline {
            do {
              answers = try await kpis(client, key: key, minOffset: offset)
            } catch let error as RPCError where error.code == .unavailable {
              try await Task.sleep(for: .seconds(1))
            }
          }
          #expect(answers == expected)
          #expect(suite.servers[.ingestion]?.health?.status(of: "") == .serving)
        }
      }
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
  }
}
