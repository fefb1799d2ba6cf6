/// Lexicon-based sentiment in [-1, 1] for Chinese and English, with negation: a negator
/// (not, never, no, n't …; 不, 没, 没有, 未, 别) shortly before a sentiment word flips it.
/// Score = (positive − negative) ÷ (positive + negative) over the matches, 0 without any.
public enum Sentiment {
  static let englishPositive: Set<String> = [
    "good", "great", "fast", "quick", "quickly", "helpful", "satisfied", "happy", "thanks", "thank", "excellent",
    "friendly", "solved", "resolved", "patient", "love", "nice", "easy", "polite", "professional", "perfect", "smooth",
  ]
  static let englishNegative: Set<String> = [
    "bad", "slow", "late", "broken", "error", "wrong", "terrible", "rude", "poor", "problem", "complicated", "missed",
    "stopped", "unhappy", "angry", "disappointed", "worst", "failed", "locked", "charged", "waiting", "useless",
    "awful", "delay", "delayed", "defect", "faulty", "refund",
  ]
  static let englishNegators: Set<String> = [
    "not", "never", "no", "don't", "didn't", "doesn't", "can't", "cannot", "isn't", "wasn't", "won't", "couldn't", "nobody",
  ]
  /// Chinese entries, matched longest first in the raw text.
  static let chinese: [(String, Double)] = [
    ("不错", 1), ("满意", 1), ("解决", 1), ("及时", 1), ("点赞", 1), ("耐心", 1), ("专业", 1), ("方便", 1), ("感谢", 1),
    ("很好", 1), ("好", 1), ("快", 1), ("质量问题", -1), ("收不到", -1), ("失望", -1), ("复杂", -1), ("迟到", -1),
    ("投诉", -1), ("故障", -1), ("差", -1), ("慢", -1), ("坏", -1), ("错", -1), ("锁", -1), ("问题", -1), ("扣费", -1),
    ("不能用", -1), ("等了", -1),
  ]
  static let chineseNegators = ["没有", "不", "没", "未", "别"]

  /// The sentiment of `text`.
  public static func score(_ text: String) -> Double {
    var positive = 0.0
    var negative = 0.0
    func add(_ polarity: Double, negated: Bool) {
      let value = negated ? -polarity : polarity
      if value > 0 { positive += 1 } else { negative += 1 }
    }
    // English: a negator flips the next sentiment word within three words; its scope ends
    // there, at "and"/"but", or at punctuation ("never helpful and slow" is two negatives).
    var negationLeft = 0
    var word = ""
    func flush() {
      guard !word.isEmpty else { return }
      defer { word = "" }
      if englishNegators.contains(word) || word.hasSuffix("n't") {
        negationLeft = 3
        return
      }
      if word == "and" || word == "but" {
        negationLeft = 0
        return
      }
      let polarity: Double? = englishPositive.contains(word) ? 1 : englishNegative.contains(word) ? -1 : nil
      if let polarity {
        add(polarity, negated: negationLeft > 0)
        negationLeft = 0
      } else if negationLeft > 0 {
        negationLeft -= 1
      }
    }
    for c in text.lowercased() {
      if c.isLetter && !Tokenizer.isCJK(c) || c == "'" {
        word.append(c)
      } else {
        flush()
        if c != " " { negationLeft = 0 }
      }
    }
    flush()
    // Chinese: longest entries first; each character used once; a negator within two
    // characters before the entry flips it ("没有解决", "不满意"). "不错" is itself positive.
    let characters = Array(text)
    var used = [Bool](repeating: false, count: characters.count)
    for (entry, polarity) in chinese.sorted(by: { $0.0.count > $1.0.count }) {
      let pattern = Array(entry)
      var index = 0
      while index + pattern.count <= characters.count {
        if !used[index] && Array(characters[index..<(index + pattern.count)]) == pattern {
          for i in index..<(index + pattern.count) { used[i] = true }
          let before = String(characters[max(0, index - 2)..<index])
          let negated = entry != "不错" && chineseNegators.contains { before.hasSuffix($0) || before.dropLast().hasSuffix($0) }
          add(polarity, negated: negated)
          index += pattern.count
        } else {
          index += 1
        }
      }
    }
    let total = positive + negative
    return total > 0 ? (positive - negative) / total : 0
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
