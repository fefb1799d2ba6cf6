import Foundation

/// A small, fast, seedable generator (SplitMix64), so a seed always yields the same data
/// set, permutation sample or simulation on every machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator starting from `seed`.
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1).
  public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

  /// True with probability `p`.
  public mutating func chance(_ p: Double) -> Bool { unit() < p }

  /// A standard normal draw (Box-Muller).
  public mutating func normal() -> Double {
    let u = max(unit(), 1e-12)
    let v = unit()
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }

  /// A log-normal draw with the given median and log-scale spread.
  public mutating func logNormal(median: Double, sigma: Double) -> Double { median * exp(sigma * normal()) }

  /// A Poisson draw (Knuth's method; fine for the small means used here).
  public mutating func poisson(_ mean: Double) -> Int {
    let limit = exp(-mean)
    var product = unit()
    var count = 0
    while product > limit {
      count += 1
      product *= unit()
    }
    return count
  }

  /// One element of `items`.
  public mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}
