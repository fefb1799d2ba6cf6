public import Logging
import Metrics
public import ServiceLifecycle
public import SightlineModel
import SightlineRPC
import SightlineStorage
import Synchronization

/// How the deliverer runs (the metrics process's `--cockpit-url` and `--delivery-*` flags).
public struct DeliverySettings: Sendable {
  /// The cockpit's address, for links in messages ("" for none).
  public var cockpitURL: String
  public var retry: RetryPolicy
  /// How often the deliverer looks for work.
  public var interval: Duration
  /// How long one request may take.
  public var requestTimeout: Duration
  /// Days sent messages and their events are kept (0: forever); pending and dead ones are
  /// kept until they are sent or replayed.
  public var keepDays: Int

  public init(
    cockpitURL: String = "", retry: RetryPolicy = .standard, interval: Duration = .seconds(1),
    requestTimeout: Duration = .seconds(10), keepDays: Int = 90
  ) {
    self.cockpitURL = cockpitURL
    self.retry = retry
    self.interval = interval
    self.requestTimeout = requestTimeout
    self.keepDays = keepDays
  }
}

/// Sends each tenant's outbox to its endpoints (docs/delivery.md): only for tenants whose
/// metrics lease this replica holds, and only when cued (``TenantCues``: an event written,
/// an endpoint changed, a retry due, once after start), so idle tenants cost nothing.
///
/// Every attempt is recorded after the receiver answers, so a process killed mid-send
/// sends the message again after restart with the same id: at least once, never lost.
public struct OutboxDeliverer: Service {
  let provider: MetricsProvider
  let settings: DeliverySettings
  let logger: Logger
  /// When each tenant's sent messages were last pruned.
  private let pruned = PruneTimes()

  /// At most this many due messages per tenant a round.
  static let batchLimit = 500
  /// Tenants delivered to at once; cued tenants beyond wait for a free slot.
  static let concurrentTenants = 16
  /// A tenant's sent messages are pruned at most this often.
  static let pruneIntervalMs: Int64 = 86_400_000

  public init(provider: MetricsProvider, settings: DeliverySettings, logger: Logger) {
    self.provider = provider
    self.settings = settings
    self.logger = logger
  }

  public func run() async throws {
    let poster = MessagePoster(timeout: settings.requestTimeout)
    let busy = BusyTenants()
    await cancelWhenGracefulShutdown {
      // Tenants are delivered to side by side, each in a task of its own, and a round does
      // not wait for them: one tenant's slow receiver delays none of the others' messages.
      await withDiscardingTaskGroup { group in
        while !Task.isCancelled {
          for tenant in cuedTenants(busy: busy) {
            group.addTask {
              await look(at: tenant, poster: poster)
              busy.remove(tenant)
            }
          }
          try? await Task.sleep(for: settings.interval)
        }
      }
    }
    await poster.shutdown()
  }

  /// The cued tenants that are this replica's and not being delivered to, at most as many
  /// as free slots; each returned is marked busy and its cue taken (the cues of those left
  /// for a later round are kept). A tenant that became this replica's since the last round
  /// (a replica left, or this one started) is cued whatever happened: the replica before
  /// may have left messages waiting.
  func cuedTenants(busy: BusyTenants) -> [TenantID] {
    let state = provider.state
    let ownership = provider.follower?.ownership
    let mine = Set(state.tenants().filter { ownership?.isAssigned($0) ?? true })
    state.deliveryCues.assigned(mine)
    var chosen: [TenantID] = []
    for tenant in mine.sorted(by: { $0.rawValue < $1.rawValue }) where busy.count < Self.concurrentTenants {
      guard !busy.contains(tenant), state.deliveryCues.take(tenant, nowMs: provider.clock()) else { continue }
      busy.insert(tenant)
      chosen.append(tenant)
    }
    return chosen
  }

  /// Delivers `tenant`'s due messages under its lease; logs (never throws) what went wrong,
  /// keeping its cue when it should be tried again.
  func look(at tenant: TenantID, poster: MessagePoster) async {
    let state = provider.state
    let ownership = provider.follower?.ownership
    do {
      var fence = LeaseFence.sole
      if let ownership {
        guard case .held(let held) = try ownership.fence(for: tenant) else {
          // Its lease is not held yet (being taken over): keep the cue for the next round.
          state.deliveryCues.failed(tenant)
          return
        }
        fence = held
      }
      try await deliver(tenant, fence: fence, poster: poster)
    } catch let error as LeaseLost {
      ownership?.lost(tenant)
      logger.warning("a delivery write was refused by fencing: another replica took this tenant over", metadata: ["error": "\(error)"])
    } catch {
      state.deliveryCues.failed(tenant)
      logger.error("delivery failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
    }
  }

  /// Fans new events out, sends what is due (within each endpoint's rate, the excess folded
  /// into a digest), records each answer and cues the next retry.
  func deliver(_ tenant: TenantID, fence: LeaseFence, poster: MessagePoster) async throws {
    let store = try provider.state.deliveries(for: tenant)
    let alerts = try provider.state.alerts(for: tenant)
    let now = provider.clock()
    let batches: [[PendingDelivery]] = try await BlockingWork.run {
      try pruneIfDue(tenant, store: store, nowMs: now, fence: fence)
      _ = try store.fanOut(nowMs: now, fence: fence)
      let found = try store.dueDeliveries(nowMs: now, limit: Self.batchLimit)
      for key in found.unreadable {
        let outcome = DeliveryOutcome.dead(error: Self.unreadable)
        try store.record(outcome, eventID: key.eventID, endpointID: key.endpointID, atMs: now, fence: fence)
        count(outcome, tenant: tenant, key)
      }
      let due = found.pending
      var batches: [[PendingDelivery]] = []
      for endpointID in Self.orderedEndpoints(due) {
        let waiting = due.filter { $0.endpoint.id == endpointID }
        let endpoint = waiting[0].endpoint
        let plan = DeliveryRatePlan.plan(
          due: waiting.count, sentInWindow: try store.attempts(endpointID: endpointID, sinceMs: now - 60_000),
          limit: endpoint.kind.messagesPerMinute)
        var batch = Array(waiting.prefix(plan.individually))
        if plan.folded > 0 {
          let folded = Array(waiting.dropFirst(plan.individually))
          let digest = Self.digest(of: folded.map(\.event), endpointID: endpointID, nowMs: now)
          try store.fold(eventIDs: folded.map(\.event.id), endpointID: endpointID, into: digest, nowMs: now, fence: fence)
          batch.append(PendingDelivery(event: digest, endpoint: endpoint, attempts: 0, createdMs: now))
        }
        if !batch.isEmpty { batches.append(batch.map { Self.refreshed($0, alerts: alerts) }) }
      }
      return batches
    }
    let message = DeliveryMessage(cockpitURL: settings.cockpitURL)
    // Endpoints side by side; each endpoint's messages in order, each answer recorded as it
    // comes, so a slow receiver holds back neither another's record nor a crash's replay.
    let sent = try await withThrowingTaskGroup(of: Int.self) { group in
      for batch in batches {
        group.addTask {
          for delivery in batch {
            let sentMs = provider.clock()
            let result = await poster.post(
              message.request(delivery.event, to: delivery.endpoint, nowMs: sentMs), kind: delivery.endpoint.kind)
            let outcome = outcome(of: result, delivery: delivery, atMs: provider.clock())
            try await BlockingWork.run {
              try store.record(outcome, eventID: delivery.event.id, endpointID: delivery.endpoint.id, atMs: sentMs, fence: fence)
              count(outcome, tenant: tenant, DeliveryKey(eventID: delivery.event.id, endpointID: delivery.endpoint.id))
              // A failing endpoint backs off as a whole: the rest of its queue waits with
              // the message that failed, rather than each being tried against it now.
              if case .retry(let next, _) = outcome {
                try store.postpone(endpointID: delivery.endpoint.id, untilMs: next, fence: fence)
              }
            }
            // The rest of this endpoint's queue waits for its next attempt (or, gone, is in
            // the dead letter already).
            if case .retry = outcome { break }
            if case .gone = outcome { break }
          }
          return batch.count
        }
      }
      return try await group.reduce(0, +)
    }
    try await BlockingWork.run { provider.state.deliveryCues.looked(tenant, nextDueMs: try store.nextDeliveryMs()) }
    // More than a batch was due: look again next round.
    if sent >= Self.batchLimit { provider.state.deliveryCues.mark(tenant) }
  }

  /// What an answer means for the delivery: done, tried again with backoff, or given up.
  func outcome(of result: PostResult, delivery: PendingDelivery, atMs: Int64) -> DeliveryOutcome {
    switch result {
    case .accepted: return .delivered
    case .gone(let reason): return .gone(error: reason)
    case .failed(let reason):
      guard
        let next = settings.retry.nextAttemptMs(
          afterAttempts: delivery.attempts + 1, createdMs: delivery.createdMs, nowMs: atMs, jitter: Double.random(in: 0...1))
      else { return .dead(error: reason) }
      return .retry(atMs: next, error: reason)
    }
  }

  private func count(_ outcome: DeliveryOutcome, tenant: TenantID, _ key: DeliveryKey) {
    let (name, level): (String, Logger.Level) =
      switch outcome {
      case .delivered: ("delivered", .info)
      case .retry: ("retried", .notice)
      case .dead: ("dead", .warning)
      case .gone: ("gone", .warning)
      }
    TenantSeries.deliveries(tenant.rawValue, outcome: name).increment()
    var metadata: Logger.Metadata = ["tenant": "\(tenant)", "event": "\(key.eventID)", "endpoint": "\(key.endpointID)"]
    switch outcome {
    case .retry(let next, let error): metadata["error"] = "\(error)"; metadata["next_ms"] = "\(next)"
    case .dead(let error), .gone(let error): metadata["error"] = "\(error)"
    case .delivered: break
    }
    logger.log(level: level, "message \(name)", metadata: metadata)
  }

  /// The endpoints of `due`, in the order of their first due message.
  /// Removes `tenant`'s messages sent more than ``DeliverySettings/keepDays`` ago, at most
  /// once a day (on its first round after start, then on a round a day later).
  func pruneIfDue(_ tenant: TenantID, store: any DeliveryStore, nowMs: Int64, fence: LeaseFence) throws {
    guard settings.keepDays > 0 else { return }
    guard pruned.take(tenant, nowMs: nowMs, every: Self.pruneIntervalMs) else { return }
    let removed = try store.prune(beforeMs: nowMs - Int64(settings.keepDays) * 86_400_000, fence: fence)
    if removed.deliveries + removed.events > 0 {
      logger.info(
        "sent messages pruned",
        metadata: ["tenant": "\(tenant)", "deliveries": "\(removed.deliveries)", "events": "\(removed.events)"])
    }
  }

  /// The dead letter's reason for a delivery whose stored event or endpoint cannot be read.
  static let unreadable = "the stored event or endpoint cannot be read by this version of Sightline (replay it after upgrading)"

  static func orderedEndpoints(_ due: [PendingDelivery]) -> [String] {
    var seen: Set<String> = []
    return due.map(\.endpoint.id).filter { seen.insert($0).inserted }
  }

  /// The digest of `events` for one endpoint: its id is made of the endpoint and the first
  /// folded event, so a digest written before a crash is sent after it under the same id.
  static func digest(of events: [DeliveryEvent], endpointID: String, nowMs: Int64) -> DeliveryEvent {
    var facts = DeliveryFacts()
    facts.subject = endpointID
    facts.summary = "\(events.count) events"
    facts.folded = events.map(FoldedEvent.init)
    return DeliveryEvent(id: "digest-\(endpointID)-\(events.first?.id ?? "")", kind: .digest, atMs: nowMs, facts: facts)
  }

  /// An alert's message names the contributors found after it opened (they are saved just
  /// after the alert, in the same round).
  static func refreshed(_ delivery: PendingDelivery, alerts: any AlertStore) -> PendingDelivery {
    guard delivery.event.kind == .alertOpened, delivery.event.facts.contributors.isEmpty,
      let alert = try? alerts.alert(id: delivery.event.facts.subject), !alert.contributors.isEmpty
    else { return delivery }
    var refreshed = delivery
    refreshed.event.facts.contributors = DeliveryEvent(alert, kind: .alertOpened).facts.contributors
    return refreshed
  }
}

/// When each tenant was last pruned (shared by the deliverer's copies).
private final class PruneTimes: Sendable {
  private let last = Mutex<[TenantID: Int64]>([:])

  /// Whether `tenant` is due (not pruned within `every` ms of `nowMs`); if so, it counts as
  /// pruned now.
  func take(_ tenant: TenantID, nowMs: Int64, every: Int64) -> Bool {
    last.withLock { last in
      if let previous = last[tenant], nowMs - previous < every { return false }
      last[tenant] = nowMs
      return true
    }
  }
}

/// The tenants being delivered to now.
final class BusyTenants: Sendable {
  private let tenants = Mutex<Set<TenantID>>([])

  var count: Int { tenants.withLock { $0.count } }
  func contains(_ tenant: TenantID) -> Bool { tenants.withLock { $0.contains(tenant) } }
  func insert(_ tenant: TenantID) { _ = tenants.withLock { $0.insert(tenant) } }
  func remove(_ tenant: TenantID) { _ = tenants.withLock { $0.remove(tenant) } }
}
