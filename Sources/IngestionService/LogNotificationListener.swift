import Logging
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
    let listener = PostgresListener(
      url: url, channel: EventLogPostgresSchema.notificationChannel, logger: logger,
      // Commits made while no connection listened are read from the heads.
      connected: { [provider] in try? await BlockingWork.run { provider.scanHeads() } },
      received: { [provider] payload in
        let parts = payload.split(separator: " ")
        guard parts.count == 2, let tenant = TenantID(String(parts[0])), let head = Int64(parts[1]) else { return }
        provider.commitObserved(tenant: tenant, head: head)
      })
    await cancelWhenGracefulShutdown {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await listener.run() }
        group.addTask {
          while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            provider.wakeAllSubscribers()
          }
        }
      }
    }
  }
}
