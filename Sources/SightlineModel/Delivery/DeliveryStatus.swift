/// Where a delivery stands.
public enum DeliveryStatus: String, Sendable, CaseIterable {
  /// Waiting for its next attempt.
  case pending
  case delivered
  /// Given up on (its time ran out, or the endpoint answered 410): the dead letter,
  /// replayable.
  case dead
  /// Sent inside a digest (the delivery record names the digest).
  case folded
}
