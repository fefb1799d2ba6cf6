import ArgumentParser
import GRPCCore
import SightlineWire
import SwiftProtobuf

/// `sightline key …`: API keys of the caller's tenant (admin key).
struct KeyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "key", abstract: "Create, list and revoke API keys of your tenant (admin key).",
    subcommands: [Create.self, List.self, Revoke.self])

  enum RoleArgument: String, ExpressibleByArgument, CaseIterable {
    case admin, writer, reader
    var wire: Sightline_Gateway_V1_Role {
      switch self {
      case .admin: .admin
      case .writer: .writer
      case .reader: .reader
      }
    }
  }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a key; prints it once.")
    @Option(help: "Role: admin, writer or reader.") var role: RoleArgument
    @Option(help: "A label for people.") var label: String = ""
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (role, label) = (self.role, self.label)
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createKey(
          .with {
            $0.role = role.wire
            $0.label = label
          }, metadata: metadata)
      }
      print("key     \(reply.secret)")
      print("key id  \(reply.key.id)  role \(role.rawValue)")
      print("Keep the key: it is shown only once.")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List your tenant's keys.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listKeys(.init(), metadata: metadata)
      }
      printTable(
        ["ID", "ROLE", "STATE", "LABEL"],
        reply.keys.map { [$0.id, "\($0.role)", $0.hasRevokedAt ? "revoked" : "active", $0.label] })
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a key; it stops working at once.")
    @Argument(help: "The key id (k_…).") var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let id = self.id
      _ = try await connection.withGateway { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).revokeKey(
          .with { $0.id = id }, metadata: metadata)
      }
      print("revoked \(id)")
    }
  }
}
