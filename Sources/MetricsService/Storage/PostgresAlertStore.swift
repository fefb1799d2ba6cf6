import PostgresNIO
public import SightlineModel
public import SightlinePostgres

/// Alert rules and alerts of one tenant in PostgreSQL (in the metrics schema).
extension PostgresStore: AlertStore where Schema == MetricsPostgresSchema {
  public func add(_ rule: AlertRuleRecord) throws {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO alert_rule (
          tenant_id, id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample, created_ms, kind)
        VALUES (\(tenant.rawValue), \(rule.id), \(rule.name), \(rule.kpi.rawValue), \(rule.by?.rawValue), \(rule.windowMs),
          \(rule.comparison?.rawValue), \(rule.threshold), \(Int64(rule.anomaly ? 1 : 0)), \(rule.minSample), \(WallClock.now),
          \(rule.kind.rawValue))
        """)
    }
  }

  public func rules() throws -> [AlertRuleRecord] {
    try transaction { session in
      try session.query(
        """
        SELECT id, name, kpi, by_dimension, window_ms, comparison, threshold, anomaly, min_sample, kind FROM alert_rule
        WHERE tenant_id = \(tenant.rawValue) ORDER BY created_ms, id
        """
      ).compactMap { row in
        let (id, name, kpi, by, window, comparison, threshold, anomaly, minSample, kind) = try row.decode(
          (String, String, String, String?, Int64, String?, Double, Int64, Int64, String).self)
        guard let kpi = KpiKind(rawValue: kpi), let kind = AlertRuleKind(rawValue: kind) else { return nil }
        return AlertRuleRecord(
          id: id, name: name, kpi: kpi, by: by.flatMap(KpiDimension.init(rawValue:)), windowMs: window,
          comparison: comparison.flatMap(AlertComparison.init(rawValue:)), threshold: threshold, anomaly: anomaly == 1,
          minSample: minSample, kind: kind)
      }
    }
  }

  public func removeRule(id: String) throws -> Bool {
    try transaction { session in try session.execute("DELETE FROM alert_rule WHERE tenant_id = \(tenant.rawValue) AND id = \(id)") > 0 }
  }

  public func openAlert(ruleID: String, dimensionValue: String) throws -> AlertRecord? {
    try alerts(where: "rule_id = $2 AND dimension_value = $3 AND resolved_ms IS NULL", ruleID, dimensionValue).first
  }

  public func openAlerts(ruleID: String) throws -> [AlertRecord] {
    try alerts(where: "rule_id = $2 AND resolved_ms IS NULL", ruleID)
  }

  public func alerts(ruleID: String, openSinceMs sinceMs: Int64) throws -> [AlertRecord] {
    try alerts(where: "rule_id = $2 AND (resolved_ms IS NULL OR resolved_ms >= \(sinceMs))", ruleID)
  }

  public func save(_ alert: AlertRecord, fence: LeaseFence, announcing event: DeliveryEventKind?) throws {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      try session.execute(
        """
        INSERT INTO alert (tenant_id, id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low,
          expected_high, severity, opened_ms, resolved_ms, window_start_ms, window_end_ms, message, contributors)
        VALUES (\(tenant.rawValue), \(alert.id), \(alert.ruleID), \(alert.kpi.rawValue), \(alert.dimension?.rawValue),
          \(alert.dimensionValue), \(alert.value), \(alert.sampleSize), \(alert.expectedLow), \(alert.expectedHigh),
          \(alert.severity.rawValue), \(alert.openedMs), \(alert.resolvedMs), \(alert.windowStartMs), \(alert.windowEndMs), \(alert.message),
          \(AlertContributor.stored(alert.contributors)))
        ON CONFLICT (tenant_id, id) DO UPDATE SET rule_id = excluded.rule_id, kpi = excluded.kpi, dimension = excluded.dimension,
          dimension_value = excluded.dimension_value, value = excluded.value, sample_size = excluded.sample_size,
          expected_low = excluded.expected_low, expected_high = excluded.expected_high, severity = excluded.severity,
          opened_ms = excluded.opened_ms, resolved_ms = excluded.resolved_ms, window_start_ms = excluded.window_start_ms,
          window_end_ms = excluded.window_end_ms, message = excluded.message, contributors = excluded.contributors
        """)
      if let event { try session.recordOutboxEvent(DeliveryEvent(alert, kind: event), tenant: tenant) }
    }
  }

  public func alert(id: String) throws -> AlertRecord? {
    try alerts(where: "id = $2", id).first
  }

  public func alerts(openOnly: Bool, limit: Int) throws -> [AlertRecord] {
    try alerts(where: (openOnly ? "resolved_ms IS NULL" : "TRUE") + " ORDER BY opened_ms DESC, id LIMIT \(max(0, limit))")
  }

  /// Alerts of the tenant matching `condition` (`$1` is the tenant; `values` bind `$2`…).
  private func alerts(where condition: String, _ values: String...) throws -> [AlertRecord] {
    try transaction { session in
      var bindings = PostgresBindings()
      bindings.append(tenant.rawValue)
      for value in values { bindings.append(value) }
      let sql = """
        SELECT id, rule_id, kpi, dimension, dimension_value, value, sample_size, expected_low, expected_high, severity,
          opened_ms, resolved_ms, window_start_ms, window_end_ms, message, contributors FROM alert
        WHERE tenant_id = $1 AND \(condition)
        """
      return try session.query(PostgresQuery(unsafeSQL: sql, binds: bindings)).compactMap { row in
        let cells = row.makeRandomAccess()
        guard let kpi = KpiKind(rawValue: try cells[2].decode(String.self)) else { return nil }
        return AlertRecord(
          id: try cells[0].decode(String.self), ruleID: try cells[1].decode(String.self), kpi: kpi,
          dimension: try cells[3].decode(String?.self).flatMap(KpiDimension.init(rawValue:)),
          dimensionValue: try cells[4].decode(String.self), value: try cells[5].decode(Double.self),
          sampleSize: try cells[6].decode(Int64.self), expectedLow: try cells[7].decode(Double.self),
          expectedHigh: try cells[8].decode(Double.self),
          severity: AlertSeverity(rawValue: try cells[9].decode(String.self)) ?? .warning, openedMs: try cells[10].decode(Int64.self),
          resolvedMs: try cells[11].decode(Int64?.self), windowStartMs: try cells[12].decode(Int64.self),
          windowEndMs: try cells[13].decode(Int64.self), message: try cells[14].decode(String.self),
          contributors: AlertContributor.parse(try cells[15].decode(String.self)))
      }
    }
  }
}
