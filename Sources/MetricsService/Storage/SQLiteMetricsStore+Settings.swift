import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The tenant's KPI settings (time zone, SLA and complaint targets, repeat window, cockpit
/// targets), one row per setting.
extension SQLiteMetricsStore {
  // MARK: - Settings

  /// The tenant's KPI settings (defaults until set).
  public func settings() throws -> KpiSettings {
    try writer.read { db in
      KpiSettingRows.settings(
        from: try Row.fetchAll(db, sql: "SELECT name, value FROM setting").map { row -> (String, String) in (row[0], row[1]) })
    }
  }

  /// Replaces the tenant's KPI settings.
  public func setSettings(_ settings: KpiSettings) throws {
    let previous = try self.settings()
    try writer.write { db in
      // Rollups hold SLA, complaint and repeat-contact counts under the old settings, and
      // days of the old time zone; cockpit targets change none of them.
      if previous.fingerprint != settings.fingerprint { try Self.dropRollups(db) }
      try db.execute(sql: "DELETE FROM setting")
      for (name, value) in KpiSettingRows.rows(settings) {
        try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, ?)", arguments: [name, value])
      }
    }
  }
}

/// KPI settings as the `setting` table keeps them on both backends: one (name, value) row
/// per setting.
enum KpiSettingRows {
  /// The settings the rows give (defaults for what they leave out).
  static func settings(from rows: [(name: String, value: String)]) -> KpiSettings {
    var settings = KpiSettings.defaults
    for (name, value) in rows {
      switch name {
      case "time_zone": settings.timeZone = value
      case "complaint_target_ms": settings.complaintTargetMs = Int64(value) ?? settings.complaintTargetMs
      case "repeat_window_ms": settings.repeatWindowMs = Int64(value) ?? settings.repeatWindowMs
      default:
        if name.hasPrefix("sla_"), let priority = TicketPriority(rawValue: String(name.dropFirst(4))), let ms = Int64(value) {
          settings.slaTargetMs[priority] = ms
        } else if name.hasPrefix("target_"), let kind = KpiKind(rawValue: String(name.dropFirst(7))) {
          // "goal tolerance"
          let numbers = value.split(separator: " ").compactMap { Double($0) }
          if numbers.count == 2 { settings.targets[kind] = KpiTarget(goal: numbers[0], tolerance: numbers[1]) }
        }
      }
    }
    return settings
  }

  /// The rows of `settings`.
  static func rows(_ settings: KpiSettings) -> [(name: String, value: String)] {
    var rows: [(name: String, value: String)] = [
      ("time_zone", settings.timeZone), ("complaint_target_ms", String(settings.complaintTargetMs)),
      ("repeat_window_ms", String(settings.repeatWindowMs)),
    ]
    for priority in TicketPriority.allCases { rows.append(("sla_\(priority.rawValue)", String(settings.slaTarget(priority)))) }
    for (kind, target) in settings.targets { rows.append(("target_\(kind.rawValue)", "\(target.goal) \(target.tolerance)")) }
    return rows
  }
}
