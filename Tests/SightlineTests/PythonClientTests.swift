import Foundation
import SightlineLauncher
import SightlineRPC
import SightlineTesting
import Testing

/// The contract beyond Swift: examples/python/ingest.py (grpcio over TLS) against the
/// suite. `.ci/run` installs grpcio and grpcio-tools; without them the test is skipped.
@Suite(.serialized) struct PythonClientTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static var pythonHasGRPC: Bool { ChildProcess.succeeds(["python3", "-c", "import grpc, grpc_tools"]) }

  @Test(.enabled(if: pythonHasGRPC, "needs python3 with grpcio and grpcio-tools (pip install grpcio grpcio-tools)"))
  func thePythonExampleIngestsThroughTheGateway() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      // The suite answers from this process's tasks while the child runs.
      let (status, text) = try await ChildProcess.run([
        "python3", Self.root.appendingPathComponent("examples/python/ingest.py").path, "--gateway", "127.0.0.1:\(suite.gatewayPort)",
        "--ca", suite.pki.caCertificate, "--api-key", tenant.adminKey,
      ])
      #expect(status == 0, "\(text)")
      #expect(text.contains("accepted 2, duplicates 0, rejected 1"), "\(text)")
      #expect(text.contains("survey_response.score"))
    }
  }
}
