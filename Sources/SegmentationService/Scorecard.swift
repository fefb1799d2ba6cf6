import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf

/// A segment's scorecard: members, and their CSAT, NPS, complaint rate, FCR and mean first
/// response over a period against the previous period of the same length (membership is
/// judged at each period's end).
enum Scorecard {
  static func compute(
    segment: SegmentDefinition, facts: CustomerTable, windows: SegmentWindows, current: (Int64, Int64),
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
    segment: SegmentDefinition, facts table: CustomerTable, windows: SegmentWindows, period: (Int64, Int64)
  ) -> (members: Int, values: [(String, Double, Int)]) {
    let members = SegmentView(table: table, asOfMs: period.1, windows: windows).members(segment)
    var accumulator = KpiAccumulator()
    // Calendar time on the default targets: one clock for every ticket.
    let clock = ServiceClock(settings: .defaults)
    table.withColumns { columns in
      for i in members {
        for a in columns.answerStart[i]..<columns.answerStart[i + 1]
        where columns.answerTimeMs[a] >= period.0 && columns.answerTimeMs[a] < period.1 {
          accumulator.add(survey: SurveyFact(scale: columns.answerScale[a], score: Int(columns.answerScore[a])))
        }
        for t in columns.ticketStart[i]..<columns.ticketStart[i + 1]
        where columns.ticketCreatedMs[t] >= period.0 && columns.ticketCreatedMs[t] < period.1 {
          let firstReply = table.ticketFirstReplyMs[t]
          accumulator.add(
            ticket: TicketFacts(
              createdMs: columns.ticketCreatedMs[t], complaint: columns.ticketComplaint[t],
              firstReplyMs: firstReply == CustomerTable.none ? nil : firstReply, replyCount: Int(table.ticketReplies[t]),
              reopenCount: Int(table.ticketReopens[t]), isResolved: columns.ticketResolvedMs[t] != CustomerTable.none),
            clock: clock, nowMs: period.1)
        }
      }
    }
    let values = [KpiKind.csat, .nps, .complaintRate, .fcrRate, .firstResponseTime, .volume].map { kpi -> (String, Double, Int) in
      let result = accumulator.result(kpi)
      return (kpi.rawValue, result.value, Int(result.sampleSize))
    }
    return (members.count, values)
  }
}
