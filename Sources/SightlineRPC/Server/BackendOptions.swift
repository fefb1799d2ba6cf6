public import ArgumentParser
import Foundation
public import SightlineModel

/// Flags every backend service executable takes. Each falls back to a `SIGHTLINE_*`
/// environment variable, then to a default that works on a laptop.
public struct BackendOptions: ParsableArguments, Sendable {
  /// Address to listen on.
  @Option(name: .long, help: "Address to listen on, HOST:PORT (env SIGHTLINE_LISTEN).")
  public var listen: String?

  /// Data directory.
  @Option(name: .long, help: "Directory for data (env SIGHTLINE_DATA_DIR; default ./.sightline).")
  public var dataDir: String?

  /// PKI directory.
  @Option(name: .long, help: "Directory of the suite's PKI (env SIGHTLINE_PKI_DIR; default DATA_DIR/pki). Created on first start if empty.")
  public var pkiDir: String?

  public init() {}

  /// The resolved configuration for `component`.
  public func resolve(for component: SuiteComponent) throws -> BackendConfiguration {
    let env = ProcessInfo.processInfo.environment
    let dataDir = dataDir ?? env["SIGHTLINE_DATA_DIR"] ?? "./.sightline"
    let listenText = listen ?? env["SIGHTLINE_LISTEN"] ?? "127.0.0.1:\(component.defaultPort)"
    guard let endpoint = HostAndPort(listenText) else {
      throw ValidationError("--listen must be HOST:PORT, got '\(listenText)'")
    }
    let pki = PKIDirectory(path: pkiDir ?? env["SIGHTLINE_PKI_DIR"] ?? "\(dataDir)/pki")
    return BackendConfiguration(listen: endpoint, dataDirectory: dataDir, pki: pki)
  }
}

/// Where a backend listens and keeps its files.
public struct BackendConfiguration: Sendable {
  /// Listening address.
  public var listen: HostAndPort
  /// Root of the data files.
  public var dataDirectory: String
  /// The suite's PKI.
  public var pki: PKIDirectory

  /// A configuration from its parts.
  public init(listen: HostAndPort, dataDirectory: String, pki: PKIDirectory) {
    self.listen = listen
    self.dataDirectory = dataDirectory
    self.pki = pki
  }
}
