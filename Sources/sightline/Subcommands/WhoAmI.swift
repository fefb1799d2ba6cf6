import ArgumentParser
import GRPCCore
import SightlineWire
import SwiftProtobuf

/// `sightline whoami`: which tenant and role a key has.
struct WhoAmI: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show the tenant and role of your key.")
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).whoAmI(.init(), metadata: metadata)
    }
    if reply.operator {
      print("operator key")
    } else {
      print("tenant \(reply.tenant.id) (\(reply.tenant.name)), role \(reply.role), key \(reply.keyID)")
    }
  }
}
