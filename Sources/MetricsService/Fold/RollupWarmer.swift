import Foundation
import Logging
import SightlineModel
import SightlineRPC
import SightlineStorage
import Synchronization

/// Builds each tenant's daily rollups ahead of queries, so that the first long-range query
/// after a bulk load (or a burst of late events) does not have to build them itself: with
/// 5M tickets that is 18 s instead of 26 ms (docs/performance.md). It works only on
/// tenants whose consumer has been quiet for a few seconds, so it never competes with a
/// load in progress, and off the concurrency pool, since building is blocking SQLite work.
///
/// With several replicas, only the one that folds a tenant warms it: it alone knows how much
/// it applied, and the tenant must be assigned to it still.
struct RollupWarmer: Sendable {
  let state: MetricsLogConsumer
  let ownership: TenantOwnership
  let logger: Logger
  /// How far back days are kept built.
  static let horizonMs: Int64 = 400 * 86_400_000
  /// How long a tenant's consumer must have applied nothing.
  static let quietPeriod: Duration = .seconds(3)
  /// Events a tenant must have received since its last warming to be warmed again.
  static let minEvents = 10_000

  /// One round over every quiet tenant (run every 10 s by ``PeriodicService``). Stops
  /// between weeks of days when its task is cancelled (shutdown): building a large
  /// tenant's whole horizon takes long, and must not hold the process's shutdown up.
  func warmQuietTenants() async {
    let stop = StopFlag()
    await withTaskCancellationHandler {
      for tenant in state.tenants()
      where state.needsWarming(tenant, quietPeriod: Self.quietPeriod, minEvents: Self.minEvents) && ownership.isAssigned(tenant)
        && !stop.isSet
      {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
          DispatchQueue.global().async {
            do {
              let applied = state.appliedSinceWarming(tenant)
              try Self.warm(state: state, tenant: tenant, nowMs: WallClock.now, isCancelled: { stop.isSet })
              if !stop.isSet { state.warmed(tenant, applied: applied) }
            } catch {
              logger.error("building rollups failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
            done.resume()
          }
        }
      }
    } onCancel: {
      stop.set()
    }
  }

  /// Builds every whole local day of `tenant` in the horizon that has no current rollup,
  /// the most recent week first (what dashboards read), asking `isCancelled` between weeks.
  /// A week at a time, because a query that needs a day built (or changed) waits for the
  /// build in progress: at 5M tickets a week takes about a second, a month four.
  static func warm(state: MetricsLogConsumer, tenant: TenantID, nowMs: Int64, isCancelled: () -> Bool = { false }) throws {
    let store = try state.store(for: tenant)
    let rollups = DailyRollups(
      store: store, settings: try store.settings(), nowMs: nowMs, buildLock: state.rollupLock(for: tenant))
    let days = rollups.wholeDays(startMs: nowMs - horizonMs, endMs: nowMs)
    for end in stride(from: days.count, to: 0, by: -7) where !isCancelled() {
      try rollups.ensureBuilt(Array(days[max(0, end - 7)..<end]))
    }
  }
}
