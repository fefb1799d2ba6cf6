public import GRPCCore
public import SightlineModel
import SightlineWire

/// The role each forwarded method requires: the one table to touch when a service gains
/// an RPC (docs/architecture.md, "Tenancy and keys"). Reads need `reader`; anything that changes a tenant's data or
/// definitions needs `writer`; settings need `admin`.
public enum MethodPolicy {
  /// Backend services and their methods, by component.
  public static let services: [(component: SuiteComponent, methods: [MethodDescriptor])] = [
    (.ingestion, Sightline_Ingestion_V1_Ingestion.Method.descriptors),
    (.metrics, Sightline_Metrics_V1_Metrics.Method.descriptors),
    (.metrics, Sightline_Cases_V1_Cases.Method.descriptors),
    (.segmentation, Sightline_Segmentation_V1_Segmentation.Method.descriptors),
    (.experiments, Sightline_Experiments_V1_Experiments.Method.descriptors),
  ]

  /// Required role per fully qualified method name ("service/method").
  public static let requiredRole: [String: Role] = [
    "sightline.ingestion.v1.Ingestion/Ingest": .writer,
    "sightline.ingestion.v1.Ingestion/IngestStream": .writer,
    "sightline.ingestion.v1.Ingestion/Subscribe": .reader,
    "sightline.ingestion.v1.Ingestion/GetStats": .reader,
    "sightline.ingestion.v1.Ingestion/SetAliases": .admin,
    "sightline.ingestion.v1.Ingestion/GetAliases": .reader,
    "sightline.ingestion.v1.Ingestion/SetRetention": .admin,
    "sightline.ingestion.v1.Ingestion/SetRedaction": .admin,

    "sightline.metrics.v1.Metrics/QueryKpis": .reader,
    "sightline.metrics.v1.Metrics/GetUnitAggregates": .reader,
    "sightline.metrics.v1.Metrics/ExplainChange": .reader,
    "sightline.metrics.v1.Metrics/GetWorkloadHeatmap": .reader,
    "sightline.metrics.v1.Metrics/ForecastArrivals": .reader,
    "sightline.metrics.v1.Metrics/PlanStaffing": .reader,
    "sightline.metrics.v1.Metrics/GetSettings": .reader,
    "sightline.metrics.v1.Metrics/SetSettings": .admin,
    "sightline.metrics.v1.Metrics/ListCalendars": .reader,
    "sightline.metrics.v1.Metrics/ChangeCalendar": .admin,
    "sightline.metrics.v1.Metrics/ListSlaPolicies": .reader,
    "sightline.metrics.v1.Metrics/SetSlaPolicies": .admin,
    "sightline.metrics.v1.Metrics/AddAlertRule": .writer,
    "sightline.metrics.v1.Metrics/ListAlertRules": .reader,
    "sightline.metrics.v1.Metrics/TestAlertRule": .reader,
    "sightline.metrics.v1.Metrics/RemoveAlertRule": .writer,
    "sightline.metrics.v1.Metrics/ListAlerts": .reader,
    "sightline.metrics.v1.Metrics/WatchAlerts": .reader,

    "sightline.cases.v1.Cases/ListCases": .reader,
    "sightline.cases.v1.Cases/GetCase": .reader,
    "sightline.cases.v1.Cases/OpenCase": .writer,
    "sightline.cases.v1.Cases/UpdateCase": .writer,
    "sightline.cases.v1.Cases/ListFollowUps": .reader,
    "sightline.cases.v1.Cases/RecordFollowUp": .writer,
    "sightline.cases.v1.Cases/GetCaseRules": .reader,
    "sightline.cases.v1.Cases/SetCaseRules": .admin,
    "sightline.cases.v1.Cases/GetLoopKpis": .reader,
    "sightline.cases.v1.Cases/ListEndpoints": .reader,
    "sightline.cases.v1.Cases/AddEndpoint": .admin,
    "sightline.cases.v1.Cases/RemoveEndpoint": .admin,
    "sightline.cases.v1.Cases/TestEndpoint": .admin,
    "sightline.cases.v1.Cases/ListDeliveries": .reader,
    "sightline.cases.v1.Cases/ReplayDeliveries": .admin,

    "sightline.segmentation.v1.Segmentation/GetCustomer": .reader,
    "sightline.segmentation.v1.Segmentation/DefineSegment": .writer,
    "sightline.segmentation.v1.Segmentation/ListSegments": .reader,
    "sightline.segmentation.v1.Segmentation/DeleteSegment": .writer,
    "sightline.segmentation.v1.Segmentation/ListMembers": .reader,
    "sightline.segmentation.v1.Segmentation/GetScorecard": .reader,
    "sightline.segmentation.v1.Segmentation/ListAtRisk": .reader,
    "sightline.segmentation.v1.Segmentation/DescribeCustomers": .reader,
    "sightline.segmentation.v1.Segmentation/GetThemes": .reader,
    "sightline.segmentation.v1.Segmentation/AnalyzeText": .reader,
    "sightline.segmentation.v1.Segmentation/GetSegmentSettings": .reader,
    "sightline.segmentation.v1.Segmentation/SetSegmentSettings": .admin,

    "sightline.experiments.v1.Experiments/CreateExperiment": .writer,
    "sightline.experiments.v1.Experiments/ListExperiments": .reader,
    "sightline.experiments.v1.Experiments/GetExperiment": .reader,
    "sightline.experiments.v1.Experiments/Evaluate": .reader,
    "sightline.experiments.v1.Experiments/Plan": .reader,
  ]

  /// Server streams that stay open until the caller leaves. When the gateway drains, it
  /// ends these rather than wait for them (unary and bulk calls are allowed to finish).
  public static let liveStreams: Set<String> = [
    "sightline.ingestion.v1.Ingestion/Subscribe",
    "sightline.metrics.v1.Metrics/WatchAlerts",
  ]

  /// The role `method` requires; methods missing from the table are refused (admin-only
  /// would be a silent default, so the gateway fails closed and a test checks coverage).
  public static func role(for method: MethodDescriptor) -> Role? {
    requiredRole[method.fullyQualifiedMethod]
  }
}
