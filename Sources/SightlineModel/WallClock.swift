import Foundation

/// The wall clock in Unix milliseconds: the default "now" of every service and store
/// (tests pass their own clocks).
public enum WallClock {
  public static let unixMilliseconds: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

  /// Now, in Unix milliseconds.
  public static var now: Int64 { unixMilliseconds() }
}
