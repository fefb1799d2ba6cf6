import SightlineModel
import SightlineWire
import SwiftProtobuf
import Testing

@testable import ExperimentsService

/// The numbers beside a verdict are the numbers it used: over many simulated experiments
/// (running and finished, one to three primaries and a guardrail, every method), the
/// interval and p-value each result says it was decided on agree with its verdict.
@Suite struct VerdictBasisTests {
  static let metrics: [(Sightline_Metrics_V1_Kpi, Sightline_Common_V1_GoodDirection, isRate: Bool)] = [
    (.csat, .up, true), (.firstResponseTime, .down, false), (.complaintRate, .down, true),
  ]

  /// One simulated experiment's aggregates: `units` per arm, a post-period and a
  /// pre-period, each metric shifted in the treated arm by a random effect (often none).
  static func aggregates(units: Int, effects: [Double], random: inout SeededRandom) -> Sightline_Metrics_V1_GetUnitAggregatesResponse {
    var response = Sightline_Metrics_V1_GetUnitAggregatesResponse()
    for arm in ["c", "t"] {
      for unit in 0..<units {
        let level = random.normal() * 0.3
        for period in [0, 1] {
          response.aggregates.append(
            .with {
              $0.unit = "\(arm)\(unit)"
              $0.periodIndex = Int32(period)
              $0.stats = zip(metrics, effects).map { metric, effect in
                let shift = arm == "t" && period == 0 ? effect : 0
                let count = Double(20 + Int(random.next() % 60))
                if metric.isRate {
                  let rate = min(max(0.5 + level * 0.3 + shift, 0.01), 0.99)
                  let sum = (count * rate + random.normal() * 2).rounded().clamped(0, count)
                  return .with {
                    $0.kpi = metric.0
                    $0.count = count
                    $0.sum = sum
                    $0.sumSquares = sum
                  }
                }
                let mean = 3_600 * (1 + level + shift * 4)
                let values = (0..<Int(count)).map { _ in max(60, mean + random.normal() * 1_200) }
                return .with {
                  $0.kpi = metric.0
                  $0.count = count
                  $0.sum = values.reduce(0, +)
                  $0.sumSquares = values.reduce(0) { $0 + $1 * $1 }
                }
              }
            })
        }
      }
    }
    return response
  }

  @Test func everyShownIntervalAndPValueAgreeWithTheVerdictBesideIt() throws {
    var random = SeededRandom(seed: 25)
    let methods: [Sightline_Experiments_V1_Method] = [.auto, .welch, .cuped, .did, .permutation, .zTest, .delta]
    var checked = 0
    var bases: [String: Int] = [:]
    var decided = 0
    for round in 0..<240 {
      let units = [3, 5, 8, 20, 40][round % 5]
      let effects = Self.metrics.map { _ in random.chance(0.4) ? 0 : (random.unit() - 0.5) * 0.3 }
      let primaries = 1 + round % 3
      let experiment = Sightline_Experiments_V1_Experiment.with {
        $0.name = "e\(round)"
        $0.explicit = .with {
          $0.control = (0..<units).map { "c\($0)" }
          $0.treatment = (0..<units).map { "t\($0)" }
        }
        $0.primary = Self.metrics.prefix(primaries).map { metric in
          .with {
            $0.kpi = metric.0; $0.goodDirection = metric.1
          }
        }
        if primaries < Self.metrics.count {
          $0.guardrails = [
            .with {
              $0.kpi = Self.metrics[2].0; $0.goodDirection = Self.metrics[2].1
            }
          ]
        }
      }
      let evaluator = ExperimentEvaluator(
        experiment: experiment, aggregates: Self.aggregates(units: units, effects: effects, random: &random),
        method: methods[round % methods.count], running: round % 2 == 0, post: (0, 28 * 86_400_000), pre: (-28 * 86_400_000, 0))
      let evaluation = try evaluator.evaluate()
      for result in evaluation.results where !result.decisionBasis.isEmpty {
        checked += 1
        bases[result.decisionBasis, default: 0] += 1
        let excludesZero = result.decisionCiLow > 0 || result.decisionCiHigh < 0
        let decisive = result.verdict != .inconclusive
        if decisive { decided += 1 }
        #expect(
          excludesZero == decisive || result.effect == 0,
          "\(result.decisionBasis) [\(result.decisionCiLow), \(result.decisionCiHigh)] beside \(result.verdict), round \(round)")
        #expect((result.decisionPValue < 0.05) == decisive || result.effect == 0, "p \(result.decisionPValue) beside \(result.verdict)")
        #expect(result.decisionCiLow <= result.effect && result.effect <= result.decisionCiHigh)
        if evaluation.running {
          // A running experiment needs both tests; the basis is the stricter one.
          #expect(result.decisionBasis == "always_valid" || result.sequentialPValue < result.decisionPValue)
          #expect(result.decisionPValue == max(result.sequentialPValue, result.pValueAdjusted))
        } else {
          #expect(result.decisionBasis != "always_valid")
        }
      }
    }
    // Every basis and both kinds of verdict occurred: the check above was not vacuous.
    #expect(checked > 400)
    #expect(Set(bases.keys) == ["always_valid", "fixed_horizon", "multiplicity_adjusted"], "\(bases)")
    #expect(decided > 20 && decided < checked - 20, "\(decided) decisive of \(checked)")
  }

  /// Worked by hand (Altman & Bland's method, BMJ 2011): a difference of −2.1 with
  /// P = 0.03 has z = Φ⁻¹(0.985) = 2.17009, SE = 2.1 / 2.17009 = 0.96770, and the 95 %
  /// interval −2.1 ± 1.95996 × 0.96770 = [−3.99666, −0.20334].
  @Test func anIntervalFromAPValueIsWorkedByHand() {
    let interval = VerdictBasis.impliedInterval(effect: -2.1, p: 0.03, alpha: 0.05)
    #expect(abs(interval.low - -3.99666) < 1e-4)
    #expect(abs(interval.high - -0.20334) < 1e-4)
    #expect(VerdictBasis.impliedInterval(effect: 1, p: 1, alpha: 0.05) == (-.infinity, .infinity))
  }
}

extension Double {
  fileprivate func clamped(_ low: Double, _ high: Double) -> Double { Swift.min(Swift.max(self, low), high) }
}
