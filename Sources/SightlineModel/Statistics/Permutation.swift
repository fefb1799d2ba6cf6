/// The outcome of a randomisation (permutation) test.
public struct PermutationResult: Sendable, Equatable {
  /// Observed difference in means, treatment − control.
  public var effect: Double
  /// Two-sided p-value (twice the smaller tail, as scipy's `permutation_test`).
  public var pValue: Double
  /// Whether every assignment was enumerated (else a seeded sample was drawn).
  public var exact: Bool
  /// Assignments evaluated.
  public var assignments: Int
  /// Confidence interval by test inversion: the shifts δ not rejected when δ is
  /// subtracted from the treated units. Infinite when no shift can be rejected.
  public var ciLow: Double
  public var ciHigh: Double
  /// The smallest p-value this design can produce (2 ÷ assignments when exact).
  public var smallestPossibleP: Double
}

extension ABStatistics {
  /// Randomisation inference for few units (e.g. 20 business lines): the difference in
  /// means is compared with its distribution over all re-assignments of the same arm
  /// sizes, enumerated exactly when there are at most `maxExact` of them, otherwise over
  /// `samples` seeded random re-assignments (p = (hits + 1) ÷ (samples + 1)).
  public static func permutation(
    control: [Double], treatment: [Double], alpha: Double = 0.05, maxExact: Int = 200_000, samples: Int = 20_000,
    seed: UInt64 = 20_260_301
  ) -> PermutationResult? {
    let nc = control.count
    let nt = treatment.count
    guard nc >= 1, nt >= 1 else { return nil }
    let pooled = treatment + control  // indices < nt were treated
    let total = Self.binomial(nt + nc, nt)
    let exact = total <= Double(maxExact)
    // Each assignment is summarised by (sum of its "treated" values, how many of them were
    // really treated): shifting the treated units by δ changes its sum by −δ·k, so every
    // shift tried for the interval reuses these without re-enumerating.
    var sums: [Double] = []
    var treatedCounts: [Int] = []
    if exact {
      sums.reserveCapacity(Int(total))
      treatedCounts.reserveCapacity(Int(total))
      var indices = Array(0..<nt)
      while true {
        var sum = 0.0
        var k = 0
        for index in indices {
          sum += pooled[index]
          if index < nt { k += 1 }
        }
        sums.append(sum)
        treatedCounts.append(k)
        // Next combination in lexicographic order.
        var position = nt - 1
        while position >= 0 && indices[position] == position + nc { position -= 1 }
        if position < 0 { break }
        indices[position] += 1
        for next in (position + 1)..<nt { indices[next] = indices[next - 1] + 1 }
      }
    } else {
      var random = SeededRandom(seed: seed)
      var order = Array(0..<(nt + nc))
      for _ in 0..<samples {
        for i in 0..<nt {
          let j = i + Int(random.next() % UInt64(order.count - i))
          order.swapAt(i, j)
        }
        var sum = 0.0
        var k = 0
        for index in order[0..<nt] {
          sum += pooled[index]
          if index < nt { k += 1 }
        }
        sums.append(sum)
        treatedCounts.append(k)
      }
    }
    let observedSum = treatment.reduce(0, +)
    let grandTotal = pooled.reduce(0, +)

    func pValue(shift delta: Double) -> Double {
      let shiftedTotal = grandTotal - delta * Double(nt)
      func statistic(_ sum: Double) -> Double { sum / Double(nt) - (shiftedTotal - sum) / Double(nc) }
      let observed = statistic(observedSum - delta * Double(nt))
      let tolerance = 1e-9 * max(1, abs(observed))
      var less = 0
      var greater = 0
      for index in sums.indices {
        let value = statistic(sums[index] - delta * Double(treatedCounts[index]))
        if value <= observed + tolerance { less += 1 }
        if value >= observed - tolerance { greater += 1 }
      }
      let n = Double(sums.count)
      let (pLess, pGreater) =
        exact
        ? (Double(less) / n, Double(greater) / n)
        : ((Double(less) + 1) / (n + 1), (Double(greater) + 1) / (n + 1))
      return min(1, 2 * min(pLess, pGreater))
    }

    let effect = observedSum / Double(nt) - (grandTotal - observedSum) / Double(nc)
    let smallest = exact ? min(1, 2 / total) : 2 / (Double(samples) + 1)
    var low = -Double.infinity
    var high = Double.infinity
    if smallest < alpha {
      let spread = max(abs(effect), Self.range(pooled), 1e-9)
      low = Self.boundary(from: effect, towards: effect - 100 * spread, accepted: { pValue(shift: $0) >= alpha })
      high = Self.boundary(from: effect, towards: effect + 100 * spread, accepted: { pValue(shift: $0) >= alpha })
    }
    return PermutationResult(
      effect: effect, pValue: pValue(shift: 0), exact: exact, assignments: sums.count, ciLow: low, ciHigh: high,
      smallestPossibleP: smallest)
  }

  /// The last accepted point between `inside` (accepted) and `outside` (rejected), by
  /// bisection; ±∞ if `outside` is accepted too.
  static func boundary(from inside: Double, towards outside: Double, accepted: (Double) -> Bool) -> Double {
    guard !accepted(outside) else { return outside < inside ? -.infinity : .infinity }
    var good = inside
    var bad = outside
    for _ in 0..<100 {
      let mid = (good + bad) / 2
      if accepted(mid) { good = mid } else { bad = mid }
      if abs(bad - good) <= 1e-10 * max(1, abs(good)) { break }
    }
    return good
  }

  static func range(_ values: [Double]) -> Double { (values.max() ?? 0) - (values.min() ?? 0) }

  /// C(n, k) as a double (exact for the sizes used here).
  static func binomial(_ n: Int, _ k: Int) -> Double {
    var result = 1.0
    for i in 0..<min(k, n - k) { result = result * Double(n - i) / Double(i + 1) }
    return result.rounded()
  }
}
