public import SightlineModel
public import SightlineWire
import SwiftProtobuf

/// SLA policies on the wire, for the metrics service and the CLI.
public enum CalendarWire {
  /// A policy's wire form (targets in whole seconds, 0 for none).
  public static func policy(_ policy: SlaPolicy) -> Sightline_Metrics_V1_SlaPolicy {
    func targets(_ ms: [TicketPriority: Int64]) -> Sightline_Metrics_V1_SlaTargets {
      .with {
        $0.urgentSeconds = (ms[.urgent] ?? 0) / 1000; $0.highSeconds = (ms[.high] ?? 0) / 1000
        $0.normalSeconds = (ms[.normal] ?? 0) / 1000; $0.lowSeconds = (ms[.low] ?? 0) / 1000
      }
    }
    return .with {
      $0.name = policy.name
      $0.businessLines = policy.businessLines.sorted()
      $0.channels = policy.channels.sorted()
      $0.calendar = policy.calendar ?? ""
      $0.businessTime = policy.businessTime
      $0.firstResponse = targets(policy.firstResponseMs)
      $0.resolution = targets(policy.resolutionMs)
    }
  }
}
