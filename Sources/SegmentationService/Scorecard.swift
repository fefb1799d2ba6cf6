import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf

/// A segment's scorecard: members, and their CSAT, NPS, complaint rate, FCR and mean first
/// response over a period against the previous period of the same length (membership is
/// judged at each period's end).
enum Scorecard {
  static func compute(
    segment: SegmentDefinition, facts: [CustomerFacts], windows: SegmentWindows, current: (Int64, Int64),
    previous: (Int64, Int64)
  ) -> Sightline_Segmentation_V1_Scorecard {
    let now = figures(segment: segment, facts: facts, windows: windows, period: current)
    let before = figures(segment: segment, facts: facts, windows: windows, period: previous)
    return .with {
      $0.members = Int64(now.members)
      $0.figures = now.values.map { name, value, n in
        .with {
          $0.name = name
          $0.value = value
          $0.sampleSize = Int64(n)
          $0.previous = before.values.first { $0.0 == name }?.1 ?? 0
        }
      }
    }
  }

  /// The members at the period's end, and the KPIs of their tickets created and answers
  /// given in the period.
  static func figures(
    segment: SegmentDefinition, facts: [CustomerFacts], windows: SegmentWindows, period: (Int64, Int64)
  ) -> (members: Int, values: [(String, Double, Int)]) {
    let members = SegmentView(facts: facts, asOfMs: period.1, windows: windows).members(segment)
    var accumulator = KpiAccumulator()
    for index in members {
      let customer = facts[index]
      for answer in customer.answers where answer.timeMs >= period.0 && answer.timeMs < period.1 {
        accumulator.add(survey: SurveyFact(scale: answer.scale, score: answer.score))
      }
      for ticket in customer.tickets where ticket.createdMs >= period.0 && ticket.createdMs < period.1 {
        accumulator.add(
          ticket: TicketFacts(
            createdMs: ticket.createdMs, complaint: ticket.complaint, firstReplyMs: ticket.firstReplyMs,
            replyCount: ticket.replyCount, reopenCount: ticket.reopenCount, isResolved: ticket.resolvedMs != nil),
          settings: .defaults, nowMs: period.1)
      }
    }
    let values = [KpiKind.csat, .nps, .complaintRate, .fcrRate, .firstResponseTime, .volume].map { kpi -> (String, Double, Int) in
      let result = accumulator.result(kpi)
      return (kpi.rawValue, result.value, Int(result.sampleSize))
    }
    return (members.count, values)
  }
}
