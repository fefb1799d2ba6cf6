import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineRPC

/// How a client command reaches the gateway. Flags win over `SIGHTLINE_*` variables;
/// with `--data-dir` the defaults point at the suite `sightline up` runs there.
struct ConnectionOptions: ParsableArguments {
  @Option(
    help:
      "Gateway address HOST:PORT, or several gateways as HOST:PORT,HOST:PORT (calls spread over them) (env SIGHTLINE_GATEWAY; default 127.0.0.1:7443)."
  )
  var gateway: String?

  @Option(help: "CA certificate to trust (env SIGHTLINE_CA; default DATA_DIR/pki/ca.pem).")
  var ca: String?

  @Option(
    name: .customLong("api-key"),
    help: "API key (env SIGHTLINE_API_KEY). Tenant administration uses the operator key (default DATA_DIR/operator.key).")
  var apiKey: String?

  @Option(help: "Data directory of a local suite (env SIGHTLINE_DATA_DIR; default ./.sightline).")
  var dataDir: String?

  private var env: [String: String] { ProcessInfo.processInfo.environment }
  var resolvedDataDir: String { dataDir ?? env["SIGHTLINE_DATA_DIR"] ?? "./.sightline" }

  func gatewayAddress() throws -> ReplicaSet {
    let text = gateway ?? env["SIGHTLINE_GATEWAY"] ?? "127.0.0.1:7443"
    guard let address = ReplicaSet(text) else {
      throw ValidationError("--gateway must be HOST:PORT, or several as HOST:PORT,HOST:PORT, got '\(text)'")
    }
    return address
  }

  func caFile() throws -> String {
    let path = ca ?? env["SIGHTLINE_CA"] ?? "\(resolvedDataDir)/pki/ca.pem"
    guard FileManager.default.fileExists(atPath: path) else {
      throw ValidationError("no CA certificate at \(path): pass --ca FILE or --data-dir of a suite started with 'sightline up'")
    }
    return path
  }

  /// The key to send: the flag or variable, else (when `operatorFallback`) the local
  /// suite's operator key.
  func key(operatorFallback: Bool) throws -> String {
    if let key = apiKey ?? env["SIGHTLINE_API_KEY"] { return key }
    if operatorFallback,
      let text = try? String(contentsOfFile: "\(resolvedDataDir)/operator.key", encoding: .utf8)
    {
      return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    throw ValidationError("no API key: pass --api-key KEY or set SIGHTLINE_API_KEY")
  }

  /// Runs `body` with a connected client and the call metadata carrying the key; an RPC
  /// failure is printed for a person (see `report`) and becomes exit status 1.
  func withGateway<R: Sendable>(
    operatorFallback: Bool = false,
    _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, Metadata) async throws -> R
  ) async throws -> R {
    do {
      return try await connect(operatorFallback: operatorFallback, body)
    } catch {
      throw report(error)
    }
  }

  private func connect<R: Sendable>(
    operatorFallback: Bool,
    _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, Metadata) async throws -> R
  ) async throws -> R {
    let metadata = SuiteMetadata.bearer(try key(operatorFallback: operatorFallback))
    return try await ClientFactory.withClient(
      try gatewayAddress(), security: SuiteTLS.clientSecurity(caFile: try caFile(), identity: nil),
      retryable: RetryableMethods.names
    ) { client in
      try await body(client, metadata)
    }
  }
}
