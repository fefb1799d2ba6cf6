import Logging
import PostgresNIO
import ServiceLifecycle
import SightlineModel
import SightlinePostgres
import SightlineRPC

/// On PostgreSQL, hears of every commit to any tenant's log, made by this process or
/// another replica, through `LISTEN`/`NOTIFY`, and wakes that tenant's `Subscribe` streams
/// and the change feed.
///
/// Notifications can be lost: one sent while the listening connection is down never
/// arrives. So every second it also wakes every `Subscribe` stream to look for new records
/// (a lost notification delays a subscriber by at most a second), and after each
/// (re)connection it reads every tenant's head into the change feed again.
struct LogNotificationListener: Service {
  let provider: IngestionProvider
  let url: DatabaseURL
  let logger: Logger

  func run() async throws {
    try? await cancelWhenGracefulShutdown {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await listen() }
        group.addTask {
          while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            provider.wakeAllSubscribers()
          }
        }
      }
    }
  }

  /// Listens until cancelled, reconnecting a second after each failure.
  private func listen() async {
    var connected = false
    while !Task.isCancelled {
      do {
        let connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 0, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.listen(on: EventLogPostgresSchema.notificationChannel) { notifications in
          if connected { logger.info("log notifications resumed") }
          connected = true
          // Commits made while no connection listened are read from the heads.
          try await BlockingWork.run { provider.scanHeads() }
          for try await notification in notifications {
            let parts = notification.payload.split(separator: " ")
            guard parts.count == 2, let tenant = TenantID(String(parts[0])), let head = Int64(parts[1]) else { continue }
            provider.commitObserved(tenant: tenant, head: head)
          }
        }
      } catch {
        if Task.isCancelled { return }
        logger.warning("log notifications interrupted; retrying in a second", metadata: ["error": "\(error)"])
      }
      try? await Task.sleep(for: .seconds(1))
    }
  }
}
