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
    // Live channels are one row each ("live_channel:phone"); the first replaces the default set.
    var liveChannelsRead = false
    var calendars: String?
    var policies: String?
    for (name, value) in rows {
      switch name {
      case "time_zone": settings.timeZone = value
      case "complaint_target_ms": settings.complaintTargetMs = Int64(value) ?? settings.complaintTargetMs
      case "repeat_window_ms": settings.repeatWindowMs = Int64(value) ?? settings.repeatWindowMs
      case "calendars": calendars = value
      case "sla_policies": policies = value
      default:
        if name.hasPrefix("sla_"), let priority = TicketPriority(rawValue: String(name.dropFirst(4))), let ms = Int64(value) {
          settings.slaTargetMs[priority] = ms
        } else if name.hasPrefix("target_"), let kind = KpiKind(rawValue: String(name.dropFirst(7))) {
          // "goal tolerance"
          let numbers = value.split(separator: " ").compactMap { Double($0) }
          if numbers.count == 2 { settings.targets[kind] = KpiTarget(goal: numbers[0], tolerance: numbers[1]) }
        } else if name.hasPrefix("handle_seconds:"), let seconds = Double(value) {
          settings.workload.handleSeconds[String(name.dropFirst("handle_seconds:".count))] = seconds
        } else if name.hasPrefix("live_channel:") {
          if !liveChannelsRead { settings.workload.liveChannels = [] }
          liveChannelsRead = true
          let channel = String(name.dropFirst("live_channel:".count))
          if !channel.isEmpty { settings.workload.liveChannels.insert(channel) }
        } else if name == "roster" {
          // "slot=agents slot=agents ..."
          for pair in value.split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let slot = Int(parts[0]), (0..<168).contains(slot), let agents = Double(parts[1]) {
              settings.workload.roster[slot] = agents
            }
          }
        } else if name == "staffing_targets" {
          // "service_level within_seconds max_occupancy shrinkage"
          let numbers = value.split(separator: " ").compactMap { Double($0) }
          if numbers.count == 4 {
            settings.workload.targets = StaffingTargets(
              serviceLevel: numbers[0], answerWithinSeconds: numbers[1], maxOccupancy: numbers[2], shrinkage: numbers[3])
          }
        }
      }
    }
    // Written only by ``rows(_:)`` from levels that passed their checks.
    if let levels = try? ServiceLevels(calendarsDocument: calendars, policiesDocument: policies) { settings.serviceLevels = levels }
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
    let workload = settings.workload
    for (channel, seconds) in workload.handleSeconds { rows.append(("handle_seconds:\(channel)", String(seconds))) }
    if workload.liveChannels != WorkloadSettings.defaultLiveChannels {
      // An empty set is kept as one empty name, so that "no live channel" survives a read.
      let live = workload.liveChannels.isEmpty ? [""] : workload.liveChannels.sorted()
      for channel in live { rows.append(("live_channel:\(channel)", "")) }
    }
    if !workload.roster.isEmpty {
      rows.append(("roster", workload.roster.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
    }
    if let calendars = settings.serviceLevels.calendarsDocument { rows.append(("calendars", calendars)) }
    if let policies = settings.serviceLevels.policiesDocument { rows.append(("sla_policies", policies)) }
    let targets = workload.targets
    rows.append(
      ("staffing_targets", "\(targets.serviceLevel) \(targets.answerWithinSeconds) \(targets.maxOccupancy) \(targets.shrinkage)"))
    return rows
  }
}
