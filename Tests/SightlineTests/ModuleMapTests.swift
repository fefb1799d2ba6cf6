import Foundation
import Testing

/// The module map of docs/architecture.md holds in the code (`scripts/check-module-map`),
/// and the check does catch a service importing another service and a CLI that links a
/// service module through its dependencies.
@Suite struct ModuleMapTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Runs the check on the tree at `root`; its exit status and what it printed.
  static func check(root: URL) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Self.root.appendingPathComponent("scripts/check-module-map").path, "--root", root.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
  }

  @Test func theMapHolds() throws {
    let (status, output) = try Self.check(root: Self.root)
    #expect(status == 0, "\(output)")
  }

  @Test func brokenImportsAndLinksAreCaught() throws {
    let copy = FileManager.default.temporaryDirectory.appendingPathComponent("module-map-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: copy) }
    for item in ["Package.swift", "docs", "Sources", "Services", "benchmarks"] {
      try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: Self.root.appendingPathComponent(item), to: copy.appendingPathComponent(item))
    }
    // A service reaching into another service's module.
    let consumer = copy.appendingPathComponent("Sources/MetricsService/Fold/MetricsLogConsumer.swift")
    try ("import IngestionService\n" + String(contentsOf: consumer, encoding: .utf8)).write(to: consumer, atomically: true, encoding: .utf8)
    // The launcher (which the CLI links) depending on a service.
    let manifest = copy.appendingPathComponent("Package.swift")
    let text = try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(
      of: "\"SightlineModel\", \"SightlineWire\", \"SightlineRPC\", \"SightlineDemo\", grpcCore",
      with: "\"SightlineModel\", \"SightlineWire\", \"SightlineRPC\", \"SightlineDemo\", \"GatewayService\", grpcCore")
    try text.write(to: manifest, atomically: true, encoding: .utf8)

    let (status, output) = try Self.check(root: copy)
    #expect(status == 1)
    #expect(output.contains("MetricsService imports IngestionService"))
    #expect(output.contains("SightlineLauncher depends on GatewayService"))
    #expect(output.contains("the sightline CLI links GatewayService"))
  }
}
