import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// Builds the cockpit in one call: fans out to metrics, segmentation and experiments in
/// parallel under one deadline. A section whose service fails or is too slow is marked
/// unavailable with the reason; the rest still arrive.
public struct DashboardAssembler: Sendable {
  /// The KPIs of the headline and the breakdown.
  public static let headlineKpis: [Sightline_Metrics_V1_Kpi] = [
    .volume, .firstResponseTime, .resolutionTime, .fcrRate, .slaFirstResponse, .slaResolution, .csat, .nps, .complaintRate,
    .reopenRate, .backlog,
  ]
  /// The KPIs of the daily trend.
  public static let trendKpis: [Sightline_Metrics_V1_Kpi] = [.volume, .firstResponseTime, .csat, .complaintRate]
  /// Running experiments evaluated per call, at most.
  public static let maxExperiments = 5

  let clients: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]

  /// An assembler calling the services through `clients` (mutual TLS, gateway identity).
  public init(clients: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]) { self.clients = clients }

  private enum Part: Sendable {
    case headline(Sightline_Metrics_V1_QueryKpisResponse), previous(Sightline_Metrics_V1_QueryKpisResponse)
    case trend(Sightline_Metrics_V1_QueryKpisResponse), byLine(Sightline_Metrics_V1_QueryKpisResponse)
    case alerts(Sightline_Metrics_V1_ListAlertsResponse)
    case scorecards([Sightline_Segmentation_V1_Scorecard]), themes(Sightline_Segmentation_V1_GetThemesResponse)
    case atRisk(Sightline_Segmentation_V1_ListAtRiskResponse), experiments([Sightline_Experiments_V1_Evaluation])
  }

  /// What one section's fetch gave: its parts, or why it is unavailable.
  private struct SectionOutcome: Sendable {
    var index: Int
    var parts: [Part] = []
    var failure: String?
  }

  /// The cockpit of `tenant` for the `periodDays` ending `nowMs`, its time KPIs on
  /// `hours`; each backend call gets `timeout` (the caller's remaining deadline).
  public func assemble(
    tenant: TenantID, requestID: String?, periodDays: Int, minOffset: Int64, nowMs: Int64, timeout: Duration,
    hours: Sightline_Metrics_V1_Hours = .unspecified
  ) async -> Sightline_Gateway_V1_DashboardResponse {
    let metadata = SuiteMetadata.forTenant(tenant, requestID: requestID)
    var options = CallOptions.defaults
    options.timeout = timeout
    let (callMetadata, callOptions) = (metadata, options)
    let period = Int64(periodDays) * 86_400_000
    let current = Self.range(nowMs - period, nowMs)
    let previous = Self.range(nowMs - 2 * period, nowMs - period)

    let sections:
      [(name: String, component: SuiteComponent, fetch: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> [Part])] = [
        (
          "headline", .metrics,
          { client in
            let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
            async let now = metrics.queryKpis(
              Self.query(Self.headlineKpis, current, .all, minOffset: minOffset, hours: hours), metadata: callMetadata, options: callOptions
            )
            async let before = metrics.queryKpis(
              Self.query(Self.headlineKpis, previous, .all, minOffset: minOffset, hours: hours), metadata: callMetadata,
              options: callOptions)
            return [.headline(try await now), .previous(try await before)]
          }
        ),
        (
          "trend", .metrics,
          { client in
            // Whole local days: from midnight (tenant's zone) `periodDays - 1` days ago to now, so
            // the first point is not a partial day.
            let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
            let settings = try await metrics.getSettings(.init(), metadata: callMetadata, options: callOptions)
            let start = Self.localMidnight(daysBefore: periodDays - 1, nowMs: nowMs, timeZone: settings.timeZone)
            let reply = try await metrics.queryKpis(
              Self.query(Self.trendKpis, Self.range(start, nowMs), .day, minOffset: minOffset, hours: hours), metadata: callMetadata,
              options: callOptions)
            return [.trend(reply)]
          }
        ),
        (
          "by_business_line", .metrics,
          { client in
            var request = Self.query(Self.headlineKpis, current, .all, minOffset: minOffset, hours: hours)
            request.groupBy = [.businessLine]
            let reply = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(
              request, metadata: callMetadata, options: callOptions)
            return [.byLine(reply)]
          }
        ),
        (
          "alerts", .metrics,
          { client in
            let reply = try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).listAlerts(
              .with {
                $0.openOnly = true; $0.limit = 20
              }, metadata: callMetadata, options: callOptions)
            return [.alerts(reply)]
          }
        ),
        (
          "segments", .segmentation,
          { client in
            let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
            var scorecards: [Sightline_Segmentation_V1_Scorecard] = []
            for segment in ["vip", "at_risk"] {
              let card = try await segmentation.getScorecard(
                .with {
                  $0.segment = segment; $0.range = current; $0.minOffset = minOffset
                }, metadata: callMetadata, options: callOptions)
              scorecards.append(card)
            }
            let themes = try await segmentation.getThemes(
              .with {
                $0.range = current; $0.limit = 10; $0.negativeOnly = true
              }, metadata: callMetadata, options: callOptions)
            let atRisk = try await segmentation.listAtRisk(.with { $0.limit = 10 }, metadata: callMetadata, options: callOptions)
            return [.scorecards(scorecards), .themes(themes), .atRisk(atRisk)]
          }
        ),
        (
          "experiments", .experiments,
          { client in
            let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
            let all = try await experiments.listExperiments(.init(), metadata: callMetadata, options: callOptions)
            let running = all.experiments.filter { !$0.hasEnd || $0.end.seconds * 1000 > nowMs }.prefix(Self.maxExperiments)
            var evaluations: [Sightline_Experiments_V1_Evaluation] = []
            for experiment in running {
              do {
                let evaluation = try await experiments.evaluate(
                  .with {
                    $0.name = experiment.name; $0.minOffset = minOffset
                  }, metadata: callMetadata, options: callOptions)
                evaluations.append(evaluation)
              } catch let error as RPCError where error.code == .failedPrecondition {
                continue  // not started yet
              }
            }
            return [.experiments(evaluations)]
          }
        ),
      ]

    var response = Sightline_Gateway_V1_DashboardResponse()
    // Each child returns a plain struct, its failure already a sentence: a child result of
    // a tuple holding a `Result<_, any Error>` is miscompiled by Swift 6.3.1 in release
    // builds (docs/architecture.md, "Toolchain notes").
    let outcomes = await withTaskGroup(of: SectionOutcome.self) { group in
      for (index, section) in sections.enumerated() {
        group.addTask {
          let service = section.component.rawValue
          guard let client = clients[section.component] else {
            return SectionOutcome(index: index, failure: "\(service) service: unavailable: no \(service) service configured")
          }
          do {
            return SectionOutcome(index: index, parts: try await section.fetch(client))
          } catch let error as RPCError {
            return SectionOutcome(index: index, failure: "\(service) service: \(error.code): \(error.message)")
          } catch {
            return SectionOutcome(index: index, failure: "\(service) service: \(error)")
          }
        }
      }
      var collected: [SectionOutcome] = []
      for await outcome in group { collected.append(outcome) }
      return collected.sorted { $0.index < $1.index }
    }
    for outcome in outcomes {
      let name = sections[outcome.index].name
      guard let reason = outcome.failure else {
        response.sections.append(
          .with {
            $0.section = name; $0.available = true
          })
        for part in outcome.parts {
          switch part {
          case .headline(let reply): response.headline = reply
          case .previous(let reply): response.headlinePrevious = reply
          case .trend(let reply): response.trend = reply
          case .byLine(let reply): response.byBusinessLine = reply
          case .alerts(let reply): response.alerts = reply
          case .scorecards(let cards): response.scorecards = cards
          case .themes(let reply): response.themes = reply
          case .atRisk(let reply): response.atRisk = reply
          case .experiments(let evaluations): response.experiments = evaluations
          }
        }
        continue
      }
      response.sections.append(
        .with {
          $0.section = name; $0.available = false; $0.reason = reason
        })
    }
    response.generatedAt = Google_Protobuf_Timestamp(unixMilliseconds: nowMs)
    return response
  }

  /// Local midnight `days` days before `nowMs` in `timeZone` (UTC if unknown), Unix ms.
  static func localMidnight(daysBefore days: Int, nowMs: Int64, timeZone: String) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
    let now = Date(timeIntervalSince1970: Double(nowMs) / 1000)
    let day = calendar.date(byAdding: .day, value: -days, to: calendar.startOfDay(for: now)) ?? now
    return Int64(day.timeIntervalSince1970 * 1000)
  }

  static func range(_ start: Int64, _ end: Int64) -> Sightline_Common_V1_TimeRange {
    .with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
    }
  }

  static func query(
    _ kpis: [Sightline_Metrics_V1_Kpi], _ range: Sightline_Common_V1_TimeRange, _ interval: Sightline_Metrics_V1_Interval,
    minOffset: Int64, hours: Sightline_Metrics_V1_Hours
  ) -> Sightline_Metrics_V1_QueryKpisRequest {
    .with {
      $0.kpis = kpis
      $0.range = range
      $0.interval = interval
      $0.minOffset = minOffset
      $0.hours = hours
    }
  }
}
