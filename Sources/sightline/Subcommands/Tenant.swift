import ArgumentParser
import Foundation
import GRPCCore
import SightlineLauncher
import SightlineWire
import SwiftProtobuf

/// `sightline tenant …`: tenant administration with the operator key.
struct TenantCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tenant", abstract: "Create, list, export, import, move and delete tenants (operator key).",
    subcommands: [Create.self, List.self, Export.self, Import.self, Move.self, Delete.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a tenant; prints its id and an admin key (shown once).")
    @Argument(help: "Tenant name: letters, digits, '-', '_', '.'.") var name: String
    @Option(
      help:
        "The database (shard) to keep its data on, when the deployment has several (--shard on the services); default: the one with the fewest tenants."
    )
    var shard: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, shard) = (self.name, self.shard ?? "")
      let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createTenant(
          .with {
            $0.name = name
            $0.shard = shard
          }, metadata: metadata)
      }
      print("tenant     \(reply.tenant.id)  (\(reply.tenant.name))")
      if !reply.tenant.shard.isEmpty && reply.tenant.shard != "main" { print("shard      \(reply.tenant.shard)") }
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
      printTable(["ID", "NAME", "SHARD"], reply.tenants.map { [$0.id, $0.name, $0.shard.isEmpty ? "main" : $0.shard] })
    }
  }

  struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Export a tenant: its keys' hashes and every service's data, consistent while the suite runs, into DIR.",
      discussion:
        "DIR gets manifest.json (sizes and SHA-256 of every file) and one SQLite file per service. It holds the tenant's data: keep it private."
    )
    @Argument(help: "The tenant's name.") var name: String
    @Argument(help: "A new or empty directory.") var directory: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, directory) = (self.name, self.directory)
      let archive = try await connection.withGateway(operatorFallback: true) { client, metadata in
        try await TenantExportDirectory.export(name: name, into: directory, gateway: client, metadata: metadata)
      }
      print("exported tenant \(archive.tenant.id) (\(archive.tenant.name)) with \(archive.keys.count) keys into \(directory)")
      printTable(["SERVICE", "FILE", "BYTES", "SHA-256"], archive.files.map { [$0.service, $0.file, "\($0.bytes)", $0.sha256] })
    }
  }

  struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Import a tenant exported with 'tenant export' into a deployment that does not have it.",
      discussion:
        "Every file is checked against the manifest before sending, and again by the service receiving it. The tenant and its keys come back only once every service has installed its data."
    )
    @Argument(help: "The export directory.") var directory: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let directory = self.directory
      let reply: Sightline_Gateway_V1_ImportTenantResponse
      do {
        // The directory is checked (every file hashed) before anything is sent.
        reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
          try await TenantExportDirectory.importTenant(from: directory, gateway: client, metadata: metadata)
        }
      } catch let problem as TenantExportDirectory.Problem {
        throw ValidationError(problem.description)
      }
      print("imported tenant \(reply.tenant.id) (\(reply.tenant.name)) with \(reply.keys) keys; its keys work again")
      printTable(["SERVICE", "BYTES", "SHA-256"], reply.files.map { [$0.service, "\($0.bytes)", $0.sha256] })
    }
  }

  struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a tenant's data online to another shard (PostgreSQL with --shard).",
      discussion:
        "Its writes pause while each service copies and verifies its rows (callers get UNAVAILABLE with retry advice and retry); then every service routes the tenant to SHARD, and only then are the old rows removed. A failed copy is undone. Running it again finishes a move whose clean-up was interrupted."
    )
    @Argument(help: "The tenant's name.") var name: String
    @Option(help: "The shard to move it to (\"main\", or a name given with --shard).") var to: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, target) = (self.name, to)
      let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
        var options = CallOptions.defaults
        options.timeout = .seconds(3600)  // a large tenant's copy takes a while
        return try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).moveTenant(
          .with {
            $0.name = name
            $0.toShard = target
          }, metadata: metadata, options: options)
      }
      print(
        "moved tenant \(reply.tenant.id) (\(reply.tenant.name)) from \(reply.fromShard) to \(reply.tenant.shard); writes paused \(reply.pausedMs) ms"
      )
      printTable(["SERVICE", "ROWS"], reply.copied.map { [$0.service, "\($0.rows)"] })
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a tenant irreversibly: revoke its keys, remove its data and files on every service.",
      discussion: "Asks for the tenant's name again unless --yes is given. Running it again finishes a delete that was interrupted.")
    @Argument(help: "The tenant's name.") var name: String
    @Flag(help: "Do not ask for confirmation.") var yes = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let name = self.name
      if !yes {
        FileHandle.standardError.write(
          Data(
            "This deletes tenant '\(name)' and all its data on every service. It cannot be undone.\nType the tenant's name to confirm: "
              .utf8))
        guard readLine(strippingNewline: true) == name else {
          FileHandle.standardError.write(Data("not confirmed; nothing deleted\n".utf8))
          throw ExitCode.failure
        }
      }
      let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
        try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).deleteTenant(
          .with {
            $0.name = name; $0.confirm = name
          }, metadata: metadata)
      }
      print("deleted tenant \(reply.tenant.id) (\(reply.tenant.name)); \(reply.keysRevoked) keys revoked")
      printTable(["SERVICE", "FILES", "BYTES"], reply.services.map { [$0.service, "\($0.filesRemoved)", "\($0.bytesRemoved)"] })
    }
  }
}
