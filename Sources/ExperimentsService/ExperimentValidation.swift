import Foundation
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Checks an experiment definition; every problem is INVALID_ARGUMENT naming the field.
/// Fills in good directions left unspecified from the KPI's own.
enum ExperimentValidation {
  static func validate(_ experiment: inout Sightline_Experiments_V1_Experiment) throws {
    let name = experiment.name.trimmingCharacters(in: .whitespaces)
    guard !name.isEmpty, name.count <= 100,
      name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_. ".unicodeScalars.contains($0) })
    else {
      throw InvalidInput(field: "experiment.name", reason: "1-100 letters, digits, spaces, '-', '_' or '.'")
    }
    experiment.name = name
    _ = try KpiWire.dimension(experiment.unit, field: "experiment.unit")
    switch experiment.assignment {
    case .explicit(let explicit):
      guard !explicit.treatment.isEmpty else {
        throw InvalidInput(field: "experiment.explicit.treatment", reason: "name at least one treated unit")
      }
      guard !explicit.control.isEmpty else {
        throw InvalidInput(field: "experiment.explicit.control", reason: "name at least one control unit")
      }
      for (field, list) in [("treatment", explicit.treatment), ("control", explicit.control)] {
        if let empty = list.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
          throw InvalidInput(field: "experiment.explicit.\(field)[\(empty)]", reason: "a unit name must not be empty")
        }
        if Set(list).count != list.count {
          throw InvalidInput(field: "experiment.explicit.\(field)", reason: "lists a unit twice")
        }
      }
      if let both = explicit.treatment.first(where: explicit.control.contains) {
        throw InvalidInput(field: "experiment.explicit", reason: "unit '\(both)' is in both arms")
      }
    case .hash(let hash):
      guard !hash.salt.isEmpty else { throw InvalidInput(field: "experiment.hash.salt", reason: "must not be empty") }
      guard hash.treatmentShare > 0 && hash.treatmentShare < 1 else {
        throw InvalidInput(field: "experiment.hash.treatment_share", reason: "must be strictly between 0 and 1")
      }
    case nil:
      throw InvalidInput(field: "experiment.assignment", reason: "give an explicit or a hash assignment")
    }
    guard experiment.hasStart, experiment.start.seconds > 946_684_800 else {
      throw InvalidInput(field: "experiment.start", reason: "the rollout start is required (after 2000-01-01)")
    }
    if experiment.hasEnd && experiment.end.unixMilliseconds <= experiment.start.unixMilliseconds {
      throw InvalidInput(field: "experiment.end", reason: "must be after the start")
    }
    guard (0...365).contains(experiment.prePeriodDays) else {
      throw InvalidInput(field: "experiment.pre_period_days", reason: "must be 0-365")
    }
    guard !experiment.primary.isEmpty else { throw InvalidInput(field: "experiment.primary", reason: "name at least one primary metric") }
    for (list, field) in [(\Sightline_Experiments_V1_Experiment.primary, "primary"), (\.guardrails, "guardrails")] {
      for index in experiment[keyPath: list].indices {
        let kpi = try KpiWire.kpi(experiment[keyPath: list][index].kpi, field: "experiment.\(field)[\(index)].kpi")
        if experiment[keyPath: list][index].goodDirection == .unspecified, let up = kpi.higherIsBetter {
          experiment[keyPath: list][index].goodDirection = up ? .up : .down
        }
      }
    }
  }
}
