/// Splits Chinese and English feedback into terms: English words (lower-cased, stop words
/// and one-letter words dropped) and, for runs of CJK characters without spaces, the runs
/// between stop characters, cut into overlapping character bigrams (a single character
/// left alone stays a term). "物流太慢了" → 物流, 慢. Redaction tokens are left out.
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

  /// The terms of `text`, in order.
  public static func terms(_ text: String) -> [String] {
    var terms: [String] = []
    var word = ""
    var cjkRun: [Character] = []
    func flushWord() {
      if word.count >= 2 && !englishStopWords.contains(word) && !word.allSatisfy(\.isNumber) { terms.append(word) }
      word = ""
    }
    func flushCJK() {
      var piece: [Character] = []
      func flushPiece() {
        if piece.count == 1 {
          terms.append(String(piece[0]))
        } else if piece.count > 1 {
          for i in 0..<(piece.count - 1) { terms.append(String(piece[i...(i + 1)])) }
        }
        piece = []
      }
      for c in cjkRun {
        if chineseStopCharacters.contains(c) { flushPiece() } else { piece.append(c) }
      }
      flushPiece()
      cjkRun = []
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
        flushCJK()
        index += length - 1
        continue
      }
      if isCJK(c) {
        flushWord()
        cjkRun.append(c)
      } else if c.isLetter || c.isNumber || c == "'" {
        flushCJK()
        word.append(c)
      } else {
        flushWord()
        flushCJK()
      }
    }
    flushWord()
    flushCJK()
    return terms
  }
}
