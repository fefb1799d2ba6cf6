import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Calendars and SLA policies through the gateway: admin changes, bad input named by field,
/// and business-time KPIs labelled as such (issue 22).
@Suite(.serialized) struct CalendarRPCTests {
  static func interval(_ start: String, _ end: String) -> Sightline_Metrics_V1_OpeningInterval {
    .with {
      $0.start = start; $0.end = end
    }
  }

  /// Monday to Friday 09:00–18:00 UTC.
  static let office = Sightline_Metrics_V1_CalendarHours.with {
    $0.timeZone = "UTC"
    $0.weekly = (1...5).map { day in
      .with {
        $0.weekday = Int32(day); $0.intervals = [interval("09:00", "18:00")]
      }
    }
  }

  @Test func calendarsPoliciesAndBusinessTimeThroughTheGateway() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let admin = SuiteMetadata.bearer(tenant.adminKey)
        let reader = SuiteMetadata.bearer(
          try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createKey(
            .with {
              $0.role = .reader; $0.label = "wallboard"
            }, metadata: admin
          ).secret)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        let ingested = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          .ingest(.with { $0.events = workedExampleEvents() }, metadata: admin)
        let query = Sightline_Metrics_V1_QueryKpisRequest.with {
          $0.kpis = [.firstResponseTime, .slaResolution]
          $0.range = .with {
            $0.start = timestamp("2026-03-02T00:00:00Z"); $0.end = timestamp("2026-03-03T00:00:00Z")
          }
          $0.hours = .business
          $0.minOffset = ingested.offset
        }
        // No calendar: business hours asked, calendar time answered, and said.
        var reply = try await metrics.queryKpis(query, metadata: reader)
        #expect(reply.rows[0].values[0].hours == .calendar && reply.rows[0].values[0].value == 3300)
        #expect(reply.rows[0].values[1].hours == .unspecified)

        // A reader cannot change calendars.
        let refused = await #expect(throws: RPCError.self) {
          try await metrics.changeCalendar(
            .with {
              $0.name = "office"; $0.create = Self.office
            }, metadata: reader)
        }
        #expect(refused?.code == .permissionDenied)
        let created = try await metrics.changeCalendar(
          .with {
            $0.name = "office"; $0.create = Self.office
          }, metadata: admin)
        #expect(created.calendar.isDefault && created.calendar.versions.count == 1)

        // The worked example's first responses (created 09:00–23:30 UTC on Monday 2 March):
        // T1 09:00→09:30 1800 s, T2 10:00→12:00 7200 s, T4 23:30→00:30 0 s (closed), T5
        // 12:00→12:10 600 s: mean 2400 s.
        reply = try await metrics.queryKpis(query, metadata: reader)
        #expect(reply.rows[0].values[0].hours == .business)
        #expect(reply.rows[0].values[0].value == 2400 && reply.rows[0].values[0].sampleSize == 4)

        // A change from a date adds a version; an ICS file's bad line is named; bad hours by field.
        let changed = try await metrics.changeCalendar(
          .with {
            $0.name = "office"; $0.effectiveFrom = "2026-04-01"; $0.addHolidays = .with { $0.dates = ["2026-04-03"] }
          }, metadata: admin)
        #expect(changed.calendar.versions.map(\.effectiveFrom) == ["", "2026-04-01"])
        #expect(changed.calendar.versions[1].hours.holidays == ["2026-04-03"])
        let cases: [(Sightline_Metrics_V1_ChangeCalendarRequest, String)] = [
          (
            .with {
              $0.name = "office"; $0.importIcs = .with { $0.text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026\nEND:VEVENT\n" }
            }, "line 3"
          ),
          (
            .with {
              $0.name = "office"
              $0.setHours = .with {
                $0.weekly = [
                  .with {
                    $0.weekday = 2; $0.intervals = [Self.interval("09:00", "12:00"), Self.interval("11:00", "14:00")]
                  }
                ]
              }
            }, "weekly[2][1]"
          ),
          (
            .with {
              $0.name = "night"
              $0.create = .with {
                $0.timeZone = "Mars/Olympus"
              }
            }, "time_zone"
          ),
          (
            .with {
              $0.name = "office"; $0.addOverrides = .with { $0.dates = [.with { $0.date = "2026-13-01" }] }
            }, "add_overrides.dates[0].date"
          ),
          (
            .with {
              $0.name = "office";
              $0.setHours = .with {
                $0.weekly = [
                  .with {
                    $0.weekday = 1; $0.intervals = [Self.interval("9", "18:00")]
                  }
                ]
              }
            }, "set_hours.weekly[0].intervals[0]"
          ),
        ]
        for (request, field) in cases {
          let error = await #expect(throws: RPCError.self) { try await metrics.changeCalendar(request, metadata: admin) }
          #expect(error?.code == .invalidArgument, "\(field)")
          #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "")")
        }

        // A policy in business time on line A: T1 30 min and T2 2 h against 1 h.
        let policies = try await metrics.setSlaPolicies(
          .with {
            $0.policies = [
              .with {
                $0.name = "line-a"; $0.businessLines = ["A"]; $0.businessTime = true
                $0.firstResponse = .with {
                  $0.normalSeconds = 3_600; $0.urgentSeconds = 3_600
                }
              }
            ]
          }, metadata: admin)
        #expect(policies.policies.map(\.name) == ["line-a"] && policies.defaultPolicy.resolution.normalSeconds == 72 * 3_600)
        let badPolicy = await #expect(throws: RPCError.self) {
          try await metrics.setSlaPolicies(
            .with {
              $0.policies = [
                .with {
                  $0.name = "x"; $0.calendar = "nowhere"
                }
              ]
            }, metadata: admin)
        }
        #expect(badPolicy?.code == .invalidArgument && badPolicy?.message.contains("policies[0].calendar") == true)
        let inUse = await #expect(throws: RPCError.self) {
          try await metrics.setSlaPolicies(
            .with {
              $0.policies = [
                .with {
                  $0.name = "x"; $0.calendar = "office"
                }
              ]
            }, metadata: admin)
          try await metrics.changeCalendar(
            .with {
              $0.name = "office"; $0.delete = true
            }, metadata: admin)
        }
        #expect(inUse?.code == .failedPrecondition)
        let byLine = try await metrics.queryKpis(
          .with {
            $0.kpis = [.slaFirstResponse]; $0.range = query.range; $0.groupBy = [.businessLine];
            $0.filters = [
              .with {
                $0.dimension = .businessLine; $0.values = ["A"]
              }
            ]
            $0.minOffset = ingested.offset
          }, metadata: reader)
        // Policy "x" (every ticket, no targets) replaced line-a: nothing is judged.
        #expect(byLine.rows[0].values[0].sampleSize == 0)
        _ = try await metrics.setSlaPolicies(
          .with {
            $0.policies = [policies.policies[0]]
          }, metadata: admin)
        let judged = try await metrics.queryKpis(
          .with {
            $0.kpis = [.slaFirstResponse]; $0.range = query.range;
            $0.filters = [
              .with {
                $0.dimension = .businessLine; $0.values = ["A"]
              }
            ]
          }, metadata: reader)
        // Line A: T1 (30 min) met, T2 (urgent, 2 h) breached, T5 (10 min) met.
        #expect(judged.rows[0].values[0].value == 2.0 / 3 && judged.rows[0].values[0].sampleSize == 3)

        // Settings keep the calendars; the calendar list shows both versions.
        _ = try await metrics.setSettings(.with { $0.settings.timeZone = "UTC" }, metadata: admin)
        let listed = try await metrics.listCalendars(.init(), metadata: reader)
        #expect(listed.calendars.map(\.name) == ["office"] && listed.calendars[0].versions.count == 2)
      }
    }
  }
}
