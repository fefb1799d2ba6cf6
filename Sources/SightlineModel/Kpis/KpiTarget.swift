/// A KPI's target, for the cockpit's traffic light: green at or beyond the goal, amber
/// within the tolerance short of it, red beyond that. A tenant sets its own (metrics
/// `SetSettings`, `sightline settings`); KPIs it has not set use `defaults`
/// (docs/cockpit.md, from common service-desk practice).
public struct KpiTarget: Sendable, Equatable {
  /// The value to reach: at least, when higher is better; at most, otherwise.
  public var goal: Double
  /// How far short of the goal still counts as amber.
  public var tolerance: Double

  /// A target from its parts.
  public init(goal: Double, tolerance: Double) {
    self.goal = goal
    self.tolerance = tolerance
  }

  /// A traffic light.
  public enum Status: String, Sendable { case green, amber, red, none }

  /// The status of `value` for `kind` (none without data, or for a KPI without a direction).
  public func status(_ value: Double, kind: KpiKind, sampleSize: Int64) -> Status {
    guard sampleSize > 0, let higherIsBetter = kind.higherIsBetter else { return .none }
    let shortfall = higherIsBetter ? goal - value : value - goal
    if shortfall <= 0 { return .green }
    return shortfall <= tolerance ? .amber : .red
  }

  /// Why `target` cannot be `kind`'s, or nil: the KPI must have a direction, the numbers
  /// must be finite, the tolerance not negative, and a share's goal a share.
  public static func problem(with target: KpiTarget, for kind: KpiKind) -> String? {
    if kind.higherIsBetter == nil { return "\(kind.rawValue) has no better direction, so it takes no target" }
    guard target.goal.isFinite, target.tolerance.isFinite else { return "goal and tolerance must be finite numbers" }
    if target.tolerance < 0 { return "the tolerance must not be negative" }
    if kind.isRate && !(0...1).contains(target.goal) { return "\(kind.rawValue) is a share: its goal must be between 0 and 1" }
    return nil
  }

  /// Default targets per KPI; volume and backlog have none (more tickets is not worse).
  public static let defaults: [KpiKind: KpiTarget] = [
    .firstResponseTime: KpiTarget(goal: 3_600, tolerance: 3 * 3_600),
    .resolutionTime: KpiTarget(goal: 24 * 3_600, tolerance: 48 * 3_600),
    .unanswered: KpiTarget(goal: 0, tolerance: 10),
    .fcrRate: KpiTarget(goal: 0.70, tolerance: 0.10),
    .reopenRate: KpiTarget(goal: 0.05, tolerance: 0.05),
    .slaFirstResponse: KpiTarget(goal: 0.90, tolerance: 0.10),
    .slaResolution: KpiTarget(goal: 0.90, tolerance: 0.10),
    .csat: KpiTarget(goal: 0.85, tolerance: 0.10),
    .nps: KpiTarget(goal: 30, tolerance: 30),
    .ces: KpiTarget(goal: 5, tolerance: 1),
    .complaintRate: KpiTarget(goal: 0.02, tolerance: 0.03),
    .complaintClosureRate: KpiTarget(goal: 0.90, tolerance: 0.10),
    .repeatContactRate: KpiTarget(goal: 0.10, tolerance: 0.10),
  ]
}
