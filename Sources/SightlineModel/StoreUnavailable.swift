/// A store's failure that will likely pass: its database is unreachable, restarting or
/// shutting down. Servers answer it with UNAVAILABLE, which clients retry (ingest is
/// idempotent by event id, so a retried batch is never stored twice).
public protocol StoreUnavailable: Error, CustomStringConvertible {
  /// When a retry may succeed, if the store knows (nil: no advice; the default).
  var retryAfter: Duration? { get }
}

extension StoreUnavailable {
  public var retryAfter: Duration? { nil }
}

/// A tenant whose data is moving to another database (shard): its writes are refused
/// until the move ends, and a process that still routes it to the shard it left is sent
/// to the tenant → shard map again. Either way the caller retries shortly.
public struct TenantMoving: StoreUnavailable {
  public let tenant: TenantID
  /// Whether the data already left this shard (else it is being copied).
  public let moved: Bool

  public init(tenant: TenantID, moved: Bool) {
    self.tenant = tenant
    self.moved = moved
  }

  public var retryAfter: Duration? { .seconds(1) }

  public var description: String {
    moved
      ? "tenant \(tenant) has just moved to another database; retry now"
      : "tenant \(tenant) is moving to another database and its writes are paused for a few seconds; retry in a second"
  }
}
