import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of a test's or a drill's own (not the shared one the other tests
/// use), so it can be crashed or restarted: `scripts/test-postgres` on a port of its own.
public struct PrivateDatabaseServer: Sendable {
  /// Its data directory, and how to reach it.
  public let directory: String
  public let database: SuiteDatabase

  /// `scripts/test-postgres` of this checkout.
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/test-postgres").path

  /// Starts a server on a free port from 8000 to 9999 (below the ephemeral range, so no
  /// client's connection takes it while the server is stopped for a restart).
  public static func start() async throws -> PrivateDatabaseServer {
    let port = FreePorts.base(count: 1, in: 8_000..<10_000)
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

  /// Runs `body` with a server of its own, stopped afterwards whatever happens.
  public static func with<R>(_ body: (PrivateDatabaseServer) async throws -> R) async throws -> R {
    let server = try await start()
    do {
      let result = try await body(server)
      await server.stop()
      return result
    } catch {
      await server.stop()
      throw error
    }
  }

  /// `pg_ctl stop -m immediate`: the server dies without a checkpoint, as on a power cut.
  public func crash() async throws { try await run("crash") }
  public func restart() async throws { try await run("restart") }
  /// A crash, then a start: PostgreSQL restarted the hard way (what the failover drill does).
  public func crashAndRestart() async throws {
    try await crash()
    try await restart()
  }
  public func stop() async { _ = try? await run("stop") }

  private func run(_ command: String) async throws {
    let (status, output) = try await Shell.run(["/bin/bash", Self.script, command, directory])
    guard status == 0 else { throw Failure(description: "scripts/test-postgres \(command): \(output)") }
  }

  public struct Failure: Error, CustomStringConvertible { public let description: String }
}

/// Runs a command to its end with `posix_spawn` and `waitpid`, its output in a file.
/// (Foundation's `Process` did not see a `scripts/test-postgres start` child exit: its
/// `waitUntilExit` hung on the zombie, perhaps because the server it starts keeps running.)
public enum Shell {
  /// Runs `arguments` (the first is the executable's path); its exit status and output.
  public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
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
