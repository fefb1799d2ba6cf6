public import SightlineModel

/// Which part of the KPIs a rollup row holds.
public enum RollupPart: String, Sendable {
  /// Tickets created that day.
  case tickets
  /// Survey answers given that day.
  case surveys
}

/// One stored rollup row.
public struct RollupRow: Sendable {
  /// Local day, start (inclusive) and end (exclusive), Unix ms.
  public var dayStartMs: Int64
  public var dayEndMs: Int64
  /// Value of the row's dimension ("" for rows of the whole tenant).
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
  /// The row's dimension (nil: the whole tenant).
  public var dimension: KpiDimension?
  public var part: RollupPart
  /// Value of the dimension ("" for the whole tenant).
  public var value: String
  public var accumulator: KpiAccumulator

  /// An entry from its parts.
  public init(dimension: KpiDimension?, part: RollupPart, value: String, accumulator: KpiAccumulator) {
    self.dimension = dimension
    self.part = part
    self.value = value
    self.accumulator = accumulator
  }
}
