import Synchronization

/// A flag set once, read from any thread: how long work running off the cooperative pool
/// (a scan, a rollup build) learns that its task was cancelled.
public final class StopFlag: Sendable {
  private let flag = Atomic<Bool>(false)

  /// A flag not set.
  public init() {}

  /// Whether ``set()`` was called.
  public var isSet: Bool { flag.load(ordering: .relaxed) }

  /// Sets the flag.
  public func set() { flag.store(true, ordering: .relaxed) }
}
