import Foundation
import SightlineModel
import Testing

/// The hand-written fast paths of ingestion's hot loop agree with the slow, obvious forms.
@Suite struct FastFormattingTests {
  @Test func trimmingWhitespaceEqualsFoundationsTrim() {
    var generator = SystemRandomNumberGenerator()
    let pieces = [
      "", " ", "\t", "\n", "\r\n", "\u{00A0}", "\u{3000}", "\u{2028}", "\u{0085}", "\u{200B}", "a", "Z", "微信",
      "é", "e\u{0301}", "🙂", "x y", "-", "\u{1680}", "\u{202F}", "\u{FEFF}", "~",
    ]
    for _ in 0..<20_000 {
      let text = (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
      #expect(text.trimmingWhitespace == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.unicodeScalars.map(\.value))")
    }
    #expect("  t_1 \n".trimmingWhitespace == "t_1")
    #expect(" \u{3000}\t".trimmingWhitespace == "")
  }

  @Test func hexIsTwoLowercaseDigitsPerByte() {
    #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    let bytes = (0..<256).map { UInt8($0) }
    #expect(Hex.encode(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
    let token = Hex.random(bytes: 32)
    #expect(token.count == 64 && token != Hex.random(bytes: 32))
  }

  @Test func rfc3339FormattingMatchesTheCalendar() {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    var generator = SystemRandomNumberGenerator()
    for index in 0..<20_000 {
      // Years 1970-2200, with and without milliseconds.
      var ms = Int64.random(in: 0...7_258_118_400_000, using: &generator)
      if index % 2 == 0 { ms -= ms % 1000 }
      formatter.dateFormat = ms % 1000 == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
      let expected = formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
      #expect(RFC3339.format(milliseconds: ms) == expected)
      #expect(RFC3339.parseMilliseconds(RFC3339.format(milliseconds: ms)) == ms)
    }
    #expect(RFC3339.format(milliseconds: 0) == "1970-01-01T00:00:00Z")
    #expect(RFC3339.format(milliseconds: 951_782_400_123) == "2000-02-29T00:00:00.123Z")
    #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
  }
}
