import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline experiment …`: define, list, evaluate and plan A/B experiments.
struct ExperimentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "experiment", abstract: "Define, list, evaluate and plan A/B experiments (docs/statistics.md).",
    subcommands: [Create.self, List.self, Evaluate.self, Plan.self])

  enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an experiment from a JSON or YAML spec.",
      discussion: """
        Example spec (YAML):
          name: dashboard rollout
          hypothesis: lines with the cockpit answer faster
          unit: business_line
          explicit:
            treatment: [L01, L02, L03]
            control: [L04, L05, L06]
          start: 2026-03-01T00:00:00+08:00
          pre_period_days: 60
          primary:
            - kpi: first_response_time
            - kpi: csat
          guardrails:
            - kpi: complaint_rate
        Hash assignment instead of explicit: hash: {salt: ..., treatment_share: 0.5} as a block.
        KPI, unit and direction names may be written short (csat, business_line, up).
        """)
    @Option(help: "Spec file (.json, .yaml or .yml).") var file: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let experiment = try ExperimentSpec.load(file)
      let created = try await connection.withGateway { client, metadata in
        try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).createExperiment(
          .with { $0.experiment = experiment }, metadata: metadata)
      }
      print("experiment '\(created.name)' created")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List experiments.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).listExperiments(.init(), metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      if reply.experiments.isEmpty {
        print("No experiments. Create one with: sightline experiment create --file SPEC.yaml")
        return
      }
      printTable(
        ["name", "unit", "assignment", "start (\(DateArgument.zoneName(zone)))", "end", "primary"],
        reply.experiments.map { e in
          let assignment: String =
            switch e.assignment {
            case .explicit(let x): "\(x.treatment.count) treated / \(x.control.count) control"
            case .hash(let h): "hash \(h.salt) \(KpiFormat.percent(h.treatmentShare))"
            case nil: "-"
            }
          return [
            e.name, WireNames.name(e.unit), assignment, DateArgument.localTime(e.start, zone: zone),
            e.hasEnd ? DateArgument.localTime(e.end, zone: zone) : "running",
            e.primary.map { WireNames.name($0.kpi) }.joined(separator: ", "),
          ]
        })
    }
  }

  struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate an experiment: effects, intervals, verdicts, warnings.")
    enum MethodArgument: String, ExpressibleByArgument, CaseIterable {
      case auto, welch, cuped, did, permutation, zTest = "z_test", delta
    }
    @Argument(help: "Experiment name.") var name: String
    @Option(help: "Evaluate as of this date (YYYY-MM-DD or RFC 3339; default now).") var asOf: String?
    @Option(help: "Method: auto, welch, cuped, did, permutation, z_test, delta.") var method: MethodArgument = .auto
    @Option(help: "Output: table or json.") var format: Format = .table
    @Flag(help: "Also show which treated units carried each primary metric's gap to control (explicit assignments).")
    var explain = false
    @Flag(
      help:
        "Also draw each primary metric's treated and control values over time, the rollout marked and the pre-period balance said (explicit assignments)."
    )
    var chart = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, asOf, method, explain, chart) = (self.name, self.asOf, self.method, self.explain, self.chart)
      let (evaluation, carriers, zone) = try await connection.withGateway { client, metadata in
        // Dates are read and printed in the tenant's zone.
        let zone = await DateArgument.tenantZone(client, metadata: metadata)
        let asOfTimestamp = try asOf.map { try DateArgument.timestamp($0, zone: zone, flag: "--as-of") }
        let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: client)
        let evaluation = try await experiments.evaluate(
          .with {
            $0.name = name
            if let asOfTimestamp { $0.asOf = asOfTimestamp }
            $0.method = AnalysisMethod(rawValue: method.rawValue).flatMap { MethodWire.wireMethods[$0] } ?? .auto
            $0.includeSeries = chart
          }, metadata: metadata)
        guard explain else { return (evaluation, [Sightline_Metrics_V1_ExplainChangeResponse](), zone) }
        let experiment = try await experiments.getExperiment(.with { $0.name = name }, metadata: metadata)
        guard case .explicit(let assignment) = experiment.assignment else {
          throw ValidationError("--explain needs an experiment with explicit treated and control units")
        }
        // The two-group form: treated against control over the post-period, by the unit
        // itself, so each treated unit's term says how far it lifted the treated side.
        let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
        var carriers: [Sightline_Metrics_V1_ExplainChangeResponse] = []
        for metric in experiment.primary {
          carriers.append(
            try await metrics.explainChange(
              .with {
                $0.kpi = metric.kpi
                $0.period = evaluation.postPeriod
                $0.groupDimension = experiment.unit
                $0.groupValues = assignment.treatment
                $0.baselineValues = assignment.control
                $0.dimensions = [experiment.unit]
                $0.minSample = 1
              }, metadata: metadata))
        }
        return (evaluation, carriers, zone)
      }
      switch format {
      case .json:
        print(try evaluation.jsonString(options: ExperimentSpec.jsonOptions))
        for carrier in carriers { print(try carrier.jsonString(options: ExperimentSpec.jsonOptions)) }
      case .table:
        ExperimentReport.print(evaluation, zone: zone)
        for carrier in carriers { Self.printCarriers(carrier) }
        if chart {
          if !evaluation.seriesNote.isEmpty { print("\nno chart: \(evaluation.seriesNote)") }
          for (index, series) in evaluation.series.enumerated() {
            let balance = evaluation.balancePValues.indices.contains(index) ? evaluation.balancePValues[index] : nil
            print("\n" + ArmChart.render(series, startMs: evaluation.postPeriod.start.unixMilliseconds, balanceP: balance, zone: zone))
          }
        }
      }
    }

    /// The treated units ordered by how much they carried the treated side's gap.
    static func printCarriers(_ reply: Sightline_Metrics_V1_ExplainChangeResponse) {
      guard let kpi = WireNames.model(reply.kpi), let units = reply.dimensions.first else { return }
      print(
        "\nWhich treated units carried \(WireNames.name(reply.kpi)) (post-period, treated \(KpiFormat.value(reply.currentValue, kpi))"
          + " against control \(KpiFormat.value(reply.baselineValue, kpi)), gap \(KpiFormat.change(reply.change, kpi))):")
      let treated = units.segments.filter { $0.presence == .entering }.sorted { $0.effect > $1.effect }
      printTable(
        ["unit", "n", "value", "share of treated", "term of the gap"],
        treated.map {
          [
            $0.value, KpiFormat.fixed($0.currentCount, digits: 0), KpiFormat.value($0.currentRate, kpi),
            KpiFormat.percent($0.currentShare), KpiFormat.change($0.effect, kpi),
          ]
        })
      // Each side's terms are its units' distance from the mean of the two sides, so the
      // treated units' add up to half the gap and the control units' to the other half.
      print("(the treated units' terms add up to half the gap; the control units' make up the other half)")
    }
  }

  struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Minimum detectable effect per primary metric for a planned experiment (from pre-period variance).")
    @Option(help: "Spec file of the planned experiment (.json, .yaml).") var file: String
    @Option(help: "Power wanted.") var power: Double = 0.8
    @Option(help: "Two-sided significance level.") var alpha: Double = 0.05
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let experiment = try ExperimentSpec.load(file)
      let (power, alpha) = (self.power, self.alpha)
      let plan = try await connection.withGateway { client, metadata in
        try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).plan(
          .with {
            $0.experiment = experiment; $0.power = power; $0.alpha = alpha
          }, metadata: metadata)
      }
      printTable(
        ["metric", "MDE", "MDE relative"],
        zip(experiment.primary, zip(plan.mde, plan.mdeRelative)).map { metric, mde in
          let kind = WireNames.model(metric.kpi)!
          return [kind.rawValue, KpiFormat.value(mde.0, kind), KpiFormat.percent(mde.1)]
        })
      for warning in plan.warnings { print("note: \(warning.message)") }
    }
  }
}

/// Reading experiment specs: JSON or the YAML subset, with short names for enums.
enum ExperimentSpec {
  static let jsonOptions: JSONEncodingOptions = {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return options
  }()

  static func load(_ path: String) throws -> Sightline_Experiments_V1_Experiment {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw ValidationError("cannot read \(path)")
    }
    let object: Any
    do {
      object =
        path.hasSuffix(".yaml") || path.hasSuffix(".yml")
        ? try SimpleYAML.parse(text)
        : try JSONSerialization.jsonObject(with: data)
    } catch {
      throw ValidationError("\(path): \(error)")
    }
    let json = try JSONSerialization.data(withJSONObject: expand(object))
    do {
      return try Sightline_Experiments_V1_Experiment(jsonUTF8Data: json)
    } catch {
      throw ValidationError("\(path) is not an experiment spec: \(error)")
    }
  }

  /// Short enum names become the wire's: csat → KPI_CSAT, business_line →
  /// DIMENSION_BUSINESS_LINE, up → GOOD_DIRECTION_UP. Whole numbers stay numbers.
  static func expand(_ value: Any, key: String = "") -> Any {
    if let mapping = value as? [String: Any] {
      return Dictionary(uniqueKeysWithValues: mapping.map { ($0.key, expand($0.value, key: $0.key)) })
    }
    if let list = value as? [Any] { return list.map { expand($0, key: key) } }
    if let number = value as? Double, number == number.rounded() { return Int64(number) }
    guard let text = value as? String else { return value }
    let prefix: String? =
      switch key {
      case "kpi": "KPI_"
      case "unit": "DIMENSION_"
      case "good_direction", "goodDirection": "GOOD_DIRECTION_"
      default: nil
      }
    guard let prefix, !text.uppercased().hasPrefix(prefix) else { return text }
    return prefix + text.uppercased()
  }
}

/// The evaluation as a person reads it.
enum ExperimentReport {
  /// Prints `evaluation`, its dates in `zone` (the tenant's), which it names.
  static func print(_ evaluation: Sightline_Experiments_V1_Evaluation, zone: TimeZone) {
    let verdict = name(evaluation.verdict).uppercased()
    let period = { (range: Sightline_Common_V1_TimeRange) in
      "\(DateArgument.localDate(range.start, zone: zone)) → \(DateArgument.localDate(range.end, zone: zone))"
    }
    Swift.print("Experiment '\(evaluation.name)': \(verdict)\(evaluation.running ? " (interim look)" : "")")
    Swift.print(
      "  post-period \(period(evaluation.postPeriod))"
        + (evaluation.hasPrePeriod ? ", pre-period \(period(evaluation.prePeriod))" : "")
        + " (dates in \(DateArgument.zoneName(zone)))")
    printTable(
      [
        "metric", "method", "control", "treatment", "effect", "relative", "verdict", "decided on", "95% interval", "p",
        "fixed 95% CI", "fixed p (Holm)", "P(better)",
      ],
      evaluation.results.map { r in
        let kind = WireNames.model(r.metric.kpi)!
        let decision = Decision(r, kind)
        return [
          kind.rawValue + (r.guardrail ? " (guardrail)" : ""), WireNames.name(r.method),
          KpiFormat.value(r.control, kind), KpiFormat.value(r.treatment, kind), signedOrInfinite(r.effect, kind),
          r.control != 0 ? (r.relativeEffect >= 0 ? "+" : "") + KpiFormat.percent(r.relativeEffect) : "–",
          name(r.verdict), decision.basis, decision.interval, decision.p,
          interval(r.ciLow, r.ciHigh, kind), KpiFormat.fixed(r.pValueAdjusted, digits: 4),
          KpiFormat.fixed(r.probabilityBetter, digits: 3),
        ]
      })
    Swift.print(
      "  each verdict rests on the interval and p-value beside it (\"decided on\"); the fixed 95% CI and p are detail"
        + (evaluation.running ? "; while running, a verdict needs the always-valid test too, and the stricter is shown" : ""))
    for result in evaluation.results where !result.note.isEmpty {
      Swift.print("  \(WireNames.name(result.metric.kpi)): \(result.note)")
    }
    for warning in evaluation.warnings { Swift.print("warning [\(warning.code)]: \(warning.message)") }
  }

  /// What a verdict was decided on (MetricResult's `decision_*` fields), as printed.
  struct Decision {
    /// "always-valid", "fixed 95% CI" or "Holm-adjusted".
    var basis: String
    var interval: String
    var p: String

    init(_ result: Sightline_Experiments_V1_MetricResult, _ kind: KpiKind) {
      basis =
        switch result.decisionBasis {
        case "always_valid": "always-valid"
        case "fixed_horizon": "fixed 95% CI"
        case "multiplicity_adjusted": "Holm-adjusted"
        default: "–"
        }
      let decided = !result.decisionBasis.isEmpty
      interval = decided ? ExperimentReport.interval(result.decisionCiLow, result.decisionCiHigh, kind) : "–"
      p = decided ? KpiFormat.fixed(result.decisionPValue, digits: 4) : "–"
    }
  }

  /// `[low, high]` in the KPI's units, unbounded ends as ∞.
  static func interval(_ low: Double, _ high: Double, _ kind: KpiKind) -> String {
    "[\(signedOrInfinite(low, kind)), \(signedOrInfinite(high, kind))]"
  }

  /// `signed`, or ±∞.
  static func signedOrInfinite(_ value: Double, _ kind: KpiKind) -> String {
    value.isFinite ? signed(value, kind) : (value > 0 ? "+∞" : "−∞")
  }

  /// A difference with its sign, in the KPI's units (shares in percentage points).
  static func signed(_ value: Double, _ kind: KpiKind) -> String {
    // No "-0.0": a value that rounds to zero shows as +0.
    let shown = kind.isRate ? (value * 1000).rounded() / 1000 : value
    let sign = shown < 0 ? "-" : "+"
    if kind.isRate { return sign + KpiFormat.fixed(abs(value) * 100, digits: 1) + " pts" }
    return sign + KpiFormat.value(abs(value), kind)
  }

  static func name(_ verdict: Sightline_Experiments_V1_Verdict) -> String {
    switch verdict {
    case .better: "better"
    case .worse: "worse"
    default: "inconclusive"
    }
  }
}
