import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import SightlineModel
import SightlineRPC
import SightlineStorage
public import SightlineWire
import SwiftProtobuf

/// The experiments service: experiment definitions per tenant, and their evaluation from the
/// metrics service's unit-level aggregates (fetched over mutual TLS).
public final class ExperimentsProvider: Sendable {
  /// Every tenant's experiment definitions.
  let storage: any ExperimentStorage
  private let metrics: GRPCClient<HTTP2ClientTransport.Posix>
  private let clock: @Sendable () -> Int64
  static let dayMs: Int64 = 86_400_000

  /// A provider keeping definitions in `storage` and asking `metrics` for aggregates.
  public init(
    storage: any ExperimentStorage, metrics: GRPCClient<HTTP2ClientTransport.Posix>,
    clock: @escaping @Sendable () -> Int64 = WallClock.unixMilliseconds
  ) {
    self.storage = storage
    self.metrics = metrics
    self.clock = clock
  }

  /// A provider keeping definitions in SQLite under `dataDirectory` (the embedded default).
  public convenience init(
    dataDirectory: String, metrics: GRPCClient<HTTP2ClientTransport.Posix>,
    clock: @escaping @Sendable () -> Int64 = WallClock.unixMilliseconds
  ) {
    self.init(
      storage: SQLiteTenantStores<ExperimentSchema>(root: dataDirectory, service: "experiments"), metrics: metrics,
      clock: clock)
  }

  private func store(_ tenant: TenantID) throws -> any ExperimentStore {
    try storage.experiments(for: tenant)
  }

  private func experiment(named name: String, tenant: TenantID) throws -> Sightline_Experiments_V1_Experiment {
    guard let data = try store(tenant).definition(name: name) else {
      throw RPCError(code: .notFound, message: "no experiment named '\(name)'")
    }
    return try Sightline_Experiments_V1_Experiment(serializedBytes: data)
  }

  /// Asks metrics for the unit aggregates of `kpis` over `periods`, as `tenant`.
  private func aggregates(
    tenant: TenantID, requestMetadata: Metadata, unit: Sightline_Common_V1_Dimension, kpis: [Sightline_Metrics_V1_Kpi],
    periods: [(Int64, Int64)], units: [String], minOffset: Int64
  ) async throws -> Sightline_Metrics_V1_GetUnitAggregatesResponse {
    let metadata = SuiteMetadata.forTenant(tenant, requestID: SuiteMetadata.requestID(requestMetadata))
    var options = CallOptions.defaults
    options.timeout = .seconds(60)
    let request = Sightline_Metrics_V1_GetUnitAggregatesRequest.with {
      $0.unit = unit
      $0.kpis = kpis
      $0.periods = periods.map { start, end in
        .with {
          $0.start = Google_Protobuf_Timestamp(unixMilliseconds: start); $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
        }
      }
      $0.units = units
      $0.minOffset = minOffset
    }
    do {
      return try await Sightline_Metrics_V1_Metrics.Client(wrapping: metrics)
        .getUnitAggregates(request, metadata: metadata, options: options)
    } catch let error as RPCError {
      throw RPCError(
        code: error.code == .invalidArgument ? .internalError : error.code,
        message: "metrics service: \(error.message)")
    }
  }
}

extension ExperimentsProvider {
  /// Why the arms' series cannot be drawn.
  struct SeriesUnavailable: Error {
    let reason: String
  }

  /// Each primary metric's values in the treated and the control arm (their units pooled
  /// by a KPI query filtered on them) from `from` to `to`, by day, or by week past 70 days.
  /// Empty for a hash assignment.
  private func armSeries(
    _ experiment: Sightline_Experiments_V1_Experiment, tenant: TenantID, requestMetadata: Metadata, from: Int64, to: Int64,
    minOffset: Int64
  ) async throws -> [Sightline_Experiments_V1_ArmSeries] {
    guard case .explicit(let arms) = experiment.assignment else { return [] }
    let interval: Sightline_Metrics_V1_Interval = to - from > 70 * Self.dayMs ? .week : .day
    var kpis: [Sightline_Metrics_V1_Kpi] = []
    for metric in experiment.primary where !kpis.contains(metric.kpi) { kpis.append(metric.kpi) }
    let metadata = SuiteMetadata.forTenant(tenant, requestID: SuiteMetadata.requestID(requestMetadata))
    var options = CallOptions.defaults
    options.timeout = .seconds(60)
    let client = Sightline_Metrics_V1_Metrics.Client(wrapping: metrics)
    func read(_ units: [String]) async throws -> [Int64: [Sightline_Metrics_V1_KpiValue]] {
      let request = Sightline_Metrics_V1_QueryKpisRequest.with {
        $0.kpis = kpis
        $0.range = .with {
          $0.start = Google_Protobuf_Timestamp(unixMilliseconds: from); $0.end = Google_Protobuf_Timestamp(unixMilliseconds: to)
        }
        $0.interval = interval
        $0.filters = [
          .with {
            $0.dimension = experiment.unit; $0.values = units
          }
        ]
        $0.minOffset = minOffset
      }
      do {
        let reply = try await client.queryKpis(request, metadata: metadata, options: options)
        return Dictionary(reply.rows.map { ($0.bucketStart.unixMilliseconds, $0.values) }, uniquingKeysWith: { first, _ in first })
      } catch let error as RPCError where error.code == .invalidArgument {
        throw SeriesUnavailable(reason: "the KPI query cannot filter on the experiment's unit: \(error.message)")
      } catch let error as RPCError {
        throw RPCError(code: error.code, message: "metrics service: \(error.message)")
      }
    }
    let treated = try await read(arms.treatment)
    let control = try await read(arms.control)
    let buckets = Set(treated.keys).union(control.keys).sorted()
    return experiment.primary.map { metric in
      let index = kpis.firstIndex(of: metric.kpi)!
      return .with {
        $0.kpi = metric.kpi
        $0.interval = interval
        $0.points = buckets.map { bucket in
          .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: bucket)
            if let value = treated[bucket]?[index] { ($0.treatment, $0.treatmentN) = (value.value, value.sampleSize) }
            if let value = control[bucket]?[index] { ($0.control, $0.controlN) = (value.value, value.sampleSize) }
          }
        }
      }
    }
  }
}

extension ExperimentsProvider: Sightline_Experiments_V1_Experiments.ServiceProtocol {
  public func createExperiment(
    request: ServerRequest<Sightline_Experiments_V1_CreateExperimentRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Experiments_V1_Experiment> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    var experiment = request.message.experiment
    try ExperimentValidation.validate(&experiment)
    guard try store(tenant).create(name: experiment.name, definition: try experiment.serializedData()) else {
      throw RPCError(code: .alreadyExists, message: "an experiment named '\(experiment.name)' exists already")
    }
    return ServerResponse(message: experiment)
  }

  public func listExperiments(
    request: ServerRequest<Sightline_Experiments_V1_ListExperimentsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Experiments_V1_ListExperimentsResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let all = try store(tenant).all().map { try Sightline_Experiments_V1_Experiment(serializedBytes: $0) }
    return ServerResponse(message: .with { $0.experiments = all })
  }

  public func getExperiment(
    request: ServerRequest<Sightline_Experiments_V1_GetExperimentRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Experiments_V1_Experiment> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    return ServerResponse(message: try experiment(named: request.message.name, tenant: tenant))
  }

  public func evaluate(
    request: ServerRequest<Sightline_Experiments_V1_EvaluateRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Experiments_V1_Evaluation> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let experiment = try experiment(named: request.message.name, tenant: tenant)
    let asOf = request.message.hasAsOf ? request.message.asOf.unixMilliseconds : clock()
    let start = experiment.start.unixMilliseconds
    let end = experiment.hasEnd ? min(experiment.end.unixMilliseconds, asOf) : asOf
    guard end > start else {
      throw RPCError(code: .failedPrecondition, message: "the experiment starts at \(RFC3339.format(milliseconds: start)), after as_of")
    }
    let preStart = start - Int64(experiment.prePeriodDays) * Self.dayMs
    let metrics = experiment.primary + experiment.guardrails
    var kpis: [Sightline_Metrics_V1_Kpi] = []
    for metric in metrics where !kpis.contains(metric.kpi) { kpis.append(metric.kpi) }
    let units: [String] = experiment.explicitUnits
    var periods = [(start, end)]
    if experiment.prePeriodDays > 0 { periods.append((preStart, start)) }
    let data = try await aggregates(
      tenant: tenant, requestMetadata: request.metadata, unit: experiment.unit, kpis: kpis, periods: periods, units: units,
      minOffset: request.message.minOffset)
    let evaluation = try ExperimentEvaluator(
      experiment: experiment, aggregates: data, method: request.message.method,
      running: !experiment.hasEnd || asOf < experiment.end.unixMilliseconds,
      post: (start, end), pre: experiment.prePeriodDays > 0 ? (preStart, start) : nil
    ).evaluate()
    var answer = evaluation.with { $0.evaluatedAt = Google_Protobuf_Timestamp(unixMilliseconds: clock()) }
    if request.message.includeSeries {
      let from = start - Int64(experiment.prePeriodDays > 0 ? experiment.prePeriodDays : 28) * Self.dayMs
      do {
        answer.series = try await armSeries(
          experiment, tenant: tenant, requestMetadata: request.metadata, from: from, to: end, minOffset: request.message.minOffset)
      } catch let refusal as SeriesUnavailable {
        answer.seriesNote = refusal.reason
      }
      if answer.series.isEmpty && answer.seriesNote.isEmpty {
        answer.seriesNote = "a hash assignment's arms are sets of customers, which a KPI query cannot filter on"
      }
    }
    return ServerResponse(message: answer)
  }

  public func plan(
    request: ServerRequest<Sightline_Experiments_V1_PlanRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Experiments_V1_PlanResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    var experiment = request.message.experiment
    try ExperimentValidation.validate(&experiment)
    let power = request.message.power == 0 ? 0.8 : request.message.power
    let alpha = request.message.alpha == 0 ? 0.05 : request.message.alpha
    guard power > 0 && power < 1 else { throw InvalidInput(field: "power", reason: "must be in (0, 1)") }
    guard alpha > 0 && alpha < 1 else { throw InvalidInput(field: "alpha", reason: "must be in (0, 1)") }
    // The variance comes from the pre-period (28 days before the start if none is set).
    let start = experiment.start.unixMilliseconds
    let days = experiment.prePeriodDays > 0 ? Int64(experiment.prePeriodDays) : 28
    let units: [String] = experiment.explicitUnits
    let data = try await aggregates(
      tenant: tenant, requestMetadata: request.metadata, unit: experiment.unit, kpis: experiment.primary.map(\.kpi),
      periods: [(start - days * Self.dayMs, start)], units: units, minOffset: 0)
    return ServerResponse(
      message: ExperimentPlanner(experiment: experiment, aggregates: data, days: Double(days))
        .plan(power: power, alpha: alpha))
  }
}

extension Sightline_Experiments_V1_Evaluation {
  func with(_ change: (inout Self) -> Void) -> Self {
    var copy = self
    change(&copy)
    return copy
  }
}

extension Sightline_Experiments_V1_Experiment {
  /// The units named by an explicit assignment (empty for a hash assignment).
  var explicitUnits: [String] {
    if case .explicit(let explicit) = assignment { return explicit.treatment + explicit.control }
    return []
  }

  /// Whether units are assigned by hash.
  var isHashAssigned: Bool {
    if case .hash = assignment { return true }
    return false
  }
}
