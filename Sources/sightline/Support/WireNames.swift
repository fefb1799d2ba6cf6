import ArgumentParser
import SightlineModel
import SightlineWire

/// Command-line names of KPIs and dimensions (the documented snake_case names) and their
/// wire values.
enum WireNames {
  static let kpis: [String: Sightline_Metrics_V1_Kpi] = [
    "volume": .volume, "first_response_time": .firstResponseTime, "resolution_time": .resolutionTime,
    "unanswered": .unanswered, "fcr_rate": .fcrRate, "reopen_rate": .reopenRate,
    "sla_first_response": .slaFirstResponse, "csat": .csat, "nps": .nps, "ces": .ces,
    "complaint_rate": .complaintRate, "complaint_closure_rate": .complaintClosureRate,
    "repeat_contact_rate": .repeatContactRate, "backlog": .backlog,
  ]
  static let dimensions: [String: Sightline_Common_V1_Dimension] = [
    "channel": .channel, "region": .region, "business_line": .businessLine, "agent": .agent,
    "product_module": .productModule, "problem_type": .problemType, "priority": .priority,
    "customer_tier": .customerTier, "customer_type": .customerType, "customer": .customer,
  ]

  static func kpi(_ name: String) throws -> Sightline_Metrics_V1_Kpi {
    guard let kpi = kpis[name] else {
      throw ValidationError("unknown metric '\(name)'; one of: \(kpis.keys.sorted().joined(separator: ", "))")
    }
    return kpi
  }

  static func dimension(_ name: String) throws -> Sightline_Common_V1_Dimension {
    guard let dimension = dimensions[name] else {
      throw ValidationError("unknown dimension '\(name)'; one of: \(dimensions.keys.sorted().joined(separator: ", "))")
    }
    return dimension
  }

  static func name(_ kpi: Sightline_Metrics_V1_Kpi) -> String { kpis.first { $0.value == kpi }?.key ?? "\(kpi)" }
  static func name(_ dimension: Sightline_Common_V1_Dimension) -> String {
    dimensions.first { $0.value == dimension }?.key ?? ""
  }
  static func model(_ kpi: Sightline_Metrics_V1_Kpi) -> KpiKind? { KpiKind(rawValue: name(kpi)) }

  static func name(_ method: Sightline_Experiments_V1_Method) -> String {
    switch method {
    case .welch: "welch"
    case .cuped: "cuped"
    case .did: "did"
    case .permutation: "permutation"
    case .zTest: "z_test"
    case .delta: "delta"
    default: "auto"
    }
  }
}
