import Foundation

/// Erlang C: the M/M/N queue of a live channel (phone, chat), where callers wait in line
/// for the first of N agents (docs/workload.md, "Live channels").
///
/// With arrivals λ per hour and an average handle time h seconds, the offered load is
/// A = λ·h/3600 erlangs. With N > A agents the chance that a caller waits is
///
///     P(wait) = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A))
///
/// computed here in logarithms (lgamma and a log-sum-exp), so loads of thousands of erlangs
/// neither overflow nor lose digits. The service level, the share answered within T
/// seconds, is 1 − P(wait)·e^(−(N−A)·T/h); the average speed of answer P(wait)·h/(N−A).
/// With N ≤ A the queue grows without end: every caller waits.
public enum ErlangC {
  /// The chance that a caller waits, with `agents` agents and `load` erlangs.
  public static func waitProbability(agents: Int, load: Double) -> Double {
    precondition(load >= 0 && agents >= 0)
    if load == 0 { return 0 }
    let n = Double(agents)
    guard n > load else { return 1 }
    let logLoad = log(load)
    // log(A^k/k!) for k = 0 ..< N, summed in log space.
    var largest = -Double.infinity
    var terms: [Double] = []
    terms.reserveCapacity(agents)
    for k in 0..<agents {
      let term = Double(k) * logLoad - lgamma(Double(k) + 1)
      terms.append(term)
      largest = max(largest, term)
    }
    let logSum = largest + log(terms.reduce(0) { $0 + exp($1 - largest) })
    let logQueued = n * logLoad - lgamma(n + 1) + log(n / (n - load))
    return 1 / (1 + exp(logSum - logQueued))
  }

  /// The share of callers answered within `seconds`.
  public static func serviceLevel(agents: Int, load: Double, handleSeconds: Double, withinSeconds seconds: Double) -> Double {
    guard Double(agents) > load else { return load == 0 ? 1 : 0 }
    let wait = waitProbability(agents: agents, load: load)
    return 1 - wait * exp(-(Double(agents) - load) * seconds / handleSeconds)
  }

  /// The average wait before an answer, in seconds (infinite with N ≤ A).
  public static func averageSpeedOfAnswer(agents: Int, load: Double, handleSeconds: Double) -> Double {
    guard Double(agents) > load else { return load == 0 ? 0 : .infinity }
    return waitProbability(agents: agents, load: load) * handleSeconds / (Double(agents) - load)
  }
}

/// What a tenant asks of its staffing (docs/workload.md): a service level for live
/// channels, the occupancy agents can sustain, and the share of paid time lost to breaks,
/// training and absence.
public struct StaffingTargets: Sendable, Equatable {
  /// Share of live contacts to answer within `answerWithinSeconds` (0–1).
  public var serviceLevel: Double
  /// The service level's answer time, seconds.
  public var answerWithinSeconds: Double
  /// Highest share of an agent's time spent handling (0–1].
  public var maxOccupancy: Double
  /// Share of scheduled time not available to handle contacts [0, 1).
  public var shrinkage: Double

  /// 80 % within 20 seconds, occupancy at most 85 %, shrinkage 30 %: the contact-centre
  /// defaults.
  public static let defaults = StaffingTargets(serviceLevel: 0.8, answerWithinSeconds: 20, maxOccupancy: 0.85, shrinkage: 0.3)

  /// Targets from their parts.
  public init(serviceLevel: Double, answerWithinSeconds: Double, maxOccupancy: Double, shrinkage: Double) {
    self.serviceLevel = serviceLevel
    self.answerWithinSeconds = answerWithinSeconds
    self.maxOccupancy = maxOccupancy
    self.shrinkage = shrinkage
  }

  /// The first target out of range, as (field, reason); nil when all are usable.
  public var problem: (field: String, reason: String)? {
    if !(serviceLevel > 0 && serviceLevel < 1) { return ("service_level", "must be between 0 and 1 (exclusive), got \(serviceLevel)") }
    if !(answerWithinSeconds >= 0 && answerWithinSeconds.isFinite) {
      return ("answer_within_seconds", "must be 0 or more seconds, got \(answerWithinSeconds)")
    }
    if !(maxOccupancy > 0 && maxOccupancy <= 1) { return ("max_occupancy", "must be above 0 and at most 1, got \(maxOccupancy)") }
    if !(shrinkage >= 0 && shrinkage < 1) { return ("shrinkage", "must be at least 0 and below 1, got \(shrinkage)") }
    return nil
  }
}

/// Agents an hour of work needs (docs/workload.md).
public enum StaffingNeed {
  /// The largest number of agents one hour's live staffing is searched up to.
  static let maxAgents = 100_000

  /// A live channel's hour: the fewest agents on the line that answer `targets.serviceLevel`
  /// of `arrivals` contacts within the answer time with occupancy (A/N) at most the cap,
  /// and the agents to schedule for them, N/(1 − shrinkage) rounded up.
  public static func live(arrivals: Double, handleSeconds: Double, targets: StaffingTargets) -> Live {
    let load = arrivals * handleSeconds / 3_600
    guard load > 0 else { return Live(load: 0, agents: 0, scheduled: 0, serviceLevel: 1, occupancy: 0) }
    var agents = max(1, Int(load.rounded(.down)) + 1)
    while agents < maxAgents {
      let occupancy = load / Double(agents)
      if occupancy <= targets.maxOccupancy,
        ErlangC.serviceLevel(agents: agents, load: load, handleSeconds: handleSeconds, withinSeconds: targets.answerWithinSeconds)
          >= targets.serviceLevel
      {
        break
      }
      agents += 1
    }
    let level = ErlangC.serviceLevel(agents: agents, load: load, handleSeconds: handleSeconds, withinSeconds: targets.answerWithinSeconds)
    return Live(
      load: load, agents: agents, scheduled: scheduled(Double(agents), shrinkage: targets.shrinkage), serviceLevel: level,
      occupancy: load / Double(agents))
  }

  /// A ticket channel's hour: workload ÷ (occupancy × 3,600 × (1 − shrinkage)), with the
  /// workload arrivals × handle seconds. Fractional: tickets wait, so an hour's need can be
  /// shared across the day.
  public static func tickets(arrivals: Double, handleSeconds: Double, targets: StaffingTargets) -> Double {
    ticketsHandling(arrivals: arrivals, handleSeconds: handleSeconds, targets: targets) / (1 - targets.shrinkage)
  }

  /// The agents working a ticket channel's hour before shrinkage: workload ÷ (occupancy × 3,600).
  public static func ticketsHandling(arrivals: Double, handleSeconds: Double, targets: StaffingTargets) -> Double {
    arrivals * handleSeconds / (targets.maxOccupancy * 3_600)
  }

  /// Agents to schedule so that `agents` are working after shrinkage.
  static func scheduled(_ agents: Double, shrinkage: Double) -> Int {
    // A hair below an integer stays that integer (0.7 × 10 / 0.7 is 10.000000000000002).
    Int((agents / (1 - shrinkage) - 1e-9).rounded(.up))
  }

  /// A live hour's staffing.
  public struct Live: Sendable, Equatable {
    /// Offered load, erlangs.
    public var load: Double
    /// Agents handling contacts.
    public var agents: Int
    /// Agents to schedule (after shrinkage).
    public var scheduled: Int
    /// The service level those agents give.
    public var serviceLevel: Double
    /// Their occupancy, load ÷ agents.
    public var occupancy: Double
  }
}
