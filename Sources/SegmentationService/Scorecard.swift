import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf

/// A segment's scorecard: members, and their CSAT, NPS, complaint rate, FCR and mean first
/// response over a period against the previous period of the same length (membership is
/// judged at each period's end).
enum Scorecard {
  static func compute(
    segment: SegmentDefinition, facts: [CustomerFacts], store: any SegmentationStore, windows: SegmentWindows,
    current: (Int64, Int64), previous: (Int64, Int64)
  ) throws -> Sightline_Segmentation_V1_Scorecard {
    let now = try figures(segment: segment, facts: facts, store: store, windows: windows, period: current)
    let before = try figures(segment: segment, facts: facts, store: store, windows: windows, period: previous)
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

  static func figures(
    segment: SegmentDefinition, facts: [CustomerFacts], store: any SegmentationStore, windows: SegmentWindows, period: (Int64, Int64)
  ) throws -> (members: Int, values: [(String, Double, Int)]) {
    let view = SegmentView(facts: facts, asOfMs: period.1, windows: windows)
    let members = Set(view.members(segment).map(\.facts.customerID))
    let tickets = try store.tickets(startMs: period.0, endMs: period.1).filter { members.contains($0.customerID) }
    let answers = try store.answers(startMs: period.0, endMs: period.1).filter { members.contains($0.customerID) }
    var accumulator = KpiAccumulator()
    for answer in answers { accumulator.add(survey: SurveyFact(scale: answer.scale, score: answer.score)) }
    for ticket in tickets {
      accumulator.add(
        ticket: TicketFacts(
          createdMs: ticket.createdMs, complaint: ticket.complaint, firstReplyMs: ticket.firstReplyMs, replyCount: ticket.replyCount,
          reopenCount: ticket.reopenCount, isResolved: ticket.resolved),
        settings: .defaults, nowMs: period.1)
    }
    let values = [KpiKind.csat, .nps, .complaintRate, .fcrRate, .firstResponseTime, .volume].map { kpi -> (String, Double, Int) in
      let result = accumulator.result(kpi)
      return (kpi.rawValue, result.value, Int(result.sampleSize))
    }
    return (members.count, values)
  }
}
