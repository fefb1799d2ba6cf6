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

  public func apply(_ entries: [Sightline_Ingestion_V1_LogEntry], throughOffset: Int64, tenant: TenantID) throws {
    try store(for: tenant).apply(entries.map { ($0.offset, Self.event($0)) }, throughOffset: throughOffset)
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
        ticketID: t.ticketID, customerID: t.customerID, type: type, timeMs: time, complaint: t.complaint,
        problemType: t.problemType)
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

/// Every customer derived as of one moment, with RFM scores: what segments are evaluated on.
struct SegmentView {
  let customers: [DerivedCustomer]
  let rfm: [String: RFMScore]
  let numbers: [String: [String: Double]]

  init(facts: [CustomerFacts], asOfMs: Int64, windows: SegmentWindows = SegmentWindows()) {
    customers = facts.map { DerivedCustomer($0, asOfMs: asOfMs, windows: windows) }
    var numbers: [String: [String: Double]] = [:]
    var rfmInput: [String: (recencyDays: Double, frequency: Double, monetary: Double)] = [:]
    for customer in customers {
      let fields = customer.numbers
      numbers[customer.facts.customerID] = fields
      if let frequency = fields["orders_365d"], frequency > 0, let recency = fields["recency_days"] {
        rfmInput[customer.facts.customerID] = (recency, frequency, fields["monetary_365d"] ?? 0)
      }
    }
    rfm = RFM.score(rfmInput)
    self.numbers = numbers
  }

  /// The value of `field` for `customer`.
  func value(_ field: String, of customer: DerivedCustomer) -> FieldValue? {
    let id = customer.facts.customerID
    if field.hasPrefix("attributes.") { return customer.facts.attributes[String(field.dropFirst(11))].map(FieldValue.text) }
    switch field {
    case "customer_id": return .text(id)
    case "lifecycle": return .text(customer.lifecycle.rawValue)
    case "rfm_group": return rfm[id].map { .text($0.group) }
    case "nps_class": return customer.npsClass.map(FieldValue.text)
    case "rfm_r": return rfm[id].map { .number(Double($0.recency)) }
    case "rfm_f": return rfm[id].map { .number(Double($0.frequency)) }
    case "rfm_m": return rfm[id].map { .number(Double($0.monetary)) }
    default:
      if let number = numbers[id]?[field] { return .number(number) }
      if DerivedCustomer.schema[field] == false { return customer.facts.attributes[field].map(FieldValue.text) }
      return nil
    }
  }

  /// Members of a built-in or custom segment.
  func members(_ segment: SegmentDefinition) -> [DerivedCustomer] {
    switch segment {
    case .all: customers
    case .lifecycle(let stage): customers.filter { $0.lifecycle == stage }
    case .rfm(let group): customers.filter { rfm[$0.facts.customerID]?.group == group }
    case .expression(let expression): customers.filter { customer in expression.matches { value($0, of: customer) } }
    }
  }
}

/// A segment: built in (all, lifecycle stages, vip, RFM groups) or a saved expression.
enum SegmentDefinition {
  case all
  case lifecycle(LifecycleStage)
  case rfm(String)
  case expression(SegmentExpression)

  static let rfmGroups = ["champions", "loyal", "needs_attention", "at_risk", "hibernating", "lost"]
  /// Names of the built-in segments.
  static let builtin: [String] = ["all", "vip"] + LifecycleStage.allCases.map(\.rawValue) + rfmGroups.map { "rfm_" + $0 }

  /// The built-in segment `name`, if it is one.
  static func builtin(_ name: String) throws -> SegmentDefinition? {
    if name == "all" { return .all }
    if name == "vip" { return .expression(try SegmentExpression("tier == \"vip\"", schema: DerivedCustomer.schema)) }
    if let stage = LifecycleStage(rawValue: name) { return .lifecycle(stage) }
    if name.hasPrefix("rfm_"), rfmGroups.contains(String(name.dropFirst(4))) { return .rfm(String(name.dropFirst(4))) }
    return nil
  }
}
