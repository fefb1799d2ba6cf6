public import GRDB
public import SightlineModel
public import SightlineStorage

/// Alert rules and alerts of one tenant (in the metrics database).
public typealias SQLiteAlertStore = SQLiteMetricsStore

extension SQLiteStore: AlertStore where Schema == MetricsSchema {
  /// Stores a new rule.
  public func add(_ rule: AlertRuleRecord) throws {
    try writer.write { db in
      try db.execute(
        sql: """
          INSERT INTO alert_rule (id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample, created_ms, kind)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          rule.id, rule.name, rule.kpi.rawValue, rule.by?.rawValue, rule.windowMs, rule.comparison?.rawValue,
          rule.threshold, rule.anomaly, rule.minSample, WallClock.now, rule.kind.rawValue,
        ])
    }
  }

  /// All rules, oldest first.
  public func rules() throws -> [AlertRuleRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql:
          """
          SELECT id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample, kind FROM alert_rule
          ORDER BY created_ms, id
          """
      ).compactMap { row in
        guard let kpi = KpiKind(rawValue: row[2]), let kind = AlertRuleKind(rawValue: row[9]) else { return nil }
        return AlertRuleRecord(
          id: row[0], name: row[1], kpi: kpi, by: (row[3] as String?).flatMap(KpiDimension.init(rawValue:)),
          windowMs: row[4], comparison: (row[5] as String?).flatMap(AlertComparison.init(rawValue:)),
          threshold: row[6], anomaly: row[7], minSample: row[8], kind: kind)
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

  public func alerts(ruleID: String, openSinceMs sinceMs: Int64) throws -> [AlertRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db, sql: "\(Self.selectAlert) WHERE rule_id = ? AND (resolved_ms IS NULL OR resolved_ms >= ?)", arguments: [ruleID, sinceMs]
      ).compactMap(Self.alert)
    }
  }

  /// Inserts or replaces an alert (opening, updating or resolving it). The fence is not
  /// checked: one process is the only writer of a tenant's SQLite file.
  public func save(_ alert: AlertRecord, fence: LeaseFence, announcing event: DeliveryEventKind?) throws {
    try writer.write { db in
      try db.execute(
        sql: """
          INSERT OR REPLACE INTO alert (id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low,
            expected_high, severity, opened_ms, resolved_ms, window_start_ms, window_end_ms, message, contributors)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          alert.id, alert.ruleID, alert.kpi.rawValue, alert.dimension?.rawValue, alert.dimensionValue, alert.value,
          alert.sampleSize, alert.expectedLow, alert.expectedHigh, alert.severity.rawValue, alert.openedMs,
          alert.resolvedMs, alert.windowStartMs, alert.windowEndMs, alert.message,
          AlertContributor.stored(alert.contributors),
        ])
      if let event { try SQLiteOutbox.record(DeliveryEvent(alert, kind: event), db) }
    }
  }

  /// Alerts, newest first; only open ones if `openOnly`.
  public func alert(id: String) throws -> AlertRecord? {
    try writer.read { db in try Row.fetchOne(db, sql: "\(Self.selectAlert) WHERE id = ?", arguments: [id]).flatMap(Self.alert) }
  }

  public func alerts(openOnly: Bool, limit: Int) throws -> [AlertRecord] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql: "\(Self.selectAlert)\(openOnly ? " WHERE resolved_ms IS NULL" : "") ORDER BY opened_ms DESC, id LIMIT ?",
        arguments: [limit]
      ).compactMap(Self.alert)
    }
  }

  private static var selectAlert: String {
    """
    SELECT id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low, expected_high, severity,
      opened_ms, resolved_ms, window_start_ms, window_end_ms, message, contributors FROM alert
    """
  }

  private static func alert(_ row: Row) -> AlertRecord? {
    guard let kpi = KpiKind(rawValue: row[2]) else { return nil }
    return AlertRecord(
      id: row[0], ruleID: row[1], kpi: kpi, dimension: (row[3] as String?).flatMap(KpiDimension.init(rawValue:)),
      dimensionValue: row[4], value: row[5], sampleSize: row[6], expectedLow: row[7], expectedHigh: row[8],
      severity: AlertSeverity(rawValue: row[9]) ?? .warning, openedMs: row[10], resolvedMs: row[11],
      windowStartMs: row[12], windowEndMs: row[13], message: row[14], contributors: AlertContributor.parse(row[15]))
  }
}
