import Logging
import Metrics
import SightlineModel
import SightlineRPC
import SightlineStorage

/// Evaluates every tenant's alert rules (run every 15 s by ``PeriodicService``).
struct AlertScheduler: Sendable {
  let provider: MetricsProvider
  let logger: Logger

  /// How long a tenant's consumer must have been quiet before history that arrived is
  /// backfilled with its alerts.
  static let arrivalsQuietPeriod: Duration = .seconds(10)

  /// One round over every tenant that may have rules and is this replica's: a tenant found
  /// without any is skipped until its rules change, so idle tenants without rules cost no
  /// database open; alerts are written under the tenant's lease, so one opens once, however
  /// many replicas run. Backfills of history that arrived come after every tenant's live
  /// judgement, so a long one never holds another tenant's alert back within the round.
  func evaluateAll() {
    let state = provider.state
    let ownership = provider.follower?.ownership
    var backfills: [(tenant: TenantID, fromMs: Int64, fence: LeaseFence)] = []
    for tenant in state.tenants() where state.mayHaveRules(tenant) && ownership?.isAssigned(tenant) ?? true {
      run(tenant) {
        let ruleChanges = state.ruleChanges(tenant)
        if try state.alerts(for: tenant).rules().isEmpty {
          state.markWithoutRules(tenant, ifUnchangedSince: ruleChanges)
          _ = state.takeEarliestArrival(tenant)
          return []
        }
        var fence = LeaseFence.sole
        if let ownership {
          guard case .held(let held) = try ownership.fence(for: tenant) else { return [] }
          fence = held
        }
        if let arrived = state.takeEarliestArrival(tenant, quietPeriod: Self.arrivalsQuietPeriod) {
          backfills.append((tenant, arrived, fence))
        }
        return try provider.evaluateAlerts(tenant: tenant, fence: fence)
      }
    }
    for backfill in backfills {
      run(backfill.tenant, backfilled: true) {
        do {
          return try provider.backfillAlerts(tenant: backfill.tenant, fromMs: backfill.fromMs, fence: backfill.fence)
        } catch {
          // Tried again next round (the arrival is this replica's to backfill: it folded it).
          state.restoreEarliestArrival(backfill.tenant, backfill.fromMs)
          throw error
        }
      }
    }
  }

  /// One round of the case rules over the tenants that are this replica's and have a cue
  /// (``TenantCues``: answers folded, an alert opened, cases changed, a due time passed;
  /// docs/cases.md): cases for chosen alerts and recent detractor answers, escalation of
  /// overdue ones.
  /// Runs after the alert round, so an alert that just opened gets its case in the same
  /// period; writes are fenced by the tenant's lease like the alerts'.
  func runCaseRules(atRisk: [TenantID: [AtRiskCustomer]] = [:]) {
    let state = provider.state
    let ownership = provider.follower?.ownership
    let now = provider.clock()
    // A tenant that became this replica's is looked at: cases the replica before opened
    // may fall due before any new cue here.
    let mine = Set(state.tenants().filter { ownership?.isAssigned($0) ?? true })
    state.caseCues.assigned(mine)
    for tenant in mine.sorted(by: { $0.rawValue < $1.rawValue }) {
      guard state.caseCues.take(tenant, nowMs: now) else { continue }
      do {
        var fence = LeaseFence.sole
        if let ownership {
          guard case .held(let held) = try ownership.fence(for: tenant) else {
            // Its lease is not held yet (being taken over): keep the cue for the next round.
            state.caseCues.failed(tenant)
            continue
          }
          fence = held
        }
        let (opened, escalated, verified) = try provider.runCaseRules(
          tenant: tenant, nowMs: now, fence: fence, atRisk: atRisk[tenant])
        for item in opened {
          TenantSeries.cases(tenant.rawValue, change: "opened").increment()
          logger.info("case opened", metadata: ["tenant": "\(tenant)", "case": "\(item.id)", "owner": "\(item.owner)"])
        }
        for item in escalated {
          TenantSeries.cases(tenant.rawValue, change: "escalated").increment()
          logger.info("case overdue", metadata: ["tenant": "\(tenant)", "case": "\(item.id)", "owner": "\(item.owner)"])
        }
        for (item, verification) in verified {
          TenantSeries.cases(tenant.rawValue, change: "verified").increment()
          logger.info(
            "case action verified",
            metadata: [
              "tenant": "\(tenant)", "case": "\(item.id)", "horizon_days": "\(verification.horizonDays)",
              "verdict": "\(verification.verdict.rawValue)", "method": "\(verification.method)",
            ])
        }
      } catch let error as LeaseLost {
        ownership?.lost(tenant)
        state.caseCues.failed(tenant)
        logger.warning("a case write was refused by fencing: another replica took this tenant over", metadata: ["error": "\(error)"])
      } catch {
        state.caseCues.failed(tenant)
        logger.error("case rules failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
    }
  }

  /// The customers at risk of the tenants that are this replica's, whose case rules want
  /// them and who were not asked about within the hour (``AtRiskFeed``); each is cued for
  /// the case rules' round. A segmentation service that does not answer is asked again next
  /// round.
  func fetchAtRisk() async -> [TenantID: [AtRiskCustomer]] {
    guard let feed = provider.atRiskFeed else { return [:] }
    let state = provider.state
    let ownership = provider.follower?.ownership
    var fetched: [TenantID: [AtRiskCustomer]] = [:]
    for tenant in state.tenants() where ownership?.isAssigned(tenant) ?? true {
      guard feed.isDue(tenant) else { continue }
      let wanted = (try? await BlockingWork.run { try state.cases(for: tenant).caseRules().atRiskMinScore != nil }) ?? false
      guard wanted else {
        feed.looked(tenant)
        continue
      }
      do {
        fetched[tenant] = try await feed.customers(of: tenant)
        feed.looked(tenant)
        state.caseCues.mark(tenant)
      } catch {
        logger.warning("customers at risk not fetched", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
    }
    return fetched
  }

  /// Runs one tenant's part of a round: counts and logs the alerts it opened, resolved or
  /// `backfilled` (saved for history, open or resolved), and logs (never throws) what went
  /// wrong.
  private func run(_ tenant: TenantID, backfilled: Bool = false, _ work: () throws -> [AlertRecord]) {
    let ownership = provider.follower?.ownership
    do {
      for alert in try work() {
        let change = backfilled ? "backfilled" : alert.resolvedMs == nil ? "opened" : "resolved"
        TenantSeries.alerts(tenant.rawValue, change: change).increment()
        logger.info(
          "alert \(change)", metadata: ["tenant": "\(tenant)", "rule": "\(alert.ruleID)", "message": "\(alert.message)"])
      }
    } catch let error as LeaseLost {
      ownership?.lost(tenant)
      logger.warning("an alert write was refused by fencing: another replica took this tenant over", metadata: ["error": "\(error)"])
    } catch {
      logger.error("alert evaluation failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
    }
  }
}
