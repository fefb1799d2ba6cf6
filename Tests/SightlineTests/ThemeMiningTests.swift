import Foundation
import SightlineModel
import SightlineWire
import SwiftProtobuf
import Testing

@testable import SegmentationService

/// Themes as phrases (docs/segments.md, "Themes"): planted phrases come out whole, phrases
/// from the same texts merge, a rise against the period before is found and tested, and a
/// theme drills down to its texts and splits by a dimension.
struct ThemeMiningTests {
  static let day: Int64 = 86_400_000
  static let start: Int64 = 1_780_000_000_000

  /// A text written `day` days after `start`, on a ticket of `line`.
  static func text(_ id: String, _ text: String, day: Int, line: String = "L1") -> FeedbackDocument {
    FeedbackDocument(
      id: id, customerID: "C\(id)", problemType: "billing", businessLine: line, text: text, timeMs: start + Int64(day) * Self.day,
      lowScore: false)
  }

  /// Varied wording around each planted complaint, as people write them.
  static let openers = ["", "Honestly, ", "Again: ", "Third time now. ", "Not happy. ", "Hi, "]
  static let closers = ["", " Please fix.", " What a mess.", " Refund me.", " Call me.", " Thanks."]
  static let noise = [
    "the agent was friendly", "parcel arrived on monday", "the manual is unclear", "app login works fine now",
    "waiting for the courier", "invoice address changed", "price went up this year", "screen brightness is low",
  ]

  /// 30 billing complaints, 20 broken devices and 50 other texts in days 10-19.
  static func corpus() -> [FeedbackDocument] {
    var documents: [FeedbackDocument] = []
    for index in 0..<30 {
      let body = index % 2 == 0 ? "billing error, I was charged twice." : "I was charged twice, a billing error!"
      documents.append(
        text("b\(index)", openers[index % 6] + body + closers[index / 6 % 6], day: 10 + index % 10, line: index < 20 ? "L1" : "L2"))
    }
    for index in 0..<20 {
      documents.append(
        text("d\(index)", openers[index % 6] + "the device stopped working after a week" + closers[index % 5], day: 10 + index % 10))
    }
    for index in 0..<50 { documents.append(text("n\(index)", noise[index % noise.count] + closers[index % 6], day: 10 + index % 10)) }
    return documents
  }

  static func query(limit: Int = 10) -> Themes.Query {
    Themes.Query(range: (start + 10 * day, start + 20 * day), members: nil, problemType: nil, negativeOnly: false, limit: limit)
  }

  @Test func plantedPhrasesComeOutWholeAndTheirWordsMergeIntoThem() throws {
    let reply = Themes.find(documents: Self.corpus(), query: Self.query())
    #expect(reply.documents == 100)
    let terms = reply.themes.map(\.term)
    // One theme per complaint, named by a phrase; its words and its other phrase merged in.
    let billing = try #require(reply.themes.first { ["billing error", "charged twice"].contains($0.term) }, "\(terms)")
    #expect(billing.count == 30 && abs(billing.share - 0.3) < 1e-12)
    #expect(billing.related.contains(billing.term == "billing error" ? "charged twice" : "billing error"), "\(billing.related)")
    let device = try #require(reply.themes.first { $0.term == "device stopped working" }, "\(terms)")
    #expect(device.count == 20)
    // Fragments of those two complaints are no themes of their own.
    for fragment in ["twice", "charged", "error", "billing", "stopped", "working", "device", "stopped working"] {
      #expect(!terms.contains(fragment), "\(fragment) in \(terms)")
    }
    #expect(terms.prefix(2).sorted() == [billing.term, device.term].sorted(), "\(terms)")
  }

  @Test func chinesePhrasesGoBeyondBigrams() throws {
    let texts = ["客服态度差劲", "客服态度差劲！", "客服态度太差了", "客服态度冷淡", "客服态度不好", "客服态度很敷衍", "退款流程复杂", "退款流程太长", "物流很快"]
    let documents = texts.enumerated().map { Self.text("z\($0.offset)", $0.element, day: 12) }
    let reply = Themes.find(documents: documents, query: Self.query())
    let terms = reply.themes.map(\.term)
    #expect(terms.first == "客服态度", "\(terms)")
    #expect(terms.contains("退款流程"), "\(terms)")
    #expect(!terms.contains("客服") && !terms.contains("态度") && !terms.contains("服态"), "\(terms)")
    // A stretch overlapping the name where it is written is no "related" phrase (态度差劲,
    // 度差劲 of 客服态度差劲); the word after it is (差劲).
    let service = try #require(reply.themes.first)
    #expect(service.related == ["差劲"], "\(service.related)")
  }

  @Test func aRisingThemeIsEmergingWithATestOfItsRise() throws {
    var documents: [FeedbackDocument] = []
    // Days 0-9 (the period before): 2 of 100 texts say the app crashes; days 10-19: 20 of 100.
    for index in 0..<100 {
      let before = index < 2 ? "the app crashes on start" : Self.noise[index % Self.noise.count]
      let now = index < 20 ? "the app crashes on start" : Self.noise[index % Self.noise.count]
      documents.append(Self.text("p\(index)", before, day: index % 10))
      documents.append(Self.text("c\(index)", now, day: 10 + index % 10))
    }
    let reply = Themes.find(documents: documents, query: Self.query())
    #expect(reply.documents == 100 && reply.previousDocuments == 100)
    let rising = try #require(reply.emerging.first)
    #expect(rising.term == "app crashes", "\(reply.emerging.map(\.term))")
    #expect(rising.count == 20 && rising.previousCount == 2)
    #expect(abs(rising.share - 0.20) < 1e-12 && abs(rising.previousShare - 0.02) < 1e-12)
    // Pooled two-proportion z-test by hand: p = 0.11, SE = √(0.11·0.89·(1/100 + 1/100)),
    // z = 0.18 / SE = 4.0676…, two-sided p = erfc(z / √2).
    let se = (0.11 * 0.89 * 0.02).squareRoot()
    #expect(abs(rising.changePValue - erfc(0.18 / se / 2.0.squareRoot())) < 1e-12)
    #expect(rising.changePValue < 1e-4 && rising.changeQValue >= rising.changePValue)
    // The steady texts did not rise.
    #expect(!reply.emerging.contains { $0.term == "agent was friendly" || $0.term == "agent" })
  }

  @Test func aThemeDrillsDownToItsTextsAndSplitsByBusinessLine() throws {
    var query = Self.query()
    query.theme = "Charged  Twice"
    query.split = .businessLine
    let reply = Themes.find(documents: Self.corpus(), query: query)
    #expect(reply.texts.count == 30)
    #expect(reply.texts.allSatisfy { $0.text.contains("charged twice") })
    let times = reply.texts.map { $0.time.seconds }
    #expect(times == times.sorted(by: >))
    let billing = try #require(reply.themes.first { ["billing error", "charged twice"].contains($0.term) })
    // 20 of the billing complaints are on L1 (of its 90 texts), 10 on L2 (all of its 10).
    #expect(billing.splits.map(\.value) == ["L1", "L2"])
    #expect(billing.splits.map(\.count) == [20, 10] && billing.splits.map(\.texts) == [90, 10])
    #expect(billing.splits.last?.share == 1)
  }
}
