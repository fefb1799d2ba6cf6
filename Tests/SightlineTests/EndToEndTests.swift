import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineSuite
import SightlineWire
import SwiftProtobuf
import Testing

/// Runs the built executables as a user would (`swift build` first), through the gateway over TLS.
@Suite(.serialized) struct EndToEndTests {
  static var binaryDirectory: String {
    // Tests/SightlineTests/EndToEndTests.swift → package root → .build/debug
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug").path
  }

  static func freePortBase() -> Int { 20_000 + Int.random(in: 0..<2_000) * 5 }

  @Test func suiteStartsHealthyServesTheRealPathAndStopsCleanly() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let base = Self.freePortBase()
    var ports: [SuiteComponent: Int] = [:]
    for (offset, component) in SuiteComponent.backends.enumerated() { ports[component] = base + 1 + offset }
    let launcher = SuiteLauncher(dataDirectory: directory, gatewayPort: base, servicePorts: ports, binaryDirectory: Self.binaryDirectory)
    let log = FileHandle(forWritingAtPath: "/dev/null")
    try await launcher.start(timeout: .seconds(60), output: log)
    let pids = launcher.processIdentifiers
    #expect(pids.count == 5)
    let tenantKey: String
    do {
      for component in SuiteComponent.allCases {
        #expect(try await launcher.checkHealth(component) == .serving)
      }
      let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
      let mode = try FileManager.default.attributesOfItem(atPath: launcher.operatorKeyFile)[.posixPermissions] as? Int
      #expect(mode == 0o600)
      tenantKey = try await InProcessSuite.withClient(launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)) { client in
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let tenant = try await gateway.createTenant(.with { $0.name = "e2e" }, metadata: InProcessSuite.bearer(operatorKey))
        let key = InProcessSuite.bearer(tenant.adminSecret)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let reply = try await ingestion.ingest(.with { $0.events = [ticketCreated("x1"), ticketCreated("x2", ticket: "T2")] }, metadata: key)
        #expect(reply.accepted == 2)
        #expect(try await ingestion.getStats(.init(), metadata: key).lastOffset == 2)
        return tenant.adminSecret
      }
    } catch {
      await launcher.stop()
      throw error
    }
    await launcher.stop()
    // SIGTERM drained every process; none is left behind.
    for (component, pid) in pids {
      #expect(kill(pid, 0) != 0, "\(component.executableName) (pid \(pid)) is still running")
    }
    // Data survives the restart: the tenant, its key and both logged events.
    let restarted = SuiteLauncher(dataDirectory: directory, gatewayPort: base, servicePorts: ports, binaryDirectory: Self.binaryDirectory)
    try await restarted.start(timeout: .seconds(60), output: log)
    let operatorKey = try String(contentsOfFile: restarted.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    do {
      try await InProcessSuite.withClient(restarted.gateway, security: SuiteTLS(pki: restarted.pki).clientSecurity(identity: nil)) { client in
        let tenants = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listTenants(
          .init(), metadata: InProcessSuite.bearer(operatorKey))
        #expect(tenants.tenants.map(\.name) == ["e2e"])
        let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(
          .init(), metadata: InProcessSuite.bearer(tenantKey))
        #expect(stats.lastOffset == 2)
        #expect(stats.eventsByKind == ["ticket_event": 2])
      }
    } catch {
      await restarted.stop()
      throw error
    }
    await restarted.stop()
  }
}
