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

  /// Phone and chat are live until a tenant says otherwise.
  public static let defaultLiveChannels: Set<String> = ["phone", "chat"]

  /// Settings from their parts (defaults: no handle times, phone and chat live, the
  /// contact-centre targets).
  public init(
    handleSeconds: [String: Double] = [:], liveChannels: Set<String> = WorkloadSettings.defaultLiveChannels,
    targets: StaffingTargets = .defaults
  ) {
    self.handleSeconds = handleSeconds
    self.liveChannels = liveChannels
    self.targets = targets
  }
}
