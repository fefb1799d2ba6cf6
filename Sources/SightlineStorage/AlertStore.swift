import Foundation
public import GRDB
public import SightlineModel

/// An alert rule as stored: a fixed threshold, or anomaly detection against a robust
/// baseline, evaluated over a sliding window for the whole tenant or per dimension value.
public struct AlertRuleRecord: Sendable, Equatable {
  public var id: String
  public var name: String
  public var kpi: KpiKind
  /// Evaluate per value of this dimension (nil: the whole tenant).
  public var by: KpiDimension?
  public var windowMs: Int64
  /// `greater` or `less`, for threshold rules.
  public var comparison: AlertComparison?
  public var threshold: Double
  public var anomaly: Bool
  /// Windows with fewer observations are not judged.
  public var minSample: Int64

  /// A rule from its parts.
  public init(id: String, name: String, kpi: KpiKind, by: KpiDimension?, windowMs: Int64, comparison: AlertComparison?,
              threshold: Double, anomaly: Bool, minSample: Int64) {
    self.id = id
    self.name = name
    self.kpi = kpi
    self.by = by
    self.windowMs = windowMs
    self.comparison = comparison
    self.threshold = threshold
    self.anomaly = anomaly
    self.minSample = minSample
  }
}

/// Direction of a threshold rule.
public enum AlertComparison: String, Sendable {
  case greater, less
}

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable {
  case info, warning, critical
}

/// An alert as stored: open while `resolvedMs` is nil.
public struct AlertRecord: Sendable, Equatable {
  public var id: String
  public var ruleID: String
  public var kpi: KpiKind
  public var dimension: KpiDimension?
  /// The dimension value concerned ("" for the whole tenant).
  public var dimensionValue: String
  public var value: Double
  public var sampleSize: Int64
  public var expectedLow: Double
  public var expectedHigh: Double
  public var severity: AlertSeverity
  public var openedMs: Int64
  public var resolvedMs: Int64?
  public var windowStartMs: Int64
  public var windowEndMs: Int64
  public var message: String

  /// An alert from its parts.
  public init(id: String, ruleID: String, kpi: KpiKind, dimension: KpiDimension?, dimensionValue: String, value: Double,
              sampleSize: Int64, expectedLow: Double, expectedHigh: Double, severity: AlertSeverity, openedMs: Int64,
              resolvedMs: Int64?, windowStartMs: Int64, windowEndMs: Int64, message: String) {
    self.id = id
    self.ruleID = ruleID
    self.kpi = kpi
    self.dimension = dimension
    self.dimensionValue = dimensionValue
    self.value = value
    self.sampleSize = sampleSize
    self.expectedLow = expectedLow
    self.expectedHigh = expectedHigh
    self.severity = severity
    self.openedMs = openedMs
    self.resolvedMs = resolvedMs
    self.windowStartMs = windowStartMs
    self.windowEndMs = windowEndMs
    self.message = message
  }
}

/// Alert rules and alerts of one tenant (in the metrics database).
public struct AlertStore: Sendable {
  /// The database (migrated with ``MetricsStore/migrator``).
  public let writer: any DatabaseWriter

  /// A store on `writer`.
  public init(writer: any DatabaseWriter) { self.writer = writer }

  /// Stores a new rule.
  public func add(_ rule: AlertRuleRecord) throws {
    try writer.write { db in
      try db.execute(
        sql: """
          INSERT INTO alert_rule (id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample, created_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [rule.id, rule.name, rule.kpi.rawValue, rule.by?.rawValue, rule.windowMs, rule.comparison?.rawValue,
                    rule.threshold, rule.anomaly, rule.minSample, WallClock.now])
    }
  }

  /// All rules, oldest first.
  public func rules() throws -> [AlertRuleRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db, sql: "SELECT id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample FROM alert_rule ORDER BY created_ms, id"
      ).compactMap { row in
        guard let kpi = KpiKind(rawValue: row[2]) else { return nil }
        return AlertRuleRecord(
          id: row[0], name: row[1], kpi: kpi, by: (row[3] as String?).flatMap(KpiDimension.init(rawValue:)),
          windowMs: row[4], comparison: (row[5] as String?).flatMap(AlertComparison.init(rawValue:)),
          threshold: row[6], anomaly: row[7], minSample: row[8])
      }
    }
  }

  /// Removes a rule and resolves nothing (its open alerts stay as history); false if unknown.
  public func removeRule(id: String) throws -> Bool {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM alert_rule WHERE id = ?", arguments: [id])
      return db.changesCount > 0
    }
  }

  /// The open alert of `ruleID` for `dimensionValue`, if any.
  public func openAlert(ruleID: String, dimensionValue: String) throws -> AlertRecord? {
    try writer.read { db in
      try Row.fetchOne(
        db, sql: "\(Self.selectAlert) WHERE rule_id = ? AND dimension_value = ? AND resolved_ms IS NULL",
        arguments: [ruleID, dimensionValue]
      ).flatMap(Self.alert)
    }
  }

  /// Open alerts of `ruleID`.
  public func openAlerts(ruleID: String) throws -> [AlertRecord] {
    try writer.read { db in
      try Row.fetchAll(db, sql: "\(Self.selectAlert) WHERE rule_id = ? AND resolved_ms IS NULL", arguments: [ruleID])
        .compactMap(Self.alert)
    }
  }

  /// Inserts or replaces an alert (opening, updating or resolving it).
  public func save(_ alert: AlertRecord) throws {
    try writer.write { db in
      try db.execute(
        sql: """
          INSERT OR REPLACE INTO alert (id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low,
            expected_high, severity, opened_ms, resolved_ms, window_start_ms, window_end_ms, message)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [alert.id, alert.ruleID, alert.kpi.rawValue, alert.dimension?.rawValue, alert.dimensionValue, alert.value,
                    alert.sampleSize, alert.expectedLow, alert.expectedHigh, alert.severity.rawValue, alert.openedMs,
                    alert.resolvedMs, alert.windowStartMs, alert.windowEndMs, alert.message])
    }
  }

  /// Alerts, newest first; only open ones if `openOnly`.
  public func alerts(openOnly: Bool, limit: Int) throws -> [AlertRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql: "\(Self.selectAlert)\(openOnly ? " WHERE resolved_ms IS NULL" : "") ORDER BY opened_ms DESC, id LIMIT ?",
        arguments: [limit]
      ).compactMap(Self.alert)
    }
  }

  private static let selectAlert = """
    SELECT id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low, expected_high, severity,
      opened_ms, resolved_ms, window_start_ms, window_end_ms, message FROM alert
    """

  private static func alert(_ row: Row) -> AlertRecord? {
    guard let kpi = KpiKind(rawValue: row[2]) else { return nil }
    return AlertRecord(
      id: row[0], ruleID: row[1], kpi: kpi, dimension: (row[3] as String?).flatMap(KpiDimension.init(rawValue:)),
      dimensionValue: row[4], value: row[5], sampleSize: row[6], expectedLow: row[7], expectedHigh: row[8],
      severity: AlertSeverity(rawValue: row[9]) ?? .warning, openedMs: row[10], resolvedMs: row[11],
      windowStartMs: row[12], windowEndMs: row[13], message: row[14])
  }
}
