import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf

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
      let selected =
        document.timeMs >= range.0 && document.timeMs < range.1
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
      let mix = SentimentMix(scores: target.map(\.2))
      ($0.negativeShare, $0.neutralShare, $0.positiveShare) = (mix.negative, mix.neutral, mix.positive)
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
          let mix = SentimentMix(scores: containing.map(\.2))
          ($0.negativeShare, $0.neutralShare, $0.positiveShare) = (mix.negative, mix.neutral, mix.positive)
          $0.examples = examples
        }
      }
    }
  }
}

/// The shares of scores that are negative, neutral and positive (``Sentiment/Label``);
/// all 0 without scores.
struct SentimentMix {
  var negative = 0.0
  var neutral = 0.0
  var positive = 0.0

  init(scores: [Double]) {
    guard !scores.isEmpty else { return }
    for score in scores {
      switch Sentiment.label(ofScore: score) {
      case .negative: negative += 1
      case .neutral: neutral += 1
      case .positive: positive += 1
      }
    }
    let total = Double(scores.count)
    (negative, neutral, positive) = (negative / total, neutral / total, positive / total)
  }
}
