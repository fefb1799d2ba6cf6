import Foundation
import Logging
import ServiceLifecycle
import SightlineModel
import SightlinePostgres
import SightlineRPC

/// The gateways sharing one PostgreSQL store: each records itself alive every second (the
/// `gateway` members of `sightline_member`), so that each applies its share of the
/// per-tenant limits (``TenantLimiter/setGateways(_:)``), and hears the others' key
/// changes at once (``KeyLookupCache``).
struct GatewayPeers: Service {
  let pool: PostgresPool
  let cache: KeyLookupCache
  let limiter: TenantLimiter
  let logger: Logger
  /// How long a gateway counts as alive after its last heartbeat.
  static let memberTime: Duration = .seconds(5)

  func run() async throws {
    let leases = PostgresLeases(pool: pool, component: "gateway")
    let member = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    // Until it listens, this gateway could miss another's revocation: no cached answers.
    cache.setTrusted(false)
    let listener = PostgresListener(
      url: pool.url, channel: PostgresGatewayStore.keysChangedChannel, logger: logger,
      connected: { [cache] in cache.setTrusted(true) }, disconnected: { [cache] in cache.setTrusted(false) },
      received: { [cache] _ in cache.forgetAll() })
    await cancelWhenGracefulShutdown {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await listener.run() }
        group.addTask {
          while !Task.isCancelled {
            do {
              let gateways = try await BlockingWork.run { try leases.heartbeat(member: member, ttl: Self.memberTime) }
              limiter.setGateways(gateways.count)
            } catch {
              logger.warning("could not record this gateway's heartbeat; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
          }
        }
      }
    }
    try? leases.leave(member: member)
  }
}
