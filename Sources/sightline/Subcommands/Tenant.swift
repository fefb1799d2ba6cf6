import ArgumentParser
import GRPCCore
import SightlineWire
import SwiftProtobuf

/// `sightline tenant …`: tenant administration with the operator key.
struct TenantCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tenant", abstract: "Create and list tenants (operator key).",
    subcommands: [Create.self, List.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a tenant; prints its id and an admin key (shown once).")
    @Argument(help: "Tenant name: letters, digits, '-', '_', '.'.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let name = self.name
      let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(
          .with { $0.name = name }, metadata: metadata)
      }
      print("tenant     \(reply.tenant.id)  (\(reply.tenant.name))")
      print("admin key  \(reply.adminSecret)")
      print("key id     \(reply.adminKey.id)")
      print("Keep the key: it is shown only once. Use it with --api-key or SIGHTLINE_API_KEY.")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List tenants.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listTenants(.init(), metadata: metadata)
      }
      printTable(["ID", "NAME"], reply.tenants.map { [$0.id, $0.name] })
    }
  }
}
