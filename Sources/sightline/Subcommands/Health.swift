import ArgumentParser
import Foundation
import GRPCCore
import SightlineRPC
import SightlineWire

/// `sightline health`: each process's status as the gateway sees it, or one process's own
/// readiness (`--direct`, for container health checks).
struct Health: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show the health of the gateway and every service.",
    discussion: "Exit status 1 unless everything is SERVING. NOT_SERVING comes with the service's reason.")

  @Option(
    help:
      "Check only the process at HOST:PORT, directly (grpc.health.v1 over TLS, with the operator's client certificate from the PKI directory)."
  )
  var direct: String?
  @Option(help: "PKI directory for --direct (default DATA_DIR/pki).")
  var pkiDir: String?
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    if let direct { return try await checkDirectly(direct) }
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

  private func checkDirectly(_ address: String) async throws {
    guard let endpoint = HostAndPort(address) else { throw ValidationError("--direct must be HOST:PORT") }
    let pki = PKIDirectory(path: pkiDir ?? "\(connection.resolvedDataDir)/pki")
    let (status, reason) = try await ClientFactory.withClient(
      endpoint, security: SuiteTLS(pki: pki).clientSecurity(identity: .operator)
    ) { client in
      try await HealthService.check(client, timeout: .seconds(5))
    }
    print((status == .serving ? "SERVING" : "NOT_SERVING") + (reason.map { ": \($0)" } ?? ""))
    if status != .serving { throw ExitCode.failure }
  }
}
