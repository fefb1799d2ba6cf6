import Foundation
import Testing

/// The release-only miscompile behind issue 16, kept as a regression test:
/// Tests/Toolchain/TaskGroupTupleResult.swift, compiled with `swiftc -O` as release builds
/// are. The workaround form (a plain struct as the task group's child result, what the
/// gateway uses) must run correctly; the original form crashes on Swift 6.3.1. When a
/// toolchain fixes the bug, the known issue stops occurring and this test says so: the
/// note in docs/architecture.md ("Toolchain notes") can then go.
extension RealProcessSuites {
  /// Compiling with -O is heavy on two cores: these run one after another with the other
  /// heavy suites, not beside them.
  @Suite(.serialized) struct ToolchainTests {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Toolchain/TaskGroupTupleResult.swift").path

    /// Compiles the reproducer with -O (and `defines`) and runs it; the run's exit status.
    static func compileAndRun(defines: [String]) async throws -> Int32 {
      let directory = NSTemporaryDirectory() + "sightline-toolchain-\(UUID().uuidString)"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let binary = directory + "/repro"
      let compiled = try await ChildProcess.run(
        ["swiftc", "-O", "-parse-as-library"] + defines.map { "-D\($0)" } + [source, "-o", binary])
      #expect(compiled.status == 0, "swiftc failed: \(compiled.output)")
      return try await ChildProcess.run([binary]).status
    }

    @Test func theWorkaroundRunsCorrectlyInAnOptimisedBuild() async throws {
      #expect(try await Self.compileAndRun(defines: ["WORKAROUND"]) == 0)
    }

    @Test func aTupleChildResultHoldingAResultIsMiscompiledBySwift6_3() async throws {
      let status = try await Self.compileAndRun(defines: [])
      withKnownIssue("Swift 6.3.1 -O miscompiles (Int, Result<[Part], any Error>) as a task group's child result") {
        #expect(status == 0)
      }
    }
  }
}
