import Foundation

/// The observations of one time KPI (first response, resolution) in one cell: exact count,
/// sum and sum of squares, and the values themselves for medians and p90s.
///
/// Values are kept exactly (milliseconds) as long as the distribution is built from
/// exact parts, so scans give exact percentiles. A stored daily rollup whose cell holds
/// more than ``exactLimit`` values keeps a log-bucket histogram instead (DDSketch-style
/// buckets with ratio γ = 1.01/0.99): any percentile read from it is within 1 % relative
/// error of the exact one (see ``percentile(_:)``). Count, sum, mean and sum of squares
/// are always exact.
public struct TimeDistribution: Sendable, Equatable {
  /// Largest number of values a serialized distribution keeps exactly.
  public static let exactLimit = 256
  /// Relative accuracy of the histogram's percentiles.
  public static let relativeError = 0.01
  static let gamma = (1 + relativeError) / (1 - relativeError)
  static let logGamma = log(gamma)
  /// Bucket keys run from -maxKey to maxKey: γ^2047 ms is far beyond any ticket's life.
  static let maxKey = 2047

  /// Number of observations.
  public private(set) var count = 0
  /// Sum of the observations, ms (integer, so exact whatever the order of addition).
  public private(set) var sumMs: Int64 = 0
  /// Sum of squares of the observations in seconds².
  public private(set) var sumSquaresSeconds: Double = 0
  private var storage = Storage.exact([])

  /// Where the observations are.
  private enum Storage: Equatable {
    /// The values themselves (ms).
    case exact([Int64])
    /// Counts of the non-empty buckets, keys ascending: a histogram as read from a rollup
    /// row, cheap to make and to merge into a dense one.
    case sparse(keys: [Int], counts: [Int64])
    /// Counts of every bucket, indexed by key + maxKey: what merged histograms become.
    case dense([Int64])
  }

  /// An empty distribution.
  public init() {}

  /// Whether percentiles are exact.
  public var isExact: Bool {
    if case .exact = storage { true } else { false }
  }

  /// Adds one observation of `ms` milliseconds.
  public mutating func add(_ ms: Int64) {
    count += 1
    sumMs += ms
    let seconds = Double(ms) / 1000
    sumSquaresSeconds += seconds * seconds
    if case .exact(var values) = storage {
      storage = .exact([])  // keeps `values` uniquely referenced, so the append is in place
      values.append(ms)
      storage = .exact(values)
    } else {
      var counts = denseCounts()
      counts[Self.key(ms) + Self.maxKey] += 1
      storage = .dense(counts)
    }
  }

  /// Adds every observation of `other`. Exact stays exact only if both are.
  public mutating func merge(_ other: TimeDistribution) {
    guard other.count > 0 else { return }
    count += other.count
    sumMs += other.sumMs
    sumSquaresSeconds += other.sumSquaresSeconds
    if case .exact(var mine) = storage, case .exact(let theirs) = other.storage {
      storage = .exact([])
      mine += theirs
      storage = .exact(mine)
      return
    }
    var counts = denseCounts()
    storage = .exact([])
    switch other.storage {
    case .exact(let values):
      for value in values { counts[Self.key(value) + Self.maxKey] += 1 }
    case .sparse(let keys, let theirs):
      for (key, count) in zip(keys, theirs) { counts[key + Self.maxKey] += count }
    case .dense(let theirs):
      for index in theirs.indices where theirs[index] != 0 { counts[index] += theirs[index] }
    }
    storage = .dense(counts)
  }

  /// Mean in seconds; nil when empty.
  public var meanSeconds: Double? { count > 0 ? Double(sumMs) / Double(count) / 1000 : nil }

  /// The `q`-th quantile (0...1) in seconds, interpolated linearly between closest ranks
  /// (numpy's default); nil when empty. From a histogram, the two ranks' values are their
  /// buckets' representatives, each within 1 % of the true value, so the interpolation is
  /// within 1 % too.
  public func percentile(_ q: Double) -> Double? { percentiles([q])?.first }

  /// Several quantiles at once (one sort of exact values); nil when empty.
  public func percentiles(_ qs: [Double]) -> [Double]? {
    guard count > 0 else { return nil }
    if case .exact(let values) = storage {
      let sorted = values.sorted().map { Double($0) / 1000 }
      return qs.map { Percentile.linear(sorted: sorted, $0)! }
    }
    return qs.map { q in
      let position = q * Double(count - 1)
      let lower = Int(position.rounded(.down))
      let upper = min(lower + 1, count - 1)
      let fraction = position - Double(lower)
      let (low, high) = valuesAtRanks(lower, upper)
      return (low + (high - low) * fraction) / 1000
    }
  }

  /// The observations as (value in seconds, how many), values ascending: the values
  /// themselves when exact, the buckets' representatives from a histogram.
  public func valueCounts() -> [(seconds: Double, count: Int64)] {
    if case .exact(let values) = storage {
      var result: [(seconds: Double, count: Int64)] = []
      for value in values.sorted() {
        let seconds = Double(value) / 1000
        if result.last?.seconds == seconds { result[result.count - 1].count += 1 } else { result.append((seconds, 1)) }
      }
      return result
    }
    let (keys, counts) = sortedBuckets()
    return zip(keys, counts).map { (Self.representative($0) / 1000, $1) }
  }

  /// Representative values (ms) of the observations at 0-based ranks `first` <= `second`.
  private func valuesAtRanks(_ first: Int, _ second: Int) -> (Double, Double) {
    let (keys, counts) = sortedBuckets()
    var seen: Int64 = 0
    var firstValue: Double?
    for (key, count) in zip(keys, counts) {
      seen += count
      let value = Self.representative(key)
      if firstValue == nil && seen > first { firstValue = value }
      if seen > second { return (firstValue!, value) }
    }
    preconditionFailure("ranks beyond the histogram's count")
  }

  /// The non-empty buckets, keys ascending.
  private func sortedBuckets() -> (keys: [Int], counts: [Int64]) {
    switch storage {
    case .sparse(let keys, let counts): return (keys, counts)
    default:
      let counts = denseCounts()
      let occupied = counts.indices.filter { counts[$0] != 0 }
      return (occupied.map { $0 - Self.maxKey }, occupied.map { counts[$0] })
    }
  }

  /// Every bucket's count, indexed by key + maxKey.
  private func denseCounts() -> [Int64] {
    switch storage {
    case .dense(let counts): return counts
    case .exact(let values):
      var counts = [Int64](repeating: 0, count: 2 * Self.maxKey + 1)
      for value in values { counts[Self.key(value) + Self.maxKey] += 1 }
      return counts
    case .sparse(let keys, let sparse):
      var counts = [Int64](repeating: 0, count: 2 * Self.maxKey + 1)
      for (key, count) in zip(keys, sparse) { counts[key + Self.maxKey] += count }
      return counts
    }
  }

  /// The bucket key of `ms`: 0 for 0, ±(i + 1) for |ms| in (γ^(i-1), γ^i]. Keys sort like
  /// the values they hold.
  static func key(_ ms: Int64) -> Int {
    guard ms != 0 else { return 0 }
    let magnitude = Double(ms.magnitude)
    let index = min(Int((log(magnitude) / logGamma).rounded(.up)) + 1, maxKey)
    return ms > 0 ? index : -index
  }

  /// The value (ms) standing for bucket `key`: 2γ^i / (γ + 1), within 1 % of every value in
  /// the bucket.
  static func representative(_ key: Int) -> Double {
    guard key != 0 else { return 0 }
    let magnitude = 2 * pow(gamma, Double(key.magnitude - 1)) / (gamma + 1)
    return key > 0 ? magnitude : -magnitude
  }

  // MARK: - Serialization (rollup rows)

  /// Appends the distribution to `words`: exact values while there are at most
  /// ``exactLimit`` of them, else the non-empty buckets as (key, count) pairs.
  func encode(into words: inout [Int64]) {
    words.append(Int64(count))
    words.append(sumMs)
    words.append(Int64(bitPattern: sumSquaresSeconds.bitPattern))
    if case .exact(let values) = storage, values.count <= Self.exactLimit {
      words.append(0)
      words.append(Int64(values.count))
      words += values
      return
    }
    let (keys, counts) = sortedBuckets()
    words.append(1)
    words.append(Int64(keys.count))
    for (key, count) in zip(keys, counts) {
      words.append(Int64(key))
      words.append(count)
    }
  }

  /// Reads a distribution written by ``encode(into:)`` from `words` at `position`.
  init(decoding words: UnsafeBufferPointer<Int64>, at position: inout Int) throws(RollupDecodingError) {
    guard position + 5 <= words.count else { throw RollupDecodingError() }
    count = Int(words[position])
    sumMs = words[position + 1]
    sumSquaresSeconds = Double(bitPattern: UInt64(bitPattern: words[position + 2]))
    let histogram = words[position + 3] == 1
    let entries = Int(words[position + 4])
    position += 5
    guard entries >= 0, position + entries * (histogram ? 2 : 1) <= words.count else { throw RollupDecodingError() }
    if histogram {
      var keys: [Int] = []
      var counts: [Int64] = []
      keys.reserveCapacity(entries)
      counts.reserveCapacity(entries)
      for entry in 0..<entries {
        let key = Int(words[position + 2 * entry])
        guard abs(key) <= Self.maxKey, keys.last.map({ $0 < key }) ?? true else { throw RollupDecodingError() }
        keys.append(key)
        counts.append(words[position + 2 * entry + 1])
      }
      storage = .sparse(keys: keys, counts: counts)
      position += 2 * entries
    } else {
      storage = .exact(Array(words[position..<position + entries]))
      position += entries
    }
  }
}

/// A stored rollup summary could not be read (a corrupt or foreign blob).
public struct RollupDecodingError: Error, CustomStringConvertible {
  public var description: String { "a stored KPI rollup is malformed" }
}
