public import SightlineModel
public import SightlineRPC
import SightlineStorage
public import SightlineWire

/// The segmentation service's log consumer: folds ingestion's log into each tenant's
/// segmentation store.
public final class SegmentationLogConsumer: LogConsumer {
  /// Every tenant's segmentation state.
  let storage: any SegmentationStorage

  init(storage: any SegmentationStorage) {
    self.storage = storage
  }

  /// A consumer folding into SQLite under `dataDirectory`
  /// (`tenants/<tenant>/segmentation.sqlite`).
  public convenience init(dataDirectory: String) {
    self.init(storage: SQLiteTenantStores<SegmentationSchema>(root: dataDirectory, service: "segmentation"))
  }

  func store(for tenant: TenantID) throws -> any SegmentationStore { try storage.segmentation(for: tenant) }

  public func appliedOffset(tenant: TenantID) throws -> Int64 { try store(for: tenant).appliedOffset() }

  public func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID, fence: LeaseFence) throws {
    try store(for: tenant).apply(entries.map { ($0.offset, Self.event($0)) }, throughOffset: throughOffset, fence: fence)
  }

  static func event(_ entry: Sightline_Ingestion_V1_LogEntry) -> SegmentationEvent {
    let time = entry.eventTimeUnixMs
    switch entry.event.record {
    case .customerProfile(let p):
      var attributes = p.attributes
      for (key, value) in [("type", p.type), ("tier", p.tier), ("region", p.region), ("industry", p.industry), ("age_band", p.ageBand)]
      where !value.isEmpty {
        attributes[key] = value
      }
      return .profile(
        customerID: p.customerID, attributes: attributes,
        signupMs: p.signupTime.isEmpty ? nil : RFC3339.parseMilliseconds(p.signupTime), timeMs: time)
    case .ticketEvent(let t):
      guard let type = RecordWire.ticketEventType(t.kind) else { return .other }
      return .ticket(
        ticketID: t.ticketID, customerID: t.customerID, type: type, timeMs: time,
        attributes: TicketAttributes(
          channel: t.channel, businessLine: t.businessLine, productModule: t.productModule, problemType: t.problemType,
          complaint: t.complaint))
    case .surveyResponse(let s):
      guard let scale = RecordWire.surveyScale(s.kind) else { return .other }
      return .answer(
        responseID: entry.event.eventID, customerID: s.customerID, ticketID: s.ticketID, scale: scale,
        score: Int(s.score), timeMs: time, comment: s.comment)
    case .feedback(let f):
      return .feedback(
        id: entry.event.eventID, customerID: f.customerID, ticketID: f.ticketID, source: "\(f.source)",
        text: f.text, timeMs: time, rating: Int(f.rating))
    case .order(let o):
      return .order(id: entry.event.eventID, customerID: o.customerID, amountMinor: o.amountMinor, timeMs: time)
    default:
      return .other
    }
  }
}
