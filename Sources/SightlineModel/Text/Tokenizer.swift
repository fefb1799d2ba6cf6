/// Splits Chinese and English feedback into terms and phrases: English words (lower-cased,
/// stop words and one-letter words dropped) and, for runs of CJK characters without spaces,
/// the runs between stop characters, cut into overlapping character bigrams (a single
/// character left alone stays a term). "物流太慢了" → 物流, 慢. Redaction tokens are left
/// out. Phrases are the n-grams of the same runs (docs/segments.md, "Themes").
public enum Tokenizer {
  static let englishStopWords: Set<String> = [
    "a", "an", "the", "and", "or", "but", "is", "are", "was", "were", "be", "been", "am", "i",
    "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these", "those", "to", "of",
    "in", "on", "for", "with", "at", "by", "from", "as", "so", "if", "then", "than", "too", "very",
    "again", "after", "before", "still", "just", "also", "has", "have", "had", "do", "does", "did", "will", "would",
    "can", "could", "there", "their", "they", "them", "he", "she", "his", "her", "what", "which", "who", "when",
    "up", "out", "about", "into", "over", "nobody", "all", "any", "some", "it's", "i'm", "ok", "get", "got",
    "one", "two", "three", "four", "five", "day", "days", "week", "weeks", "month", "months", "time", "times", "hour",
    "hours",
  ]
  /// Function characters that carry no theme; negations are kept out of terms too (the
  /// sentiment scorer reads them from the raw text).
  static let chineseStopCharacters: Set<Character> = [
    "的", "了", "是", "在", "我", "你", "他", "她", "它", "们", "也", "都", "就", "很", "太", "吗", "呢", "吧", "啊",
    "和", "与", "及", "一", "个", "这", "那", "有", "没", "不", "还", "又", "被", "把", "给", "让", "到", "说", "要",
    "会", "能", "可", "以", "着", "过", "得", "地", "么", "呀", "哦", "嗯", "半", "两", "次", "后", "才",
  ]

  /// Whether `c` is a CJK ideograph.
  public static func isCJK(_ c: Character) -> Bool {
    guard let scalar = c.unicodeScalars.first else { return false }
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x2A6DF: return true
    default: return false
    }
  }

  /// A stretch of content in a text: consecutive English content words (a stop word, a
  /// number, punctuation or a change of script ends it), or a run of CJK characters
  /// between stop characters.
  public enum Run: Equatable, Sendable {
    case english([String])
    case chinese([Character])
  }

  /// The runs of `text`, in order. Redaction tokens are left out and end a run.
  public static func runs(_ text: String) -> [Run] {
    var runs: [Run] = []
    var words: [String] = []
    var word = ""
    var piece: [Character] = []
    func flushWords() {
      if !words.isEmpty { runs.append(.english(words)) }
      words = []
    }
    func flushWord() {
      if word.count >= 2 && !englishStopWords.contains(word) && !word.allSatisfy(\.isNumber) {
        words.append(word)
      } else if !word.isEmpty {
        flushWords()
      }
      word = ""
    }
    func flushPiece() {
      if !piece.isEmpty { runs.append(.chinese(piece)) }
      piece = []
    }
    let characters = Array(text.lowercased())
    var index = 0
    while index < characters.count {
      let c = characters[index]
      index += 1
      if c == "[", let length = Redactor.tokenLength(characters, at: index - 1) {
        // A redaction token ([PHONE], [手机号#3f9a0c1d2e]) is no theme, and its label's
        // characters must not become one (手机).
        flushWord()
        flushWords()
        flushPiece()
        index += length - 1
        continue
      }
      if isCJK(c) {
        flushWord()
        flushWords()
        if chineseStopCharacters.contains(c) { flushPiece() } else { piece.append(c) }
      } else if c.isLetter || c.isNumber || c == "'" {
        flushPiece()
        word.append(c)
      } else {
        flushWord()
        flushPiece()
        // Whitespace joins words into a phrase; anything else ends it.
        if !c.isWhitespace { flushWords() }
      }
    }
    flushWord()
    flushWords()
    flushPiece()
    return runs
  }

  /// The terms of `text`, in order: its English content words, and its Chinese runs cut
  /// into overlapping bigrams (a run of one character stays one term).
  public static func terms(_ text: String) -> [String] {
    runs(text).flatMap { run -> [String] in
      switch run {
      case .english(let words): return words
      case .chinese(let piece):
        return piece.count == 1 ? [String(piece)] : (0..<(piece.count - 1)).map { String(piece[$0...($0 + 1)]) }
      }
    }
  }

  /// The longest English phrase, in words.
  public static let longestEnglishPhrase = 4
  /// The longest Chinese phrase, in characters: four, the length of most Chinese words
  /// and set phrases; a longer stretch is mostly two words a template glued together.
  public static let longestChinesePhrase = 4

  /// The distinct candidate theme phrases of `text`: every term, every run of two to
  /// ``longestEnglishPhrase`` consecutive English content words ("charged twice", "device
  /// stopped working"), and every stretch of two to ``longestChinesePhrase`` characters of
  /// a Chinese run ("客服态度", "退款流程").
  public static func phrases(_ text: String) -> Set<String> {
    var phrases = Set<String>()
    for run in runs(text) {
      switch run {
      case .english(let words):
        for start in words.indices {
          for length in 1...longestEnglishPhrase where start + length <= words.count {
            phrases.insert(words[start..<(start + length)].joined(separator: " "))
          }
        }
      case .chinese(let piece):
        if piece.count == 1 { phrases.insert(String(piece)) }
        for start in piece.indices {
          for length in 2...longestChinesePhrase where start + length <= piece.count {
            phrases.insert(String(piece[start..<(start + length)]))
          }
        }
      }
    }
    return phrases
  }

  /// How many tokens `phrase` has: words in English, characters in Chinese.
  public static func length(ofPhrase phrase: String) -> Int {
    phrase.contains(where: isCJK) ? phrase.count : phrase.split(separator: " ").count
  }
}
