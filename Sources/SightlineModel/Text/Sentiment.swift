import Foundation

/// Lexicon-based sentiment in [-1, 1] for Chinese and English, with negation and contrast,
/// and its three-way label (docs/segments.md, "Sentiment"):
/// - a negator (not, never, no, n't …; 不, 没, 没有, 未, 别, 无) shortly before a sentiment
///   word flips it ("not helpful", "没有解决", "no problems");
/// - what follows a contrast (but, however, though, yet; 但, 但是, 可是, 不过, 却) counts
///   twice, since it is what the writer means ("fast delivery but the product was damaged");
/// - score = (positive − negative) ÷ (positive + negative) over the weighted matches, 0
///   without any; the label is positive above 0, negative below, neutral at 0.
///
/// Words are of service feedback: a topic ("refund", "投诉", "取消") is no sentiment, an
/// outcome ("damaged", "漏水", "没人回复") is.
public enum Sentiment {
  /// A text's sentiment as one of three classes.
  public enum Label: String, Sendable, CaseIterable {
    case negative, neutral, positive
  }

  /// The label of `text`.
  public static func label(_ text: String) -> Label { label(ofScore: score(text)) }

  /// The label of a score: positive above 0, negative below, neutral at 0.
  public static func label(ofScore score: Double) -> Label {
    score > 0 ? .positive : score < 0 ? .negative : .neutral
  }

  static let englishPositive: Set<String> = [
    "good", "great", "fast", "quick", "quickly", "helpful", "satisfied", "happy", "thanks", "thank", "excellent",
    "friendly", "solved", "resolved", "patient", "love", "nice", "easy", "polite", "professional", "perfect", "perfectly",
    "smooth", "smoothly", "appreciate", "appreciated", "impressive", "impressed", "fantastic", "wonderful", "brilliant",
    "clear", "clearly", "kind", "pleasant", "pleased", "glad", "reliable", "efficient", "courteous", "considerate",
    "prompt", "convenient", "useful", "recommend", "best", "better", "improvement", "painless", "welcoming", "spotless",
    "tidy", "careful", "competent", "knowledgeable", "cheerful", "straightforward", "fixed", "amazing", "awesome",
    "superb", "outstanding", "stable", "reassuring", "safely", "fine", "informed", "fun", "worth", "sorted",
  ]
  static let englishNegative: Set<String> = [
    "bad", "slow", "late", "broken", "broke", "error", "wrong", "terrible", "rude", "poor", "problem", "problems",
    "complicated", "missed", "stopped", "unhappy", "angry", "disappointed", "worst", "failed", "useless", "awful",
    "delay", "delayed", "defect", "faulty", "crash", "crashes", "crashed", "leaks", "leaking", "damaged", "cracked",
    "shattered", "soaked", "spoiled", "dirty", "smelled", "noisy", "impolite", "unhelpful", "dismissive",
    "unacceptable", "ridiculous", "frustrating", "frustrated", "cheated", "unfair", "confusing", "nightmare",
    "missing", "cancelled", "canceled", "declined", "rejected", "overcharged", "freezes", "froze", "jams", "drains",
    "sagging", "invalid", "spam", "scratched", "burnt", "ignored", "impossible", "vague", "fault", "refused", "denied",
    "dropped", "forever", "trouble", "difficult", "hassle", "lost", "issue", "unable", "fails", "waiting", "worse",
    "hidden", "nobody",
  ]
  /// Phrases (matched in the lowercased text) whose words alone say nothing.
  static let englishPhrases: [(String, Double)] = [
    ("hung up", -1), ("on hold", -1), ("gave up", -1), ("no one", -1), ("not working", -1), ("went dead", -1),
    ("fell apart", -1), ("still waiting", -1), ("still not", -1), ("still no", -1), ("still open", -1),
    ("never came", -1), ("never showed", -1), ("never arrives", -1), ("never arrived", -1), ("never shipped", -1),
    ("no reply", -1), ("no response", -1), ("no explanation", -1), ("no help", -1), ("no apology", -1),
    ("did nothing", -1), ("nothing like", -1), ("well done", 1), ("above and beyond", 1), ("five stars", 1),
    ("good job", 1), ("great job", 1), ("like new", 1), ("went fine", 1), ("any questions", 1), ("works great", 1),
  ]
  static let englishNegators: Set<String> = [
    "not", "never", "no", "don't", "didn't", "doesn't", "can't", "cannot", "isn't", "wasn't", "won't", "couldn't",
    "without", "nor", "hardly",
  ]
  static let englishContrasts: Set<String> = ["but", "however", "though", "yet"]

  /// Chinese entries, matched longest first in the raw text.
  static let chinese: [(String, Double)] = [
    // Positive.
    ("不错", 1), ("满意", 1), ("解决", 1), ("及时", 1), ("点赞", 1), ("赞", 1), ("耐心", 1), ("专业", 1), ("方便", 1),
    ("感谢", 1), ("谢谢", 1), ("多谢", 1), ("很好", 1), ("好", 1), ("快", 1), ("棒", 1), ("给力", 1), ("靠谱", 1),
    ("顺利", 1), ("顺畅", 1), ("迅速", 1), ("高效", 1), ("热情", 1), ("周到", 1), ("贴心", 1), ("亲切", 1), ("友善", 1),
    ("友好", 1), ("省心", 1), ("清楚", 1), ("稳定", 1), ("喜欢", 1), ("推荐", 1), ("完美", 1), ("开心", 1), ("安心", 1),
    ("超出预期", 1), ("利索", 1), ("有用", 1), ("帮了大忙", 1), ("修好", 1), ("搞定", 1), ("好评", 1), ("准时", 1),
    ("礼貌", 1), ("干净", 1), ("合理", 1), ("尽心", 1), ("温和", 1), ("熟练", 1), ("改进", 1), ("能干", 1), ("简单", 1),
    ("客气", 1), ("完好", 1), ("放心", 1), ("划算", 1), ("性价比", 1), ("顺手", 1), ("有帮助", 1), ("省了", 1),
    // Negative.
    ("质量问题", -1), ("收不到", -1), ("失望", -1), ("复杂", -1), ("迟到", -1), ("故障", -1), ("差", -1), ("慢", -1),
    ("坏", -1), ("错", -1), ("问题", -1), ("扣费", -1), ("不能用", -1), ("等了", -1), ("拖", -1), ("没人", -1),
    ("挂了", -1), ("闪退", -1), ("毛病", -1), ("淋湿", -1), ("还没", -1), ("看不懂", -1), ("失败", -1), ("恶劣", -1),
    ("打断", -1), ("冻结", -1), ("漏水", -1), ("离谱", -1), ("滞纳金", -1), ("麻烦", -1), ("凉了", -1), ("少了", -1),
    ("断网", -1), ("掉线", -1), ("坑", -1), ("用不了", -1), ("难", -1), ("脏", -1), ("烟味", -1), ("查不到", -1),
    ("卡", -1), ("塌", -1), ("延误", -1), ("不认账", -1), ("噪音", -1), ("异响", -1), ("多收", -1), ("充不进", -1),
    ("不制冷", -1), ("没法", -1), ("无效", -1), ("开胶", -1), ("不发货", -1), ("报错", -1), ("爱答不理", -1),
    ("删了", -1), ("打不通", -1), ("更贵", -1), ("被骗", -1), ("烧了", -1), ("刮花", -1), ("被拒", -1),
    ("站不住脚", -1), ("烂", -1), ("糟糕", -1), ("碎了", -1), ("恼火", -1), ("话术", -1), ("打不开", -1),
    ("荒唐", -1), ("含糊", -1), ("没帮上", -1), ("没用", -1), ("转来转去", -1), ("根本", -1), ("凶", -1),
    ("不回", -1), ("断了", -1), ("漏", -1), ("太差", -1), ("不满", -1), ("垃圾", -1), ("退不了", -1), ("丢", -1),
  ]
  static let chineseNegators = ["没有", "不", "没", "未", "别", "无"]
  static let chineseContrasts = ["但是", "但", "可是", "不过", "却"]

  /// The sentiment of `text`.
  public static func score(_ text: String) -> Double {
    var positive = 0.0
    var negative = 0.0
    func add(_ polarity: Double, negated: Bool, weight: Double) {
      let value = negated ? -polarity : polarity
      if value > 0 { positive += weight } else { negative += weight }
    }
    let lowered = text.lowercased()
    englishScore(lowered, add: add)
    chineseScore(Array(text), add: add)
    let total = positive + negative
    return total > 0 ? (positive - negative) / total : 0
  }

  /// English: phrases first (their words then count no more), then words. A negator flips
  /// the next sentiment word within three words; its scope ends there, at "and"/"but", or
  /// at punctuation ("never helpful and slow" is two negatives).
  private static func englishScore(_ lowered: String, add: (Double, Bool, Double) -> Void) {
    var text = lowered
    var weight = 1.0
    for (phrase, polarity) in englishPhrases {
      // Every occurrence at word edges ("no one", not "piano one"); a blanked phrase keeps
      // its length, so the search goes on after it.
      var from = text.startIndex
      while let range = text.range(of: phrase, range: from..<text.endIndex) {
        from = range.upperBound
        guard Self.isWordBoundary(text, range) else { continue }
        add(polarity, false, contrastWeight(in: text, before: range.lowerBound))
        text.replaceSubrange(range, with: String(repeating: " ", count: phrase.count))
        from = text.index(text.startIndex, offsetBy: text.distance(from: text.startIndex, to: range.lowerBound) + phrase.count)
      }
    }
    var negationLeft = 0
    var word = ""
    func flush() {
      guard !word.isEmpty else { return }
      defer { word = "" }
      if englishContrasts.contains(word) {
        weight = 2
        negationLeft = 0
        return
      }
      if englishNegators.contains(word) || word.hasSuffix("n't") {
        negationLeft = 3
        return
      }
      if word == "and" {
        negationLeft = 0
        return
      }
      let polarity: Double? = englishPositive.contains(word) ? 1 : englishNegative.contains(word) ? -1 : nil
      if let polarity {
        add(polarity, negationLeft > 0, weight)
        negationLeft = 0
      } else if negationLeft > 0 {
        negationLeft -= 1
      }
    }
    for c in text {
      if c.isLetter && !Tokenizer.isCJK(c) || c == "'" {
        word.append(c)
      } else {
        flush()
        if c != " " { negationLeft = 0 }
      }
    }
    flush()
  }

  /// Whether `range` of `text` starts and ends at word edges.
  private static func isWordBoundary(_ text: String, _ range: Range<String.Index>) -> Bool {
    let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
    let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
    return !(before?.isLetter ?? false) && !(after?.isLetter ?? false)
  }

  /// 2 after a contrast word earlier in the text, else 1.
  private static func contrastWeight(in text: String, before index: String.Index) -> Double {
    let head = text[..<index]
    return englishContrasts.contains { head.range(of: " \($0) ") != nil || head.hasPrefix("\($0) ") } ? 2 : 1
  }

  /// Chinese: longest entries first; each character used once; a negator within five
  /// characters before the entry, in the same clause, flips it ("没有解决", "不满意",
  /// "没遇到任何麻烦"). "不错" is itself positive.
  /// ``chinese`` longest first, each entry also as characters: sorted once, not per text
  /// (the scorer runs on every text of a tenant for each themes call).
  private static let chineseLongestFirst: [(String, [Character], Double)] = chinese.sorted { $0.0.count > $1.0.count }
    .map { ($0.0, Array($0.0), $0.1) }

  private static func chineseScore(_ characters: [Character], add: (Double, Bool, Double) -> Void) {
    guard characters.contains(where: Tokenizer.isCJK) else { return }
    let text = String(characters)
    // Where the first contrast starts: what follows it counts twice.
    var contrastAt = Int.max
    for marker in chineseContrasts {
      if let range = text.range(of: marker) { contrastAt = min(contrastAt, text.distance(from: text.startIndex, to: range.lowerBound)) }
    }
    var used = [Bool](repeating: false, count: characters.count)
    for (entry, pattern, polarity) in chineseLongestFirst {
      var index = 0
      while index + pattern.count <= characters.count {
        if characters[index] == pattern[0], !used[index..<(index + pattern.count)].contains(true),
          characters[index..<(index + pattern.count)].elementsEqual(pattern)
        {
          for i in index..<(index + pattern.count) { used[i] = true }
          let negated = entry != "不错" && isNegated(characters, before: index)
          add(polarity, negated, index > contrastAt ? 2 : 1)
          index += pattern.count
        } else {
          index += 1
        }
      }
    }
  }

  /// Whether a negator stands within five characters before `index`, with no punctuation
  /// between.
  private static func isNegated(_ characters: [Character], before index: Int) -> Bool {
    var start = index
    while start > max(0, index - 5), Tokenizer.isCJK(characters[start - 1]) { start -= 1 }
    let window = String(characters[start..<index])
    return chineseNegators.contains { window.contains($0) }
  }
}

/// Log-likelihood keyness (G², Dunning 1993; as in corpus linguistics' keyword lists): how
/// much more often a term occurs in a target corpus than in a reference corpus.
public enum Keyness {
  /// G² for `targetCount` of `targetTotal` target tokens against `referenceCount` of
  /// `referenceTotal`; 0 when the term is not over-represented in the target.
  public static func logLikelihood(
    targetCount a: Double, targetTotal c: Double, referenceCount b: Double,
    referenceTotal d: Double
  ) -> Double {
    guard a > 0, c > 0 else { return 0 }
    if d > 0 && a / c <= b / d { return 0 }
    let expectedTarget = c * (a + b) / (c + d)
    let expectedReference = d * (a + b) / (c + d)
    var g = a * log(a / expectedTarget)
    if b > 0 { g += b * log(b / expectedReference) }
    return 2 * g
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
