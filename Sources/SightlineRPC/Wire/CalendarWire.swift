public import SightlineModel
public import SightlineWire
import SwiftProtobuf

/// Calendars and SLA policies on the wire, for the metrics service, the demo and the CLI.
public enum CalendarWire {
  /// A policy's wire form (targets in whole seconds, 0 for none).
  public static func policy(_ policy: SlaPolicy) -> Sightline_Metrics_V1_SlaPolicy {
    func targets(_ ms: [TicketPriority: Int64]) -> Sightline_Metrics_V1_SlaTargets {
      .with {
        $0.urgentSeconds = (ms[.urgent] ?? 0) / 1000; $0.highSeconds = (ms[.high] ?? 0) / 1000
        $0.normalSeconds = (ms[.normal] ?? 0) / 1000; $0.lowSeconds = (ms[.low] ?? 0) / 1000
      }
    }
    return .with {
      $0.name = policy.name
      $0.businessLines = policy.businessLines.sorted()
      $0.channels = policy.channels.sorted()
      $0.calendar = policy.calendar ?? ""
      $0.businessTime = policy.businessTime
      $0.firstResponse = targets(policy.firstResponseMs)
      $0.resolution = targets(policy.resolutionMs)
    }
  }

  /// A calendar and its versions on the wire.
  public static func calendar(_ calendar: VersionedCalendar, isDefault: Bool) -> Sightline_Metrics_V1_BusinessCalendar {
    .with {
      $0.name = calendar.name
      $0.isDefault = isDefault
      $0.versions = calendar.versions.map { version in
        .with {
          if version.fromDay != .min { $0.effectiveFrom = LocalTime.dateText(day: version.fromDay) }
          $0.hours = hours(version.hours)
        }
      }
    }
  }

  /// Opening hours on the wire.
  public static func hours(_ hours: BusinessHours) -> Sightline_Metrics_V1_CalendarHours {
    func wire(_ intervals: [OpenInterval]) -> [Sightline_Metrics_V1_OpeningInterval] {
      intervals.map { interval in
        .with {
          $0.start = OpenInterval.text(interval.startMinute); $0.end = OpenInterval.text(interval.endMinute)
        }
      }
    }
    return .with {
      $0.timeZone = hours.timeZone
      $0.weekly = hours.weekly.keys.sorted().map { day in
        .with {
          $0.weekday = Int32(day); $0.intervals = wire(hours.weekly[day]!)
        }
      }
      $0.holidays = hours.holidays.sorted().map { LocalTime.dateText(day: $0) }
      $0.overrides = hours.overrides.keys.sorted().map { day in
        .with {
          $0.date = LocalTime.dateText(day: day); $0.intervals = wire(hours.overrides[day]!)
        }
      }
    }
  }

}
