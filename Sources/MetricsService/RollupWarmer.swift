import Foundation
import Logging
import SightlineModel
import SightlineStorage

/// Builds each tenant's daily rollups ahead of queries, so that the first long-range query
/// after a bulk load (or a burst of late events) does not have to build them itself: with
/// 5M tickets that is 18 s instead of 26 ms (docs/performance.md). It works only on
/// tenants whose consumer has been quiet for a few seconds, so it never competes with a
/// load in progress, and off the concurrency pool, since building is blocking SQLite work.
struct RollupWarmer: Sendable {
  let state: MetricsState
  let logger: Logger
  /// How far back days are kept built.
  static let horizonMs: Int64 = 400 * 86_400_000
  /// How long a tenant's consumer must have applied nothing.
  static let quietPeriod: Duration = .seconds(3)

  /// One round over every quiet tenant (run every 10 s by ``PeriodicService``).
  func warmQuietTenants() async {
    for tenant in state.tenants() where state.quietFor(tenant) >= Self.quietPeriod {
      await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().async {
          do {
            try Self.warm(state: state, tenant: tenant, nowMs: WallClock.now)
          } catch {
            logger.error("building rollups failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
          }
          done.resume()
        }
      }
    }
  }

  /// Builds every whole local day of `tenant` in the horizon that has no current rollup.
  static func warm(state: MetricsState, tenant: TenantID, nowMs: Int64) throws {
    let store = try state.store(for: tenant)
    let rollups = DailyRollups(store: store, settings: try store.settings(), nowMs: nowMs)
    try rollups.ensureBuilt(rollups.wholeDays(startMs: nowMs - horizonMs, endMs: nowMs))
  }
}
