import Foundation
public import Logging
import Metrics
public import SightlineModel
import Synchronization

/// Which tenants' background work (folding, alert rules, rollup warming) this replica
/// owns, among its component's live replicas (docs/scaling.md).
///
/// - Every `heartbeatInterval` it records itself alive in the ``LeaseStore`` and reads the
///   live members; with the tenants it knows of, ``TenantAssignment`` says which are its
///   own. Every replica computes the same assignment, so the tenants spread evenly and
///   rebalance when a replica joins or leaves.
/// - It claims a tenant's lease only when there is work to do (``fence(for:)``), and in
///   the same round renews, in one statement, the leases used within the lease time; the
///   others lapse. An idle tenant therefore costs no lease work.
/// - A tenant no longer assigned here is released at once, so its new owner need not wait
///   out the lease. A replica that dies stops renewing: its leases and its membership run
///   out after the lease time, and the survivors take its tenants over within a heartbeat.
/// - On the embedded backend (``SoleLeases``) the process is the only member and owns
///   every tenant.
public final class TenantOwnership: Sendable {
  /// This replica's name among its component's members (host, process id and a random part).
  public let member: String
  /// How long a lease or a membership lasts without renewal.
  public let leaseTime: Duration
  /// How often membership is recorded and leases renewed.
  public let heartbeatInterval: Duration
  private let store: any LeaseStore
  /// The only replica (``SoleLeases``): everything is its own, with nothing to compute.
  private let sole: Bool
  private let component: String
  private let logger: Logger
  private let state: Mutex<State>
  /// Told of tenants newly assigned here (to queue their work).
  private let gained = Mutex<(@Sendable ([TenantID]) -> Void)?>(nil)

  private struct State {
    /// The live members at the last heartbeat, sorted (empty before the first).
    var members: [String] = []
    var tenants: Set<TenantID> = []
    var assignment: [TenantID: String] = [:]
    var assignmentStale = true
    var assignedAt = ContinuousClock.now - .seconds(1)
    var held: [TenantID: Held] = [:]
  }

  private struct Held {
    var token: Int64
    /// Until when this process may take the lease as its own (a margin inside the lease
    /// time, measured from before the claim or renewal was sent).
    var validUntil: ContinuousClock.Instant
    var lastUsed: ContinuousClock.Instant
  }

  /// What ``fence(for:)`` found.
  public enum Claim: Sendable, Equatable {
    /// This replica holds the lease: write with this fence.
    case held(LeaseFence)
    /// The tenant is assigned to another replica.
    case notMine
    /// Assigned here, but another replica still holds the lease (it is handing over, or its
    /// time has not run out yet): try again shortly.
    case busy
  }

  /// Ownership of `component`'s tenants through `store`, with leases of `leaseTime`.
  public init(store: any LeaseStore, component: String, leaseTime: Duration = .seconds(10), logger: Logger) {
    self.store = store
    self.component = component
    self.leaseTime = leaseTime
    self.heartbeatInterval = min(leaseTime / 4, .milliseconds(500))
    self.logger = logger
    let host = ProcessInfo.processInfo.hostName
    member = "\(host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    sole = store is SoleLeases
    state = Mutex(State(members: sole ? [member] : []))
  }

  /// The only replica: every tenant is its own (the embedded backend, tests).
  public static func sole(component: String, logger: Logger) -> TenantOwnership {
    TenantOwnership(store: SoleLeases(), component: component, logger: logger)
  }

  /// Calls `body` with the tenants newly assigned here after each change of the
  /// assignment.
  public func onGain(_ body: @escaping @Sendable ([TenantID]) -> Void) {
    gained.withLock { $0 = body }
  }

  /// Adds tenants to those assigned over the members.
  public func know(_ tenants: some Sequence<TenantID>) {
    state.withLock { state in
      for tenant in tenants where state.tenants.insert(tenant).inserted { state.assignmentStale = true }
    }
  }

  /// Removes a tenant (its data was deleted).
  public func forget(_ tenant: TenantID) {
    state.withLock { state in
      if state.tenants.remove(tenant) != nil { state.assignmentStale = true }
      state.held[tenant] = nil
    }
  }

  /// The live members at the last heartbeat.
  public var members: [String] { state.withLock { $0.members } }

  /// The tenants whose lease this replica holds now.
  public var held: Set<TenantID> { state.withLock { Set($0.held.keys) } }

  /// Whether `tenant`'s work is this replica's, by the current assignment. A tenant new to
  /// the assignment has it computed again first (at most every 50 ms), so that a tenant
  /// does not start on one replica and move to another at the next heartbeat.
  public func isAssigned(_ tenant: TenantID) -> Bool {
    if sole { return true }
    let recompute = state.withLock { state in
      state.assignment[tenant] == nil && state.assignmentStale && ContinuousClock.now - state.assignedAt > .milliseconds(50)
    }
    if recompute { reassign() }
    return state.withLock { state in Self.owner(of: tenant, &state) == member }
  }

  /// The fence to write `tenant`'s owned work with: the lease held, claimed now if needed.
  public func fence(for tenant: TenantID) throws -> Claim {
    if sole { return .held(.sole) }
    let now = ContinuousClock.now
    let known = state.withLock { state -> Claim? in
      guard Self.owner(of: tenant, &state) == member else { return .notMine }
      guard var held = state.held[tenant], held.validUntil > now else { return nil }
      held.lastUsed = now
      state.held[tenant] = held
      return .held(LeaseFence(token: held.token, leaseTime: leaseTime))
    }
    if let known { return known }
    guard let token = try store.claim(tenant, member: member, ttl: leaseTime) else { return .busy }
    state.withLock { state in
      state.held[tenant] = Held(token: token, validUntil: now + leaseTime * 0.9, lastUsed: now)
    }
    return .held(LeaseFence(token: token, leaseTime: leaseTime))
  }

  /// A write of `tenant` was refused by fencing: the lease is another's now.
  public func lost(_ tenant: TenantID) {
    _ = state.withLock { $0.held.removeValue(forKey: tenant) }
    Counter(label: "sightline_fenced_writes_total", dimensions: [("component", component)]).increment()
  }

  /// Records membership, renews the leases in use and recomputes the assignment until
  /// cancelled; then leaves, giving up every lease.
  public func run() async {
    while !Task.isCancelled {
      // Off the cooperative pool: a heartbeat blocks on the database's round trips.
      try? await BlockingWork.run { self.beat() }
      try? await Task.sleep(for: heartbeatInterval)
    }
    do {
      try store.leave(member: member)
    } catch {
      logger.warning("could not give up this replica's leases; they run out by themselves", metadata: ["error": "\(error)"])
    }
  }

  /// One heartbeat: membership, renewals, releases of tenants assigned elsewhere, and news
  /// of tenants assigned here.
  func beat() {
    let sent = ContinuousClock.now
    do {
      let members = try store.heartbeat(member: member, ttl: leaseTime)
      let renew = state.withLock { state -> [TenantID: Int64] in
        if members != state.members {
          state.members = members
          state.assignmentStale = true
        }
        // Leases unused for a lease time lapse: an idle tenant costs no renewal.
        state.held = state.held.filter { sent - $0.value.lastUsed < leaseTime }
        return state.held.mapValues(\.token)
      }
      let renewed = try store.renew(renew, member: member, ttl: leaseTime)
      state.withLock { state in
        for tenant in renew.keys {
          if renewed.contains(tenant) {
            state.held[tenant]?.validUntil = sent + leaseTime * 0.9
          } else {
            state.held[tenant] = nil
          }
        }
      }
    } catch {
      logger.warning("could not record this replica's heartbeat; retrying", metadata: ["error": "\(error)"])
    }
    reassign()
  }

  /// Recomputes the assignment if members or tenants changed; releases leases of tenants
  /// now assigned elsewhere and tells of the tenants now assigned here.
  private func reassign() {
    let change = state.withLock { state -> (gained: [TenantID], released: [TenantID: Int64])? in
      guard state.assignmentStale, !state.members.isEmpty else { return nil }
      let before = state.assignment
      state.assignment = TenantAssignment.assign(state.tenants, to: state.members)
      state.assignmentStale = false
      state.assignedAt = .now
      let gained = state.assignment.filter { $0.value == member && before[$0.key] != member }.map(\.key)
      let released = state.held.filter { state.assignment[$0.key] != member }.mapValues(\.token)
      for tenant in released.keys { state.held[tenant] = nil }
      Gauge(label: "sightline_owned_tenants", dimensions: [("component", component)])
        .record(state.assignment.values.count { $0 == member })
      return (gained, released)
    }
    guard let change else { return }
    for (tenant, token) in change.released {
      do {
        try store.release(tenant, member: member, token: token)
      } catch {
        logger.warning("could not release a lease; it runs out by itself", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
      }
    }
    if !change.gained.isEmpty, let gained = gained.withLock({ $0 }) { gained(change.gained) }
  }

  /// The owner of `tenant` by the assignment; for a tenant the assignment does not cover
  /// yet, its first-ranked member.
  private static func owner(of tenant: TenantID, _ state: inout State) -> String? {
    state.assignment[tenant] ?? TenantAssignment.preferred(tenant, among: state.members)
  }
}
