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

/// Text themes: terms over-represented in the target documents against the rest of the
/// tenant's texts (log-likelihood keyness), with their sentiment and examples.
enum Themes {
  static func find(
    documents: [FeedbackDocument], range: (Int64, Int64), members: Set<String>?, problemType: String?, negativeOnly: Bool,
    limit: Int
  ) -> Sightline_Segmentation_V1_GetThemesResponse {
    var target: [(FeedbackDocument, [String], Double)] = []
    var referenceCounts: [String: Int] = [:]
    var referenceTotal = 0
    for document in documents {
      let terms = Tokenizer.terms(document.text)
      let sentiment = Sentiment.score(document.text)
      let selected = document.timeMs >= range.0 && document.timeMs < range.1
        && (members?.contains(document.customerID) ?? true)
        && (problemType.map { $0 == document.problemType } ?? true)
        && (!negativeOnly || document.lowScore || sentiment < 0)
      if selected {
        target.append((document, terms, sentiment))
      } else {
        for term in terms { referenceCounts[term, default: 0] += 1 }
        referenceTotal += terms.count
      }
    }
    var counts: [String: Int] = [:]
    var documentFrequency: [String: Int] = [:]
    var targetTotal = 0
    for (_, terms, _) in target {
      targetTotal += terms.count
      for term in terms { counts[term, default: 0] += 1 }
      for term in Set(terms) { documentFrequency[term, default: 0] += 1 }
    }
    let ranked = counts.compactMap { term, count -> (String, Double)? in
      guard documentFrequency[term, default: 0] >= 2 else { return nil }
      let g = Keyness.logLikelihood(
        targetCount: Double(count), targetTotal: Double(targetTotal),
        referenceCount: Double(referenceCounts[term, default: 0]), referenceTotal: Double(referenceTotal))
      // Without a reference corpus every term is "over-represented": rank by frequency.
      let key = referenceTotal == 0 ? Double(count) : g
      return key > 0 ? (term, key) : nil
    }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    return .with {
      $0.documents = Int64(target.count)
      $0.meanSentiment = target.isEmpty ? 0 : target.reduce(0) { $0 + $1.2 } / Double(target.count)
      $0.themes = ranked.prefix(limit).map { term, keyness in
        let containing = target.filter { $0.1.contains(term) }
        var examples: [String] = []
        for (document, _, _) in containing where !examples.contains(document.text) && examples.count < 3 {
          examples.append(document.text)
        }
        return .with {
          $0.term = term
          $0.count = Int64(documentFrequency[term, default: 0])
          $0.keyness = keyness
          $0.sentiment = containing.isEmpty ? 0 : containing.reduce(0) { $0 + $1.2 } / Double(containing.count)
          $0.examples = examples
        }
      }
    }
  }
}
