import Logging
import Metrics
import SightlineModel
import SightlineRPC
import SightlineStorage

/// Evaluates every tenant's alert rules (run every 15 s by ``PeriodicService``).
struct AlertScheduler: Sendable {
  let provider: MetricsProvider
  let logger: Logger

  /// One round over every tenant that may have rules: a tenant found without any is
  /// skipped until its rules change, so idle tenants without rules cost no database open.
  func evaluateAll() {
    let state = provider.state
    for tenant in state.tenants() where state.mayHaveRules(tenant) {
      do {
        let ruleChanges = state.ruleChanges(tenant)
        if try state.alerts(for: tenant).rules().isEmpty {
          state.markWithoutRules(tenant, ifUnchangedSince: ruleChanges)
          continue
        }
        let changes = try provider.evaluateAlerts(tenant: tenant)
        for alert in changes {
          let change = alert.resolvedMs == nil ? "opened" : "resolved"
          TenantSeries.alerts(tenant.rawValue, change: change).increment()
          logger.info(
            alert.resolvedMs == nil ? "alert opened" : "alert resolved",
            metadata: ["tenant": "\(tenant)", "rule": "\(alert.ruleID)", "message": "\(alert.message)"])
        }
      } catch {
        logger.error("alert evaluation failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
    }
  }
}
