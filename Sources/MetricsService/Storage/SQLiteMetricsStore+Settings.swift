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
      var settings = KpiSettings.defaults
      for row in try Row.fetchAll(db, sql: "SELECT name, value FROM setting") {
        let name: String = row[0]
        let value: String = row[1]
        switch name {
        case "time_zone": settings.timeZone = value
        case "complaint_target_ms": settings.complaintTargetMs = Int64(value) ?? settings.complaintTargetMs
        case "repeat_window_ms": settings.repeatWindowMs = Int64(value) ?? settings.repeatWindowMs
        default:
          if name.hasPrefix("sla_"), let priority = TicketPriority(rawValue: String(name.dropFirst(4))),
            let ms = Int64(value)
          {
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
  }

  /// Replaces the tenant's KPI settings.
  public func setSettings(_ settings: KpiSettings) throws {
    let previous = try self.settings()
    try writer.write { db in
      // Rollups hold SLA, complaint and repeat-contact counts under the old settings, and
      // days of the old time zone; cockpit targets change none of them.
      if previous.fingerprint != settings.fingerprint { try Self.dropRollups(db) }
      try db.execute(sql: "DELETE FROM setting")
      var pairs: [(String, String)] = [
        ("time_zone", settings.timeZone), ("complaint_target_ms", String(settings.complaintTargetMs)),
        ("repeat_window_ms", String(settings.repeatWindowMs)),
      ]
      for priority in TicketPriority.allCases { pairs.append(("sla_\(priority.rawValue)", String(settings.slaTarget(priority)))) }
      for (kind, target) in settings.targets { pairs.append(("target_\(kind.rawValue)", "\(target.goal) \(target.tolerance)")) }
      for (name, value) in pairs {
        try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, ?)", arguments: [name, value])
      }
    }
  }
}
