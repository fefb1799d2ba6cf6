import Foundation
import Testing

/// docs/configuration.md must list every flag and argument exactly as the executables'
/// `--help` shows them (scripts/config-reference regenerates it), and every `SIGHTLINE_*`
/// variable the code reads.
@Suite struct ConfigurationReferenceTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  @Test func theReferenceMatchesEveryExecutablesHelp() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Self.root.appendingPathComponent("scripts/config-reference").path, "--check"]
    var environment = ProcessInfo.processInfo.environment
    environment["SIGHTLINE_BIN"] = RealProcessSuites.EndToEndTests.binaryDirectory
    process.environment = environment
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(message)")
  }

  @Test func everyEnvironmentVariableTheCodeReadsIsDocumented() throws {
    let reference = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    var variables = Set<String>()
    for folder in ["Sources", "Services"] {
      let base = Self.root.appendingPathComponent(folder)
      let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)!
      for case let file as URL in files where file.pathExtension == "swift" && !file.path.contains("SightlineWire") {
        let text = try String(contentsOf: file, encoding: .utf8)
        let pattern = try Regex("SIGHTLINE_[A-Z_]+[A-Z]")
        for match in text.matches(of: pattern) { variables.insert(String(text[match.range])) }
      }
    }
    #expect(variables.count >= 15, "\(variables)")
    for variable in variables.sorted() {
      #expect(reference.contains(variable), "\(variable) is read by the code but missing from docs/configuration.md")
    }
  }
}
