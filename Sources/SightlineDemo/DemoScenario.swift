public import SightlineModel

/// What the demo data set plants: a realistic service operation over `days`, where some
/// business lines get the dashboard on the rollout day and improve, one region suffers a
/// complaint spike at the end, VIP customers sour over the last weeks, and a few lines run
/// short in the evenings (slower replies, lower CSAT from 19:00). Tests check that
/// Sightline finds exactly these.
public struct DemoScenario: Sendable, Equatable {
  /// Seed of the generator: the same seed gives the same data set.
  public var seed: UInt64 = 7
  /// End of the data (exclusive), Unix ms; usually today's midnight, UTC.
  public var endMs: Int64
  /// Days of history.
  public var days = 120
  /// Business lines, named L01, L02, ...
  public var lineCount = 20
  /// Lines that get the dashboard on the rollout day (the first half by default).
  public var treatedLineCount = 10
  /// Mean tickets per business line per day (lines differ in size around it).
  public var ticketsPerLineDay = 6.0
  /// Customer pool size.
  public var customers = 2_000
  /// Day index (0-based from the first day) of the rollout.
  public var rolloutDay = 60
  /// Planted effect on treated lines after rollout: relative change of first response
  /// time (−0.15 = 15 % faster) and absolute change of the chance a CSAT answer is 4-5.
  public var firstResponseEffect = -0.15
  public var csatEffect = 0.04
  /// Region whose complaint rate spikes over the last `spikeDays`, and to what.
  public var spikeRegion = "south"
  public var spikeDays = 2
  public var spikeComplaintRate = 0.30
  /// Normal complaint share.
  public var baseComplaintRate = 0.05
  /// VIP customers' CSAT "satisfied" chance drops by `vipDrop` over the last `vipDays`.
  public var vipDays = 30
  public var vipDrop = 0.30
  /// Lines whose evenings are understaffed (one treated, one control, so the rollout's
  /// comparison is not tilted): tickets created from `eveningFrom` (local) get replies
  /// `eveningSlowdown` times slower, and a satisfied customer turns unsatisfied with the
  /// chance `eveningDissatisfaction`. `examples/roster-line.csv` is such a line's rota.
  public var shortEveningLines = ["L03", "L13"]
  public var eveningFrom = 19
  public var eveningSlowdown = 3.0
  public var eveningDissatisfaction = 0.5
  /// Handle times the demo tenant sets (seconds), and its live channels (docs/workload.md).
  public static let handleSeconds: [String: Double] = ["wechat": 240, "phone": 360, "app": 300, "email": 540, "web": 480]
  public static let liveChannels = ["phone", "wechat"]

  /// A scenario ending at `endMs` with the defaults above.
  public init(endMs: Int64) { self.endMs = endMs }

  /// Business line names.
  public var lines: [String] { (1...lineCount).map { "L" + (($0 < 10) ? "0\($0)" : "\($0)") } }
  /// Lines that got the dashboard.
  public var treatedLines: [String] { Array(lines.prefix(treatedLineCount)) }
  /// Lines that did not.
  public var controlLines: [String] { Array(lines.dropFirst(treatedLineCount)) }
  /// First day, Unix ms.
  public var startMs: Int64 { endMs - Int64(days) * DemoScenario.dayMs }
  /// The rollout moment, Unix ms.
  public var rolloutMs: Int64 { startMs + Int64(rolloutDay) * DemoScenario.dayMs }

  /// The demo tenant's time zone: its days, and the dates printed about it, are Shanghai's.
  public static let timeZone = "Asia/Shanghai"
  /// The demo tenant's business-hours calendar: 09:00–18:00 Monday to Friday in Shanghai,
  /// with mainland China's 2026 holidays and make-up working days, as
  /// examples/china-2026-holidays.ics has them (a test holds the two equal).
  public static let calendarName = "office"
  public static let officeHours = (start: "09:00", end: "18:00")
  /// The calendar itself.
  public static var officeCalendar: VersionedCalendar {
    let hours = [OpenInterval(officeHours.start, officeHours.end)!]
    var office = BusinessHours(timeZone: timeZone, weekly: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, hours) }))
    office.holidays = Set(holidayDates2026.map { LocalTime.parseDate($0)! })
    office.overrides = Dictionary(uniqueKeysWithValues: makeUpDays2026.map { (LocalTime.parseDate($0)!, hours) })
    return VersionedCalendar(name: calendarName, hours: office)
  }
  /// Each holiday run: its first date and its length in days (33 days in all).
  public static let holidays2026: [(first: String, days: Int)] = [
    ("2026-01-01", 3), ("2026-02-15", 9), ("2026-04-04", 3), ("2026-05-01", 5), ("2026-06-19", 3), ("2026-09-25", 3),
    ("2026-10-01", 7),
  ]
  /// Weekend dates worked instead (调休), with office hours.
  public static let makeUpDays2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]

  /// Every 2026 holiday date, YYYY-MM-DD.
  public static var holidayDates2026: [String] {
    holidays2026.flatMap { run in
      let first = LocalTime.parseDate(run.first)!
      return (first..<first + run.days).map { LocalTime.dateText(day: $0) }
    }
  }
  /// Shanghai's offset from UTC (no daylight saving), and its service hours: tickets come
  /// in from 08:00 to 22:00 local.
  static let zoneOffsetMs: Int64 = 8 * 3_600_000
  static let openHour = 8
  static let closeHour = 22
  static let dayMs: Int64 = 86_400_000
  static let regions = ["north", "south", "east", "west", "central", "northeast"]
  static let channels: [(String, Double)] = [("wechat", 0.35), ("phone", 0.25), ("app", 0.2), ("email", 0.1), ("web", 0.1)]
  static let problemTypes = ["billing", "delivery", "product_defect", "account", "installation", "refund"]
  static let modules = ["app", "payment", "logistics", "device", "membership"]
}
