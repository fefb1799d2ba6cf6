// The redaction benchmark (issue 25): how fast ingestion's personal-data detector and
// masking read free text, for texts as comments come (most without a number) and for texts
// that each hold several. docs/performance.md records the latest run.
//
//   swift build -c release --product bench-redaction && .build/release/bench-redaction [--texts N]
import Foundation
import SightlineModel

var count = 200_000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
  if flag == "--texts", let value = arguments.next().flatMap(Int.init) { count = value }
}

var random = SeededRandom(seed: 25)
@MainActor func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(random.next() % 10)) }) }
let plain = [
  "物流太慢了，等了一周还没到", "the agent was patient and helpful", "退款申请十天没有处理", "could not log in and support never answered",
  "客服回复很快，问题解决了", "billing error, I was charged twice",
]
/// A comment as customers write them: four in five without any number.
@MainActor func comment() -> String {
  let base = plain[Int(random.next() % UInt64(plain.count))]
  switch random.next() % 10 {
  case 0: return base + "，请回电13" + digits(9)
  case 1: return base + ", order 2026" + digits(12) + " refund to card 6222 0212 3456 7890 128"
  default: return base
  }
}
/// A text that holds a phone, an ID number, an e-mail address and an order number.
@MainActor func dense() -> String {
  "客户手机+86 138 " + digits(4) + " " + digits(4) + "，身份证11010519491231002X，邮箱zhang.wei" + digits(2)
    + "@qq.com，订单2026" + digits(12)
}

let mask = Redactor(policy: .mask)
for (name, texts) in [
  ("comments (1 in 5 with numbers)", (0..<count).map { _ in comment() }),
  ("dense (a phone, an ID number, an e-mail address and an order number each)", (0..<count / 4).map { _ in dense() }),
] {
  let bytes = texts.reduce(0) { $0 + $1.utf8.count }
  let clock = ContinuousClock()
  var found = 0
  let elapsed = clock.measure {
    for text in texts { found += mask.redact(text).found.count }
  }
  let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
  print(
    "bench-redaction: \(name): \(texts.count) texts, \(bytes / 1_048_576) MiB, \(found) values masked in "
      + String(format: "%.2f s = %.0f texts/s, %.1f MiB/s", seconds, Double(texts.count) / seconds, Double(bytes) / 1_048_576 / seconds))
}
