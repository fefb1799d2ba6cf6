/// Something that knows how many bytes each tenant's data of one component takes, for the
/// `sightline_database_bytes` series. Asked at every Prometheus scrape, so it must answer
/// at once: a source whose figures are dear to compute answers from its last computation.
public protocol DatabaseSizeReporting: Sendable {
  /// Bytes per tenant id; the component's own data outside any tenant under "-".
  func databaseBytes() -> [(tenant: String, bytes: Int)]
}
