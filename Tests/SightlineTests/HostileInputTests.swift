import Foundation
import GRPCCore
import IngestionService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

/// Hostile and random input: every parser answers with a clear error or a result, never a
/// crash. Seeded, so a failure reproduces; the case counts are what CI runs
/// (docs/reliability.md).
@Suite("Hostile input")
struct HostileInputTests {
  static let fragments = [
    "tier", "nps_last", "complaints_30d", "attributes.city", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "(", ")",
    "in", "[", "]", ",", "\"vip\"", "'x'", "3", "-2.5", "\"", "'", "=", "&", "|", "#", "🙂", "发票", " ", "\n", "tierr",
  ]

  @Test func randomSegmentExpressionsParseOrFailWithAColumn() {
    var random = SeededRandom(seed: 8)
    var parsed = 0
    let started = ContinuousClock.now
    defer { print("HostileInputTests: 50,000 random segment expressions clean in \(ContinuousClock.now - started)") }
    for _ in 0..<50_000 {
      let source = (0..<Int(1 + random.next() % 12)).map { _ in random.pick(Self.fragments) }.joined(
        separator: random.chance(0.5) ? " " : "")
      do {
        let expression = try SegmentExpression(source, schema: DerivedCustomer.schema)
        _ = expression.matches { _ in .number(1) }
        parsed += 1
      } catch {
        #expect(error.column >= 1 && error.column <= source.count + 1, "\(source): \(error)")
        #expect(!error.message.isEmpty)
      }
    }
    #expect(parsed > 0)
  }

  /// Expressions from the grammar: every one parses, and evaluates without trapping.
  @Test func grammarGeneratedExpressionsAlwaysParse() throws {
    var random = SeededRandom(seed: 9)
    func term(_ depth: Int) -> String {
      if depth < 4 && random.chance(0.3) {
        return (random.chance(0.3) ? "!" : "") + "(" + expression(depth + 1) + ")"
      }
      switch random.next() % 4 {
      case 0: return "tier \(random.pick(["==", "!="])) '\(random.pick(["vip", "standard", "发票"]))'"
      case 1: return "nps_last \(random.pick(["==", "!=", "<", "<=", ">", ">="])) \(Int(random.next() % 11))"
      case 2: return "region in [\(random.pick(["'north'", "'south', 'east'"]))]"
      default: return "attributes.city == '上海'"
      }
    }
    func expression(_ depth: Int) -> String {
      (0..<Int(1 + random.next() % 3)).map { _ in term(depth) }.joined(separator: random.chance(0.5) ? " && " : " || ")
    }
    let started = ContinuousClock.now
    defer { print("HostileInputTests: 10,000 grammar-generated expressions clean in \(ContinuousClock.now - started)") }
    for _ in 0..<10_000 {
      let source = expression(0)
      let parsed = try SegmentExpression(source, schema: DerivedCustomer.schema)
      _ = parsed.matches { field in field == "nps_last" ? .number(5) : .text("vip") }
    }
  }

  @Test func hugeAndDeepExpressionsAreRefusedFast() {
    let start = ContinuousClock.now
    for source in [
      String(repeating: "!", count: 100_000) + "tier == 'vip'",
      String(repeating: "(", count: 100_000),
      String(repeating: "x", count: 10_000_000),
      "tier in [" + Array(repeating: "'a'", count: 50_000).joined(separator: ",") + "]",
    ] {
      #expect(throws: SegmentExpressionError.self) { try SegmentExpression(source, schema: DerivedCustomer.schema) }
    }
    #expect(ContinuousClock.now - start < .seconds(5))
  }

  @Test func randomTextNeverBreaksTheTokenizerOrSentiment() {
    var random = SeededRandom(seed: 21)
    let alphabet = Array("ab 发票不满意没有,.!'\n\t😀\u{0}\u{FFFD}NOTnever") + ["\u{1F1E8}\u{1F1F3}"].flatMap { Array($0) }
    for _ in 0..<5_000 {
      let text = String((0..<Int(random.next() % 200)).map { _ in random.pick(alphabet) })
      let score = Sentiment.score(text)
      #expect(score >= -1 && score <= 1)
      _ = Tokenizer.terms(text)
    }
  }

  @Test func randomAndAbsurdEventsAreRejectedOneByOne() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let provider = IngestionProviderHarness(directory: directory)
    var random = SeededRandom(seed: 34)
    let times = [
      "", "yesterday", "1999-12-31T23:59:59Z", "9999-01-01T00:00:00Z", "2026-13-40T99:99:99Z", "2026-11-20T10:00:00+25:00",
      "2026-11-20T10:00:00Z", "'; DROP TABLE event; --",
    ]
    var events: [Sightline_Ingestion_V1_Event] = []
    for index in 0..<2_000 {
      events.append(
        .with {
          $0.eventID = random.chance(0.05) ? "" : (random.chance(0.1) ? "'); DELETE FROM event; --\(index)" : "h\(index)")
          switch random.next() % 4 {
          case 0:
            $0.ticketEvent = .with {
              $0.ticketID = random.chance(0.1) ? "" : "T\(index % 50)"
              $0.customerID = "C1"
              $0.time = random.pick(times)
              $0.kind = Sightline_Ingestion_V1_TicketEventKind(rawValue: Int(random.next() % 8)) ?? .created
            }
          case 1:
            $0.surveyResponse = .with {
              $0.customerID = "C1"
              $0.kind = Sightline_Ingestion_V1_SurveyKind(rawValue: Int(random.next() % 5)) ?? .csat
              $0.score = Int32(Int(random.next() % 30) - 10)
              $0.time = random.pick(times)
            }
          case 2:
            $0.order = .with {
              $0.customerID = "C1"; $0.amountMinor = Int64(random.next() % 200) - 100; $0.currency = random.pick(["CNY", "", "yuan"]);
              $0.time = random.pick(times)
            }
          default:
            break  // no record at all
          }
        })
    }
    // An otherwise valid record whose id looks like SQL is just an id.
    events.append(
      .with {
        $0.eventID = "x'); DROP TABLE event; --"
        $0.order = .with {
          $0.customerID = "C1"; $0.amountMinor = 100; $0.currency = "CNY"; $0.time = "2026-11-20T10:00:00Z"
        }
      })
    var accepted = 0
    var rejected = 0
    for start in stride(from: 0, to: events.count, by: 500) {
      let reply = try provider.ingest(Array(events[start..<min(start + 500, events.count)]))
      accepted += Int(reply.accepted + reply.duplicates)
      rejected += reply.rejected.count
      for error in reply.rejected {
        #expect(!error.field.isEmpty && !error.reason.isEmpty && !error.code.isEmpty)
      }
    }
    #expect(accepted + rejected == events.count, "every record is either stored, a duplicate, or rejected with a reason")
    #expect(rejected > 1_000)
    let stats = try provider.provider.store(for: provider.tenant).statistics()
    #expect(stats.lastOffset == Int64(accepted) && stats.countsByKind["order", default: 0] >= 1)
  }
}
