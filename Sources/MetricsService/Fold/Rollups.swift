public import SightlineModel

/// Which part of the KPIs a rollup row holds.
public enum RollupPart: String, Sendable {
  /// Tickets created that day.
  case tickets
  /// Survey answers given that day.
  case surveys
}

/// What the rows of a rollup series are broken down by.
public enum RollupSeries: Sendable, Hashable {
  /// The whole tenant (one row a day, value "").
  case tenant
  /// One row per value of the dimension.
  case dimension(KpiDimension)
  /// One row per pair of values of two dimensions, in ``DailyRollups/pairable`` order:
  /// what a drill-down reads (one dimension within a value of another). The row's value
  /// is ``pairValue(_:_:)``.
  case pair(KpiDimension, KpiDimension)

  /// The series' name in the `dimension` column.
  public var key: String {
    switch self {
    case .tenant: ""
    case .dimension(let dimension): dimension.rawValue
    case .pair(let first, let second): first.rawValue + "*" + second.rawValue
    }
  }

  /// A pair row's value: the first value's length in Unicode scalars, a colon, then both
  /// values, so that any text splits back exactly and the rows of one first value share a
  /// prefix (``pairPrefix(_:)``).
  public static func pairValue(_ first: String, _ second: String) -> String {
    pairPrefix(first) + second
  }

  /// The prefix every pair row whose first value is `first` starts with.
  public static func pairPrefix(_ first: String) -> String { "\(first.unicodeScalars.count):" + first }

  /// The two values of a pair row's value, or nil if it is not one.
  public static func splitPair(_ value: String) -> (String, String)? {
    guard let colon = value.unicodeScalars.firstIndex(of: ":"),
      let length = Int(String(value.unicodeScalars[..<colon]))
    else { return nil }
    let rest = value.unicodeScalars[value.unicodeScalars.index(after: colon)...]
    guard rest.count >= length else { return nil }
    let cut = rest.index(rest.startIndex, offsetBy: length)
    return (String(rest[..<cut]), String(rest[cut...]))
  }
}

/// One stored rollup row.
public struct RollupRow: Sendable {
  /// Local day, start (inclusive) and end (exclusive), Unix ms.
  public var dayStartMs: Int64
  public var dayEndMs: Int64
  /// Value of the series' dimension ("" for rows of the whole tenant).
  public var value: String
  /// What the day accumulated for that value.
  public var accumulator: KpiAccumulator
}

/// A day with rollups: its end and the settings it was built under.
public struct BuiltDay: Sendable, Equatable {
  public var endMs: Int64
  /// What the day was built under (``DailyRollups/stamp(_:)``: the KPI settings and the row layout).
  public var settings: String

  /// A built day from its parts.
  public init(endMs: Int64, settings: String) {
    self.endMs = endMs
    self.settings = settings
  }

  /// The marked hours that can touch days starting in [fromMs, toMs): a day lasts at
  /// most 25 hours, so up to two days past `toMs`.
  static func markedHours(fromMs: Int64, toMs: Int64) -> ClosedRange<Int64> { fromMs / 3_600_000...(toMs / 3_600_000 + 48) }

  /// `days` without those a marked hour falls in (they are stale until rebuilt).
  static func unchanged(_ days: [Int64: BuiltDay], markedHours hours: [Int64]) -> [Int64: BuiltDay] {
    days.filter { start, day in !hours.contains { hour in day.endMs > hour * 3_600_000 && start < (hour + 1) * 3_600_000 } }
  }
}

/// The days with rollups after an invalidation, and the generation builds store under.
public struct BuiltRollups: Sendable {
  /// Built days by start.
  public var days: [Int64: BuiltDay]
  /// Grows with every invalidation that dropped something (always 0 in a store only one
  /// process writes).
  public var generation: Int64

  public init(days: [Int64: BuiltDay], generation: Int64) {
    self.days = days
    self.generation = generation
  }
}

/// Rollup rows and the days they cover, read together.
public struct RollupRead: Sendable {
  public var rows: [RollupRow]
  /// Built days (in the range read) by start.
  public var built: [Int64: BuiltDay]

  public init(rows: [RollupRow], built: [Int64: BuiltDay]) {
    self.rows = rows
    self.built = built
  }
}

/// One rollup row to store.
public struct RollupEntry: Sendable {
  /// The row's series.
  public var series: RollupSeries
  public var part: RollupPart
  /// Value of the series' dimension ("" for the whole tenant; ``RollupSeries/pairValue(_:_:)``
  /// for a pair).
  public var value: String
  public var accumulator: KpiAccumulator

  /// An entry from its parts.
  public init(series: RollupSeries, part: RollupPart, value: String, accumulator: KpiAccumulator) {
    self.series = series
    self.part = part
    self.value = value
    self.accumulator = accumulator
  }
}
