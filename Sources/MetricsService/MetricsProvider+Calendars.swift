import Foundation
public import GRPCCore
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// Business-hours calendars and SLA policies (docs/kpis.md, "Business hours"): kept with the
/// tenant's KPI settings, so a change rebuilds the rollups that hold business times and SLA
/// judgements.
extension MetricsProvider {
  public func listCalendars(
    request: ServerRequest<Sightline_Metrics_V1_ListCalendarsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ListCalendarsResponse> {
    let (_, store) = try self.context(request.metadata)
    let levels = try store.settings().serviceLevels
    return ServerResponse(
      message: .with { $0.calendars = levels.calendars.enumerated().map { CalendarWire.calendar($1, isDefault: $0 == 0) } })
  }

  public func changeCalendar(
    request: ServerRequest<Sightline_Metrics_V1_ChangeCalendarRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ChangeCalendarResponse> {
    let (_, store) = try self.context(request.metadata)
    let message = request.message
    guard ServiceLevels.validName(message.name) else {
      throw InvalidInput(field: "name", reason: "'\(message.name)' is not a calendar name (1-64 letters, digits, '-', '_', '.')")
    }
    var settings = try store.settings()
    var levels = settings.serviceLevels
    let index = levels.calendars.firstIndex { $0.name == message.name }
    var response = Sightline_Metrics_V1_ChangeCalendarResponse()
    switch message.change {
    case .create(let wire):
      guard index == nil else { throw RPCError(code: .alreadyExists, message: "a calendar named '\(message.name)' exists") }
      levels.calendars.append(VersionedCalendar(name: message.name, hours: try Self.hours(wire, field: "create")))
    case .delete:
      guard let index else { throw Self.noCalendar(message.name) }
      if let policy = levels.policies.first(where: { $0.calendar == message.name }) {
        throw RPCError(
          code: .failedPrecondition, message: "SLA policy '\(policy.name)' runs on calendar '\(message.name)'; change it first")
      }
      levels.calendars.remove(at: index)
    case nil:
      throw InvalidInput(field: "change", reason: "say what to do: create, set_hours, add_holidays, add_overrides, import_ics or delete")
    default:
      guard let index else { throw Self.noCalendar(message.name) }
      var calendar = levels.calendars[index]
      let fromDay = message.effectiveFrom.isEmpty ? nil : try Self.date(message.effectiveFrom, field: "effective_from")
      var hours = calendar.hours(onDay: fromDay ?? .max)
      switch message.change {
      case .setHours(let wire):
        let given = try Self.hours(wire, field: "set_hours", validate: false)
        if !wire.timeZone.isEmpty { hours.timeZone = given.timeZone }
        hours.weekly = given.weekly
      case .addHolidays(let list):
        for (position, text) in list.dates.enumerated() {
          hours.holidays.insert(try Self.date(text, field: "add_holidays.dates[\(position)]"))
        }
      case .addOverrides(let list):
        for (position, date) in list.dates.enumerated() {
          let field = "add_overrides.dates[\(position)]"
          hours.overrides[try Self.date(date.date, field: "\(field).date")] = try Self.intervals(
            date.intervals, field: "\(field).intervals")
        }
      case .importIcs(let file):
        let days: [ICalendarDays.Day]
        do { days = try ICalendarDays.parse(file.text) } catch { throw InvalidInput(field: "import_ics.text", reason: error.description) }
        var workday = try Self.intervals(file.workdayHours, field: "import_ics.workday_hours")
        if file.workdayHours.isEmpty { workday = hours.weekly[1] ?? [] }
        guard !workday.isEmpty || !days.contains(where: { $0.kind == .workday }) else {
          throw InvalidInput(
            field: "import_ics.workday_hours", reason: "the calendar has no Monday hours to open make-up working days with; give them")
        }
        hours.add(days, workdayHours: workday)
        response.importedHolidays = Int32(days.filter { $0.kind == .holiday }.count)
        response.importedWorkdays = Int32(days.filter { $0.kind == .workday }.count)
      default: break
      }
      if let problem = hours.problem { throw InvalidInput(field: problem.field, reason: problem.reason) }
      if let fromDay {
        calendar.change(fromDay: fromDay, to: hours)
      } else {
        calendar.replaceLatest(with: hours)
      }
      levels.calendars[index] = calendar
    }
    if let problem = levels.problem { throw RPCError(code: .failedPrecondition, message: problem.description) }
    settings.serviceLevels = levels
    try store.setSettings(settings)
    if let calendar = levels.calendar(named: message.name) {
      response.calendar = CalendarWire.calendar(calendar, isDefault: levels.calendars.first?.name == calendar.name)
    }
    return ServerResponse(message: response)
  }

  public func listSlaPolicies(
    request: ServerRequest<Sightline_Metrics_V1_ListSlaPoliciesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_SlaPoliciesResponse> {
    let (_, store) = try self.context(request.metadata)
    return ServerResponse(message: Self.wirePolicies(try store.settings()))
  }

  public func setSlaPolicies(
    request: ServerRequest<Sightline_Metrics_V1_SetSlaPoliciesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_SlaPoliciesResponse> {
    let (_, store) = try self.context(request.metadata)
    var settings = try store.settings()
    var levels = settings.serviceLevels
    levels.policies = try request.message.policies.enumerated().map { index, wire in
      let field = "policies[\(index)]"
      return SlaPolicy(
        name: wire.name, businessLines: Set(wire.businessLines), channels: Set(wire.channels),
        calendar: wire.calendar.isEmpty ? nil : wire.calendar, businessTime: wire.businessTime,
        firstResponseMs: try Self.targets(wire.firstResponse, field: "\(field).first_response"),
        resolutionMs: try Self.targets(wire.resolution, field: "\(field).resolution"))
    }
    if let problem = levels.problem { throw InvalidInput(field: problem.field, reason: problem.reason) }
    settings.serviceLevels = levels
    try store.setSettings(settings)
    return ServerResponse(message: Self.wirePolicies(settings))
  }

  // MARK: - Wire forms

  private static func noCalendar(_ name: String) -> RPCError {
    RPCError(code: .notFound, message: "no calendar named '\(name)' (sightline calendar list)")
  }

  private static func date(_ text: String, field: String) throws -> Int {
    guard let day = LocalTime.parseDate(text) else { throw InvalidInput(field: field, reason: "'\(text)' is not a date (YYYY-MM-DD)") }
    return day
  }

  private static func intervals(_ wire: [Sightline_Metrics_V1_OpeningInterval], field: String) throws -> [OpenInterval] {
    try wire.enumerated().map { index, interval in
      guard let parsed = OpenInterval(interval.start, interval.end) else {
        throw InvalidInput(
          field: "\(field)[\(index)]", reason: "'\(interval.start)'–'\(interval.end)' is not HH:MM–HH:MM (00:00 to 24:00)")
      }
      return parsed
    }
  }

  /// Wire hours as the model's, checked (``BusinessHours/problem``) unless `validate` is off.
  static func hours(_ wire: Sightline_Metrics_V1_CalendarHours, field: String, validate: Bool = true) throws -> BusinessHours {
    var hours = BusinessHours(timeZone: wire.timeZone.isEmpty ? "UTC" : wire.timeZone, weekly: [:])
    for (index, weekday) in wire.weekly.enumerated() {
      let day = Int(weekday.weekday)
      guard (1...7).contains(day) else {
        throw InvalidInput(field: "\(field).weekly[\(index)].weekday", reason: "\(day) is not an ISO weekday (1 Monday … 7 Sunday)")
      }
      hours.weekly[day, default: []] += try intervals(weekday.intervals, field: "\(field).weekly[\(index)].intervals")
    }
    for (index, text) in wire.holidays.enumerated() { hours.holidays.insert(try date(text, field: "\(field).holidays[\(index)]")) }
    for (index, date) in wire.overrides.enumerated() {
      let day = try self.date(date.date, field: "\(field).overrides[\(index)].date")
      hours.overrides[day] = try intervals(date.intervals, field: "\(field).overrides[\(index)].intervals")
    }
    if validate, let problem = hours.problem { throw InvalidInput(field: "\(field).\(problem.field)", reason: problem.reason) }
    return hours
  }

  private static func targets(_ wire: Sightline_Metrics_V1_SlaTargets, field: String) throws -> [TicketPriority: Int64] {
    var targets: [TicketPriority: Int64] = [:]
    for (priority, seconds, name) in [
      (TicketPriority.urgent, wire.urgentSeconds, "urgent_seconds"), (.high, wire.highSeconds, "high_seconds"),
      (.normal, wire.normalSeconds, "normal_seconds"), (.low, wire.lowSeconds, "low_seconds"),
    ] {
      guard seconds >= 0 else { throw InvalidInput(field: "\(field).\(name)", reason: "must not be negative (0: no target)") }
      if seconds > 0 { targets[priority] = seconds * 1000 }
    }
    return targets
  }

  static func wirePolicies(_ settings: KpiSettings) -> Sightline_Metrics_V1_SlaPoliciesResponse {
    .with {
      $0.policies = settings.serviceLevels.policies.map(CalendarWire.policy)
      $0.defaultPolicy = CalendarWire.policy(.fallback(settings))
    }
  }
}
