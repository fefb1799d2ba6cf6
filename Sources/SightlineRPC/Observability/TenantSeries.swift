import Metrics
public import SightlineModel

/// The per-tenant Prometheus series, named in one place so that a deleted tenant's can be
/// removed: after `sightline tenant delete`, no scrape shows the tenant any more.
public enum TenantSeries {
  /// The record kinds and outcomes `sightline_ingest_records_total` is labelled with.
  public static let recordKinds = ["ticket_event", "survey_response", "feedback", "customer_profile", "order", "unknown"]
  public static let recordOutcomes = ["accepted", "duplicate", "rejected"]

  /// Removes every series of `tenant` from this process's registry.
  public static func forget(_ tenant: TenantID) {
    let label = ("tenant", tenant.rawValue)
    Gauge(label: "sightline_database_bytes", dimensions: [label]).destroy()
    Gauge(label: "sightline_consumer_lag_events", dimensions: [label]).destroy()
    for kind in recordKinds {
      for outcome in recordOutcomes {
        Counter(label: "sightline_ingest_records_total", dimensions: [label, ("kind", kind), ("outcome", outcome)]).destroy()
      }
    }
    for change in ["opened", "resolved"] {
      Counter(label: "sightline_alerts_total", dimensions: [label, ("change", change)]).destroy()
    }
  }
}
