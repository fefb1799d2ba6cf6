/// RFM scores of one customer, 1 (worst) to 5 (best), and the named group.
public struct RFMScore: Sendable, Equatable {
  public var recency: Int
  public var frequency: Int
  public var monetary: Int
  public var group: String

  public init(recency: Int, frequency: Int, monetary: Int) {
    self.recency = recency
    self.frequency = frequency
    self.monetary = monetary
    group = RFMScore.group(recency: recency, frequency: frequency)
  }

  /// Named groups from R and F (docs/segments.md).
  public static func group(recency r: Int, frequency f: Int) -> String {
    if r >= 4 && f >= 4 { return "champions" }
    if r >= 3 && f >= 4 { return "loyal" }
    if r <= 2 && f >= 3 { return "at_risk" }
    if r == 1 && f <= 2 { return "lost" }
    if r <= 2 && f <= 2 { return "hibernating" }
    return "needs_attention"
  }
}

/// Quintile scoring over the customers with at least one order in the RFM window.
public enum RFM {
  /// Scores for each customer id, from (recency in days, order count, spend).
  /// A value's score is 1 + ⌊5 × (customers strictly worse) ÷ n⌋, so tied customers share a
  /// score; recency is better when smaller.
  public static func score(_ customers: [String: (recencyDays: Double, frequency: Double, monetary: Double)]) -> [String: RFMScore] {
    let n = Double(customers.count)
    guard n > 0 else { return [:] }
    let recencies = customers.values.map(\.recencyDays).sorted()
    let frequencies = customers.values.map(\.frequency).sorted()
    let spends = customers.values.map(\.monetary).sorted()
    func quintile(worse: Int) -> Int { min(5, 1 + Int(5 * Double(worse) / n)) }
    func countLess(_ sorted: [Double], _ value: Double) -> Int {
      var low = 0
      var high = sorted.count
      while low < high {
        let mid = (low + high) / 2
        if sorted[mid] < value { low = mid + 1 } else { high = mid }
      }
      return low
    }
    func countGreater(_ sorted: [Double], _ value: Double) -> Int {
      var low = 0
      var high = sorted.count
      while low < high {
        let mid = (low + high) / 2
        if sorted[mid] <= value { low = mid + 1 } else { high = mid }
      }
      return sorted.count - low
    }
    var scores: [String: RFMScore] = [:]
    for (id, value) in customers {
      scores[id] = RFMScore(
        recency: quintile(worse: countGreater(recencies, value.recencyDays)),
        frequency: quintile(worse: countLess(frequencies, value.frequency)),
        monetary: quintile(worse: countLess(spends, value.monetary)))
    }
    return scores
  }
}

/// One reason in a risk score.
public struct RiskReason: Sendable, Equatable {
  public var code: String
  public var points: Double
  public var detail: String
}

/// The call-back (回访) risk score: points for documented, explainable reasons.
public enum RiskScore {
  /// The reasons and total for `customer`; empty when nothing calls for a call-back.
  public static func assess(_ customer: DerivedCustomer) -> (score: Double, reasons: [RiskReason]) {
    var reasons: [RiskReason] = []
    let window = customer.windows.atRiskDays
    if let detractor = customer.answers.last(where: { $0.scale == .nps && $0.score <= 6 && customer.within($0.timeMs, days: window) }) {
      reasons.append(RiskReason(code: "detractor", points: 40, detail: "NPS \(detractor.score) in the last \(Int(window)) days"))
    }
    let complaints = customer.tickets.filter { $0.complaint && customer.within($0.createdMs, days: window) }.count
    if complaints > 0 {
      reasons.append(
        RiskReason(
          code: "complaints", points: Double(min(complaints, 3) * 15),
          detail: "\(complaints) complaint\(complaints == 1 ? "" : "s") in the last \(Int(window)) days"))
    }
    if let low = customer.answers.last(where: { $0.scale == .csat && $0.score <= 2 && customer.within($0.timeMs, days: window) }) {
      reasons.append(RiskReason(code: "low_csat", points: 20, detail: "CSAT \(low.score) in the last \(Int(window)) days"))
    }
    let open = customer.tickets.filter { $0.resolvedMs.map { $0 > customer.asOfMs } ?? true }.count
    if open > 0 {
      reasons.append(
        RiskReason(
          code: "unresolved", points: Double(min(open, 3) * 10),
          detail: "\(open) unresolved ticket\(open == 1 ? "" : "s")"))
    }
    let recent = customer.purchases.filter { customer.within($0.timeMs, days: 90) }.count
    let before = customer.purchases.filter { !customer.within($0.timeMs, days: 90) && customer.within($0.timeMs, days: 180) }.count
    if before >= 2 && Double(recent) < Double(before) / 2 {
      reasons.append(
        RiskReason(
          code: "falling_orders", points: 15,
          detail: "\(recent) orders in the last 90 days after \(before) in the 90 before"))
    }
    guard !reasons.isEmpty else { return (0, []) }
    if customer.facts.attributes["tier"] == "vip" {
      reasons.append(RiskReason(code: "vip", points: 10, detail: "VIP customer"))
    }
    return (reasons.reduce(0) { $0 + $1.points }, reasons)
  }
}
