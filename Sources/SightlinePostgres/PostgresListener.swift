public import Logging
import PostgresNIO
public import ServiceLifecycle
public import SightlineModel

/// Hears a PostgreSQL `NOTIFY` channel on a connection of its own, for as long as the
/// process runs: how one replica learns at once what another committed.
///
/// Notifications can be lost: one sent while the listening connection is down never
/// arrives. So `connected` runs after every (re)connection, before any notification is
/// passed on, to read again whatever the notifications would have said.
public struct PostgresListener: Service {
  let url: DatabaseURL
  let channel: String
  let logger: Logger
  let connected: @Sendable () async -> Void
  let disconnected: @Sendable () -> Void
  let received: @Sendable (String) -> Void

  /// A listener of `channel` on the database at `url`: `connected` after every
  /// (re)connection, `disconnected` when the connection is lost (notifications may be
  /// missed until `connected` runs again), `received` with each notification's payload.
  public init(
    url: DatabaseURL, channel: String, logger: Logger, connected: @escaping @Sendable () async -> Void = {},
    disconnected: @escaping @Sendable () -> Void = {}, received: @escaping @Sendable (String) -> Void
  ) {
    self.url = url
    self.channel = channel
    self.logger = logger
    self.connected = connected
    self.disconnected = disconnected
    self.received = received
  }

  /// Listens until graceful shutdown, reconnecting a second after each failure.
  public func run() async throws {
    await cancelWhenGracefulShutdown { await listen() }
  }

  private func listen() async {
    var connectedBefore = false
    while !Task.isCancelled {
      do {
        let connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 0, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.listen(on: channel) { notifications in
          if connectedBefore { logger.info("notifications resumed", metadata: ["channel": "\(channel)"]) }
          connectedBefore = true
          await connected()
          for try await notification in notifications { received(notification.payload) }
        }
      } catch {
        disconnected()
        if Task.isCancelled { return }
        logger.warning("notifications interrupted; retrying in a second", metadata: ["channel": "\(channel)", "error": "\(error)"])
      }
      try? await Task.sleep(for: .seconds(1))
    }
  }
}

/// The notification every fold commits with, "TENANT OFFSET" on its component's channel, so
/// the component's other replicas answer read-your-writes waits at once.
public enum AppliedNotification {
  /// The channel of `component`.
  public static func channel(_ component: String) -> String { "sightline_applied_\(component)" }

  /// A listener of `component`'s folds, calling `observe` with each tenant and offset.
  public static func listener(
    component: String, url: DatabaseURL, logger: Logger, _ observe: @escaping @Sendable (Int64, TenantID) -> Void
  ) -> PostgresListener {
    PostgresListener(url: url, channel: channel(component), logger: logger) { payload in
      if let (tenant, offset) = parse(payload) { observe(offset, tenant) }
    }
  }

  /// The tenant and offset of a payload; nil for a malformed one.
  public static func parse(_ payload: String) -> (tenant: TenantID, offset: Int64)? {
    let parts = payload.split(separator: " ")
    guard parts.count == 2, let tenant = TenantID(String(parts[0])), let offset = Int64(parts[1]) else { return nil }
    return (tenant, offset)
  }
}

extension PostgresSession {
  /// Announces, at the transaction's commit, that `component` applied `tenant`'s log
  /// through `offset` (``AppliedNotification``).
  public func notifyApplied(component: String, tenant: TenantID, offset: Int64) throws {
    try execute("SELECT pg_notify(\(AppliedNotification.channel(component)), \(tenant.rawValue + " " + String(offset)))")
  }
}
