import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline calendar …`: the tenant's business-hours calendars (docs/kpis.md, "Business hours").
struct CalendarCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calendar",
    abstract: "Business-hours calendars: opening hours, holidays and make-up working days (admin key to change).",
    discussion: """
      The first calendar is the tenant's default: first response and resolution get business-time values on it.
      A change given --from DATE takes effect from that date (a ticket's durations use the version in force
      when it was created); without it the current version is edited.
      Example: sightline calendar create office --zone Asia/Shanghai --hours "mon-fri 09:00-18:00"
      """,
    subcommands: [Create.self, List.self, Show.self, SetHours.self, AddHoliday.self, AddOverride.self, ImportICS.self, Delete.self])

  /// `--hours` specs as wire weekdays.
  static func weekly(_ specs: [String]) throws -> [Sightline_Metrics_V1_WeekdayHours] {
    var days: [Int: [OpenInterval]] = [:]
    for spec in specs {
      switch HoursText.weekly(spec) {
      case .success(let parsed): for (day, intervals) in parsed { days[day, default: []] += intervals }
      case .failure(let error): throw ValidationError("--hours \(error)")
      }
    }
    return days.keys.sorted().map { day in
      .with {
        $0.weekday = Int32(day); $0.intervals = wire(days[day]!)
      }
    }
  }

  static func wire(_ intervals: [OpenInterval]) -> [Sightline_Metrics_V1_OpeningInterval] {
    intervals.map { interval in
      .with {
        $0.start = OpenInterval.text(interval.startMinute); $0.end = OpenInterval.text(interval.endMinute)
      }
    }
  }

  static func intervals(_ text: String, flag: String) throws -> [OpenInterval] {
    guard let intervals = HoursText.intervals(text) else { throw ValidationError("\(flag): '\(text)' is not HH:MM-HH:MM[,HH:MM-HH:MM…]") }
    return intervals
  }

  /// Sends one change and prints the calendar it leaves.
  static func change(_ connection: ConnectionOptions, _ request: Sightline_Metrics_V1_ChangeCalendarRequest) async throws {
    let reply = try await connection.withGateway { client, metadata in
      try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).changeCalendar(request, metadata: metadata)
    }
    if reply.importedHolidays > 0 || reply.importedWorkdays > 0 {
      print("imported \(reply.importedHolidays) holidays and \(reply.importedWorkdays) make-up working days")
    }
    if reply.hasCalendar { show(reply.calendar) } else { print("deleted calendar '\(request.name)'") }
  }

  /// A calendar, version by version.
  static func show(_ calendar: Sightline_Metrics_V1_BusinessCalendar) {
    print("calendar \(calendar.name)\(calendar.isDefault ? " (default)" : "")")
    for version in calendar.versions {
      let hours = version.hours
      print("  from \(version.effectiveFrom.isEmpty ? "the start" : version.effectiveFrom)  zone \(hours.timeZone)")
      for weekday in 1...7 {
        let intervals = hours.weekly.filter { $0.weekday == weekday }.flatMap(\.intervals)
        let text = intervals.isEmpty ? "closed" : intervals.map { "\($0.start)–\($0.end)" }.joined(separator: ", ")
        print("    \(TimeOfWeek.weekdayNames[weekday - 1])  \(text)")
      }
      if !hours.holidays.isEmpty { print("    holidays: \(hours.holidays.joined(separator: " "))") }
      for date in hours.overrides {
        let text = date.intervals.isEmpty ? "closed" : date.intervals.map { "\($0.start)–\($0.end)" }.joined(separator: ", ")
        print("    \(date.date): \(text)")
      }
    }
  }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a calendar with weekly opening hours (admin key).")
    @Argument(help: "Its name.") var name: String
    @Option(help: "IANA time zone, e.g. Asia/Shanghai.") var zone: String
    @Option(help: "Weekdays and hours, e.g. \"mon-fri 09:00-18:00\" (repeatable; 22:00-06:00 crosses midnight).")
    var hours: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let weekly = try CalendarCommand.weekly(hours)
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name
          $0.create = .with {
            $0.timeZone = zone; $0.weekly = weekly
          }
        })
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the tenant's calendars.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listCalendars(.init(), metadata: metadata)
      }
      guard !reply.calendars.isEmpty else {
        print("no calendars: durations are in calendar time (sightline calendar create NAME --zone … --hours …)")
        return
      }
      printTable(
        ["NAME", "ZONE", "VERSIONS", "HOLIDAYS", "OWN DATES", ""],
        reply.calendars.map { calendar in
          let latest = calendar.versions.last?.hours ?? .init()
          return [
            calendar.name, latest.timeZone, String(calendar.versions.count), String(latest.holidays.count),
            String(latest.overrides.count), calendar.isDefault ? "default" : "",
          ]
        })
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a calendar's versions: hours, holidays and dates of their own.")
    @Argument(help: "The calendar.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listCalendars(.init(), metadata: metadata)
      }
      guard let calendar = reply.calendars.first(where: { $0.name == name }) else {
        throw ValidationError("no calendar named '\(name)' (sightline calendar list)")
      }
      CalendarCommand.show(calendar)
    }
  }

  /// `--from DATE`: when a change takes effect.
  struct Effective: ParsableArguments {
    @Option(help: "The local date (YYYY-MM-DD) the change takes effect from (default: edit the current version).")
    var from: String?
  }

  struct SetHours: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "set-hours", abstract: "Replace a calendar's weekly hours (and zone); holidays and own dates are kept (admin key).")
    @Argument(help: "The calendar.") var name: String
    @Option(help: "Weekdays and hours, e.g. \"mon-fri 09:00-18:00\" (repeatable).") var hours: [String] = []
    @Option(help: "A new IANA time zone.") var zone: String?
    @OptionGroup var effective: Effective
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let weekly = try CalendarCommand.weekly(hours)
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name
          $0.effectiveFrom = effective.from ?? ""
          $0.setHours = .with {
            $0.timeZone = zone ?? ""; $0.weekly = weekly
          }
        })
    }
  }

  struct AddHoliday: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-holiday", abstract: "Close whole local dates (admin key).")
    @Argument(help: "The calendar.") var name: String
    @Argument(help: "Dates, YYYY-MM-DD.") var dates: [String]
    @OptionGroup var effective: Effective
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name
          $0.effectiveFrom = effective.from ?? ""
          $0.addHolidays = .with { $0.dates = dates }
        })
    }
  }

  struct AddOverride: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add-override",
      abstract: "Give a date hours of its own: a make-up working day, a half day, or closed (admin key).")
    @Argument(help: "The calendar.") var name: String
    @Argument(help: "The date, YYYY-MM-DD.") var date: String
    @Option(help: "Its hours, e.g. 09:00-18:00 or 09:00-12:00,13:00-18:00.") var hours: String?
    @Flag(help: "Closed all day.") var closed = false
    @OptionGroup var effective: Effective
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      guard (hours != nil) != closed else { throw ValidationError("give --hours or --closed") }
    }

    func run() async throws {
      let intervals = try hours.map { try CalendarCommand.intervals($0, flag: "--hours") } ?? []
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name
          $0.effectiveFrom = effective.from ?? ""
          $0.addOverrides = .with {
            $0.dates = [
              .with {
                $0.date = date; $0.intervals = CalendarCommand.wire(intervals)
              }
            ]
          }
        })
    }
  }

  struct ImportICS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-ics",
      abstract: "Add an iCalendar file's holidays and make-up working days (admin key).",
      discussion: "Example: sightline calendar import-ics office examples/china-2026-holidays.ics")
    @Argument(help: "The calendar.") var name: String
    @Argument(help: "The .ics file.") var file: String
    @Option(help: "Hours of a make-up working day (default: the calendar's Monday hours).") var workdayHours: String?
    @OptionGroup var effective: Effective
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
      let workday = try workdayHours.map { try CalendarCommand.intervals($0, flag: "--workday-hours") } ?? []
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name
          $0.effectiveFrom = effective.from ?? ""
          $0.importIcs = .with {
            $0.text = String(decoding: data, as: UTF8.self); $0.workdayHours = CalendarCommand.wire(workday)
          }
        })
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a calendar no SLA policy names (admin key).")
    @Argument(help: "The calendar.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      try await CalendarCommand.change(
        connection,
        .with {
          $0.name = name; $0.delete = true
        })
    }
  }
}

/// `sightline sla-policy …`: which first-response and resolution targets a ticket gets.
struct SlaPolicyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sla-policy",
    abstract: "Show or replace the tenant's SLA policies (admin key to replace).",
    discussion: """
      A ticket falls under the most specific policy for its business line and channel (ties: file order), else the
      default policy (the plain first-response targets of `sightline settings` and default resolution targets, in
      calendar time). The CSV has the header name,business_lines,channels,calendar,hours,priority,first_response,resolution;
      see examples/sla-policies.csv and docs/kpis.md.
      """,
    subcommands: [List.self, Set.self])

  static func targets(_ targets: Sightline_Metrics_V1_SlaTargets) -> String {
    [("urgent", targets.urgentSeconds), ("high", targets.highSeconds), ("normal", targets.normalSeconds), ("low", targets.lowSeconds)]
      .map { "\($0.0) \($0.1 > 0 ? HumanDuration.text($0.1) : "–")" }.joined(separator: ", ")
  }

  static func show(_ reply: Sightline_Metrics_V1_SlaPoliciesResponse) {
    for policy in reply.policies + [reply.defaultPolicy] {
      let scope =
        [
          policy.businessLines.isEmpty ? nil : "lines " + policy.businessLines.joined(separator: ","),
          policy.channels.isEmpty ? nil : "channels " + policy.channels.joined(separator: ","),
        ].compactMap { $0 }.joined(separator: ", ")
      print(
        "\(policy.name)  \(scope.isEmpty ? "every ticket" : scope)  ·  \(policy.businessTime ? "business" : "calendar") time"
          + (policy.calendar.isEmpty ? "" : " on \(policy.calendar)"))
      print("  first response  \(targets(policy.firstResponse))")
      print("  resolution      \(targets(policy.resolution))")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the policies in order, then the default policy.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      SlaPolicyCommand.show(
        try await connection.withGateway { client, metadata in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listSlaPolicies(.init(), metadata: metadata)
        })
    }
  }

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replace the policies with a CSV file's, or remove them (admin key).")
    @Argument(help: "The policies' CSV.") var file: String?
    @Flag(help: "Remove every policy: the default policy alone applies.") var clear = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
      guard (file != nil) != clear else { throw ValidationError("give a policy file or --clear") }
    }

    func run() async throws {
      var policies: [SlaPolicy] = []
      if let file {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        do { policies = try HoursText.policies(csv: String(decoding: data, as: UTF8.self)) } catch {
          throw ValidationError("\(file): \(error)")
        }
      }
      let request = Sightline_Metrics_V1_SetSlaPoliciesRequest.with { $0.policies = policies.map(CalendarWire.policy) }
      SlaPolicyCommand.show(
        try await connection.withGateway { client, metadata in
          try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).setSlaPolicies(request, metadata: metadata)
        })
    }
  }
}
