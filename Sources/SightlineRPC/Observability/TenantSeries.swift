public import Metrics
public import SightlineModel

/// The per-tenant Prometheus series, made in one place so that a deleted tenant's can all
/// be removed: after `sightline tenant delete`, no scrape shows the tenant any more.
public enum TenantSeries {
  /// The record kinds `sightline_ingest_records_total` is labelled with ("unknown" for a
  /// rejected record whose kind cannot be told), and its outcomes.
  public static let recordKinds = ["ticket_event", "survey_response", "feedback", "customer_profile", "order", "unknown"]
  public static let recordOutcomes = ["accepted", "duplicate", "rejected"]
  /// The changes `sightline_alerts_total` counts.
  public static let alertChanges = ["opened", "resolved"]

  /// Ingestion: records of `kind` with `outcome`.
  public static func ingestRecords(_ tenant: String, kind: String, outcome: String) -> Counter {
    Counter(label: "sightline_ingest_records_total", dimensions: [("tenant", tenant), ("kind", kind), ("outcome", outcome)])
  }

  /// Metrics and segmentation: events behind ingestion's log head.
  public static func consumerLag(_ tenant: String) -> Gauge {
    Gauge(label: "sightline_consumer_lag_events", dimensions: [("tenant", tenant)])
  }

  /// This process's database of the tenant (file and WAL), in bytes.
  public static func databaseBytes(_ tenant: String) -> Gauge {
    Gauge(label: "sightline_database_bytes", dimensions: [("tenant", tenant)])
  }

  /// Metrics: alerts opened, resolved, or backfilled (saved for history that arrived late).
  public static func alerts(_ tenant: String, change: String) -> Counter {
    Counter(label: "sightline_alerts_total", dimensions: [("tenant", tenant), ("change", change)])
  }

  /// Metrics: cases the case rules opened or escalated (docs/cases.md).
  public static func cases(_ tenant: String, change: String) -> Counter {
    Counter(label: "sightline_cases_total", dimensions: [("tenant", tenant), ("change", change)])
  }

  /// Metrics: attempts to deliver a message, by what they came to (docs/delivery.md).
  public static func deliveries(_ tenant: String, outcome: String) -> Counter {
    Counter(label: "sightline_deliveries_total", dimensions: [("tenant", tenant), ("outcome", outcome)])
  }

  /// Removes every series of `tenant` from this process's registry.
  public static func forget(_ tenant: TenantID) {
    let id = tenant.rawValue
    databaseBytes(id).destroy()
    consumerLag(id).destroy()
    for kind in recordKinds {
      for outcome in recordOutcomes { ingestRecords(id, kind: kind, outcome: outcome).destroy() }
    }
    for change in alertChanges { alerts(id, change: change).destroy() }
    for change in ["opened", "escalated", "verified"] { cases(id, change: change).destroy() }
    for outcome in ["delivered", "retried", "dead", "gone"] { deliveries(id, outcome: outcome).destroy() }
  }
}
