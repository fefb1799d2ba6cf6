import Foundation
import Metrics
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
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
  /// atomically. Called again with entries already applied after a reconnect: skip them.
  func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID) throws
}

/// Tails ingestion's `Subscribe` stream for every tenant (DESIGN.md, "Storage and data
/// flow"): discovers tenants through ingestion's `TenantDirectory` (and on demand, when a
/// call for a new tenant arrives), follows each from the offset its consumer stored,
/// reconnects with capped exponential backoff, and stops between batches on shutdown.
public final class LogFollower: Service, Sendable {
  /// How often ingestion is asked for new tenants.
  public let discoveryInterval: Duration
  private let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let consumer: any LogConsumer
  private let logger: Logger
  private let wanted: AsyncStream<TenantID>
  private let wantedContinuation: AsyncStream<TenantID>.Continuation
  private let state = Mutex(State())

  private struct State {
    var following: Set<TenantID> = []
    /// Tenants whose data was deleted: their subscriptions end at the next turn.
    var stopped: Set<TenantID> = []
    var failures: [TenantID: Int] = [:]
    var progress: [TenantID: Progress] = [:]
  }

  /// How one tenant's subscription is doing.
  public struct Progress: Sendable, Equatable {
    /// The last offset applied, and the log's head when ingestion last said.
    public var applied: Int64 = 0
    public var head: Int64 = 0
    /// Since when it has failed without a delivery in between, and the last error.
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

  /// A readiness check of this follower: failing for more than 30 s, or more than `maxLag`
  /// events behind.
  public func readinessCheck(maxLag: Int64) -> ReadinessMonitor.Check {
    { Self.readinessProblem(self.progress, maxLag: maxLag, failureGrace: .seconds(30)) }
  }

  /// The readiness verdict on `progress`: a problem when a tenant is more than `maxLag`
  /// events behind the log's head, or its subscription has failed for longer than
  /// `failureGrace` (a restart of ingestion takes a second or two, so brief failures pass).
  public static func readinessProblem(
    _ progress: [TenantID: Progress], maxLag: Int64, failureGrace: Duration, now: ContinuousClock.Instant = .now
  ) -> String? {
    var problems: [String] = []
    for (tenant, state) in progress.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      if let since = state.failingSince, now - since > failureGrace {
        problems.append("the log subscription of tenant \(tenant) has failed for \((now - since).components.seconds) s (\(state.lastError))")
      } else if state.lag > maxLag {
        problems.append("tenant \(tenant) is \(state.lag) events behind ingestion's log (the limit is \(maxLag))")
      }
    }
    return problems.isEmpty ? nil : problems.joined(separator: "; ")
  }

  /// A follower calling ingestion through `client` (mutual TLS, service identity).
  public init(client: GRPCClient<HTTP2ClientTransport.Posix>, consumer: any LogConsumer, logger: Logger,
              discoveryInterval: Duration = .seconds(2)) {
    self.client = client
    self.consumer = consumer
    self.logger = logger
    self.discoveryInterval = discoveryInterval
    (wanted, wantedContinuation) = AsyncStream.makeStream(of: TenantID.self)
  }

  /// Starts following `tenant` if it is not followed yet (a call for it arrived).
  public func follow(_ tenant: TenantID) {
    if !state.withLock({ $0.following.contains(tenant) }) { wantedContinuation.yield(tenant) }
  }

  /// Stops following `tenant`, whose data is being deleted: its subscription ends at its
  /// next turn (ingestion deletes the tenant's log first, which ends the stream) and its
  /// progress is forgotten, so readiness does not count it. A later import is found again
  /// by discovery.
  public func stop(_ tenant: TenantID) {
    state.withLock { state in
      if state.following.contains(tenant) { state.stopped.insert(tenant) }
      state.progress[tenant] = nil
    }
  }

  /// Whether `tenant` was stopped; if so, forgets it, so that it can be followed anew.
  private func endIfStopped(_ tenant: TenantID) -> Bool {
    state.withLock { state in
      guard state.stopped.contains(tenant) else { return false }
      state.stopped.remove(tenant)
      state.following.remove(tenant)
      state.failures[tenant] = nil
      state.progress[tenant] = nil
      return true
    }
  }

  public func run() async throws {
    await withDiscardingTaskGroup { group in
      group.addTask { await self.discover() }
      for await tenant in wanted.cancelOnGracefulShutdown() {
        let isNew = state.withLock { $0.following.insert(tenant).inserted }
        if isNew { group.addTask { await self.followForever(tenant) } }
      }
      // Shutdown: stop discovery and every subscription (each stops between batches).
      group.cancelAll()
    }
  }

  private func discover() async {
    let directory = Sightline_Ingestion_V1_TenantDirectory.Client(wrapping: client)
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      do {
        let tenants = try await directory.listTenants(.init())
        for tenant in tenants.tenants.compactMap(TenantID.init) { follow(tenant) }
      } catch {
        logger.debug("tenant discovery failed; retrying", metadata: ["error": "\(error)"])
      }
      try? await Task.sleep(for: discoveryInterval)
    }
    wantedContinuation.finish()
  }

  private func followForever(_ tenant: TenantID) async {
    let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
    while !Task.isCancelled && !endIfStopped(tenant) {
      do {
        let from = try consumer.appliedOffset(tenant: tenant)
        var metadata = Metadata()
        metadata.addString(tenant.rawValue, forKey: SuiteMetadata.tenantKey)
        try await ingestion.subscribe(.with { $0.fromOffset = from }, metadata: metadata) { response in
          for try await message in response.messages {
            // Stop between batches on shutdown or delete: the stream may still hold
            // delivered batches, and applying them all would hold shutdown up.
            if Task.isCancelled || self.state.withLock({ $0.stopped.contains(tenant) }) { break }
            self.state.withLock { $0.failures[tenant] = 0 }
            if let last = message.entries.last?.offset {
              try self.consumer.apply(message.entries, throughOffset: last, tenant: tenant)
            }
            self.state.withLock { state in
              // A tenant being deleted keeps no progress and no series.
              guard !state.stopped.contains(tenant) else { return }
              var progress = state.progress[tenant] ?? Progress(applied: from)
              progress.applied = message.entries.last?.offset ?? progress.applied
              progress.head = max(message.headOffset, progress.applied)
              progress.failingSince = nil
              state.progress[tenant] = progress
              TenantSeries.consumerLag(tenant.rawValue).record(progress.lag)
            }
          }
        }
      } catch {
        if Task.isCancelled { break }
        if state.withLock({ $0.stopped.contains(tenant) }) { continue }
        state.withLock { state in
          state.failures[tenant, default: 0] += 1
          var progress = state.progress[tenant] ?? Progress()
          progress.failingSince = progress.failingSince ?? .now
          progress.lastError = "\(error)"
          state.progress[tenant] = progress
        }
        logger.warning("log subscription broke; resubscribing", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
      // Capped exponential backoff with jitter: 0.1 s, 0.2 s, ... up to 5 s.
      let failures = state.withLock { $0.failures[tenant] ?? 0 }
      let base = min(5.0, 0.1 * pow(2.0, Double(min(failures, 6))))
      try? await Task.sleep(for: .milliseconds(Int(base * 1000 * Double.random(in: 0.5...1.0))))
    }
  }
}
