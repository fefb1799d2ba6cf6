import Foundation
public import SightlineModel

/// An alert rule as stored: a fixed threshold, or anomaly detection against a robust
/// baseline, evaluated over a sliding window for the whole tenant or per dimension value.
public struct AlertRuleRecord: Sendable, Equatable {
  public var id: String
  public var name: String
  public var kpi: KpiKind
  /// Evaluate per value of this dimension (nil: the whole tenant).
  public var by: KpiDimension?
  public var windowMs: Int64
  /// `greater` or `less`, for threshold rules.
  public var comparison: AlertComparison?
  public var threshold: Double
  public var anomaly: Bool
  /// Windows with fewer observations are not judged.
  public var minSample: Int64
  /// What the rule watches. A staffing-gap rule looks `windowMs` ahead and opens an alert
  /// for each run of hours its forecast need exceeds the roster by `threshold` agents.
  public var kind: AlertRuleKind

  /// A rule from its parts.
  public init(
    id: String, name: String, kpi: KpiKind, by: KpiDimension?, windowMs: Int64, comparison: AlertComparison?,
    threshold: Double, anomaly: Bool, minSample: Int64, kind: AlertRuleKind = .kpi
  ) {
    self.kind = kind
    self.id = id
    self.name = name
    self.kpi = kpi
    self.by = by
    self.windowMs = windowMs
    self.comparison = comparison
    self.threshold = threshold
    self.anomaly = anomaly
    self.minSample = minSample
  }
}

/// What an alert rule watches.
public enum AlertRuleKind: String, Sendable {
  /// A KPI over a window ending now (threshold or anomaly).
  case kpi
  /// The forecast staffing need ahead against the tenant's roster (docs/workload.md).
  case staffingGap = "staffing_gap"
}

/// Direction of a threshold rule.
public enum AlertComparison: String, Sendable {
  case greater, less
}

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable {
  case info, warning, critical
}

/// An alert as stored: open while `resolvedMs` is nil.
public struct AlertRecord: Sendable, Equatable {
  public var id: String
  public var ruleID: String
  public var kpi: KpiKind
  public var dimension: KpiDimension?
  /// The dimension value concerned ("" for the whole tenant).
  public var dimensionValue: String
  public var value: Double
  public var sampleSize: Int64
  public var expectedLow: Double
  public var expectedHigh: Double
  public var severity: AlertSeverity
  public var openedMs: Int64
  public var resolvedMs: Int64?
  public var windowStartMs: Int64
  public var windowEndMs: Int64
  public var message: String
  /// The segments that moved the tenant's KPI most when the alert opened (its window
  /// against the same window a week before, by the best-ranked dimension: docs/kpis.md,
  /// "Explaining a change"); empty when there was nothing to compare with.
  public var contributors: [AlertContributor]

  /// An alert from its parts.
  public init(
    id: String, ruleID: String, kpi: KpiKind, dimension: KpiDimension?, dimensionValue: String, value: Double,
    sampleSize: Int64, expectedLow: Double, expectedHigh: Double, severity: AlertSeverity, openedMs: Int64,
    resolvedMs: Int64?, windowStartMs: Int64, windowEndMs: Int64, message: String, contributors: [AlertContributor] = []
  ) {
    self.id = id
    self.ruleID = ruleID
    self.kpi = kpi
    self.dimension = dimension
    self.dimensionValue = dimensionValue
    self.value = value
    self.sampleSize = sampleSize
    self.expectedLow = expectedLow
    self.expectedHigh = expectedHigh
    self.severity = severity
    self.openedMs = openedMs
    self.resolvedMs = resolvedMs
    self.windowStartMs = windowStartMs
    self.windowEndMs = windowEndMs
    self.message = message
    self.contributors = contributors
  }
}

extension AlertRecord {
  /// Whether a staffing-gap rule raised it: only those name a value (the run's start)
  /// without a dimension; a KPI rule's alert for the whole tenant has the value "".
  public var isStaffingGap: Bool { dimension == nil && !dimensionValue.isEmpty }
}

/// One segment's part in an alert's KPI change.
public struct AlertContributor: Sendable, Equatable {
  public var dimension: KpiDimension
  public var value: String
  /// Rate plus mix effect, and the two parts.
  public var effect: Double
  public var rateEffect: Double
  public var mixEffect: Double

  /// A contributor from its parts.
  public init(dimension: KpiDimension, value: String, effect: Double, rateEffect: Double, mixEffect: Double) {
    self.dimension = dimension
    self.value = value
    self.effect = effect
    self.rateEffect = rateEffect
    self.mixEffect = mixEffect
  }

  /// The stored form of one contributor.
  private struct Stored: Codable {
    var dimension: String
    var value: String
    var effect: Double
    var rateEffect: Double
    var mixEffect: Double
  }

  /// The stored form: a JSON array ("" for none).
  static func stored(_ contributors: [AlertContributor]) -> String {
    let rows = contributors.map {
      Stored(dimension: $0.dimension.rawValue, value: $0.value, effect: $0.effect, rateEffect: $0.rateEffect, mixEffect: $0.mixEffect)
    }
    guard !rows.isEmpty, let data = try? JSONEncoder().encode(rows) else { return "" }
    return String(decoding: data, as: UTF8.self)
  }

  /// The contributors of a stored form; none for "" (alerts stored before they existed).
  static func parse(_ text: String) -> [AlertContributor] {
    guard !text.isEmpty, let rows = try? JSONDecoder().decode([Stored].self, from: Data(text.utf8)) else { return [] }
    return rows.compactMap { row in
      KpiDimension(rawValue: row.dimension).map {
        AlertContributor(dimension: $0, value: row.value, effect: row.effect, rateEffect: row.rateEffect, mixEffect: row.mixEffect)
      }
    }
  }
}

/// A tenant's alert rules and alerts: what alerting needs from the metrics storage.
public protocol AlertStore: Sendable {
  /// Stores a new rule.
  func add(_ rule: AlertRuleRecord) throws
  /// All rules, oldest first.
  func rules() throws -> [AlertRuleRecord]
  /// Removes a rule, keeping its alerts as history; false if unknown.
  func removeRule(id: String) throws -> Bool
  /// The open alert of `ruleID` for `dimensionValue`, if any.
  func openAlert(ruleID: String, dimensionValue: String) throws -> AlertRecord?
  /// Every open alert of `ruleID`.
  func openAlerts(ruleID: String) throws -> [AlertRecord]
  /// Every alert of `ruleID` open at some moment from `sinceMs` on (open now, or resolved
  /// at or after it).
  func alerts(ruleID: String, openSinceMs sinceMs: Int64) throws -> [AlertRecord]
  /// Inserts or updates `alert` (by id), if `fence` is still the tenant's metrics lease
  /// (else ``LeaseLost``, and nothing is written); with `event`, writes that event about it
  /// to the outbox in the same transaction (docs/delivery.md).
  func save(_ alert: AlertRecord, fence: LeaseFence, announcing event: DeliveryEventKind?) throws
  /// The alert with `id`, if any.
  func alert(id: String) throws -> AlertRecord?
  /// The newest alerts first, at most `limit`, only open ones when `openOnly`.
  func alerts(openOnly: Bool, limit: Int) throws -> [AlertRecord]
}

extension AlertStore {
  /// Saves `alert` as the store's only writer (no lease to check).
  public func save(_ alert: AlertRecord) throws { try save(alert, fence: .sole, announcing: nil) }
}

/// What a metrics replica tells the others about alerting, so that each answers as if it
/// had done the work itself.
public enum AlertAnnouncement: Sendable, Equatable {
  /// A tenant's rules changed (added, removed, imported, deleted): the replica evaluating
  /// the tenant must look at them again.
  case rulesChanged(TenantID)
  /// An alert opened or resolved: `WatchAlerts` streams on every replica deliver it.
  case alertChanged(TenantID, id: String)
  /// A tenant's cases or case rules changed: the replica running its case rules must look
  /// at it again (a new due time, a new rule).
  case casesChanged(TenantID)
}
