import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

/// Redaction of personal data at ingest, through the gateway over TLS, on both backends:
/// what is stored and delivered, the counts, the policy's role, and that the original
/// values reach neither a file of the data directory, nor the database, nor a log line.
@Suite(.serialized) struct RedactionRPCTests {
  /// The originals, as written, and in the forms a store could hold them.
  static let originals = [
    "13800138000", "+86 139 0013 9000", "13900139000", "11010519491231002X", "zhang.wei@qq.com", "6222021234567890128",
  ]

  static func feedback(_ id: String, _ text: String) -> Sightline_Ingestion_V1_Event {
    .with {
      $0.eventID = id
      $0.feedback = .with {
        $0.customerID = "C1"
        $0.source = .chat
        $0.text = text
        $0.time = "2026-03-01T09:30:00+08:00"
      }
    }
  }

  static func entries(
    _ ingestion: Sightline_Ingestion_V1_Ingestion.Client<some ClientTransport>, after offset: Int64, key: Metadata
  )
    async throws -> [Sightline_Ingestion_V1_LogEntry]
  {
    var options = CallOptions.defaults
    options.timeout = .seconds(10)
    return try await ingestion.subscribe(.with { $0.fromOffset = offset }, metadata: key, options: options) { response in
      for try await message in response.messages { return message.entries }
      return []
    }
  }

  @Test(arguments: TestBackend.all) func personalDataIsRedactedBeforeAnythingIsStored(_ backend: TestBackend) async throws {
    let lines = Mutex<[String]>.Box([])
    try await backend.withSuite(logHandler: { _ in CapturingLogHandler(lines: lines) }) { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
        let admin = SuiteMetadata.bearer(tenant.adminKey)

        // A new tenant masks.
        let survey = Sightline_Ingestion_V1_Event.with {
          $0.eventID = "s1"
          $0.surveyResponse = .with {
            $0.customerID = "C1"
            $0.kind = .csat
            $0.score = 2
            $0.time = "2026-03-01T10:00:00+08:00"
            $0.comment = "call me on +86 139 0013 9000, refund to card 6222021234567890128"
          }
        }
        let profile = Sightline_Ingestion_V1_Event.with {
          $0.eventID = "p1"
          $0.customerProfile = .with {
            $0.customerID = "C1"
            $0.time = "2026-03-01T08:00:00+08:00"
            $0.attributes = ["note": "身份证11010519491231002X", "plan": "gold"]
          }
        }
        let batch = [Self.feedback("f1", "客户手机13800138000，邮箱zhang.wei@qq.com，物流太慢"), survey, profile]
        let reply = try await ingestion.ingest(.with { $0.events = batch }, metadata: admin)
        #expect(reply.accepted == 3)
        // A re-sent batch is a duplicate: its values are not counted twice.
        _ = try await ingestion.ingest(.with { $0.events = batch }, metadata: admin)
        let stored = try await Self.entries(ingestion, after: 0, key: admin)
        #expect(stored.map(\.event.feedback.text).first == "客户手机[手机号]，邮箱[邮箱]，物流太慢")
        #expect(stored.map(\.event.surveyResponse.comment).dropFirst().first == "call me on [PHONE], refund to card [BANK_CARD]")
        #expect(stored.last?.event.customerProfile.attributes == ["note": "身份证[身份证号]", "plan": "gold"])
        let stats = try await ingestion.getStats(.init(), metadata: admin)
        #expect(stats.redactionPolicy == "mask")
        #expect(stats.redactionsByKind == ["phone": 2, "email": 1, "bank_card": 1, "id_number": 1])

        // Setting the policy needs the admin role and a known name.
        let writer = try await gateway.createKey(.with { $0.role = .writer }, metadata: admin)
        let denied = await #expect(throws: RPCError.self) {
          try await ingestion.setRedaction(.with { $0.policy = "off" }, metadata: SuiteMetadata.bearer(writer.secret))
        }
        #expect(denied?.code == .permissionDenied)
        let unknown = await #expect(throws: RPCError.self) {
          try await ingestion.setRedaction(.with { $0.policy = "hide" }, metadata: admin)
        }
        #expect(unknown?.code == .invalidArgument)
        #expect(unknown?.message.contains("policy") == true)

        // Pseudonyms: the same number, however written, gives the same token.
        #expect(try await ingestion.setRedaction(.with { $0.policy = " Pseudonymise" }, metadata: admin).policy == "pseudonymise")
        let pair = [Self.feedback("f2", "回电13800138000"), Self.feedback("f3", "回电+86 138-0013-8000")]
        _ = try await ingestion.ingest(.with { $0.events = pair }, metadata: admin)
        let texts = try await Self.entries(ingestion, after: 3, key: admin).map(\.event.feedback.text)
        #expect(texts.count == 2)
        #expect(texts.first == texts.last)
        #expect(texts.first?.wholeMatch(of: /回电\[手机号#[0-9a-f]{10}\]/) != nil)
      }
      // Nothing holds an original: not a file of the data directory (databases, WAL
      // files, keys), not the PostgreSQL database's dump, not a log line.
      var haystacks = try Self.files(under: suite.directory)
      if let database = suite.database { haystacks.append(try await Self.dump(database)) }
      haystacks.append(Data(lines.value.withLock { $0.joined(separator: "\n") }.utf8))
      #expect(haystacks.count > 3)
      for original in Self.originals {
        let plain = Data(original.utf8)
        // pg_dump writes bytea (the log's payloads) in hex.
        let hex = Data(Hex.encode(Array(original.utf8)).utf8)
        for haystack in haystacks {
          #expect(haystack.range(of: plain) == nil && haystack.range(of: hex) == nil, "\(original) was found")
        }
      }
    }
  }

  /// Every regular file under `directory`.
  static func files(under directory: String) throws -> [Data] {
    let enumerator = FileManager.default.enumerator(atPath: directory)
    var files: [Data] = []
    while let path = enumerator?.nextObject() as? String {
      var isDirectory: ObjCBool = false
      let full = directory + "/" + path
      if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
        files.append(try Data(contentsOf: URL(fileURLWithPath: full)))
      }
    }
    return files
  }

  /// The suite database's plain-text dump, as a backup would take it: by the superuser
  /// (row-level security hides every tenant's rows from anyone else, the owner included),
  /// over the test server's socket in `SIGHTLINE_TEST_DATABASE_DIR`.
  static func dump(_ database: SuiteDatabase) async throws -> Data {
    let directory = try #require(TestPostgres.environment["SIGHTLINE_TEST_DATABASE_DIR"], "needs scripts/test-postgres's server")
    let port = try String(contentsOfFile: directory + "/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let name = try #require(database.url.split(separator: "?").first?.split(separator: "/").last)
    let (status, output) = try await ChildProcess.run([
      "/usr/lib/postgresql/15/bin/pg_dump", "-h", directory, "-p", port, "-U", "postgres", "-d", String(name),
    ])
    try #require(status == 0, "pg_dump failed: \(output.suffix(300))")
    #expect(output.contains("COPY ingestion.event"))
    return Data(output.utf8)
  }
}
