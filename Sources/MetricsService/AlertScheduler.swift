public import ServiceLifecycle
public import Logging
import SightlineStorage

/// Evaluates every tenant's alert rules on a fixed interval until shutdown.
public struct AlertScheduler: Service {
  let provider: MetricsProvider
  let interval: Duration
  let logger: Logger

  /// A scheduler evaluating through `provider` every `interval`.
  public init(provider: MetricsProvider, interval: Duration, logger: Logger) {
    self.provider = provider
    self.interval = interval
    self.logger = logger
  }

  public func run() async throws {
    await cancelWhenGracefulShutdown { await self.loop() }
  }

  private func loop() async {
    while !Task.isCancelled {
      for tenant in provider.state.tenants() {
        do {
          let changes = try provider.evaluateAlerts(tenant: tenant)
          for alert in changes {
            logger.info(
              alert.resolvedMs == nil ? "alert opened" : "alert resolved",
              metadata: ["tenant": "\(tenant)", "rule": "\(alert.ruleID)", "message": "\(alert.message)"])
          }
        } catch {
          logger.error("alert evaluation failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
        }
      }
      try? await Task.sleep(for: interval)
    }
  }
}
