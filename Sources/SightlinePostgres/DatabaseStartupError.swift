import Foundation
public import PostgresNIO

/// Why a service cannot use its database, and what to fix: said at start-up, and by
/// readiness while the database is away.
public struct DatabaseStartupError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable, Equatable {
    case unreachable, authenticationFailed, missingDatabase, missingPrivileges, schemaNewer, other
  }

  public let kind: Kind
  public let description: String

  public init(kind: Kind, description: String) {
    self.kind = kind
    self.description = description
  }

  /// The error a database operation raised, explained for `url`.
  public init(_ error: any Error, url: DatabaseURL) {
    let target = "\(url.host):\(url.port)"
    guard let error = error as? PSQLError else {
      self.init(kind: .other, description: "database \(url): \(error)")
      return
    }
    let state = error.serverInfo?[.sqlState] ?? ""
    let message = error.serverInfo?[.message] ?? "\(error.code)"
    switch (error.code, state) {
    case (.server, "28P01"), (.server, "28000"):
      self.init(
        kind: .authenticationFailed,
        description:
          "the database at \(target) refused user '\(url.username)': \(message). Check the user and password in the database URL"
      )
    case (.server, "3D000"):
      self.init(
        kind: .missingDatabase,
        description: "the database '\(url.database)' does not exist at \(target): create it (CREATE DATABASE \(url.database) OWNER …)")
    case (.server, "42501"):
      self.init(
        kind: .missingPrivileges,
        description:
          "user '\(url.username)' lacks a privilege on \(target)/\(url.database): \(message). See docs/operations.md, \"PostgreSQL\", for the grants"
      )
    case (.connectionError, _), (.serverClosedConnection, _), (.sslUnsupported, _), (.poolClosed, _):
      let cause = error.underlying.map { " (\($0))" } ?? ""
      self.init(
        kind: .unreachable,
        description: "cannot reach the database at \(target)\(cause): is PostgreSQL running and listening there? (\(url))")
    default:
      self.init(kind: .other, description: "database \(url): \(message) [\(error.code)\(state.isEmpty ? "" : ", SQLSTATE \(state)")]")
    }
  }
}
