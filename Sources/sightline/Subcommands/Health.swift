import ArgumentParser
import Foundation
import GRPCCore
import SightlineWire

/// `sightline health`: each process's status as the gateway sees it.
struct Health: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show the health of the gateway and every service.")

  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let reply = try await connection.withGateway(operatorFallback: true) { client, metadata in
      try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).suiteHealth(.init(), metadata: metadata)
    }
    printTable(
      ["SERVICE", "STATUS", "ADDRESS", "LATENCY", "DETAIL"],
      reply.services.map {
        [$0.name, $0.status, $0.address, $0.name == "gateway" ? "" : String(format: "%.1f ms", $0.latencyMs), $0.detail]
      })
    if reply.services.contains(where: { $0.status != "SERVING" }) { throw ExitCode.failure }
  }
}
