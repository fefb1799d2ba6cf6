import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline audit list`: the audit log of administrative actions.
struct AuditCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit", abstract: "Read the audit log of administrative actions.", subcommands: [List.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List audit records, oldest first: a tenant admin key reads its tenant's, the operator key the operator's.",
      discussion: """
        Every key created or revoked; every tenant created, exported, imported, moved or deleted; \
        every change of settings, retention, aliases, redaction policy, alert rules, segments and \
        experiments, with who (key id and label, or the operator), when, from which address, and \
        how it ended (refused attempts too). Without --api-key, --data-dir's operator key is used.
        """)
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Option(help: "Only records since this date (YYYY-MM-DD in the tenant's zone) or RFC 3339 time.") var since: String?
    @Option(help: "At most this many, the newest (1-10000).") var limit: Int32 = 1_000
    @Option(help: "Output: table or json.") var format: Format = .table
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1-10000") }
    }

    func run() async throws {
      let (since, limit) = (self.since, self.limit)
      let (reply, zone) = try await connection.withGateway(operatorFallback: true) { client, metadata in
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let request = try Sightline_Gateway_V1_ListAuditRequest.with {
          if let since { $0.since = try DateArgument.timestamp(since, zone: zone, flag: "--since") }
          $0.limit = limit
        }
        return (try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listAudit(request, metadata: metadata), zone)
      }
      if format == .json {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        print(try reply.jsonString(options: options))
        return
      }
      printTable(
        ["time (\(DateArgument.zoneName(zone)))", "who", "action", "outcome", "from", "detail"],
        reply.records.map { record in
          [
            DateArgument.localTime(record.at, zone: zone),
            record.actorKind == "operator" ? "operator" : "\(record.actorName) (\(record.actorKeyID))",
            record.action, record.outcome, record.address, record.detail,
          ]
        })
    }
  }
}
