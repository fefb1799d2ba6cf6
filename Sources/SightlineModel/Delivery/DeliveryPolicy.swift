/// When a message that failed is tried again: exponential backoff from `firstDelayMs`,
/// doubling up to `maxDelayMs`, with "equal jitter" (half the delay fixed, half random) so
/// receivers that come back are not hit by every sender at once; given up (dead letter)
/// once `maxAgeMs` has passed since the message was written (docs/delivery.md).
public struct RetryPolicy: Sendable, Equatable {
  public var firstDelayMs: Int64
  public var maxDelayMs: Int64
  public var maxAgeMs: Int64

  /// 5 s, doubling to at most 2 h, for 3 days: about 30 attempts.
  public static let standard = RetryPolicy(firstDelayMs: 5_000, maxDelayMs: 2 * 3_600_000, maxAgeMs: 3 * 86_400_000)

  public init(firstDelayMs: Int64, maxDelayMs: Int64, maxAgeMs: Int64) {
    self.firstDelayMs = firstDelayMs
    self.maxDelayMs = maxDelayMs
    self.maxAgeMs = maxAgeMs
  }

  /// The delay before the attempt after the `attempts`-th failed one, before jitter.
  public func delayMs(afterAttempts attempts: Int) -> Int64 {
    let doublings = min(max(attempts - 1, 0), 40)
    let (delay, overflow) = firstDelayMs.multipliedReportingOverflow(by: Int64(1) << doublings)
    return overflow ? maxDelayMs : min(delay, maxDelayMs)
  }

  /// When to try again after the `attempts`-th failure at `nowMs` of a message written at
  /// `createdMs`, with `jitter` in 0...1; nil when its time is up (the dead letter). The
  /// last attempt falls on the deadline itself.
  public func nextAttemptMs(afterAttempts attempts: Int, createdMs: Int64, nowMs: Int64, jitter: Double) -> Int64? {
    let deadline = createdMs + maxAgeMs
    guard nowMs < deadline else { return nil }
    let delay = delayMs(afterAttempts: attempts)
    let jittered = delay / 2 + Int64(Double(delay / 2) * min(max(jitter, 0), 1))
    return min(nowMs + max(jittered, 1), deadline)
  }
}

/// How many of an endpoint's due messages go out now, one by one, and how many are folded
/// into one digest, so the endpoint gets at most its limit a minute and nothing is dropped.
public struct DeliveryRatePlan: Sendable, Equatable {
  /// Messages sent as they are.
  public var individually: Int
  /// Messages folded into one digest (0, or at least 2), sent in the last free slot.
  public var folded: Int

  public init(individually: Int, folded: Int) {
    self.individually = individually
    self.folded = folded
  }

  /// The plan for `due` messages when `sentInWindow` went out in the last minute under a
  /// limit of `limit` a minute. With no free slot nothing goes out (they wait for one).
  public static func plan(due: Int, sentInWindow: Int, limit: Int) -> DeliveryRatePlan {
    let free = max(0, limit - sentInWindow)
    if due <= free { return DeliveryRatePlan(individually: due, folded: 0) }
    guard free > 0 else { return DeliveryRatePlan(individually: 0, folded: 0) }
    return DeliveryRatePlan(individually: free - 1, folded: due - (free - 1))
  }
}
