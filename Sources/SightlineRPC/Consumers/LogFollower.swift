import Foundation
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
    var failures: [TenantID: Int] = [:]
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
    while !Task.isCancelled {
      do {
        let from = try consumer.appliedOffset(tenant: tenant)
        var metadata = Metadata()
        metadata.addString(tenant.rawValue, forKey: SuiteMetadata.tenantKey)
        try await ingestion.subscribe(.with { $0.fromOffset = from }, metadata: metadata) { response in
          for try await message in response.messages {
            self.state.withLock { $0.failures[tenant] = 0 }
            guard let last = message.entries.last?.offset else { continue }
            try self.consumer.apply(message.entries, throughOffset: last, tenant: tenant)
          }
        }
      } catch {
        if Task.isCancelled { break }
        state.withLock { $0.failures[tenant, default: 0] += 1 }
        logger.warning("log subscription broke; resubscribing", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
      // Capped exponential backoff with jitter: 0.1 s, 0.2 s, ... up to 5 s.
      let failures = state.withLock { $0.failures[tenant] ?? 0 }
      let base = min(5.0, 0.1 * pow(2.0, Double(min(failures, 6))))
      try? await Task.sleep(for: .milliseconds(Int(base * 1000 * Double.random(in: 0.5...1.0))))
    }
  }
}
