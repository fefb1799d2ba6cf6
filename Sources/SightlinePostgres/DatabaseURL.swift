import Foundation
public import PostgresNIO

/// Where a service keeps its data on PostgreSQL: `postgres://USER:PASSWORD@HOST:PORT/DB`,
/// with `?sslmode=disable|prefer|require|verify-full` (the libpq names; default `prefer`).
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
  /// How the connection to the database is secured.
  public enum TLSMode: String, Sendable, CaseIterable {
    /// Plain TCP.
    case disable
    /// TLS when the server offers it.
    case prefer
    /// TLS, without checking the server's certificate.
    case require
    /// TLS with the server's certificate checked against the system's roots and the host.
    case verifyFull = "verify-full"
  }

  public var host: String
  public var port: Int
  public var username: String
  public var password: String?
  public var database: String
  public var tls: TLSMode

  /// Parses `text`; the error says which part is wrong.
  public init(_ text: String) throws(DatabaseURLError) {
    guard let components = URLComponents(string: text), let scheme = components.scheme,
      ["postgres", "postgresql"].contains(scheme)
    else {
      throw DatabaseURLError("'\(Self.masked(text))' is not a postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DB)")
    }
    guard let host = components.host, !host.isEmpty else { throw DatabaseURLError("the URL names no host") }
    guard let user = components.user, !user.isEmpty else { throw DatabaseURLError("the URL names no user") }
    let database = String(components.path.drop { $0 == "/" })
    guard !database.isEmpty, !database.contains("/") else { throw DatabaseURLError("the URL names no database (…/DB)") }
    var tls = TLSMode.prefer
    for item in components.queryItems ?? [] {
      guard item.name == "sslmode" else { throw DatabaseURLError("unknown URL parameter '\(item.name)' (only sslmode)") }
      guard let mode = TLSMode(rawValue: item.value ?? "") else {
        throw DatabaseURLError(
          "sslmode '\(item.value ?? "")' is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      tls = mode
    }
    self.host = host
    port = components.port ?? 5432
    username = user.removingPercentEncoding ?? user
    password = components.password.map { $0.removingPercentEncoding ?? $0 }
    self.database = database.removingPercentEncoding ?? database
    self.tls = tls
  }

  /// The URL with the password masked, for logs and messages.
  public var description: String {
    "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
  }

  static func masked(_ text: String) -> String {
    guard var components = URLComponents(string: text), components.password != nil else { return text }
    components.password = "***"
    return components.string ?? text
  }

  /// TLS as the URL asks: `prefer` and `require` do not check the server's certificate
  /// (libpq's meaning), `verify-full` does.
  var tlsConfiguration: TLSConfiguration {
    var configuration = TLSConfiguration.makeClientConfiguration()
    if tls != .verifyFull { configuration.certificateVerification = .none }
    return configuration
  }

  /// The pool's configuration for this URL.
  public func clientConfiguration() -> PostgresClient.Configuration {
    let tls: PostgresClient.Configuration.TLS =
      switch self.tls {
      case .disable: .disable
      case .prefer: .prefer(tlsConfiguration)
      case .require, .verifyFull: .require(tlsConfiguration)
      }
    return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
  }

  /// A single connection's configuration for this URL (start-up checks).
  public func connectionConfiguration() throws -> PostgresConnection.Configuration {
    let tls: PostgresConnection.Configuration.TLS =
      switch self.tls {
      case .disable: .disable
      case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration))
      case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration))
      }
    var configuration = PostgresConnection.Configuration(
      host: host, port: port, username: username, password: password, database: database, tls: tls)
    configuration.options.connectTimeout = .seconds(5)
    return configuration
  }
}

/// A database URL that does not parse.
public struct DatabaseURLError: Error, CustomStringConvertible, Sendable {
  public let description: String
  init(_ description: String) { self.description = "--database: \(description)" }
}
