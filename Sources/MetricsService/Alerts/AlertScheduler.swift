import Logging
import Metrics
import SightlineModel
import SightlineRPC
import SightlineStorage

/// Evaluates every tenant's alert rules (run every 15 s by ``PeriodicService``).
struct AlertScheduler: Sendable {
  let provider: MetricsProvider
  let logger: Logger

  /// One round over every tenant that may have rules and is this replica's: a tenant found
  /// without any is skipped until its rules change, so idle tenants without rules cost no
  /// database open; alerts are written under the tenant's lease, so one opens once, however
  /// many replicas run.
  /// How long a tenant's consumer must have been quiet before history that arrived is
  /// backfilled with its alerts.
  static let arrivalsQuietPeriod: Duration = .seconds(10)

  func evaluateAll() {
    let state = provider.state
    let ownership = provider.follower?.ownership
    for tenant in state.tenants() where state.mayHaveRules(tenant) && ownership?.isAssigned(tenant) ?? true {
      do {
        let ruleChanges = state.ruleChanges(tenant)
        if try state.alerts(for: tenant).rules().isEmpty {
          state.markWithoutRules(tenant, ifUnchangedSince: ruleChanges)
          _ = state.takeEarliestArrival(tenant)
          continue
        }
        var fence = LeaseFence.sole
        if let ownership {
          guard case .held(let held) = try ownership.fence(for: tenant) else { continue }
          fence = held
        }
        let arrived = state.takeEarliestArrival(tenant, quietPeriod: Self.arrivalsQuietPeriod)
        let changes: [AlertRecord]
        do {
          changes = try provider.evaluateAlerts(tenant: tenant, fence: fence, arrivedFromMs: arrived)
        } catch {
          // Tried again next round (by whichever replica then holds the tenant's lease).
          if let arrived { state.restoreEarliestArrival(tenant, arrived) }
          throw error
        }
        for alert in changes {
          let change = alert.resolvedMs == nil ? "opened" : "resolved"
          TenantSeries.alerts(tenant.rawValue, change: change).increment()
          logger.info(
            alert.resolvedMs == nil ? "alert opened" : "alert resolved",
            metadata: ["tenant": "\(tenant)", "rule": "\(alert.ruleID)", "message": "\(alert.message)"])
        }
      } catch let error as LeaseLost {
        ownership?.lost(tenant)
        logger.warning("an alert write was refused by fencing: another replica took this tenant over", metadata: ["error": "\(error)"])
      } catch {
        logger.error("alert evaluation failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
    }
  }
}
