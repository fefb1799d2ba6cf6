import SightlineModel

/// The cockpit's traffic light: a KPI value against its target. Green at or beyond the
/// target, amber within the tolerance band before it, red beyond that (docs/cockpit.md
/// lists the defaults, set from common service-desk practice).
struct Target: Sendable {
  /// The value to reach (at least, when higher is better; at most, otherwise).
  var goal: Double
  /// How far short of the goal still counts as amber.
  var tolerance: Double

  enum Status: String { case green, amber, red, none }

  /// The status of `value` for `kind` (none without data, or for a KPI without a direction).
  func status(_ value: Double, kind: KpiKind, sampleSize: Int64) -> Status {
    guard sampleSize > 0, let higherIsBetter = kind.higherIsBetter else { return .none }
    let shortfall = higherIsBetter ? goal - value : value - goal
    if shortfall <= 0 { return .green }
    return shortfall <= tolerance ? .amber : .red
  }

  /// Default targets per KPI; volume and backlog have none (more tickets is not worse).
  static let defaults: [KpiKind: Target] = [
    .firstResponseTime: Target(goal: 3_600, tolerance: 3 * 3_600),
    .resolutionTime: Target(goal: 24 * 3_600, tolerance: 48 * 3_600),
    .unanswered: Target(goal: 0, tolerance: 10),
    .fcrRate: Target(goal: 0.70, tolerance: 0.10),
    .reopenRate: Target(goal: 0.05, tolerance: 0.05),
    .slaFirstResponse: Target(goal: 0.90, tolerance: 0.10),
    .csat: Target(goal: 0.85, tolerance: 0.10),
    .nps: Target(goal: 30, tolerance: 30),
    .ces: Target(goal: 5, tolerance: 1),
    .complaintRate: Target(goal: 0.02, tolerance: 0.03),
    .complaintClosureRate: Target(goal: 0.90, tolerance: 0.10),
    .repeatContactRate: Target(goal: 0.10, tolerance: 0.10),
  ]
}
