import Foundation

/// A thread-safe counter for streaming callbacks.
final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  func add(_ amount: Int) { lock.withLock { count += amount } }
  var value: Int { lock.withLock { count } }
}
