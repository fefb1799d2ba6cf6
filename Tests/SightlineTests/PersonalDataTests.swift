import Foundation
import SightlineModel
import Testing

/// The personal-data detector and redactor: hand-worked cases, then recall and false
/// positives over the labelled corpus that scripts/pii-corpus.py writes.
@Suite struct PersonalDataTests {
  func kinds(_ text: String) -> [PersonalDataKind] { PersonalDataDetector.matches(in: text).map(\.kind) }
  func masked(_ text: String) -> String { Redactor(policy: .mask).redact(text).text }

  @Test func phonesAreFoundNextToChineseCharactersAndInEveryCommonForm() {
    #expect(masked("客户手机13800138000") == "客户手机[手机号]")
    #expect(masked("客户手机13800138000请回电") == "客户手机[手机号]请回电")
    #expect(masked("call +86 138 0013 8000 now") == "call [PHONE] now")
    #expect(masked("电话：0086-138-0013-8000") == "电话：[手机号]")
    #expect(masked("电话＋８６１３８００１３８０００。") == "电话[手机号]。")
    #expect(masked("138-0013-8000 or 13900139000") == "[PHONE] or [PHONE]")
    #expect(PersonalDataDetector.matches(in: "+8613800138000")[0].canonical == "13800138000")
  }

  @Test func numbersThatOnlyLookLikePhonesAreLeftAlone() {
    #expect(kinds("12800138000") == [])  // 1 then 2
    #expect(kinds("1380013800") == [])  // ten digits
    #expect(kinds("213800138000") == [])  // a digit before
    #expect(kinds("SO13800138000") == [])  // an order code
    #expect(kinds("¥13,800,138,000") == [])
    #expect(kinds("0.13800138000") == [])
    #expect(kinds("010-62345678") == [])
  }

  /// GB 11643-1999's own example, 11010519491231002X, and a number with its check digit
  /// changed or its birth date impossible.
  @Test func residentIDsNeedTheirCheckCharacterAndARealBirthDate() {
    #expect(kinds("身份证11010519491231002X") == [.idNumber])
    #expect(kinds("身份证11010519491231002x。") == [.idNumber])
    #expect(PersonalDataDetector.matches(in: "11010519491231002x")[0].canonical == "11010519491231002X")
    #expect(kinds("110105194912310021") == [])
    #expect(kinds("110105194902310028") == [])  // 31 February
    #expect(kinds("110105 19491231 002X") == [.idNumber])
  }

  /// 4111 1111 1111 1111 is the well-known Visa test number (Luhn-valid); changing its
  /// last digit breaks the check.
  @Test func cardsPassLuhnOrAreUnionPayNumbersBesideAContextWord() {
    #expect(kinds("refund to 4111 1111 1111 1111") == [.bankCard])
    #expect(kinds("refund to 4111-1111-1111-1111") == [.bankCard])
    #expect(kinds("refund to 4111111111111112") == [])
    let failing = "6222021234567890123"  // fails Luhn: 6222021234567890128 passes
    #expect(kinds("6222021234567890128") == [.bankCard])
    #expect(kinds("订单\(failing)") == [])
    #expect(kinds("银行卡号：\(failing)") == [.bankCard])
    #expect(kinds("my card \(failing) was declined") == [.bankCard])
    #expect(kinds("2026112012345678") == [])  // a date-prefixed order number
  }

  @Test func emailsAreFoundBetweenChineseCharacters() {
    #expect(masked("发票请发到zhang.wei@example.com.cn谢谢") == "发票请发到[邮箱]谢谢")
    #expect(masked("email me at J.Smith@Example.com.") == "email me at [EMAIL].")
    #expect(PersonalDataDetector.matches(in: "J.Smith@Example.com")[0].canonical == "j.smith@example.com")
    #expect(kinds("at @home or a@b") == [])
    #expect(masked("13800138000@qq.com") == "[EMAIL]")
  }

  @Test func pseudonymsAreStablePerValueAndHideIt() {
    let redactor = Redactor(policy: .pseudonymise) { kind, value in "\(kind.rawValue.count)-\(value.count)" }
    let one = redactor.redact("call 138 0013 8000")
    let two = redactor.redact("call +8613800138000")
    #expect(one.text == "call [PHONE#5-11]")
    #expect(one.text == two.text)
    #expect(one.found == [.phone])
    #expect(Redactor(policy: .off).redact("call 13800138000").text == "call 13800138000")
  }

  @Test func themesNeverSeeARedactionToken() {
    #expect(Tokenizer.terms("退款到[银行卡号]还没到账，[手机号#3f9a0c1d2e]") == ["退款", "账"])
    #expect(Tokenizer.terms("[银行卡号][手机号#3f9a0c1d2e]").isEmpty)
    #expect(Tokenizer.terms("call [PHONE#3f9a0c1d2e] about billing") == ["call", "billing"])
    #expect(Tokenizer.terms("[note] billing") == ["note", "billing"])
  }

  // MARK: - The corpus

  struct Item: Decodable {
    var kind: String
    var start: Int
    var end: Int
    var pii: Bool
  }
  struct Text: Decodable {
    var text: String
    var items: [Item]
  }

  /// Recall ≥ 0.99 for every kind, false positives on look-alikes < 0.5 %.
  @Test func theLabelledCorpusMeetsItsTargets() async throws {
    let script = PythonClientTests.root.appendingPathComponent("scripts/pii-corpus.py").path
    let (status, output) = try await ChildProcess.run(["python3", script])
    try #require(status == 0, "\(output.prefix(500))")
    let texts = try output.split(separator: "\n").map { try JSONDecoder().decode(Text.self, from: Data($0.utf8)) }
    #expect(texts.count >= 10_000)
    var found: [String: (hit: Int, of: Int)] = [:]
    var lookalikes = (flagged: 0, of: 0)
    var misses: [String] = []
    var falsePositives: [String] = []
    var flaggedKinds: [String: Int] = [:]
    for text in texts {
      let matches = PersonalDataDetector.matches(in: text.text)
      for item in text.items {
        if item.pii {
          let hit = matches.contains { $0.kind.rawValue == item.kind && $0.scalars == item.start..<item.end }
          found[item.kind, default: (0, 0)].of += 1
          if hit { found[item.kind]!.hit += 1 } else if misses.count < 12 { misses.append("\(item.kind): \(text.text)") }
        } else {
          lookalikes.of += 1
          if matches.contains(where: { $0.scalars.overlaps(item.start..<item.end) }) {
            lookalikes.flagged += 1
            flaggedKinds[item.kind, default: 0] += 1
            if falsePositives.count < 5 { falsePositives.append("\(item.kind): \(text.text)") }
          }
        }
      }
      // Nothing is found outside the labelled personal data.
      let labelled = text.items.filter(\.pii).map { $0.start..<$0.end }
      for match in matches where !labelled.contains(match.scalars) && !text.items.contains(where: { $0.scalars.overlaps(match.scalars) }) {
        Issue.record("unlabelled match \(match.kind) in \(text.text)")
      }
    }
    for kind in PersonalDataKind.allCases {
      let figures = found[kind.rawValue] ?? (0, 0)
      let recall = Double(figures.hit) / Double(max(figures.of, 1))
      print("PersonalDataTests: \(kind.rawValue) recall \(String(format: "%.4f", recall)) (\(figures.hit) of \(figures.of))")
      #expect(figures.of >= 1_000)
      #expect(recall >= 0.99, "missed, e.g. \(misses)")
    }
    print("PersonalDataTests: missed, e.g. \(misses)")
    let rate = Double(lookalikes.flagged) / Double(lookalikes.of)
    print(
      "PersonalDataTests: look-alikes flagged \(String(format: "%.4f", rate)) (\(lookalikes.flagged) of \(lookalikes.of)): "
        + flaggedKinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    #expect(rate < 0.005, "e.g. \(falsePositives)")
  }
}

extension PersonalDataTests.Item {
  var scalars: Range<Int> { start..<end }
}
