/// Proof, carried into a store's write, that this process holds the lease on a tenant's
/// background work (folding its log, evaluating its alert rules, warming its rollups).
///
/// The token grows on every takeover. A store that can be shared by several replicas
/// (PostgreSQL) checks in the write's own transaction that the lease still carries this
/// token, so an old owner that was paused or cut off and wakes up after another replica
/// took over cannot write (it gets ``LeaseLost``). A store only one process opens (SQLite)
/// has nothing to check.
public struct LeaseFence: Sendable, Hashable, CustomStringConvertible {
  /// The lease's token when this process claimed it.
  public let token: Int64
  /// How long the lease lasts without renewal (nil for the sole writer): a write holding
  /// the lease row that then stops talking for that long (its process paused) is ended
  /// by the database, so it cannot hold a takeover up.
  public let leaseTime: Duration?

  /// A fence of `token`, for a lease of `leaseTime`.
  public init(token: Int64, leaseTime: Duration? = nil) {
    self.token = token
    self.leaseTime = leaseTime
  }

  /// The fence of a process that is the only writer of its stores (the embedded backend).
  public static let sole = LeaseFence(token: 0)

  public var description: String { "lease token \(token)" }
}

/// A write refused because the lease it was fenced by was taken over: another replica now
/// owns the tenant's work. Nothing was written; the work is the new owner's.
public struct LeaseLost: Error, CustomStringConvertible {
  /// The component (`metrics`, `segmentation`) and tenant whose lease moved.
  public let component: String
  public let tenant: TenantID
  /// The token the write carried.
  public let token: Int64

  /// The error for a write of `tenant` fenced by `token`.
  public init(component: String, tenant: TenantID, token: Int64) {
    self.component = component
    self.tenant = tenant
    self.token = token
  }

  public var description: String {
    "the \(component) lease of tenant \(tenant) was taken over (this process held token \(token)): the write was refused"
  }
}

/// Where a component's replicas record that they are alive and which of them owns which
/// tenant's work: a lease per component and tenant, with an owner, an expiry and a fencing
/// token. Expiries are measured on the store's clock, so replicas on machines whose clocks
/// differ agree on them.
public protocol LeaseStore: Sendable {
  /// Records `member` as alive for `ttl` and returns every live member, sorted.
  func heartbeat(member: String, ttl: Duration) throws -> [String]
  /// Removes `member` from the live members and gives up its leases (a clean shutdown), so
  /// the others take its tenants over at once rather than after the lease time.
  func leave(member: String) throws
  /// Claims `tenant`'s lease for `member` for `ttl`: its token when `member` holds it now
  /// (the same token when it already held it, a greater one after a takeover), nil when
  /// another member holds it.
  func claim(_ tenant: TenantID, member: String, ttl: Duration) throws -> Int64?
  /// Extends the leases `member` holds with the given tokens by `ttl`; returns the tenants
  /// whose lease it still holds.
  func renew(_ leases: [TenantID: Int64], member: String, ttl: Duration) throws -> Set<TenantID>
  /// Gives up `member`'s lease of `tenant`, if it holds it with `token`.
  func release(_ tenant: TenantID, member: String, token: Int64) throws
}

/// The leases of a process that is its component's only replica (the embedded backend):
/// it is the only member and holds every lease, always with token 0.
public struct SoleLeases: LeaseStore {
  /// The only replica's leases.
  public init() {}

  public func heartbeat(member: String, ttl: Duration) -> [String] { [member] }
  public func leave(member: String) {}
  public func claim(_ tenant: TenantID, member: String, ttl: Duration) -> Int64? { LeaseFence.sole.token }
  public func renew(_ leases: [TenantID: Int64], member: String, ttl: Duration) -> Set<TenantID> { Set(leases.keys) }
  public func release(_ tenant: TenantID, member: String, token: Int64) {}
}

/// Which live member should own each tenant's work: rendezvous hashing with bounded loads.
///
/// Every member ranks the members for a tenant by a hash of (member, tenant), the same on
/// every machine, and the tenants (in id order) go to their best-ranked member that has not
/// reached its fair share yet. So every replica that knows the same
/// tenants and members computes the same answer without talking to the others; the loads
/// differ by at most one tenant; and a member joining or leaving moves few tenants besides
/// its own share.
public enum TenantAssignment {
  /// The owner of each of `tenants` among `members` (empty when there is no member).
  public static func assign(_ tenants: some Collection<TenantID>, to members: [String]) -> [TenantID: String] {
    let members = Array(Set(members)).sorted()
    guard !members.isEmpty else { return [:] }
    let fair = tenants.count / members.count
    var load = [Int](repeating: 0, count: members.count)
    var owners: [TenantID: String] = [:]
    owners.reserveCapacity(tenants.count)
    // First every member up to the fair share; the few left over (fewer than the members)
    // then go one each to their best-ranked member, so loads differ by one at most.
    var leftOver: [(TenantID, [Int])] = []
    for tenant in tenants.sorted(by: { $0.rawValue < $1.rawValue }) {
      let ranked = members.indices.sorted { rank(members[$0], tenant) > rank(members[$1], tenant) }
      guard let chosen = ranked.first(where: { load[$0] < fair }) else {
        leftOver.append((tenant, ranked))
        continue
      }
      load[chosen] += 1
      owners[tenant] = members[chosen]
    }
    for (tenant, ranked) in leftOver {
      let chosen = ranked.first { load[$0] <= fair } ?? ranked[0]
      load[chosen] += 1
      owners[tenant] = members[chosen]
    }
    return owners
  }

  /// The member ranked first for `tenant`, ignoring loads (for a tenant not yet in an
  /// assignment).
  public static func preferred(_ tenant: TenantID, among members: [String]) -> String? {
    members.max { rank($0, tenant) < rank($1, tenant) }
  }

  /// A stable 64-bit hash of (member, tenant): FNV-1a, then a SplitMix64 finaliser to mix
  /// the bits. Not Swift's `hashValue`, which is seeded differently in every process.
  static func rank(_ member: String, _ tenant: TenantID) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in member.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    hash = (hash ^ 0xff) &* 0x100_0000_01b3
    for byte in tenant.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
    hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
    return hash ^ (hash >> 31)
  }
}
