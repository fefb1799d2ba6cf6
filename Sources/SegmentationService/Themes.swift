import Foundation
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineWire
import SwiftProtobuf

/// Text themes (docs/segments.md, "Themes"): recurring phrases over-represented in the
/// selected texts against the tenant's other texts (log-likelihood keyness over document
/// frequencies), phrases from the same texts merged into one theme, each with its share,
/// sentiment mix, examples and change against the period before; the themes that rose
/// most; a theme's texts; a theme split by a ticket or customer dimension.
enum Themes {
  /// What to mine.
  struct Query {
    /// [start, end) in Unix ms; a start of `Int64.min` means no previous period.
    var range: (Int64, Int64)
    var members: Set<String>?
    var problemType: String?
    var negativeOnly: Bool
    var limit: Int
    var emergingLimit = 5
    /// A drill-down phrase: its texts are returned, at most `textLimit`.
    var theme: String?
    var textLimit = 50
    var split: Split?
  }

  /// A dimension a theme's texts are split by.
  enum Split: String, CaseIterable {
    case problemType = "problem_type"
    case businessLine = "business_line"
    case productModule = "product_module"
    case channel
    case region
    case tier
    case type

    /// Whether the value comes from the text's customer's profile (else from its ticket).
    var isCustomerAttribute: Bool { [.region, .tier, .type].contains(self) }

    func value(_ document: FeedbackDocument, customer: [String: String]?) -> String {
      switch self {
      case .problemType: document.problemType
      case .businessLine: document.businessLine
      case .productModule: document.productModule
      case .channel: document.channel
      case .region, .tier, .type: customer?[rawValue] ?? ""
      }
    }
  }

  /// A text with its phrases and sentiment.
  private struct Analysed {
    var document: FeedbackDocument
    var phrases: Set<String>
    var sentiment: Double
  }

  /// Merging: a phrase joins a theme when at least this share of its texts are the theme's,
  private static let containedShare = 0.8
  /// or when the two share at least this much of their texts (Jaccard).
  private static let overlapShare = 0.5
  /// How many ranked phrases are considered for themes (the rest are rarer or weaker).
  private static let candidateLimit = 400
  /// Words that say something only inside a phrase ("never answered", "no reply").
  private static let weakWords: Set<String> = [
    "no", "not", "never", "none", "nothing", "don't", "didn't", "can't", "won't", "isn't", "back", "please", "thanks",
  ]
  /// How many themes the emerging list is chosen from.
  private static let emergingPool = 50

  /// The themes of `documents` for `query`; `sentiment` scores a text (remembered by the
  /// service: ``SentimentScores``), `customer` gives a customer's profile for a split.
  static func find(
    documents: [FeedbackDocument], query: Query, sentiment: (FeedbackDocument) -> Double = { Sentiment.score($0.text) },
    customer: (String) -> [String: String]? = { _ in nil }
  ) -> Sightline_Segmentation_V1_GetThemesResponse {
    let (start, end) = query.range
    let hasPrevious = start > Int64.min / 2 && end > start
    let previousStart = hasPrevious ? start - (end - start) : start
    var target: [Analysed] = []
    var previous: [Analysed] = []
    var referenceFrequency: [String: Int] = [:]
    var referenceTotal = 0
    for document in documents {
      let sentiment = sentiment(document)
      let inScope =
        (query.members?.contains(document.customerID) ?? true)
        && (query.problemType.map { $0 == document.problemType } ?? true)
        && (!query.negativeOnly || document.lowScore || sentiment < 0)
      let analysed = Analysed(document: document, phrases: Tokenizer.phrases(document.text), sentiment: sentiment)
      if inScope && document.timeMs >= start && document.timeMs < end {
        target.append(analysed)
        continue
      }
      if inScope && hasPrevious && document.timeMs >= previousStart && document.timeMs < start { previous.append(analysed) }
      for phrase in analysed.phrases { referenceFrequency[phrase, default: 0] += 1 }
      referenceTotal += 1
    }
    let themes = mine(target, referenceFrequency: referenceFrequency, referenceTotal: referenceTotal, limit: max(query.limit, emergingPool))
    let wire = themes.map { theme($0, target: target, previous: hasPrevious ? previous : nil, query: query, customer: customer) }
    return .with {
      $0.documents = Int64(target.count)
      $0.previousDocuments = Int64(previous.count)
      $0.meanSentiment = target.isEmpty ? 0 : target.reduce(0) { $0 + $1.sentiment } / Double(target.count)
      let mix = SentimentMix(scores: target.map(\.sentiment))
      ($0.negativeShare, $0.neutralShare, $0.positiveShare) = (mix.negative, mix.neutral, mix.positive)
      $0.themes = adjusted(Array(wire.prefix(query.limit)))
      if !previous.isEmpty {
        // The family tested is every theme the list is chosen from, not only those shown.
        let pool = adjusted(wire)
        $0.emerging = Array(
          pool.filter { $0.share > $0.previousShare }
            .sorted { ($0.share - $0.previousShare, $1.term) > ($1.share - $1.previousShare, $0.term) }
            .prefix(query.emergingLimit))
      }
      if let phrase = query.theme {
        $0.texts = texts(of: phrase, in: target, limit: query.textLimit)
      }
    }
  }

  /// A theme while it is built: its label phrase, its texts (indices into the target) and
  /// the phrases merged into it.
  private struct Draft {
    var label: String
    /// The keyness of the phrase that opened it.
    var keyness: Double
    var documents: Set<Int>
    var related: [String] = []
  }

  /// Ranks the target's phrases by keyness and merges those from the same texts.
  private static func mine(_ target: [Analysed], referenceFrequency: [String: Int], referenceTotal: Int, limit: Int) -> [Draft] {
    var frequency: [String: Int] = [:]
    for text in target { for phrase in text.phrases { frequency[phrase, default: 0] += 1 } }
    let ranked = frequency.compactMap { phrase, count -> (phrase: String, key: Double, length: Int)? in
      guard count >= 2 else { return nil }
      let g = Keyness.logLikelihood(
        targetCount: Double(count), targetTotal: Double(target.count),
        referenceCount: Double(referenceFrequency[phrase, default: 0]), referenceTotal: Double(referenceTotal))
      // Without other texts every phrase is "over-represented": rank by frequency.
      let key = referenceTotal == 0 ? Double(count) : g
      return key > 0 ? (phrase, key, Tokenizer.length(ofPhrase: phrase)) : nil
    }.sorted { ($0.key, $0.length, $1.phrase) > ($1.key, $1.length, $0.phrase) }.prefix(candidateLimit)
    var postings: [String: Set<Int>] = [:]
    for phrase in ranked.map(\.phrase) { postings[phrase] = [] }
    for (index, text) in target.enumerated() {
      for phrase in text.phrases where postings[phrase] != nil { postings[phrase]!.insert(index) }
    }
    // Of equally strong phrases of one length, the one that comes first in its text names
    // the theme: 专属客服 before 属客服经 and 客服经理.
    let offset = Dictionary(
      uniqueKeysWithValues: ranked.map { candidate in
        let text = target[postings[candidate.phrase]!.min()!].document.text.lowercased()
        return (candidate.phrase, text.range(of: candidate.phrase).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? 0)
      })
    let ordered = ranked.sorted {
      ($0.key, $0.length, -offset[$0.phrase]!, $1.phrase) > ($1.key, $1.length, -offset[$1.phrase]!, $0.phrase)
    }
    // A lone Chinese character (三, 差) or a weak word names no theme.
    .filter { $0.length > 1 || !(weakWords.contains($0.phrase) || $0.phrase.contains(where: Tokenizer.isCJK)) }
    var drafts: [Draft] = []
    for candidate in ordered {
      let documents = postings[candidate.phrase]!
      let home = drafts.indices.first { index in
        let shared = drafts[index].documents.intersection(documents).count
        return Double(shared) >= containedShare * Double(documents.count)
          || Double(shared) >= overlapShare * Double(drafts[index].documents.union(documents).count)
      }
      guard let home else {
        if drafts.count < limit { drafts.append(Draft(label: candidate.phrase, keyness: candidate.key, documents: documents)) }
        continue
      }
      // A longer phrase that covers nearly all of the theme's texts names it better
      // ("charged twice" over "charged").
      let shared = drafts[home].documents.intersection(documents).count
      if candidate.length > Tokenizer.length(ofPhrase: drafts[home].label)
        && Double(shared) >= containedShare * Double(drafts[home].documents.count)
        && Double(shared) >= containedShare * Double(documents.count)
      {
        drafts[home].related.insert(drafts[home].label, at: 0)
        drafts[home].label = candidate.phrase
        drafts[home].documents = documents
      } else {
        drafts[home].related.append(candidate.phrase)
      }
    }
    // Related phrases worth showing: not pieces of the label or of each other's shown ones,
    // nor Chinese stretches that overlap the label where it is written (属客服经 and 服经理
    // of 专属客服经理, beside 专属客服); a word right after it (经理) may show.
    func overlap(_ a: String, _ b: String) -> Bool {
      a.contains(b) || b.contains(a) || (a.contains(where: Tokenizer.isCJK) && !Set(bigrams(a)).isDisjoint(with: bigrams(b)))
    }
    for index in drafts.indices {
      let label = drafts[index].label
      let texts = drafts[index].documents.sorted().prefix(3).map { target[$0].document.text.lowercased() }
      func continues(_ phrase: String) -> Bool {
        let most = min(label.count, phrase.count) - 1
        guard phrase.contains(where: Tokenizer.isCJK), most >= 1 else { return false }
        return texts.contains { text in
          (1...most).contains { shared in
            (label.suffix(shared) == phrase.prefix(shared) && text.contains(label + phrase.dropFirst(shared)))
              || (phrase.suffix(shared) == label.prefix(shared) && text.contains(phrase + label.dropFirst(shared)))
          }
        }
      }
      var shown: [String] = []
      for phrase in drafts[index].related
      where !overlap(label, phrase) && !continues(phrase) && !shown.contains(where: { overlap($0, phrase) }) {
        shown.append(phrase)
        if shown.count == 5 { break }
      }
      drafts[index].related = shown
    }
    return drafts
  }

  /// The character bigrams of `text`.
  private static func bigrams(_ text: String) -> [String] {
    let characters = Array(text)
    return characters.count < 2 ? [text] : (0..<(characters.count - 1)).map { String(characters[$0...($0 + 1)]) }
  }

  private static func theme(
    _ draft: Draft, target: [Analysed], previous: [Analysed]?, query: Query, customer: (String) -> [String: String]?
  ) -> Sightline_Segmentation_V1_Theme {
    let containing = draft.documents.sorted().map { target[$0] }
    return .with {
      $0.term = draft.label
      $0.related = draft.related
      $0.count = Int64(containing.count)
      $0.share = target.isEmpty ? 0 : Double(containing.count) / Double(target.count)
      $0.keyness = draft.keyness
      $0.sentiment = containing.isEmpty ? 0 : containing.reduce(0) { $0 + $1.sentiment } / Double(containing.count)
      let mix = SentimentMix(scores: containing.map(\.sentiment))
      ($0.negativeShare, $0.neutralShare, $0.positiveShare) = (mix.negative, mix.neutral, mix.positive)
      var examples: [String] = []
      for text in containing where !examples.contains(text.document.text) && examples.count < 3 { examples.append(text.document.text) }
      $0.examples = examples
      $0.changePValue = 1
      if let previous, !previous.isEmpty {
        let before = previous.filter { $0.phrases.contains(draft.label) }.count
        $0.previousCount = Int64(before)
        $0.previousShare = Double(before) / Double(previous.count)
        $0.changePValue =
          ABStatistics.twoProportion(
            controlSuccesses: Double(before), controlTotal: Double(previous.count), treatmentSuccesses: Double(containing.count),
            treatmentTotal: Double(target.count))?.pValue ?? 1
      }
      if let split = query.split { $0.splits = splits(containing, of: target, by: split, customer: customer) }
    }
  }

  /// `themes` with their change p-values adjusted by Benjamini-Hochberg across the list.
  private static func adjusted(_ themes: [Sightline_Segmentation_V1_Theme]) -> [Sightline_Segmentation_V1_Theme] {
    let q = ABStatistics.benjaminiHochberg(themes.map(\.changePValue))
    return zip(themes, q).map { theme, q in
      var theme = theme
      theme.changeQValue = q
      return theme
    }
  }

  private static func splits(
    _ containing: [Analysed], of target: [Analysed], by split: Split, customer: (String) -> [String: String]?
  ) -> [Sightline_Segmentation_V1_ThemeSplit] {
    func value(_ text: Analysed) -> String {
      split.value(text.document, customer: split.isCustomerAttribute ? customer(text.document.customerID) : nil)
    }
    var totals: [String: Int] = [:]
    for text in target { totals[value(text), default: 0] += 1 }
    var counts: [String: Int] = [:]
    for text in containing { counts[value(text), default: 0] += 1 }
    return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { value, count in
      .with {
        $0.value = value
        $0.count = Int64(count)
        $0.texts = Int64(totals[value] ?? 0)
        $0.share = Double(count) / Double(max(totals[value] ?? 0, 1))
      }
    }
  }

  /// The target's texts containing `phrase` (as a phrase, or else as written), newest first.
  private static func texts(of phrase: String, in target: [Analysed], limit: Int) -> [Sightline_Segmentation_V1_ThemeText] {
    let wanted = phrase.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    return target.filter { $0.phrases.contains(wanted) || $0.document.text.lowercased().contains(wanted) }
      .sorted { ($0.document.timeMs, $1.document.id) > ($1.document.timeMs, $0.document.id) }
      .prefix(limit)
      .map { text in
        .with {
          $0.id = text.document.id
          $0.text = text.document.text
          $0.time = Google_Protobuf_Timestamp(unixMilliseconds: text.document.timeMs)
          $0.label = Sentiment.label(ofScore: text.sentiment).rawValue
          $0.problemType = text.document.problemType
          $0.businessLine = text.document.businessLine
          $0.productModule = text.document.productModule
          $0.channel = text.document.channel
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
