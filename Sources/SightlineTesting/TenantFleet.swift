import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// Many tenants on one running suite, as an operator onboarding customers makes them:
/// created through the gateway, each given a few ticket events, then checked for being
/// visible (read-your-writes) in metrics and segmentation. `bench-tenants` and the
/// many-tenant test run it.
public struct TenantFleet: Sendable {
  /// One tenant of the fleet.
  public struct Member: Sendable {
    /// Its name and admin key.
    public var name: String
    public var key: String
    /// The log offset its last ingest reached.
    public var offset: Int64 = 0

    /// A member from its parts.
    public init(name: String, key: String, offset: Int64 = 0) {
      self.name = name
      self.key = key
      self.offset = offset
    }
  }

  /// Calls in flight at once.
  public var concurrency: Int
  private let client: GRPCClient<HTTP2ClientTransport.Posix>

  /// A fleet driven through `client` (a gateway client), `concurrency` calls at a time.
  public init(client: GRPCClient<HTTP2ClientTransport.Posix>, concurrency: Int = 16) {
    self.client = client
    self.concurrency = concurrency
  }

  /// Runs `body` for each of `items`, at most `concurrency` at once; results in order.
  public func forEach<Item: Sendable, Result: Sendable>(
    _ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Result
  ) async throws -> [Result] {
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
      var results = [Result?](repeating: nil, count: items.count)
      var next = 0
      for _ in 0..<min(concurrency, items.count) {
        let index = next
        group.addTask { (index, try await body(items[index])) }
        next += 1
      }
      while let (index, result) = try await group.next() {
        results[index] = result
        if next < items.count {
          let index = next
          group.addTask { (index, try await body(items[index])) }
          next += 1
        }
      }
      return results.map { $0! }
    }
  }

  /// Creates `count` tenants named `prefix-00001`… with the operator key.
  public func create(count: Int, prefix: String, operatorKey: String) async throws -> [Member] {
    let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
    let names = (1...max(count, 1)).prefix(count).map { "\(prefix)-\(String(format: "%05d", $0))" }
    return try await forEach(names) { name in
      let reply = try await TransientRetry.run(report: { _ in }) {
        try await gateway.createTenant(.with { $0.name = name }, metadata: SuiteMetadata.bearer(operatorKey))
      }
      return Member(name: name, key: reply.adminSecret)
    }
  }

  /// Ingests `events` ticket events (one call) into `member`; returns the member with its
  /// new offset and the call's latency.
  public func ingest(_ member: Member, events: Int, sequence: Int = 0) async throws -> (Member, Duration) {
    let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
    let batch = (0..<events).map { Self.ticketEvent(tenant: member.name, sequence: sequence * 1_000_000 + $0) }
    let started = ContinuousClock.now
    let reply = try await TransientRetry.run(report: { _ in }) {
      try await ingestion.ingest(.with { $0.events = batch }, metadata: SuiteMetadata.bearer(member.key))
    }
    var updated = member
    updated.offset = reply.offset
    return (updated, ContinuousClock.now - started)
  }

  /// Waits until `member`'s last ingest is visible in `service` (metrics: a volume query;
  /// segmentation: a scorecard), both carrying its offset as `min_offset`, within `wait`.
  public func readYourWrites(_ member: Member, in service: SuiteComponent, wait: Duration) async throws {
    var options = CallOptions.defaults
    options.timeout = wait
    let metadata = SuiteMetadata.bearer(member.key)
    if service == .segmentation {
      _ = try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).getScorecard(
        .with {
          $0.segment = "vip"
          $0.minOffset = member.offset
        }, metadata: metadata, options: options)
    } else {
      _ = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
        .with {
          $0.kpis = [.volume]
          $0.minOffset = member.offset
        }, metadata: metadata, options: options)
    }
  }

  /// Whether `member`'s last ingest is visible in metrics and segmentation within `wait`.
  public func isVisible(_ member: Member, wait: Duration) async -> Bool {
    do {
      try await readYourWrites(member, in: .metrics, wait: wait)
      try await readYourWrites(member, in: .segmentation, wait: wait)
      return true
    } catch {
      return false
    }
  }

  /// Checks every member until each is visible or `deadline` passes; returns those still
  /// not visible (empty: all are).
  public func waitUntilVisible(_ members: [Member], deadline: ContinuousClock.Instant) async throws -> [Member] {
    var remaining = members
    while !remaining.isEmpty && ContinuousClock.now < deadline {
      let visible = try await forEach(remaining) { member in await isVisible(member, wait: .seconds(2)) }
      remaining = zip(remaining, visible).filter { !$0.1 }.map(\.0)
    }
    return remaining
  }

  /// A ticket-created event for the fleet's tenants: a unique id, a ticket per event.
  public static func ticketEvent(tenant: String, sequence: Int) -> Sightline_Ingestion_V1_Event {
    .with {
      $0.eventID = "\(tenant)-\(sequence)"
      $0.ticketEvent = .with {
        $0.ticketID = "T\(sequence)"
        $0.customerID = "C\(sequence % 97)"
        $0.time = RFC3339.format(milliseconds: WallClock.unixMilliseconds())
        $0.kind = .created
        $0.channel = "web"
      }
    }
  }

}
