import ArgumentParser
import SightlineModel
import SightlineRPC
import SightlineWire

/// Command-line names of KPIs and dimensions: the documented snake_case names, which are
/// the model's raw values (the wire tables live in `KpiWire`, next to the wire module).
enum WireNames {
  /// Every KPI name, sorted.
  static var kpiNames: [String] { KpiKind.allCases.map(\.rawValue).sorted() }
  /// Every dimension name, sorted.
  static var dimensionNames: [String] { KpiDimension.allCases.map(\.rawValue).sorted() }

  static func kpi(_ name: String) throws -> Sightline_Metrics_V1_Kpi {
    guard let kpi = KpiWire.kpi(named: name) else {
      throw ValidationError("unknown metric '\(name)'; one of: \(kpiNames.joined(separator: ", "))")
    }
    return kpi
  }

  static func dimension(_ name: String) throws -> Sightline_Common_V1_Dimension {
    guard let dimension = KpiWire.dimension(named: name) else {
      throw ValidationError("unknown dimension '\(name)'; one of: \(dimensionNames.joined(separator: ", "))")
    }
    return dimension
  }

  static func name(_ kpi: Sightline_Metrics_V1_Kpi) -> String { KpiWire.name(kpi) }
  static func name(_ dimension: Sightline_Common_V1_Dimension) -> String { KpiWire.name(dimension) }
  static func model(_ kpi: Sightline_Metrics_V1_Kpi) -> KpiKind? { KpiWire.kpis[kpi] }
  static func name(_ method: Sightline_Experiments_V1_Method) -> String { MethodWire.name(method) }
}
