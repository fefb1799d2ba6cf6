import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
import Metrics
public import ServiceLifecycle
public import SightlineModel
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// What a downstream service does with the log: where it stands and how it applies a
/// batch. `apply` must store the derived state and the offset reached in one transaction.
public protocol LogConsumer: Sendable {
  /// The last offset applied for `tenant` (0 before the first).
  func appliedOffset(tenant: TenantID) throws -> Int64
  /// Applies `entries` (in offset order) for `tenant` and records `throughOffset` with them,
  /// atomically, unless `fence` is no longer the tenant's lease (then it throws
  /// ``LeaseLost`` and writes nothing). Called again with entries already applied after a
  /// failure: skip them.
  func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID, fence: LeaseFence) throws
}

/// Folds every tenant's log into a downstream service (docs/architecture.md, "Data flow between services"),
/// at a cost that does not grow with the number of idle tenants:
/// - one change feed (`TenantDirectory/WatchChanges`) says which tenants' logs moved, and
///   to which head, whatever the number of tenants;
/// - a fixed pool of workers catches those tenants up, one bounded turn (`ReadLog`, at
///   most `maxEntriesPerTurn` entries) at a time, in first-come order: a tenant still
///   behind after its turn goes to the back of the queue, so a busy tenant cannot starve
///   the others;
/// - an idle tenant costs no stream, no task and no open file: only its two offsets here;
/// - with several replicas, each folds only the tenants ``TenantOwnership`` assigns it, and
///   writes under the tenant's lease (a fence): a replica that lost the lease while paused
///   is refused by the store, and learns the other replicas' progress from
///   ``observeApplied(_:tenant:)``.
///
/// A turn that fails is retried after a capped exponential backoff; the feed reconnects the
/// same way and its first messages (every tenant's head) reconcile whatever was missed.
public final class LogFollower: Service, Sendable {
  /// Workers folding at once.
  public let workers: Int
  /// Entries one worker takes from one tenant before it moves on.
  public let maxEntriesPerTurn: Int
  /// Entries per `ReadLog` call (a turn reads up to `maxEntriesPerTurn` in such pages).
  public let pageEntries: Int
  /// Each tenant's applied offset, published after every turn that moved it: what
  /// read-your-writes waits are woken by.
  public let appliedProgress = TenantBroadcast<Int64>(buffering: .bufferingNewest(1))

  /// Which tenants this replica folds.
  public let ownership: TenantOwnership
  private let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let consumer: any LogConsumer
  private let logger: Logger
  private let queue = TurnQueue()
  private let state = Mutex(State())

  private struct State {
    var progress: [TenantID: Progress] = [:]
    /// Tenants whose applied offset is known (read from the consumer's store once, or
    /// heard from the replica that folded it).
    var appliedKnown: Set<TenantID> = []
    /// The lease token under which each tenant's applied offset was last read or written
    /// here: under another token (or none), it must be read again before a write.
    var appliedToken: [TenantID: Int64] = [:]
    /// Tenants waiting out a backoff after a failed turn, and when to try again.
    var retryAt: [TenantID: ContinuousClock.Instant] = [:]
    var failures: [TenantID: Int] = [:]
    /// Tenants whose data was deleted: their turns end and nothing is recorded.
    var stopped: Set<TenantID> = []
    /// Whether the feed is connected and has delivered its first complete snapshot.
    var feedProblem: String? = "the change feed from ingestion is not connected yet"
    var feedFailingSince: ContinuousClock.Instant? = .now
  }

  /// How one tenant's consumption is doing.
  public struct Progress: Sendable, Equatable {
    /// The last offset applied, and the log's head when ingestion last said.
    public var applied: Int64 = 0
    public var head: Int64 = 0
    /// Since when it has failed without a success in between, and the last error.
    public var failingSince: ContinuousClock.Instant?
    public var lastError = ""

    /// Events behind the log's head.
    public var lag: Int64 { max(0, head - applied) }

    /// A progress from its parts.
    public init(applied: Int64 = 0, head: Int64 = 0, failingSince: ContinuousClock.Instant? = nil, lastError: String = "") {
      self.applied = applied
      self.head = head
      self.failingSince = failingSince
      self.lastError = lastError
    }
  }

  /// Every followed tenant's progress.
  public var progress: [TenantID: Progress] { state.withLock { $0.progress } }

  /// Tenants followed (every tenant with a log that is this replica's to fold), and how many
  /// of them are behind their head.
  public var counts: (followed: Int, behind: Int) {
    let owned = ownedProgress
    return (owned.count, owned.values.count { $0.lag > 0 })
  }

  /// The progress of the tenants this replica folds (another replica answers for the rest).
  private var ownedProgress: [TenantID: Progress] {
    state.withLock { $0.progress }.filter { ownership.isAssigned($0.key) }
  }

  /// What readiness reports while serving: "following N tenants, M behind".
  public var healthDetail: @Sendable () -> String? {
    {
      let (followed, behind) = self.counts
      return "following \(followed) tenant\(followed == 1 ? "" : "s"), \(behind) behind"
    }
  }

  /// A readiness check of this follower: the feed down for more than 30 s, a tenant failing
  /// for more than 30 s, or more than `maxLag` events behind.
  public func readinessCheck(maxLag: Int64) -> ReadinessMonitor.Check {
    {
      let (feedProblem, feedSince) = self.state.withLock { ($0.feedProblem, $0.feedFailingSince) }
      let progress = self.ownedProgress
      var problems: [String] = []
      if let feedProblem, let feedSince, ContinuousClock.now - feedSince > .seconds(30) { problems.append(feedProblem) }
      if let tenants = Self.readinessProblem(progress, maxLag: maxLag, failureGrace: .seconds(30)) { problems.append(tenants) }
      return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
  }

  /// The readiness verdict on `progress`: a problem when a tenant is more than `maxLag`
  /// events behind the log's head, or its consumption has failed for longer than
  /// `failureGrace` (a restart of ingestion takes a second or two, so brief failures pass).
  /// Names at most five tenants, and says how many more.
  public static func readinessProblem(
    _ progress: [TenantID: Progress], maxLag: Int64, failureGrace: Duration, now: ContinuousClock.Instant = .now
  ) -> String? {
    var problems: [String] = []
    for (tenant, state) in progress.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      if let since = state.failingSince, now - since > failureGrace {
        problems.append(
          "the log subscription of tenant \(tenant) has failed for \((now - since).components.seconds) s (\(state.lastError))")
      } else if state.lag > maxLag {
        problems.append("tenant \(tenant) is \(state.lag) events behind ingestion's log (the limit is \(maxLag))")
      }
    }
    guard !problems.isEmpty else { return nil }
    let shown = problems.prefix(5).joined(separator: "; ")
    return problems.count > 5 ? "\(shown); and \(problems.count - 5) more tenants" : shown
  }

  /// Why `tenant`'s queries may see stale data, if something is wrong: its consumption is
  /// failing, or the change feed is down.
  public func problem(of tenant: TenantID) -> String? {
    state.withLock { state in
      if let progress = state.progress[tenant], progress.failingSince != nil {
        return "the consumer cannot fold this tenant's log: \(progress.lastError)"
      }
      return state.feedProblem.map { "the consumer is not following ingestion: \($0)" }
    }
  }

  /// A follower calling ingestion through `client` (mutual TLS, service identity), with
  /// `workers` folding at once, each taking at most `maxEntriesPerTurn` entries of a tenant
  /// per turn, folding the tenants `ownership` assigns it (all of them, by default).
  public init(
    client: GRPCClient<HTTP2ClientTransport.Posix>, consumer: any LogConsumer, logger: Logger,
    ownership: TenantOwnership? = nil, workers: Int = 4, maxEntriesPerTurn: Int = 30_000, pageEntries: Int = 10_000
  ) {
    self.ownership = ownership ?? .sole(component: "consumer", logger: logger)
    self.client = client
    self.consumer = consumer
    self.logger = logger
    self.workers = max(1, workers)
    self.maxEntriesPerTurn = max(1, maxEntriesPerTurn)
    self.pageEntries = max(1, min(pageEntries, maxEntriesPerTurn))
  }

  /// Makes sure `tenant` is caught up (a call for it arrived): a tenant not heard of yet
  /// gets a turn, which learns its head from ingestion.
  public func follow(_ tenant: TenantID) {
    let unknown = state.withLock { $0.progress[tenant] == nil && !$0.stopped.contains(tenant) }
    if unknown {
      ownership.know([tenant])
      queue.enqueue(tenant)
    }
  }

  /// Another replica (or this one) committed `tenant`'s fold through `offset`: wakes the
  /// read-your-writes waits of this replica, which may not be the one folding the tenant.
  public func observeApplied(_ offset: Int64, tenant: TenantID) {
    let moved = state.withLock { state -> Bool in
      guard !state.stopped.contains(tenant) else { return false }
      var progress = state.progress[tenant] ?? Progress()
      guard offset > progress.applied || !state.appliedKnown.contains(tenant) else { return false }
      progress.applied = max(progress.applied, offset)
      progress.head = max(progress.head, offset)
      state.progress[tenant] = progress
      state.appliedKnown.insert(tenant)
      return true
    }
    if moved { appliedProgress.publish(offset, tenant: tenant) }
  }

  /// Stops following `tenant`, whose data is being deleted: a turn in progress ends without
  /// recording anything, its progress is forgotten (readiness does not count it), and its
  /// waits end. A later import is followed again once the feed reports it.
  public func stop(_ tenant: TenantID) {
    state.withLock { state in
      state.stopped.insert(tenant)
      state.progress[tenant] = nil
      state.appliedKnown.remove(tenant)
      state.appliedToken[tenant] = nil
      state.retryAt[tenant] = nil
      state.failures[tenant] = nil
    }
    ownership.forget(tenant)
    appliedProgress.finish(tenant: tenant)
  }

  public func run() async throws {
    ownership.onGain { [weak self] tenants in self?.gained(tenants) }
    await withDiscardingTaskGroup { group in
      group.addTask { await self.ownership.run() }
      group.addTask { await self.watchChanges() }
      group.addTask { await self.retryWhenDue() }
      for _ in 0..<workers {
        group.addTask { await self.work() }
      }
      // Shutdown: the feed ends, the workers stop between turns.
      try? await gracefulShutdown()
      queue.close()
      group.cancelAll()
    }
  }

  // MARK: The change feed

  private func watchChanges() async {
    let directory = Sightline_Ingestion_V1_TenantDirectory.Client(wrapping: client)
    var failures = 0
    while !Task.isCancelled {
      do {
        let delivered = try await directory.watchChanges(.init()) { response in
          var delivered = false
          for try await message in response.messages {
            delivered = true
            self.received(message)
          }
          return delivered
        }
        if delivered { failures = 0 }
        if Task.isCancelled { return }
        throw RPCError(code: .unavailable, message: "the change feed ended")
      } catch {
        if Task.isCancelled { return }
        failures += 1
        state.withLock { state in
          state.feedProblem = "the change feed from ingestion broke: \(error)"
          state.feedFailingSince = state.feedFailingSince ?? .now
        }
        logger.warning("the change feed from ingestion broke; reconnecting", metadata: ["error": "\(error)"])
        try? await Task.sleep(for: Self.backoff(failures: failures))
      }
    }
  }

  private func received(_ message: Sightline_Ingestion_V1_WatchChangesResponse) {
    var due: [TenantID] = []
    ownership.know(message.heads.compactMap { TenantID($0.tenant) })
    state.withLock { state in
      if message.snapshotComplete {
        state.feedProblem = nil
        state.feedFailingSince = nil
      }
      for name in message.deleted {
        guard let tenant = TenantID(name) else { continue }
        state.progress[tenant] = nil
        state.appliedKnown.remove(tenant)
        state.appliedToken[tenant] = nil
        ownership.forget(tenant)
      }
      for head in message.heads {
        guard let tenant = TenantID(head.tenant) else { continue }
        // A head for a tenant once deleted here means it was imported again.
        state.stopped.remove(tenant)
        var progress = state.progress[tenant] ?? Progress()
        progress.head = max(progress.head, head.headOffset)
        state.progress[tenant] = progress
        let known = state.appliedKnown.contains(tenant)
        if (!known || progress.applied < progress.head) && state.retryAt[tenant] == nil { due.append(tenant) }
      }
    }
    // Another replica folds the rest.
    for tenant in due where ownership.isAssigned(tenant) { queue.enqueue(tenant) }
  }

  /// Tenants newly assigned here (a replica left, or this one joined): those behind, or
  /// whose progress is not known here, get a turn.
  private func gained(_ tenants: [TenantID]) {
    let due = state.withLock { state in
      tenants.filter { tenant in
        guard !state.stopped.contains(tenant), let progress = state.progress[tenant] else { return false }
        return !state.appliedKnown.contains(tenant) || progress.applied < progress.head
      }
    }
    for tenant in due { queue.enqueue(tenant) }
  }

  /// Puts tenants whose backoff has passed back in the queue; once a second, records how
  /// many tenants are followed and behind (`sightline_consumer_tenants`).
  private func retryWhenDue() async {
    var round = 0
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(100))
      round += 1
      if round % 10 == 0 {
        let (followed, behind) = counts
        Gauge(label: "sightline_consumer_tenants", dimensions: [("state", "followed")]).record(followed)
        Gauge(label: "sightline_consumer_tenants", dimensions: [("state", "behind")]).record(behind)
      }
      let now = ContinuousClock.now
      let due = state.withLock { state -> [TenantID] in
        let due = state.retryAt.filter { $0.value <= now }.map(\.key)
        for tenant in due { state.retryAt[tenant] = nil }
        return due
      }
      for tenant in due { queue.enqueue(tenant) }
    }
  }

  // MARK: Workers

  private func work() async {
    while let tenant = await queue.next() {
      let again = await turn(tenant)
      queue.finished(tenant, again: again)
    }
  }

  /// One turn of `tenant`: reads at most `maxEntriesPerTurn` entries after its applied
  /// offset, a page of `pageEntries` at a time, and applies them page by page. While one
  /// page is folded the next is already being read (ingestion reads and sends it, this
  /// process decodes it), so a tenant catching up keeps both busy. Returns whether it is
  /// still behind (another turn is due).
  private func turn(_ tenant: TenantID) async -> Bool {
    guard ownership.isAssigned(tenant) else { return false }
    let metadata = SuiteMetadata.forTenant(tenant)
    let directory = Sightline_Ingestion_V1_TenantDirectory.Client(wrapping: client)
    let pageEntries = self.pageEntries
    func read(after offset: Int64) -> Task<Sightline_Ingestion_V1_ReadLogResponse, any Error> {
      Task {
        try await directory.readLog(
          .with {
            $0.fromOffset = offset
            $0.maxEntries = Int32(pageEntries)
          }, metadata: metadata)
      }
    }
    var next: Task<Sightline_Ingestion_V1_ReadLogResponse, any Error>?
    defer { next?.cancel() }
    do {
      guard let applied = try await BlockingWork.run({ try self.appliedOffset(tenant) }) else { return false }
      var reached = applied
      var entriesRead = 0
      // Claimed at once when the tenant is known to be behind (a takeover should not wait
      // for a page to be read), else at the first page with entries: a caught-up tenant
      // costs no lease work.
      var fence: LeaseFence?
      if state.withLock({ ($0.progress[tenant]?.lag ?? 0) > 0 }) {
        guard let claimed = try await claim(tenant, readFrom: applied) else { return false }
        fence = claimed
      }
      next = read(after: applied)
      while let page = next {
        let reply = try await page.value
        next = nil
        if state.withLock({ $0.stopped.contains(tenant) }) { return false }
        let last = reply.entries.last?.offset
        entriesRead += reply.entries.count
        // A full page means more may follow: read it while this one is folded.
        if let last, reply.entries.count >= pageEntries, entriesRead < maxEntriesPerTurn { next = read(after: last) }
        if let last {
          if fence == nil {
            guard let claimed = try await claim(tenant, readFrom: applied) else { return false }
            fence = claimed
          }
          try await BlockingWork.run { [fence] in
            try self.consumer.apply(reply.entries, throughOffset: last, tenant: tenant, fence: fence!)
          }
          reached = last
        }
        let behind = state.withLock { state -> Bool in
          guard !state.stopped.contains(tenant) else { return false }
          state.failures[tenant] = nil
          var progress = state.progress[tenant] ?? Progress()
          progress.applied = reached
          progress.head = max(progress.head, reply.headOffset, reached)
          progress.failingSince = nil
          progress.lastError = ""
          state.progress[tenant] = progress
          TenantSeries.consumerLag(tenant.rawValue).record(progress.lag)
          return progress.lag > 0
        }
        if reached > applied { appliedProgress.publish(reached, tenant: tenant) }
        if next == nil { return behind }
      }
      return false
    } catch let error as LeaseLost {
      // Paused or cut off past the lease: another replica folds this tenant now.
      ownership.lost(tenant)
      state.withLock { state in
        state.appliedKnown.remove(tenant)
        state.appliedToken[tenant] = nil
      }
      logger.warning("a fold was refused by fencing: another replica took this tenant over", metadata: ["error": "\(error)"])
      return false
    } catch {
      if Task.isCancelled || state.withLock({ $0.stopped.contains(tenant) }) { return false }
      let failures = state.withLock { state -> Int in
        let failures = (state.failures[tenant] ?? 0) + 1
        state.failures[tenant] = failures
        var progress = state.progress[tenant] ?? Progress()
        progress.failingSince = progress.failingSince ?? .now
        progress.lastError = "\(error)"
        state.progress[tenant] = progress
        state.retryAt[tenant] = .now + Self.backoff(failures: failures)
        return failures
      }
      // The first failure and then every tenth: a tenant that keeps failing is in the log
      // without flooding it.
      if failures == 1 || failures % 10 == 0 {
        logger.warning(
          "cannot fold the tenant's log; retrying with backoff",
          metadata: ["tenant": "\(tenant)", "failures": "\(failures)", "error": "\(error)"])
      }
      return false
    }
  }

  /// The fence to fold `tenant` with, having read from `readFrom`; nil when there is
  /// nothing to do now: the tenant is another replica's, or its lease is still held by
  /// another (tried again shortly), or the applied offset moved since it was read here
  /// (another replica folded meanwhile; the tenant is queued again to read from there).
  private func claim(_ tenant: TenantID, readFrom: Int64) async throws -> LeaseFence? {
    switch try await BlockingWork.run({ try self.ownership.fence(for: tenant) }) {
    case .notMine:
      return nil
    case .busy:
      state.withLock { $0.retryAt[tenant] = .now + .milliseconds(200) }
      return nil
    case .held(let fence):
      if state.withLock({ $0.appliedToken[tenant] }) == fence.token { return fence }
      // First write under this lease: what was read before may be stale.
      let stored = try await BlockingWork.run { try self.consumer.appliedOffset(tenant: tenant) }
      let moved = state.withLock { state -> Bool in
        state.appliedToken[tenant] = fence.token
        state.appliedKnown.insert(tenant)
        var progress = state.progress[tenant] ?? Progress()
        progress.applied = stored
        progress.head = max(progress.head, stored)
        state.progress[tenant] = progress
        return stored != readFrom
      }
      if moved {
        queue.enqueue(tenant)
        return nil
      }
      return fence
    }
  }

  /// The applied offset of `tenant`: from memory, or (once) from the consumer's store. Nil
  /// for a tenant that was stopped.
  private func appliedOffset(_ tenant: TenantID) throws -> Int64? {
    let known = state.withLock { state -> Int64?? in
      if state.stopped.contains(tenant) { return .some(nil) }
      return state.appliedKnown.contains(tenant) ? .some(state.progress[tenant]?.applied ?? 0) : nil
    }
    if let known { return known }
    let stored = try consumer.appliedOffset(tenant: tenant)
    return state.withLock { state -> Int64? in
      guard !state.stopped.contains(tenant) else { return nil }
      state.appliedKnown.insert(tenant)
      var progress = state.progress[tenant] ?? Progress()
      progress.applied = stored
      progress.head = max(progress.head, stored)
      state.progress[tenant] = progress
      return stored
    }
  }

  /// Capped exponential backoff with jitter: 0.1 s, 0.2 s, … up to 5 s.
  static func backoff(failures: Int) -> Duration {
    let base = min(5.0, 0.1 * pow(2.0, Double(min(max(failures - 1, 0), 6))))
    return .milliseconds(Int(base * 1000 * Double.random(in: 0.5...1.0)))
  }
}

/// The workers' queue of tenants due a turn: first come, first served; a tenant is queued
/// at most once, and a tenant in a turn is not handed to a second worker (one tenant's
/// batches apply in order). A tenant that becomes due during its turn goes to the back of
/// the queue when the turn ends.
final class TurnQueue: Sendable {
  private struct State {
    var order: [TenantID] = []
    var head = 0
    var queued: Set<TenantID> = []
    var running: Set<TenantID> = []
    var dueAgain: Set<TenantID> = []
    var waiters: [CheckedContinuation<TenantID?, Never>] = []
    var closed = false
  }

  private let state = Mutex(State())

  /// Makes `tenant` due a turn.
  func enqueue(_ tenant: TenantID) {
    let waiter = state.withLock { state -> CheckedContinuation<TenantID?, Never>? in
      if state.closed || state.queued.contains(tenant) { return nil }
      if state.running.contains(tenant) {
        state.dueAgain.insert(tenant)
        return nil
      }
      if !state.waiters.isEmpty {
        state.running.insert(tenant)
        return state.waiters.removeFirst()
      }
      state.queued.insert(tenant)
      state.order.append(tenant)
      return nil
    }
    waiter?.resume(returning: tenant)
  }

  /// The next tenant due a turn, waiting for one; nil once closed.
  func next() async -> TenantID? {
    await withCheckedContinuation { continuation in
      let ready = state.withLock { state -> TenantID?? in
        if state.closed { return .some(nil) }
        guard state.head < state.order.count else {
          state.waiters.append(continuation)
          return nil
        }
        let tenant = state.order[state.head]
        state.head += 1
        // Compact now and then, so the array does not grow with every turn ever taken.
        if state.head > 1_024 && state.head * 2 > state.order.count {
          state.order.removeFirst(state.head)
          state.head = 0
        }
        state.queued.remove(tenant)
        state.running.insert(tenant)
        return .some(tenant)
      }
      if let ready { continuation.resume(returning: ready) }
    }
  }

  /// Ends `tenant`'s turn; queues it again (at the back) if `again` or it became due meanwhile.
  func finished(_ tenant: TenantID, again: Bool) {
    let requeue = state.withLock { state -> Bool in
      state.running.remove(tenant)
      return state.dueAgain.remove(tenant) != nil || again
    }
    if requeue { enqueue(tenant) }
  }

  /// Wakes every waiting worker with nil; later calls to `next` return nil at once.
  func close() {
    let waiters = state.withLock { state -> [CheckedContinuation<TenantID?, Never>] in
      state.closed = true
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume(returning: nil) }
  }
}
