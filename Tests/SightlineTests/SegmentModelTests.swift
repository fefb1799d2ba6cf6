import Foundation
import SightlineModel
import Testing

/// Hand-checked fixtures for segmentation's definitions (docs/segments.md).
@Suite("Segments: lifecycle, RFM, expressions, risk, text")
struct SegmentModelTests {
  static let day: Int64 = 86_400_000
  static let now: Int64 = 1_800_000_000_000

  static func customer(
    ticketsDaysAgo: [Double] = [], complaintsDaysAgo: [Double] = [], npsDaysAgo: [(Double, Int)] = [],
    signupDaysAgo: Double? = nil
  ) -> DerivedCustomer {
    let ms = { (days: Double) in now - Int64(days * Double(day)) }
    let facts = CustomerFacts(
      customerID: "C", signupMs: signupDaysAgo.map(ms),
      tickets: ticketsDaysAgo.map { .init(createdMs: ms($0), complaint: false, resolvedMs: ms($0)) }
        + complaintsDaysAgo.map { .init(createdMs: ms($0), complaint: true, resolvedMs: ms($0)) },
      answers: npsDaysAgo.map { .init(scale: .nps, score: $0.1, timeMs: ms($0.0)) })
    return DerivedCustomer(facts, asOfMs: now)
  }

  @Test func lifecycleBoundaries() {
    #expect(Self.customer(ticketsDaysAgo: [29.9]).lifecycle == .new)
    #expect(Self.customer(ticketsDaysAgo: [30]).lifecycle == .active, "first seen exactly 30 days ago is no longer new")
    #expect(Self.customer(ticketsDaysAgo: [10], signupDaysAgo: 400).lifecycle == .active)
    #expect(Self.customer(ticketsDaysAgo: [89.9], signupDaysAgo: 400).lifecycle == .active)
    #expect(Self.customer(ticketsDaysAgo: [90], signupDaysAgo: 400).lifecycle == .dormant)
    #expect(Self.customer(ticketsDaysAgo: [179.9], signupDaysAgo: 400).lifecycle == .dormant)
    #expect(Self.customer(ticketsDaysAgo: [180], signupDaysAgo: 400).lifecycle == .churned)
    #expect(Self.customer(signupDaysAgo: 400).lifecycle == .churned, "never active")
    #expect(Self.customer(signupDaysAgo: 5).lifecycle == .new)
    // At risk: active and a detractor answer or 2+ complaints in the last 30 days.
    #expect(Self.customer(ticketsDaysAgo: [50], npsDaysAgo: [(29, 6)], signupDaysAgo: 400).lifecycle == .atRisk)
    #expect(Self.customer(ticketsDaysAgo: [50], npsDaysAgo: [(31, 3)], signupDaysAgo: 400).lifecycle == .active)
    #expect(Self.customer(ticketsDaysAgo: [50], npsDaysAgo: [(5, 7)], signupDaysAgo: 400).lifecycle == .active, "7 is passive")
    #expect(Self.customer(complaintsDaysAgo: [3, 20], signupDaysAgo: 400).lifecycle == .atRisk)
    #expect(Self.customer(complaintsDaysAgo: [3, 40], signupDaysAgo: 400).lifecycle == .active)
    #expect(Self.customer(complaintsDaysAgo: [1, 2]).lifecycle == .atRisk, "at risk wins over new")
    // As of a past date, later events do not count.
    let past = DerivedCustomer(Self.customer(ticketsDaysAgo: [200, 1], signupDaysAgo: 400).facts, asOfMs: Self.now - 100 * Self.day)
    #expect(past.lifecycle == .dormant)
  }

  @Test func rfmQuintilesShareScoresOnTies() {
    let scores = RFM.score([
      "a": (10, 1, 100), "b": (10, 1, 100), "c": (40, 2, 300), "d": (100, 3, 50), "e": (300, 5, 1_000),
    ])
    // Frequencies 1,1,2,3,5 → 1 + ⌊5·(strictly lower)/5⌋: 1,1,3,4,5. Recency: smaller is better.
    #expect(["a", "b", "c", "d", "e"].map { scores[$0]!.frequency } == [1, 1, 3, 4, 5])
    #expect(["a", "b", "c", "d", "e"].map { scores[$0]!.recency } == [4, 4, 3, 2, 1])
    #expect(["a", "b", "c", "d", "e"].map { scores[$0]!.monetary } == [2, 2, 4, 1, 5])
    #expect(scores["e"]!.group == "at_risk")
    #expect(scores["a"]!.group == "needs_attention")
    #expect(RFMScore(recency: 5, frequency: 5, monetary: 1).group == "champions")
    #expect(RFMScore(recency: 3, frequency: 4, monetary: 1).group == "loyal")
    #expect(RFMScore(recency: 1, frequency: 1, monetary: 1).group == "lost")
    #expect(RFMScore(recency: 2, frequency: 2, monetary: 1).group == "hibernating")
  }

  static let schema = DerivedCustomer.schema

  static func matches(_ source: String, _ values: [String: FieldValue]) throws -> Bool {
    try SegmentExpression(source, schema: schema).matches { values[$0] }
  }

  @Test func everyExpressionForm() throws {
    let vip: [String: FieldValue] = [
      "tier": .text("vip"), "nps_last": .number(5), "complaints_30d": .number(1), "region": .text("south"),
      "attributes.city": .text("上海"),
    ]
    #expect(try Self.matches(#"tier == "vip" && nps_last <= 6 && complaints_30d >= 1"#, vip))
    #expect(try Self.matches("tier != 'standard'", vip))
    #expect(try Self.matches("nps_last < 6 && nps_last > 4", vip))
    #expect(!(try Self.matches("nps_last >= 7 || complaints_30d == 0", vip)))
    #expect(try Self.matches(#"region in ["north", "south"]"#, vip))
    #expect(!(try Self.matches("nps_last in [7, 8]", vip)))
    #expect(try Self.matches(#"!(tier == "standard") && (region == "east" || attributes.city == "上海")"#, vip))
    #expect(try Self.matches("!!(tier == 'vip')", vip))
    // A value the customer lacks: comparisons are false, != is true.
    #expect(!(try Self.matches("csat_last < 3", vip)))
    #expect(try Self.matches("csat_last != 3", vip))
    #expect(!(try Self.matches(#"industry in ["retail"]"#, vip)))
  }

  @Test(arguments: [
    ("tierr == \"vip\"", 1, "unknown field 'tierr'"),
    ("tier \"vip\"", 6, "expected a comparison"),
    ("tier == 3", 9, "'tier' is text"),
    ("nps_last <= \"low\"", 13, "'nps_last' is a number"),
    ("tier == \"vip", 9, "unterminated string"),
    ("tier == 'vip' && ", 18, "expected a field name"),
    ("(tier == 'vip'", 15, "expected ')'"),
    ("tier == 'vip' tier", 15, "expected '&&', '||' or the end"),
    ("tier > 'a'", 6, "'tier' is text"),
    ("tier == 'vip' # x", 15, "unexpected character '#'"),
    ("region in ['a' 'b']", 16, "expected ',' or ']'"),
  ])
  func parseErrorsPointAtTheColumn(source: String, column: Int, message: String) {
    #expect(throws: SegmentExpressionError.self) { try SegmentExpression(source, schema: Self.schema) }
    do {
      _ = try SegmentExpression(source, schema: Self.schema)
    } catch {
      #expect(error.column == column, "\(source): \(error)")
      #expect(error.message.contains(message), "\(source): \(error)")
    }
  }

  @Test func hostileExpressionsAreRefusedCheaply() {
    let deep = String(repeating: "(", count: 40) + "tier == 'vip'" + String(repeating: ")", count: 40)
    #expect(throws: SegmentExpressionError.self) { try SegmentExpression(deep, schema: Self.schema) }
    let long = Array(repeating: "tier == 'vip'", count: 200).joined(separator: " || ")
    #expect(throws: SegmentExpressionError.self) { try SegmentExpression(long, schema: Self.schema) }
  }

  @Test func riskScoreRanksAndExplains() {
    let ms = { (days: Double) in Self.now - Int64(days * Double(Self.day)) }
    func score(_ facts: CustomerFacts) -> (Double, [String]) {
      let (score, reasons) = RiskScore.assess(DerivedCustomer(facts, asOfMs: Self.now))
      return (score, reasons.map(\.code))
    }
    let both = CustomerFacts(
      customerID: "a", attributes: ["tier": "vip"],
      tickets: [.init(createdMs: ms(3), complaint: true, resolvedMs: nil), .init(createdMs: ms(9), complaint: true, resolvedMs: ms(8))],
      answers: [.init(scale: .nps, score: 2, timeMs: ms(2))])
    let detractor = CustomerFacts(customerID: "b", answers: [.init(scale: .nps, score: 6, timeMs: ms(10))])
    let unresolved = CustomerFacts(customerID: "c", tickets: [.init(createdMs: ms(60), complaint: false, resolvedMs: nil)])
    let falling = CustomerFacts(
      customerID: "d",
      purchases: [
        .init(amountMinor: 100, timeMs: ms(100)), .init(amountMinor: 100, timeMs: ms(120)),
        .init(amountMinor: 100, timeMs: ms(150)),
      ])
    let calm = CustomerFacts(customerID: "e", answers: [.init(scale: .nps, score: 10, timeMs: ms(2))])
    // 40 detractor + 30 (2 complaints) + 10 (1 unresolved) + 10 VIP.
    #expect(score(both) == (90, ["detractor", "complaints", "unresolved", "vip"]))
    #expect(score(detractor) == (40, ["detractor"]))
    #expect(score(unresolved) == (10, ["unresolved"]))
    #expect(score(falling) == (15, ["falling_orders"]))
    #expect(score(calm).0 == 0)
  }

  @Test func chineseAndEnglishTokenisation() {
    #expect(Tokenizer.terms("物流太慢了") == ["物流", "慢"])
    #expect(Tokenizer.terms("退款申请十天没有处理") == ["退款", "款申", "申请", "请十", "十天", "处理"])
    #expect(Tokenizer.terms("The delivery was LATE again, and nobody called!") == ["delivery", "late", "called"])
    #expect(Tokenizer.terms("App崩溃了 crash again") == ["app", "崩溃", "crash"])
  }

  @Test func sentimentHandlesNegation() {
    #expect(Sentiment.score("good service") == 1)
    #expect(Sentiment.score("not good") == -1)
    #expect(Sentiment.score("never helpful and slow") == -1)
    #expect(Sentiment.score("满意") == 1)
    #expect(Sentiment.score("不满意") == -1)
    #expect(Sentiment.score("问题没有解决") == -1)
    #expect(Sentiment.score("服务不错，很满意") == 1)
    #expect(Sentiment.score("fast reply but the device is broken") < 0)
    #expect(Sentiment.score("天气") == 0)
  }

  @Test func logLikelihoodKeyness() {
    // a=30 of c=1000 against b=10 of d=9000: E1 = 1000·40/10000 = 4, E2 = 36;
    // G² = 2(30 ln(30/4) + 10 ln(10/36)) = 95.275…
    let g = Keyness.logLikelihood(targetCount: 30, targetTotal: 1_000, referenceCount: 10, referenceTotal: 9_000)
    #expect(abs(g - 2 * (30 * log(7.5) + 10 * log(10.0 / 36))) < 1e-9)
    #expect(Keyness.logLikelihood(targetCount: 1, targetTotal: 1_000, referenceCount: 90, referenceTotal: 9_000) == 0)
  }
}
