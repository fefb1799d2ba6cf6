/// The calls a client may send again, to another replica, when the first attempt found its
/// replica unavailable (``ClientFactory/makeClient(replicas:security:interceptors:retryable:)``):
/// reads, ingest (idempotent by event id: a batch stored before the replica died is not
/// stored twice), and settings that are replaced whole. Calls that create something new
/// each time (a rule, an experiment, a key, a person's case, a note on a case) or whose
/// second attempt would answer differently (an import, a delete) are not retried: their
/// caller sees UNAVAILABLE.
public enum RetryableMethods {
  /// Fully qualified method names, `service/method`.
  public static let names: Set<String> = [
    "sightline.ingestion.v1.Ingestion/Ingest",
    "sightline.ingestion.v1.Ingestion/IngestStream",
    "sightline.ingestion.v1.Ingestion/Subscribe",
    "sightline.ingestion.v1.Ingestion/GetStats",
    "sightline.ingestion.v1.Ingestion/SetAliases",
    "sightline.ingestion.v1.Ingestion/GetAliases",
    "sightline.ingestion.v1.Ingestion/SetRetention",
    "sightline.ingestion.v1.Ingestion/SetRedaction",
    "sightline.ingestion.v1.TenantDirectory/ListTenants",
    "sightline.ingestion.v1.TenantDirectory/WatchChanges",
    "sightline.ingestion.v1.TenantDirectory/ReadLog",
    "sightline.metrics.v1.Metrics/QueryKpis",
    "sightline.metrics.v1.Metrics/GetUnitAggregates",
    "sightline.metrics.v1.Metrics/GetSettings",
    "sightline.metrics.v1.Metrics/SetSettings",
    "sightline.metrics.v1.Metrics/ListAlertRules",
    "sightline.metrics.v1.Metrics/ListAlerts",
    "sightline.metrics.v1.Metrics/WatchAlerts",
    "sightline.cases.v1.Cases/ListCases",
    "sightline.cases.v1.Cases/GetCase",
    "sightline.cases.v1.Cases/ListFollowUps",
    "sightline.cases.v1.Cases/GetCaseRules",
    "sightline.cases.v1.Cases/SetCaseRules",
    "sightline.cases.v1.Cases/GetLoopKpis",
    "sightline.cases.v1.Cases/ListEndpoints",
    "sightline.cases.v1.Cases/ListDeliveries",
    "sightline.segmentation.v1.Segmentation/GetCustomer",
    "sightline.segmentation.v1.Segmentation/ListSegments",
    "sightline.segmentation.v1.Segmentation/ListMembers",
    "sightline.segmentation.v1.Segmentation/GetScorecard",
    "sightline.segmentation.v1.Segmentation/ListAtRisk",
    "sightline.segmentation.v1.Segmentation/DescribeCustomers",
    "sightline.segmentation.v1.Segmentation/GetThemes",
    "sightline.segmentation.v1.Segmentation/AnalyzeText",
    "sightline.segmentation.v1.Segmentation/GetSegmentSettings",
    "sightline.segmentation.v1.Segmentation/SetSegmentSettings",
    "sightline.experiments.v1.Experiments/ListExperiments",
    "sightline.experiments.v1.Experiments/GetExperiment",
    "sightline.experiments.v1.Experiments/Evaluate",
    "sightline.experiments.v1.Experiments/Plan",
    "sightline.tenantdata.v1.TenantData/ExportData",
    "grpc.health.v1.Health/Check",
  ]
}
