/// What staffing needs besides arrivals (docs/workload.md): each channel's average handle
/// time, which channels are answered live, and the staffing targets.
public struct WorkloadSettings: Sendable, Equatable {
  /// Average handle time per channel, seconds. A channel with arrivals and none here gets
  /// no staffing figure: Sightline does not guess it.
  public var handleSeconds: [String: Double]
  /// Channels answered live (Erlang C); the others are worked as tickets.
  public var liveChannels: Set<String>
  /// Service level, occupancy cap and shrinkage.
  public var targets: StaffingTargets
  /// The tenant's weekly roster: agents per hour of the week (``TimeOfWeek/index``); hours
  /// not listed have none. Empty: no roster stored.
  public var roster: [Int: Double]

  /// Phone and chat are live until a tenant says otherwise.
  public static let defaultLiveChannels: Set<String> = ["phone", "chat"]

  /// Settings from their parts (defaults: no handle times, phone and chat live, the
  /// contact-centre targets).
  public init(
    handleSeconds: [String: Double] = [:], liveChannels: Set<String> = WorkloadSettings.defaultLiveChannels,
    targets: StaffingTargets = .defaults, roster: [Int: Double] = [:]
  ) {
    self.handleSeconds = handleSeconds
    self.liveChannels = liveChannels
    self.targets = targets
    self.roster = roster
  }
}

/// The handle time staffing uses for a channel, and where it came from.
public struct HandleTime: Sendable, Equatable {
  /// Mean agent working time per ticket or contact, seconds.
  public var seconds: Double
  /// The tickets it was measured over (their replies' `handle_seconds`); 0 when it is the
  /// tenant's setting.
  public var measuredTickets: Int

  public init(seconds: Double, measuredTickets: Int) {
    self.seconds = seconds
    self.measuredTickets = measuredTickets
  }
}

extension WorkloadSettings {
  /// The fewest tickets with measured handle times that replace a channel's setting: fewer
  /// give a mean too noisy to staff by.
  public static let minimumMeasuredTickets = 30

  /// Each channel's handle time: measured from its tickets' replies where at least
  /// ``minimumMeasuredTickets`` carry one (what agents really spend beats an estimate),
  /// else the tenant's setting; channels with neither are missing (no guess).
  /// `measured` holds, per channel, the tickets with a measured handle time and their sum
  /// in milliseconds.
  public func handleTimes(measured: [String: (tickets: Int, totalMs: Int64)]) -> [String: HandleTime] {
    var times = handleSeconds.mapValues { HandleTime(seconds: $0, measuredTickets: 0) }
    for (channel, sum) in measured where sum.tickets >= Self.minimumMeasuredTickets {
      times[channel] = HandleTime(seconds: Double(sum.totalMs) / 1000 / Double(sum.tickets), measuredTickets: sum.tickets)
    }
    return times
  }
}
