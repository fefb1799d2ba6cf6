import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineLauncher
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

@testable import GatewayService

/// What an import is given before any data moves: the manifest's checks at the gateway, and
/// the export directory's on the operator's side (an export cut short, a reused directory).
@Suite struct TenantArchiveTests {
  static var archive: Sightline_Gateway_V1_TenantArchive {
    .with {
      $0.format = TenantLifecycle.format
      $0.tenant = .with {
        $0.id = "t_0123456789abcdef"; $0.name = "acme"
      }
      $0.keys = [
        .with {
          $0.key = .with {
            $0.id = "k_0011223344556677"; $0.tenantID = "t_0123456789abcdef"; $0.role = .admin
          }
          $0.secretHash = String(repeating: "a", count: 64)
        }
      ]
      $0.files = ["experiments", "segmentation", "metrics", "ingestion"].map { service in
        .with {
          $0.service = service; $0.file = service + ".sqlite"
        }
      }
    }
  }

  @Test func theGatewayAcceptsASoundManifestAndNamesWhatIsWrongWithOthers() throws {
    let (tenant, keys) = try TenantLifecycle.check(Self.archive)
    #expect(tenant.id == "t_0123456789abcdef" && tenant.name == "acme" && keys.map(\.role) == ["admin"])

    func refusal(_ change: (inout Sightline_Gateway_V1_TenantArchive) -> Void) -> String? {
      var archive = Self.archive
      change(&archive)
      do {
        _ = try TenantLifecycle.check(archive)
        return nil
      } catch let error as InvalidInput {
        return error.violations.first?.field
      } catch {
        return "\(error)"
      }
    }
    #expect(refusal { $0.format = "sightline-tenant-export/2" } == "archive.format")
    #expect(refusal { $0.tenant.id = "../etc" } == "archive.tenant.id")
    #expect(refusal { $0.tenant.name = "no spaces" } == "archive.tenant.name")
    #expect(refusal { $0.files.swapAt(2, 3) } == "archive.files", "the log must come last")
    #expect(refusal { $0.files.removeLast() } == "archive.files")
    #expect(refusal { $0.keys[0].key.tenantID = "t_ffffffffffffffff" } == "archive.keys[0]")
    #expect(refusal { $0.keys[0].secretHash = "short" } == "archive.keys[0]")
  }

  @Test func anExportCutShortOrAReusedDirectoryIsRefused() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // A crash mid-export leaves files under temporary names and no manifest.
    _ = FileManager.default.createFile(atPath: directory + "/metrics.sqlite.partial", contents: Data([1, 2, 3]))
    let unfinished = try #require(throws: TenantExportDirectory.Problem.self) { try TenantExportDirectory.read(directory) }
    #expect(unfinished.description.contains("did not finish"))

    // A manifest naming a file that is not there.
    try Self.archive.jsonUTF8Data().write(to: URL(fileURLWithPath: directory + "/manifest.json"))
    let missing = try #require(throws: TenantExportDirectory.Problem.self) { try TenantExportDirectory.read(directory) }
    #expect(missing.description.contains("experiments.sqlite") && missing.description.contains("missing"))

    // Exporting into a directory that holds something: refused before any call is made
    // (the client is never even connected).
    let client = try ClientFactory.makeClient(endpoint: HostAndPort(host: "127.0.0.1", port: 9), security: .plaintext)
    let reused = await #expect(throws: TenantExportDirectory.Problem.self) {
      _ = try await TenantExportDirectory.export(name: "acme", into: directory, gateway: client, metadata: [:])
    }
    #expect(reused?.description.contains("not empty") == true)
  }
}
