import Foundation
import SightlineModel
import Testing

/// Seeded simulations, small enough for CI: each method holds its nominal 5 % false-positive
/// rate on A/A data, its 95 % intervals cover a planted effect about 95 % of the time, and
/// peeking every day with the always-valid mSPRT keeps the false-positive rate under 5 %.
@Suite("Statistics in simulation")
struct StatisticsSimulationTests {
  static let runs = 400
  /// Three binomial standard deviations around a rate over `runs` simulations.
  static func band(_ rate: Double) -> ClosedRange<Double> {
    let sd = (rate * (1 - rate) / Double(runs)).squareRoot()
    return (rate - 3 * sd)...(rate + 3 * sd)
  }

  static func draw(_ random: inout SeededRandom, _ n: Int, mean: Double, sd: Double) -> [Double] {
    (0..<n).map { _ in mean + sd * random.normal() }
  }

  /// Units with a persistent level (pre and post correlated), as business lines are.
  static func prePost(_ random: inout SeededRandom, _ n: Int, effect: Double) -> [(pre: Double, post: Double)] {
    (0..<n).map { _ in
      let level = 50 + 10 * random.normal()
      return (level + 2 * random.normal(), level + effect + 2 * random.normal())
    }
  }

  enum Method: String, CaseIterable { case welch, did, cuped, permutation, delta, twoProportion }

  /// One simulated experiment analysed with `method`: (rejected at 5 %, CI covers `effect`).
  static func simulate(_ method: Method, effect: Double, random: inout SeededRandom) -> (rejected: Bool, covered: Bool) {
    switch method {
    case .welch:
      let r = ABStatistics.welch(control: draw(&random, 12, mean: 10, sd: 2), treatment: draw(&random, 15, mean: 10 + effect, sd: 3))!
      return (r.pValue < 0.05, r.ciLow <= effect && effect <= r.ciHigh)
    case .did:
      let r = ABStatistics.differenceInDifferences(
        control: prePost(&random, 10, effect: 0), treatment: prePost(&random, 10, effect: effect))!
      return (r.pValue < 0.05, r.ciLow <= effect && effect <= r.ciHigh)
    case .cuped:
      let r = ABStatistics.cuped(control: prePost(&random, 10, effect: 0), treatment: prePost(&random, 10, effect: effect))!.estimate
      return (r.pValue < 0.05, r.ciLow <= effect && effect <= r.ciHigh)
    case .permutation:
      let control = prePost(&random, 6, effect: 0).map { $0.post - $0.pre }
      let treatment = prePost(&random, 6, effect: effect).map { $0.post - $0.pre }
      let r = ABStatistics.permutation(control: control, treatment: treatment)!
      return (r.pValue < 0.05, r.ciLow <= effect && effect <= r.ciHigh)
    case .delta:
      // Units of varying size with a true share of 0.8 (+ effect on treatment).
      func units(_ share: Double) -> [(numerator: Double, denominator: Double)] {
        (0..<15).map { _ in
          let size = Double(50 + Int(random.next() % 200))
          let successes = (0..<Int(size)).reduce(0.0) { sum, _ in sum + (random.chance(share) ? 1 : 0) }
          return (successes, size)
        }
      }
      let r = ABStatistics.deltaRatio(control: units(0.8), treatment: units(0.8 + effect / 100))!
      return (r.pValue < 0.05, r.ciLow <= effect / 100 && effect / 100 <= r.ciHigh)
    case .twoProportion:
      let n = 2_000.0
      let xc = (0..<Int(n)).reduce(0.0) { sum, _ in sum + (random.chance(0.1) ? 1 : 0) }
      let xt = (0..<Int(n)).reduce(0.0) { sum, _ in sum + (random.chance(0.1 + effect / 100) ? 1 : 0) }
      let r = ABStatistics.twoProportion(controlSuccesses: xc, controlTotal: n, treatmentSuccesses: xt, treatmentTotal: n)!
      return (r.pValue < 0.05, r.ciLow <= effect / 100 && effect / 100 <= r.ciHigh)
    }
  }

  @Test(arguments: Method.allCases)
  func falsePositiveRateOnAAData(method: Method) {
    var random = SeededRandom(seed: 11)
    let rejections = (0..<Self.runs).filter { _ in Self.simulate(method, effect: 0, random: &random).rejected }.count
    let rate = Double(rejections) / Double(Self.runs)
    // Exact and sampled permutation tests are conservative by construction (discrete p).
    let allowed = method == .permutation ? 0...Self.band(0.05).upperBound : Self.band(0.05)
    #expect(allowed.contains(rate), "\(method): false-positive rate \(rate)")
  }

  @Test(arguments: Method.allCases)
  func intervalsCoverAPlantedEffect(method: Method) {
    var random = SeededRandom(seed: 29)
    let covered = (0..<Self.runs).filter { _ in Self.simulate(method, effect: 1.5, random: &random).covered }.count
    let rate = Double(covered) / Double(Self.runs)
    let allowed = method == .permutation ? Self.band(0.95).lowerBound...1 : Self.band(0.95)
    #expect(allowed.contains(rate), "\(method): coverage \(rate)")
  }

  @Test func peekingDailyWithTheMixtureSPRTKeepsFalsePositivesUnderFivePercent() {
    var random = SeededRandom(seed: 47)
    var sequentialRejections = 0
    var naiveRejections = 0
    for _ in 0..<Self.runs {
      var control: [Double] = []
      var treatment: [Double] = []
      var sequentialRejected = false
      var naiveRejected = false
      for _ in 1...30 {
        control += Self.draw(&random, 20, mean: 10, sd: 3)
        treatment += Self.draw(&random, 20, mean: 10, sd: 3)
        let welch = ABStatistics.welch(control: control, treatment: treatment)!
        if welch.pValue < 0.05 { naiveRejected = true }
        let sequential = ABStatistics.mixtureSPRT(
          effect: welch.effect, variance: welch.standardError * welch.standardError, tauSquared: 1)
        if sequential.pValue < 0.05 { sequentialRejected = true }
      }
      if sequentialRejected { sequentialRejections += 1 }
      if naiveRejected { naiveRejections += 1 }
    }
    let sequentialRate = Double(sequentialRejections) / Double(Self.runs)
    let naiveRate = Double(naiveRejections) / Double(Self.runs)
    #expect(sequentialRate <= Self.band(0.05).upperBound, "mSPRT with daily looks: \(sequentialRate)")
    // The control experiment: the same daily looks at a fixed-horizon test inflate it.
    #expect(naiveRate > 0.1, "fixed-horizon Welch with daily looks: \(naiveRate)")
  }
}

@Suite("Hash assignment and SRM")
struct HashAssignmentTests {
  @Test func hashAssignmentIsDeterministicAndSplitsAsDesigned() {
    let units = (0..<20_000).map { "C\($0)" }
    let treated = units.filter { HashAssignment.isTreated(unit: $0, salt: "exp-1", treatmentShare: 0.3) }
    #expect(treated == units.filter { HashAssignment.isTreated(unit: $0, salt: "exp-1", treatmentShare: 0.3) })
    #expect(abs(Double(treated.count) / 20_000 - 0.3) < 0.015)
    let srm = ABStatistics.sampleRatioMismatch(
      controlCount: Double(units.count - treated.count), treatmentCount: Double(treated.count), treatmentShare: 0.3)
    #expect(srm.pValue > 0.001, "a correct split raises no SRM")
    // Another salt is an independent split.
    let other = Set(units.filter { HashAssignment.isTreated(unit: $0, salt: "exp-2", treatmentShare: 0.3) })
    let overlap = Double(treated.filter(other.contains).count) / Double(treated.count)
    #expect(abs(overlap - 0.3) < 0.03)
    // Losing a third of the treated units (a broken pipeline) is flagged.
    let broken = ABStatistics.sampleRatioMismatch(
      controlCount: Double(units.count - treated.count), treatmentCount: Double(treated.count) * 2 / 3, treatmentShare: 0.3)
    #expect(broken.pValue < 0.001)
  }
}
