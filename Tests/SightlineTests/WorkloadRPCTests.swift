import Foundation
import GRPCCore
import MetricsService
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// The workload RPCs end to end through the gateway, on three weeks of planted arrivals up
/// to the current hour (Asia/Shanghai): phone 4 tickets an hour 09:00–21:59 on weekdays
/// and 12 at 19:00 and 20:00, email 2 an hour 09:00–17:59, wechat 1 at 12:00. Evening
/// tickets (19:00 on) get their reply after 2 hours and a CSAT of 2; the others after
/// 10 minutes and a 5. Email replies carry a handle time of 8 minutes.
@Suite(.serialized) struct WorkloadRPCTests {
  static let zone = TimeZone(identifier: "Asia/Shanghai")!
  static let hourMs: Int64 = 3_600_000

  /// Tickets per channel planted in an hour of the week.
  static func planted(_ time: TimeOfWeek) -> [String: Int] {
    guard time.weekday <= 5 else { return [:] }
    var counts: [String: Int] = [:]
    if (9...21).contains(time.hour) { counts["phone"] = time.hour == 19 || time.hour == 20 ? 12 : 4 }
    if (9...17).contains(time.hour) { counts["email"] = 2 }
    if time.hour == 12 { counts["wechat"] = 1 }
    return counts
  }

  /// The events of the three weeks before `end` (the start of the current local hour).
  static func events(end: Int64) -> [Sightline_Ingestion_V1_Event] {
    var events: [Sightline_Ingestion_V1_Event] = []
    var number = 0
    for hour in stride(from: end - 21 * 24 * hourMs, to: end, by: Int(hourMs)) {
      let time = TimeOfWeek(milliseconds: hour, zone: zone)
      for (channel, count) in planted(time).sorted(by: { $0.key < $1.key }) {
        for index in 0..<count {
          number += 1
          let id = "T\(number)"
          let created = hour + Int64(index) * 60_000
          let evening = time.hour >= 19
          let reply = created + (evening ? 2 * hourMs : 600_000)
          func ticket(_ kind: Sightline_Ingestion_V1_TicketEventKind, _ at: Int64) -> Sightline_Ingestion_V1_Event {
            .with {
              $0.eventID = "\(id)-\(kind.rawValue)"
              $0.ticketEvent = .with {
                $0.ticketID = id; $0.customerID = "C\(number % 50)"; $0.kind = kind
                $0.time = RFC3339.format(milliseconds: at); $0.channel = channel; $0.businessLine = "L1"
              }
            }
          }
          events.append(ticket(.created, created))
          var answer = ticket(.agentReply, reply)
          // Email replies say what they cost: 8 minutes each, which replaces the set 10.
          if channel == "email" { answer.ticketEvent.handleSeconds = 480 }
          events.append(answer)
          events.append(
            .with {
              $0.eventID = "\(id)-csat"
              $0.surveyResponse = .with {
                $0.customerID = "C\(number % 50)"; $0.ticketID = id; $0.kind = .csat; $0.score = evening ? 2 : 5
                // Answered in the hour the ticket came in: the heatmap cuts answers by their own time.
                $0.time = RFC3339.format(milliseconds: hour + 50 * 60_000)
              }
            })
        }
      }
    }
    return events
  }

  @Test func heatmapForecastAndStaffingFindThePlantedEvenings() async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("acme")
      try await suite.withGatewayClient { client in
        let key = SuiteMetadata.bearer(tenant.adminKey)
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        var settings = try await metrics.getSettings(.init(), metadata: key)
        settings.timeZone = "Asia/Shanghai"
        settings.workload = .with { $0.handleSeconds = ["phone": 300, "email": 600] }
        _ = try await metrics.setSettings(.with { $0.settings = settings }, metadata: key)
        // The start of the current hour in Shanghai (a whole-hour zone).
        let end = Int64(Date().timeIntervalSince1970 * 1000) / Self.hourMs * Self.hourMs
        let all = Self.events(end: end)
        let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
        var offset: Int64 = 0
        for start in stride(from: 0, to: all.count, by: 2_000) {
          let reply = try await ingestion.ingest(.with { $0.events = Array(all[start..<min(all.count, start + 2_000)]) }, metadata: key)
          #expect(reply.rejected.isEmpty)
          offset = reply.offset
        }
        // A handle time on another kind of event, or beyond a day, is refused by name; the
        // good record beside them is kept.
        var misplaced = all[0]
        misplaced.eventID = "bad-1"
        misplaced.ticketEvent.handleSeconds = 60
        var huge = all[1]
        huge.eventID = "bad-2"
        huge.ticketEvent.handleSeconds = 90_000
        var good = all[1]
        good.eventID = "good-1"
        good.ticketEvent.clearHandleSeconds()
        let mixed = try await ingestion.ingest(.with { $0.events = [misplaced, huge, good] }, metadata: key)
        #expect(mixed.rejected.map(\.recordID) == ["bad-1", "bad-2"])
        #expect(mixed.rejected.allSatisfy { $0.field == "ticket_event.handle_seconds" })
        #expect(mixed.accepted == 1)
        offset = mixed.offset
        let range = Sightline_Common_V1_TimeRange.with {
          $0.start = Google_Protobuf_Timestamp(unixMilliseconds: end - 21 * 24 * Self.hourMs)
          $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
        }

        // Heatmap: volume per hour is the planted count; CSAT and first response split at 19:00.
        let volume = try await metrics.getWorkloadHeatmap(
          .with {
            $0.kpi = .volume; $0.range = range; $0.minOffset = offset
          }, metadata: key)
        #expect(volume.timeZone == "Asia/Shanghai" && volume.cells.count == 168)
        for cell in volume.cells {
          let time = TimeOfWeek(weekday: Int(cell.weekday), hour: Int(cell.hour))
          #expect(cell.hours == 3)
          #expect(cell.value.value == Double(Self.planted(time).values.reduce(0, +)), "\(time)")
        }
        let plantedWeek = TimeOfWeek.all.map { Self.planted($0).values.reduce(0, +) }.reduce(0, +)
        #expect(abs(volume.overall.value - Double(plantedWeek) / 168) < 1e-12)
        let csat = try await metrics.getWorkloadHeatmap(
          .with {
            $0.kpi = .csat; $0.range = range
          }, metadata: key)
        let monday19 = TimeOfWeek(weekday: 1, hour: 19).index, monday10 = TimeOfWeek(weekday: 1, hour: 10).index
        #expect(csat.cells[monday19].value.value == 0 && csat.cells[monday19].value.sampleSize == 36)
        #expect(csat.cells[monday10].value.value == 1 && csat.cells[monday10].value.sampleSize == 18)
        let frt = try await metrics.getWorkloadHeatmap(
          .with {
            $0.kpi = .firstResponseTime; $0.range = range
          }, metadata: key)
        #expect(frt.cells[monday19].value.value == 7200 && frt.cells[monday10].value.value == 600)

        // The same cut through QueryKpis: weekday and hour of day as dimensions.
        let byHour = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.range = range; $0.interval = .all; $0.groupBy = [.weekday, .hourOfDay]
            $0.filters = [
              .with {
                $0.dimension = .channel; $0.values = ["phone"]
              }
            ]
          }, metadata: key)
        let monday19Row = try #require(byHour.rows.first { $0.groupValues == ["1", "19"] })
        #expect(monday19Row.values[0].value == 36)
        let onlyEvenings = try await metrics.queryKpis(
          .with {
            $0.kpis = [.volume]; $0.range = range; $0.interval = .all
            $0.filters = [
              .with {
                $0.dimension = .hourOfDay; $0.values = ["19", "20"]
              }
            ]
          }, metadata: key)
        #expect(onlyEvenings.rows.map { $0.values[0].value } == [Double(15 * 24)])
        let backlogByHour = await #expect(throws: RPCError.self) {
          try await metrics.queryKpis(
            .with {
              $0.kpis = [.backlog]; $0.groupBy = [.hourOfDay]
            }, metadata: key)
        }
        #expect(backlogByHour?.code == .invalidArgument && backlogByHour?.message.contains("group_by") == true)

        // Backlog by hour of the week against QueryKpis' daily backlog (the end of hour 23
        // is the end of the day). No ticket is resolved, so it only grows.
        let backlog = try await metrics.getWorkloadHeatmap(
          .with {
            $0.kpi = .backlog; $0.range = range
          }, metadata: key)
        let daily = try await metrics.queryKpis(
          .with {
            $0.kpis = [.backlog]; $0.range = range; $0.interval = .day
          }, metadata: key)
        var lastHourOfDay: [Int: [Double]] = [:]
        for row in daily.rows.dropLast() {  // the last day is cut by the range
          let weekday = TimeOfWeek(milliseconds: row.bucketStart.unixMilliseconds, zone: Self.zone).weekday
          lastHourOfDay[weekday, default: []].append(row.values[0].value)
        }
        for (weekday, values) in lastHourOfDay where values.count == 3 {
          let cell = backlog.cells[TimeOfWeek(weekday: weekday, hour: 23).index]
          #expect(abs(cell.value.value - values.reduce(0, +) / 3) < 1e-9, "weekday \(weekday)")
        }

        // Forecast: a noiseless planted week comes back as it was planted.
        let forecast = try await metrics.forecastArrivals(
          .with {
            $0.days = 7; $0.splitBy = [.channel]; $0.historyWeeks = 3; $0.backtest = true
          }, metadata: key)
        #expect(forecast.series.map(\.groupValues) == [["phone"], ["email"], ["wechat"]])
        let phone = forecast.series[0]
        #expect(phone.hours.count == 168 && phone.backtest.hours == 168, "\(phone.problem) \(phone.backtest)")
        #expect(phone.backtest.wape < 1e-9)
        for hour in phone.hours {
          let time = TimeOfWeek(milliseconds: hour.start.unixMilliseconds, zone: Self.zone)
          #expect(abs(hour.mean - Double(Self.planted(time)["phone"] ?? 0)) < 1e-6, "\(time)")
          #expect(hour.lower95 <= hour.mean && hour.mean <= hour.upper95)
        }

        // Staffing against a roster of 4 agents 09:00–18:59 and 2 in the evening, weekdays.
        let roster = (1...5).flatMap { day in
          (9...21).map { hour in
            Sightline_Metrics_V1_RosterHour.with {
              $0.weekday = Int32(day); $0.hour = Int32(hour); $0.agents = hour >= 19 ? 2 : 4
            }
          }
        }
        let plan = try await metrics.planStaffing(
          .with {
            $0.range = range; $0.roster = roster
          }, metadata: key)
        #expect(plan.basis == .past && plan.hours.count == 168)
        #expect(plan.missingHandleTime == ["wechat"])
        let evening = plan.hours[monday19]
        let phoneNeed = try #require(evening.channels.first { $0.channel == "phone" })
        // 12 calls of 5 minutes = 1 erlang: 3 agents reach 80 % in 20 s (2 give 68.8 %);
        // 3 / (1 − 0.3) = 4.3, so 5 scheduled.
        #expect(phoneNeed.live && phoneNeed.agents == 3 && phoneNeed.scheduled == 5)
        #expect(evening.needed == 5 && evening.rostered == 2 && evening.shortfall == 3 && evening.understaffed)
        let morning = plan.hours[monday10]
        let email = try #require(morning.channels.first { $0.channel == "email" })
        #expect(!email.live && email.handleSeconds == 480 && abs(email.scheduled - 960 / (0.85 * 3_600 * 0.7)) < 1e-12)
        // Email's handle time is measured over its 270 tickets; phone's is the setting.
        #expect(
          plan.handleTimes.map { [$0.channel, "\($0.seconds)", "\($0.measuredTickets)"] } == [
            ["email", "480.0", "270"], ["phone", "300.0", "0"],
          ])
        #expect(!morning.understaffed)
        #expect(morning.channels.first { $0.channel == "wechat" } == nil)
        #expect(plan.hours[TimeOfWeek(weekday: 1, hour: 12).index].channels.first { $0.channel == "wechat" }?.problem.isEmpty == false)
        // The evenings of every weekday are short, and their CSAT is lower, clearly.
        #expect(plan.understaffed.map { [$0.weekday, $0.fromHour, $0.toHour] } == (1...5).map { [Int32($0), 19, 22] })
        #expect(plan.understaffed.allSatisfy { $0.shortfall == 3 })
        let csatComparison = try #require(plan.comparisons.first { $0.kpi == .csat })
        #expect(csatComparison.understaffed.value == 0 && csatComparison.other.value == 1 && csatComparison.difference == -1)
        #expect(csatComparison.pValue < 0.01)
        let frtComparison = try #require(plan.understaffed[0].comparisons.first { $0.kpi == .firstResponseTime })
        #expect(frtComparison.understaffed.value == 7200 && frtComparison.difference > 0)

        // On the forecast basis, hour by hour for the week ahead: the same needs.
        let ahead = try await metrics.planStaffing(
          .with {
            $0.basis = .forecast; $0.days = 7; $0.roster = roster
          }, metadata: key)
        #expect(ahead.basis == .forecast && ahead.hours.count == 168)
        let nextEvening = try #require(ahead.hours.first { $0.weekday == 1 && $0.hour == 19 })
        #expect(nextEvening.hasStart && abs(nextEvening.needed - 5) < 1e-6 && nextEvening.understaffed)

        // Staffing-gap alerts watch the stored roster: none yet, so a rule is refused.
        let gapRule = Sightline_Metrics_V1_AlertRule.with {
          $0.kind = .staffingGap; $0.kpi = .volume; $0.threshold = 2; $0.windowSeconds = 7 * 86_400; $0.name = "evenings"
        }
        let noRoster = await #expect(throws: RPCError.self) { try await metrics.addAlertRule(.with { $0.rule = gapRule }, metadata: key) }
        #expect(noRoster?.code == .failedPrecondition && noRoster?.message.contains("roster") == true)
        settings = try await metrics.getSettings(.init(), metadata: key)
        settings.workload.roster = roster
        _ = try await metrics.setSettings(.with { $0.settings = settings }, metadata: key)
        #expect(try await metrics.getSettings(.init(), metadata: key).workload.roster == roster)
        // A plan without a roster compares with the stored one.
        let stored = try await metrics.planStaffing(.with { $0.range = range }, metadata: key)
        #expect(stored.rosterSource == .stored && plan.rosterSource == .request)
        #expect(stored.understaffed.map { [$0.weekday, $0.fromHour, $0.toHour] } == (1...5).map { [Int32($0), 19, 22] })
        let rule = try await metrics.addAlertRule(.with { $0.rule = gapRule }, metadata: key)
        #expect(rule.kind == .staffingGap && rule.threshold == 2 && rule.windowSeconds == 7 * 86_400)
        let tenantID = try #require(TenantID(tenant.id))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let opened = try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: now)
        // Every weekday evening ahead (5, or 6 when the week ahead ends inside one) is short by 3
        // agents, more than the rule's 2.
        #expect((5...6).contains(opened.count), "\(opened.map(\.message))")
        for alert in opened {
          let start = TimeOfWeek(milliseconds: alert.windowStartMs, zone: Self.zone)
          #expect(alert.isStaffingGap && alert.resolvedMs == nil && alert.windowStartMs > now)
          // 19:00 and 20:00 (12 calls each) are short by 3; 21:00 (4 calls) by less than 2.
          // A run begun now starts at 20:00; one the week ahead ends inside stops there.
          let horizonEnd = now / Self.hourMs * Self.hourMs + 7 * 24 * Self.hourMs
          #expect(start.weekday <= 5 && (19...20).contains(start.hour), "\(alert.message)")
          #expect(
            TimeOfWeek(milliseconds: alert.windowEndMs, zone: Self.zone).hour == 21 || alert.windowEndMs == horizonEnd, "\(alert.message)")
          #expect(abs(alert.value - 3) < 1e-6 && alert.severity == .warning && alert.expectedHigh == 2)
          #expect(alert.message.contains("needs 3 more agents than the roster has"), "\(alert.message)")
        }
        // Nothing new at the same hour; a roster that covers the evenings resolves them all.
        #expect(try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: now + 1_000).isEmpty)
        let listed = try await metrics.listAlerts(.with { $0.openOnly = true }, metadata: key)
        #expect(listed.alerts.count == opened.count && listed.alerts.allSatisfy { $0.ruleKind == .staffingGap })
        settings.workload.roster = roster.map { hour in
          var covered = hour
          if covered.hour >= 19 { covered.agents = 5 }
          return covered
        }
        _ = try await metrics.setSettings(.with { $0.settings = settings }, metadata: key)
        let resolved = try suite.metrics.evaluateAlerts(tenant: tenantID, nowMs: now + 2_000)
        #expect(resolved.count == opened.count && resolved.allSatisfy { $0.resolvedMs != nil })
        let replay = await #expect(throws: RPCError.self) {
          try await metrics.testAlertRule(.with { $0.ruleID = rule.id }, metadata: key)
        }
        #expect(replay?.code == .failedPrecondition)

        // Bad requests name their field.
        for (call, field) in [
          ({ try await metrics.getWorkloadHeatmap(.with { $0.kpi = .unspecified }, metadata: key) as Any }, "kpi"),
          (
            {
              try await metrics.getWorkloadHeatmap(
                .with {
                  $0.kpi = .volume;
                  $0.filters = [
                    .with {
                      $0.dimension = .weekday; $0.values = ["1"]
                    }
                  ]
                }, metadata: key) as Any
            }, "filters[0].dimension"
          ),
          ({ try await metrics.forecastArrivals(.with { $0.days = 29 }, metadata: key) as Any }, "days"),
          ({ try await metrics.forecastArrivals(.with { $0.historyWeeks = 1 }, metadata: key) as Any }, "history_weeks"),
          ({ try await metrics.forecastArrivals(.with { $0.splitBy = [.hourOfDay] }, metadata: key) as Any }, "split_by[0]"),
          (
            {
              try await metrics.planStaffing(
                .with {
                  $0.roster = [
                    .with {
                      $0.weekday = 8; $0.hour = 1
                    }
                  ]
                }, metadata: key) as Any
            },
            "roster[0].weekday"
          ),
          (
            { try await metrics.planStaffing(.with { $0.targets = .with { $0.serviceLevel = 1.5 } }, metadata: key) as Any },
            "targets.service_level"
          ),
          (
            {
              try await metrics.addAlertRule(
                .with {
                  $0.rule = .with {
                    $0.kpi = .backlog; $0.by = .hourOfDay; $0.comparison = .greater; $0.threshold = 10
                  }
                }, metadata: key) as Any
            }, "rule.by"
          ),
          (
            {
              try await metrics.addAlertRule(
                .with {
                  $0.rule = .with {
                    $0.kind = .staffingGap; $0.windowSeconds = 29 * 86_400
                  }
                }, metadata: key) as Any
            }, "rule.window_seconds"
          ),
          (
            {
              try await metrics.addAlertRule(
                .with {
                  $0.rule = .with {
                    $0.kind = .staffingGap; $0.by = .region
                  }
                }, metadata: key) as Any
            }, "rule.by"
          ),
          (
            {
              try await metrics.setSettings(
                .with {
                  $0.settings = settings
                  $0.settings.workload.roster = [
                    .with {
                      $0.weekday = 1; $0.hour = 24
                    }
                  ]
                }, metadata: key) as Any
            }, "settings.workload.roster[0].hour"
          ),
        ] {
          let error = await #expect(throws: RPCError.self) { _ = try await call() }
          #expect(error?.code == .invalidArgument)
          #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "")")
        }
        // Settings keep the workload part; a bad handle time is refused, naming the channel.
        #expect(try await metrics.getSettings(.init(), metadata: key).workload.handleSeconds == ["phone": 300, "email": 600])
        settings.workload.handleSeconds["chat"] = -5
        let badSetting = await #expect(throws: RPCError.self) {
          try await metrics.setSettings(.with { $0.settings = settings }, metadata: key)
        }
        #expect(badSetting?.message.contains("handle_seconds[chat]") == true)
      }
    }
  }
}
