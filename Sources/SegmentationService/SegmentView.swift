import SightlineModel

/// Every customer of a tenant as of one moment: what segments, the at-risk list and
/// scorecards are evaluated on. It reads the columns of a ``CustomerTable``; a customer's
/// figures are worked out when a segment reads them (`tier == "vip" && …` works out none
/// for the customers who are not VIPs), and RFM scores only when something reads them.
final class SegmentView {
  let table: CustomerTable
  let asOfMs: Int64
  let windows: SegmentWindows

  init(table: CustomerTable, asOfMs: Int64, windows: SegmentWindows = SegmentWindows()) {
    self.table = table
    self.asOfMs = asOfMs
    self.windows = windows
  }

  /// Customer i's figures as of the view's moment.
  func figures(_ i: Int) -> DerivedFigures { DerivedFigures(table, at: i, asOfMs: asOfMs, windows: windows) }

  /// Customer i, derived, with its facts (for answers that return customers).
  func customer(_ i: Int) -> DerivedCustomer { DerivedCustomer(table.facts(at: i), asOfMs: asOfMs, windows: windows) }

  /// Positions and RFM inputs of every customer with an order in the RFM window.
  private lazy var population: (indices: [Int], values: [RFM.Values]) = table.withColumns { columns in
    var indices: [Int] = []
    var values: [RFM.Values] = []
    for i in 0..<table.count {
      if let value = DerivedFigures.rfmValues(columns, at: i, asOfMs: asOfMs, windows: windows) {
        indices.append(i)
        values.append(value)
      }
    }
    return (indices, values)
  }

  /// Every customer's RFM scores by position, once something has asked for them all.
  private var everyRFM: [RFMScore?]?

  /// RFM scores of every customer, by position (sorts the population: only for segments
  /// that read RFM).
  func allRFM() -> [RFMScore?] {
    if let everyRFM { return everyRFM }
    var scores = [RFMScore?](repeating: nil, count: table.count)
    for (i, score) in zip(population.indices, RFM.score(population.values, among: population.values)) { scores[i] = score }
    everyRFM = scores
    return scores
  }

  /// RFM scores of the customers at `indices` (those without orders in the window have none).
  func rfm(of indices: [Int]) -> [Int: RFMScore] {
    if let everyRFM {
      return Dictionary(uniqueKeysWithValues: indices.compactMap { i in everyRFM[i].map { (i, $0) } })
    }
    let scored = indices.compactMap { i in figures(i).rfmValues.map { (i, $0) } }
    let scores = RFM.score(scored.map(\.1), among: population.values)
    return Dictionary(uniqueKeysWithValues: zip(scored.map(\.0), scores))
  }

  /// A profile text field per attribute set (one lookup per distinct set, not per customer).
  func attributeColumn(_ name: String) -> [String?] { table.attributeSets.map { $0[name] } }

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

  /// Positions of the members of a built-in or custom segment, in customer id order.
  func members(_ segment: SegmentDefinition) -> [Int] {
    switch segment {
    case .all:
      return Array(0..<table.count)
    case .lifecycle(let stage):
      return table.withColumns { columns in
        (0..<table.count).filter { DerivedFigures(columns, at: $0, asOfMs: asOfMs, windows: windows).lifecycle == stage }
      }
    case .rfm(let group):
      let scores = allRFM()
      return (0..<table.count).filter { scores[$0]?.group == group }
    case .expression(let expression):
      return members(expression)
    }
  }

  private func members(_ expression: SegmentExpression) -> [Int] {
    let fields = expression.fieldNames.map(Field.init)
    let attributes: [[FieldValue?]] = fields.map { field in
      guard case .attribute(let name) = field else { return [] }
      return attributeColumn(name).map { $0.map(FieldValue.text) }
    }
    let scores: [RFMScore?]? = fields.contains(where: \.readsRFM) ? allRFM() : nil
    // What each distinct attribute set decides on its own (`tier == "vip" && …` is false for
    // every set without the VIP tier): those customers are not looked at one by one.
    let verdicts = table.attributeSets.indices.map { set in
      expression.decidesByPosition { k -> FieldValue?? in
        guard case .attribute = fields[k] else { return nil }
        return .some(attributes[k][set])
      }
    }
    return table.withColumns { columns in members(expression, fields, attributes, verdicts, scores, columns) }
  }

  private func members(
    _ expression: SegmentExpression, _ fields: [Field], _ attributes: [[FieldValue?]], _ verdicts: [Bool?],
    _ scores: [RFMScore?]?, _ columns: CustomerTable.Columns
  ) -> [Int] {
    var members: [Int] = []
    for i in 0..<table.count {
      let set = Int(table.attributeSet[i])
      if let verdict = verdicts[set] {
        if verdict { members.append(i) }
        continue
      }
      var derived: DerivedFigures?
      func figures() -> DerivedFigures {
        if let derived { return derived }
        let made = DerivedFigures(columns, at: i, asOfMs: asOfMs, windows: windows)
        derived = made
        return made
      }
      let rfm = scores?[i] ?? nil
      let matches = expression.matchesByPosition { k -> FieldValue? in
        switch fields[k] {
        case .attribute: return attributes[k][set]
        case .customerID: return .text(table.ids[i])
        case .lifecycle: return .text(figures().lifecycle.rawValue)
        case .npsClass: return figures().npsClass.map(FieldValue.text)
        case .rfmGroup: return rfm.map { .text($0.group) }
        case .rfmR: return rfm.map { .number(Double($0.recency)) }
        case .rfmF: return rfm.map { .number(Double($0.frequency)) }
        case .rfmM: return rfm.map { .number(Double($0.monetary)) }
        case .number(let numeric): return figures().number(numeric).map(FieldValue.number)
        case .unknown: return nil
        }
      }
      if matches { members.append(i) }
    }
    return members
  }

  /// The `limit` customers with the highest call-back scores (ties by id), with their
  /// figures. Scores are totals of whole points, so a histogram finds the cut-off and only
  /// the customers above it are sorted.
  func atRisk(limit: Int) -> [(index: Int, figures: DerivedFigures)] {
    let tiers = attributeColumn("tier")
    var scored: [(index: Int, score: Double)] = []
    var histogram: [Double: Int] = [:]
    table.withColumns { columns in
      for i in 0..<table.count {
        let score = RiskScore.score(columns, at: i, asOfMs: asOfMs, windows: windows, tier: tiers[Int(table.attributeSet[i])])
        guard score > 0 else { continue }
        scored.append((i, score))
        histogram[score, default: 0] += 1
      }
    }
    var cutoff = 0.0
    var above = 0
    for (score, count) in histogram.sorted(by: { $0.key > $1.key }) {
      cutoff = score
      above += count
      if above >= limit { break }
    }
    return scored.filter { $0.score >= cutoff }
      .sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
      .prefix(limit).map { ($0.index, figures($0.index)) }
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
