import ArgumentParser
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline redaction [--policy off|mask|pseudonymise]`: what ingestion does with
/// personal data in free text.
struct Redaction: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show or set how personal data in free text is redacted at ingest (setting needs an admin key).",
    discussion: """
      Mainland mobile numbers, resident ID numbers, bank card numbers and e-mail addresses in \
      survey comments, feedback texts and profile attribute values are replaced before anything \
      is stored. mask (the default) writes the kind, [PHONE] or [手机号]; pseudonymise writes the \
      kind and a hash keyed per tenant, [PHONE#3f9a0c1d2e], the same for the same number, so \
      repeat contacts can still be linked; off stores text as written. A new policy applies to \
      records ingested from then on. Without --policy, shows the policy and what it has redacted.
      """)

  @Option(help: "off, mask or pseudonymise.") var policy: String?
  @OptionGroup var connection: ConnectionOptions

  func validate() throws {
    if let policy, RedactionPolicy(rawValue: policy.lowercased()) == nil {
      throw ValidationError("--policy must be one of \(RedactionPolicy.allCases.map(\.rawValue).joined(separator: ", ")), not '\(policy)'")
    }
  }

  func run() async throws {
    let policy = policy?.lowercased()
    let stats = try await connection.withGateway { client, metadata in
      let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
      if let policy { _ = try await ingestion.setRedaction(.with { $0.policy = policy }, metadata: metadata) }
      return try await ingestion.getStats(.init(), metadata: metadata)
    }
    print("redaction    \(stats.redactionPolicy)")
    print("redacted     \(Self.counts(stats.redactionsByKind))")
  }

  /// Redacted values by kind, in a fixed order ("phone 3, email 1", or "nothing").
  static func counts(_ byKind: [String: Int64]) -> String {
    let parts = PersonalDataKind.allCases.compactMap { kind in byKind[kind.rawValue].map { "\(kind.rawValue) \($0)" } }
    return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
  }
}
