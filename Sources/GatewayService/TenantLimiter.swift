import Foundation
public import SightlineModel
import SightlineRPC
import Synchronization

/// Per-tenant admission at the gateway: a token bucket on call rate and a cap on calls in
/// flight, so one noisy tenant gets RESOURCE_EXHAUSTED (with retry advice) instead of
/// slowing everyone down. Live streams count against the rate but not the in-flight cap
/// (they stay open by design).
///
/// Several gateways share each tenant's limits: each applies its share, the limits divided
/// by the number of live gateways (``setGateways(_:)``), so together they admit at most the
/// limit (docs/reliability.md, "Several gateways").
public final class TenantLimiter: Sendable {
  /// The limits, per tenant.
  public struct Limits: Sendable {
    /// Sustained calls per second.
    public var ratePerSecond: Double
    /// Calls allowed in a burst above the sustained rate.
    public var burst: Double
    /// Calls in flight at once.
    public var maxInFlight: Int

    /// Limits from their parts.
    public init(ratePerSecond: Double, burst: Double, maxInFlight: Int) {
      self.ratePerSecond = ratePerSecond
      self.burst = burst
      self.maxInFlight = maxInFlight
    }

    /// Generous defaults for one machine: 500 calls/s sustained, bursts of 1,000, 64 in flight.
    public static let defaults = Limits(ratePerSecond: 500, burst: 1_000, maxInFlight: 64)
  }

  private struct Bucket {
    var tokens: Double
    var updated: ContinuousClock.Instant
    var inFlight = 0
  }

  public let limits: Limits
  private let buckets = Mutex<[TenantID: Bucket]>([:])
  /// The number of live gateways sharing the limits (1 alone).
  private let gateways = Atomic<Int>(1)

  /// A limiter applying `limits` to every tenant.
  public init(limits: Limits) { self.limits = limits }

  /// Admits a call of `tenant` or throws ``Overloaded``; an admitted call that holds a
  /// slot (`holdsSlot`) must be followed by ``release(_:)``.
  public func admit(_ tenant: TenantID, holdsSlot: Bool) throws {
    let now = ContinuousClock.now
    let limits = share
    let refusal: Overloaded? = buckets.withLock { buckets in
      var bucket = buckets[tenant] ?? Bucket(tokens: limits.burst, updated: now)
      let elapsed = now - bucket.updated
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      bucket.tokens = min(limits.burst, bucket.tokens + seconds * limits.ratePerSecond)
      bucket.updated = now
      defer { buckets[tenant] = bucket }
      if holdsSlot && bucket.inFlight >= limits.maxInFlight {
        return Overloaded(
          "tenant \(tenant) has \(bucket.inFlight) calls in flight, the limit is \(limits.maxInFlight); retry shortly",
          retryAfter: .milliseconds(50))
      }
      guard bucket.tokens >= 1 else {
        let wait = (1 - bucket.tokens) / limits.ratePerSecond
        return Overloaded(
          "tenant \(tenant) is over its rate of \(Int(limits.ratePerSecond)) calls/s; retry after \(Int(wait * 1000) + 1) ms",
          retryAfter: .milliseconds(Int(wait * 1000) + 1))
      }
      bucket.tokens -= 1
      if holdsSlot { bucket.inFlight += 1 }
      return nil
    }
    if let refusal { throw refusal }
  }

  /// Frees the in-flight slot of an admitted call.
  public func release(_ tenant: TenantID) {
    buckets.withLock { buckets in
      if var bucket = buckets[tenant] {
        bucket.inFlight = max(0, bucket.inFlight - 1)
        buckets[tenant] = bucket
      }
    }
  }

  /// Tells the limiter how many gateways (itself included) share the tenants' limits.
  public func setGateways(_ count: Int) {
    gateways.store(max(1, count), ordering: .relaxed)
  }

  /// This gateway's share of the limits: rate and burst divided by the live gateways, calls
  /// in flight too (at least one).
  public var share: Limits {
    let count = Double(gateways.load(ordering: .relaxed))
    guard count > 1 else { return limits }
    return Limits(
      ratePerSecond: limits.ratePerSecond / count, burst: max(1, limits.burst / count),
      maxInFlight: max(1, Int((Double(limits.maxInFlight) / count).rounded(.up))))
  }
}
