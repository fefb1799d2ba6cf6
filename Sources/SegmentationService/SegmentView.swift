import SightlineModel

/// Every customer of a tenant as of one moment: what segments, the at-risk list and
/// scorecards are evaluated on. A customer is derived when asked for, in one pass over its
/// facts, and nothing is kept per customer unless a segment reads RFM scores: at a million
/// customers a call costs passes over the facts, not a million dictionaries.
final class SegmentView {
  let facts: [CustomerFacts]
  let asOfMs: Int64
  let windows: SegmentWindows

  /// `facts` sorted by customer id (members come out in that order).
  init(facts: [CustomerFacts], asOfMs: Int64, windows: SegmentWindows = SegmentWindows()) {
    self.facts = facts
    self.asOfMs = asOfMs
    self.windows = windows
  }

  /// The customer at `index` of `facts`, derived as of the view's moment.
  func customer(_ index: Int) -> DerivedCustomer { DerivedCustomer(facts[index], asOfMs: asOfMs, windows: windows) }

  /// The position of customer `id`, if known.
  func index(of id: String) -> Int? {
    var low = 0
    var high = facts.count
    while low < high {
      let mid = (low + high) / 2
      if facts[mid].customerID < id { low = mid + 1 } else { high = mid }
    }
    return low < facts.count && facts[low].customerID == id ? low : nil
  }

  /// Positions and RFM inputs of every customer with an order in the RFM window.
  private lazy var population: (indices: [Int], values: [RFM.Values]) = {
    var indices: [Int] = []
    var values: [RFM.Values] = []
    for index in facts.indices {
      if let value = customer(index).rfmValues {
        indices.append(index)
        values.append(value)
      }
    }
    return (indices, values)
  }()

  /// Every customer's RFM scores by position, once something has asked for them all.
  private var everyRFM: [RFMScore?]?

  /// RFM scores of every customer, by position (sorts the population: only for segments
  /// that read RFM).
  func allRFM() -> [RFMScore?] {
    if let everyRFM { return everyRFM }
    var scores = [RFMScore?](repeating: nil, count: facts.count)
    for (index, score) in zip(population.indices, RFM.score(population.values, among: population.values)) {
      scores[index] = score
    }
    everyRFM = scores
    return scores
  }

  /// RFM scores of the customers at `indices` (those without orders in the window have none).
  func rfm(of indices: [Int]) -> [Int: RFMScore] {
    if let everyRFM {
      return Dictionary(uniqueKeysWithValues: indices.compactMap { index in everyRFM[index].map { (index, $0) } })
    }
    let scored = indices.compactMap { index in customer(index).rfmValues.map { (index, $0) } }
    let scores = RFM.score(scored.map(\.1), among: population.values)
    return Dictionary(uniqueKeysWithValues: zip(scored.map(\.0), scores))
  }

  /// A field of the expression grammar, resolved once per call rather than per customer.
  enum Field {
    case attribute(String)
    case customerID, lifecycle, npsClass, rfmGroup, rfmR, rfmF, rfmM
    case number(DerivedCustomer.NumericField)
    case unknown

    init(_ name: String) {
      if name.hasPrefix("attributes.") {
        self = .attribute(String(name.dropFirst(11)))
        return
      }
      switch name {
      case "customer_id": self = .customerID
      case "lifecycle": self = .lifecycle
      case "nps_class": self = .npsClass
      case "rfm_group": self = .rfmGroup
      case "rfm_r": self = .rfmR
      case "rfm_f": self = .rfmF
      case "rfm_m": self = .rfmM
      default:
        if let numeric = DerivedCustomer.NumericField(rawValue: name) {
          self = .number(numeric)
        } else if DerivedCustomer.schema[name] == false {
          self = .attribute(name)
        } else {
          self = .unknown
        }
      }
    }

    var readsRFM: Bool {
      switch self {
      case .rfmGroup, .rfmR, .rfmF, .rfmM: true
      default: false
      }
    }
  }

  /// The value of `field` for `customer` (at `index`; RFM fields need ``allRFM()``).
  func value(_ field: Field, of customer: DerivedCustomer, rfm: RFMScore?) -> FieldValue? {
    switch field {
    case .attribute(let name): return customer.facts.attributes[name].map(FieldValue.text)
    case .customerID: return .text(customer.facts.customerID)
    case .lifecycle: return .text(customer.lifecycle.rawValue)
    case .npsClass: return customer.npsClass.map(FieldValue.text)
    case .rfmGroup: return rfm.map { .text($0.group) }
    case .rfmR: return rfm.map { .number(Double($0.recency)) }
    case .rfmF: return rfm.map { .number(Double($0.frequency)) }
    case .rfmM: return rfm.map { .number(Double($0.monetary)) }
    case .number(let numeric): return customer.number(numeric).map(FieldValue.number)
    case .unknown: return nil
    }
  }

  /// Positions of the members of a built-in or custom segment, in customer id order.
  func members(_ segment: SegmentDefinition) -> [Int] {
    switch segment {
    case .all:
      return Array(facts.indices)
    case .lifecycle(let stage):
      return facts.indices.filter { customer($0).lifecycle == stage }
    case .rfm(let group):
      let scores = allRFM()
      return facts.indices.filter { scores[$0]?.group == group }
    case .expression(let expression):
      let fields = expression.fieldNames.map(Field.init)
      let scores: [RFMScore?]? = fields.contains(where: \.readsRFM) ? allRFM() : nil
      return facts.indices.filter { index in
        let derived = customer(index)
        let rfm = scores?[index] ?? nil
        return expression.matchesByPosition { value(fields[$0], of: derived, rfm: rfm) }
      }
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
