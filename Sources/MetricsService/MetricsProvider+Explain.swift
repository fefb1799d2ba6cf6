import Foundation
public import GRPCCore
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

extension MetricsProvider {
  /// Default length of the explained period: the 7 days up to now.
  static let defaultExplainMs: Int64 = 7 * 86_400_000

  /// Why a KPI moved: its change between two periods (or two groups over one period),
  /// split exactly into each segment's rate and mix effects, dimension by dimension
  /// (docs/kpis.md, "Explaining a change").
  public func explainChange(
    request: ServerRequest<Sightline_Metrics_V1_ExplainChangeRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Metrics_V1_ExplainChangeResponse> {
    let (tenant, store) = try self.context(request.metadata)
    let message = request.message
    let applied = try await waitForOffset(message.minOffset, tenant: tenant, store: store)
    let kpi = try KpiWire.kpi(message.kpi, field: "kpi")
    let settings = try store.settings()
    let now = clock()
    let sides = try Self.sides(message, nowMs: now)
    var dimensions = try message.dimensions.enumerated().map { try KpiWire.dimension($1, field: "dimensions[\($0)]") }
    if dimensions.isEmpty { dimensions = ChangeExplanation.defaultDimensions(for: sides) }
    guard Set(dimensions).count == dimensions.count else {
      throw InvalidInput(field: "dimensions", reason: "name each dimension once")
    }
    guard message.minSample >= 0 else { throw InvalidInput(field: "min_sample", reason: "must not be negative") }
    let explanation = ChangeExplanation(
      engine: KpiEngine(store: store, settings: settings, nowMs: now, buildLock: state.rollupLock(for: tenant)),
      kpi: kpi, sides: sides, filters: try Self.filters(message.filters),
      minSample: message.minSample > 0 ? Double(message.minSample) : ChangeExplainer.defaultMinSample,
      timeZone: settings.timeZone)
    let (ranked, drill, percentiles) = try explanation.run(dimensions: dimensions)
    return ServerResponse(
      message: Self.wireExplanation(
        kpi: kpi, sides: sides, ranked: ranked, drill: drill, percentiles: percentiles, appliedOffset: applied))
  }

  /// The two sides a request asks for, or INVALID_ARGUMENT naming the field.
  static func sides(_ message: Sightline_Metrics_V1_ExplainChangeRequest, nowMs: Int64) throws -> ChangeSides {
    let period = message.hasPeriod ? message.period : nil
    let end = period?.hasEnd == true ? period!.end.unixMilliseconds : nowMs
    let start = period?.hasStart == true ? period!.start.unixMilliseconds : end - defaultExplainMs
    guard end > start else { throw InvalidInput(field: "period", reason: "the end must be after the start") }
    guard message.groupDimension != .unspecified else {
      guard message.groupValues.isEmpty, message.baselineValues.isEmpty else {
        throw InvalidInput(field: "group_dimension", reason: "group values need the dimension they are values of")
      }
      let baseline =
        message.hasBaseline
        ? try range(message.baseline, nowMs: nowMs, field: "baseline", requireBoth: true)
        : (start - (end - start), start)
      return .periods(baseline: baseline, current: (start, end))
    }
    let dimension = try KpiWire.dimension(message.groupDimension, field: "group_dimension")
    guard !message.groupValues.isEmpty else {
      throw InvalidInput(field: "group_values", reason: "name the values of the group to explain")
    }
    let current = Set(message.groupValues)
    if let shared = message.baselineValues.first(where: current.contains) {
      throw InvalidInput(field: "baseline_values", reason: "'\(shared)' is in both groups")
    }
    return .groups(
      dimension: dimension, current: current,
      baseline: message.baselineValues.isEmpty ? nil : Set(message.baselineValues), range: (start, end))
  }

  static func wireExplanation(
    kpi: KpiKind, sides: ChangeSides, ranked: [ExplainedDimension],
    drill: (dimension: KpiDimension, value: String, explained: ExplainedDimension)?,
    percentiles: [(q: Double, baseline: Double, current: Double, atBaselineMix: Double)], appliedOffset: Int64
  ) -> Sightline_Metrics_V1_ExplainChangeResponse {
    let kind = DecompositionKind(kpi)
    return .with { response in
      response.kpi = KpiWire.wireKpis[kpi]!
      response.decomposition = kind == .ratio ? .ratio : .additive
      let (baseline, current) = sides.ranges
      response.baselineRange = wireRange(baseline)
      response.currentRange = wireRange(current)
      if let first = ranked.first {
        let baselineSides = first.change.segments.map(\.baseline)
        let currentSides = first.change.segments.map(\.current)
        response.baselineValue = ShiftShare.total(baselineSides, kind: kind) ?? 0
        response.currentValue = ShiftShare.total(currentSides, kind: kind) ?? 0
        response.baselineCount = baselineSides.reduce(0) { $0 + $1.count }
        response.currentCount = currentSides.reduce(0) { $0 + $1.count }
        response.change = first.change.change
      }
      let comparable = kind == .additive || (response.baselineCount > 0 && response.currentCount > 0)
      if comparable {
        response.dimensions = ranked.map { wireDimension($0, kpi: kpi) }
        if let drill {
          response.drillDimension = KpiWire.wireDimensions[drill.dimension]!
          response.drillValue = drill.value
          response.drillDown = wireDimension(drill.explained, kpi: kpi)
        }
        response.percentiles = percentiles.map { p in
          .with {
            $0.quantile = p.q
            $0.baseline = p.baseline
            $0.current = p.current
            $0.currentAtBaselineMix = p.atBaselineMix
          }
        }
      }
      response.summary = summary(
        kpi: kpi, comparable: comparable, response: response, ranked: ranked, percentiles: percentiles)
      response.appliedOffset = appliedOffset
    }
  }

  /// The answer in words: the change, the best dimension's finding, and for percentiles
  /// the change had the mix stayed.
  static func summary(
    kpi: KpiKind, comparable: Bool, response: Sightline_Metrics_V1_ExplainChangeResponse,
    ranked: [ExplainedDimension], percentiles: [(q: Double, baseline: Double, current: Double, atBaselineMix: Double)]
  ) -> String {
    guard comparable else {
      let empty = response.baselineCount == 0 ? "baseline" : "current side"
      return "\(kpi.rawValue) has no observations on the \(empty), so its change cannot be explained."
    }
    var text =
      "\(kpi.rawValue) moved from \(KpiFormat.value(response.baselineValue, kpi)) to "
      + "\(KpiFormat.value(response.currentValue, kpi)) (\(KpiFormat.change(response.change, kpi)))."
    if let top = ranked.first {
      text += " " + ChangeExplainer.summary(top.change, kpi: kpi, dimension: top.dimension.rawValue)
    }
    for p in percentiles {
      let name = p.q == 0.5 ? "median" : "p90"
      text +=
        " The \(name) does not split into rate and mix: it moved \(KpiFormat.change(p.current - p.baseline, kpi)),"
        + " and would have moved \(KpiFormat.change(p.atBaselineMix - p.baseline, kpi)) had the mix stayed."
    }
    return text
  }

  static func wireDimension(_ explained: ExplainedDimension, kpi: KpiKind) -> Sightline_Metrics_V1_DimensionExplanation {
    .with { wire in
      wire.dimension = KpiWire.wireDimensions[explained.dimension]!
      wire.segments = explained.change.segments.map(wireSegment)
      wire.rateEffect = explained.change.rateEffect
      wire.mixEffect = explained.change.mixEffect
      wire.topShare = explained.change.topShare
      wire.score = explained.change.score
      wire.simpsonsParadox = explained.change.simpsonsParadox
      wire.summary = ChangeExplainer.summary(explained.change, kpi: kpi, dimension: explained.dimension.rawValue)
    }
  }

  static func wireSegment(_ effect: SegmentEffect) -> Sightline_Metrics_V1_SegmentChange {
    .with {
      $0.value = effect.value
      $0.baselineCount = effect.baseline.count
      $0.currentCount = effect.current.count
      $0.baselineShare = effect.baselineShare
      $0.currentShare = effect.currentShare
      if let rate = effect.baselineRate { $0.baselineRate = rate }
      if let rate = effect.currentRate { $0.currentRate = rate }
      $0.rateEffect = effect.rateEffect
      $0.mixEffect = effect.mixEffect
      $0.effect = effect.effect
      $0.presence =
        switch effect.presence {
        case .both: .both
        case .entering: .entering
        case .leaving: .leaving
        }
      if let p = effect.pValue { $0.pValue = p }
      if let p = effect.adjustedPValue { $0.pValueBh = p }
      $0.pooled = Int32(effect.pooled)
    }
  }

  static func wireRange(_ range: (Int64, Int64)) -> Sightline_Common_V1_TimeRange {
    .with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: range.0)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: range.1)
    }
  }
}
