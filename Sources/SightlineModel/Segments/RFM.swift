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
  /// One customer's RFM inputs: days since the last order, orders and spend in the window.
  public typealias Values = (recencyDays: Double, frequency: Double, monetary: Double)

  /// Scores for each customer id, from (recency in days, order count, spend).
  /// A value's score is 1 + ⌊5 × (customers strictly worse) ÷ n⌋, so tied customers share a
  /// score; recency is better when smaller.
  public static func score(_ customers: [String: Values]) -> [String: RFMScore] {
    let ids = Array(customers.keys)
    let values = ids.map { customers[$0]! }
    let scores = score(values, among: values)
    return Dictionary(uniqueKeysWithValues: zip(ids, scores))
  }

  /// The scores of `members`, each ranked against the whole `population` (every
  /// customer with an order in the window, members included), in the members' order.
  /// Costs a pass over the population per dimension and a sort of the members only, so a
  /// page of members is scored without sorting a million customers.
  public static func score(_ members: [Values], among population: [Values]) -> [RFMScore] {
    let n = Double(population.count)
    guard n > 0 else { return [] }
    func quintile(worse: Int) -> Int { min(5, 1 + Int(5 * Double(worse) / n)) }
    // Recency is better when smaller: the worse are the larger, counted as smaller negations.
    let recency = countBelow(members.map { -$0.recencyDays }, population) { -$0.recencyDays }
    let frequency = countBelow(members.map(\.frequency), population) { $0.frequency }
    let monetary = countBelow(members.map(\.monetary), population) { $0.monetary }
    return members.indices.map { i in
      RFMScore(
        recency: quintile(worse: recency[i]), frequency: quintile(worse: frequency[i]), monetary: quintile(worse: monetary[i]))
    }
  }

  /// For each query value, how many of `population` (read through `dimension`) are
  /// strictly below it.
  static func countBelow(_ queries: [Double], _ population: [Values], _ dimension: (Values) -> Double) -> [Int] {
    guard !queries.isEmpty else { return [] }
    if queries.count * 8 > population.count {
      // Most of the population asks: sort it once and search each query.
      let sorted = population.map(dimension).sorted()
      return queries.map { query in
        var low = 0
        var high = sorted.count
        while low < high {
          let mid = (low + high) / 2
          if sorted[mid] < query { low = mid + 1 } else { high = mid }
        }
        return low
      }
    }
    let sorted = Array(Set(queries)).sorted()
    // below[j]: population values v with sorted[j-1] <= v < sorted[j] (for j = 0: v < sorted[0]).
    var below = [Int](repeating: 0, count: sorted.count + 1)
    sorted.withUnsafeBufferPointer { sorted in
      below.withUnsafeMutableBufferPointer { below in
        for member in population {
          let value = dimension(member)
          // Branch-free search for the number of query values <= value.
          var base = 0
          var length = sorted.count
          while length > 1 {
            let half = length / 2
            base = sorted[base + half] <= value ? base + half : base
            length -= half
          }
          below[base + (sorted[base] <= value ? 1 : 0)] += 1
        }
      }
    }
    var running = 0
    var counts: [Double: Int] = [:]
    for (j, query) in sorted.enumerated() {
      running += below[j]
      counts[query] = running
    }
    return queries.map { counts[$0]! }
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
    assess(customer.figures, tier: customer.facts.attributes["tier"])
  }

  /// The total alone, without the reasons' text: what ranking a whole customer base needs.
  public static func score(_ f: DerivedFigures, tier: String?) -> Double {
    var points = 0.0
    if f.lastAtRiskDetractor != nil { points += 40 }
    points += Double(min(f.complaintsAtRisk, 3) * 15)
    if f.lastAtRiskLowCSAT != nil { points += 20 }
    points += Double(min(f.openTickets, 3) * 10)
    if fallingOrders(f) { points += 15 }
    if points > 0 && tier == "vip" { points += 10 }
    return points
  }

  /// The total for customer `i` of a table, read straight from its columns: what
  /// ``score(_:tier:)`` gives for its figures, without working out the figures no reason
  /// reads (ranking a whole customer base calls this a million times).
  public static func score(
    _ table: CustomerTable.Columns, at i: Int, asOfMs: Int64, windows: SegmentWindows, tier: String?
  ) -> Double {
    let dayMs = DerivedCustomer.dayMs
    func within(_ ms: Int64, _ days: Double) -> Bool { ms <= asOfMs && Double(asOfMs - ms) / dayMs < days }
    var complaints = 0
    var open = 0
    for t in table.ticketStart[i]..<table.ticketStart[i + 1] {
      let created = table.ticketCreatedMs[t]
      guard created <= asOfMs else { continue }
      if table.ticketComplaint[t] && within(created, windows.atRiskDays) { complaints += 1 }
      let resolved = table.ticketResolvedMs[t]
      if resolved == CustomerTable.none || resolved > asOfMs { open += 1 }
    }
    var detractor = false
    var lowCSAT = false
    for a in table.answerStart[i]..<table.answerStart[i + 1] {
      let score = table.answerScore[a]
      switch table.answerScale[a] {
      case .nps where score <= 6: detractor = detractor || within(table.answerTimeMs[a], windows.atRiskDays)
      case .csat where score <= 2: lowCSAT = lowCSAT || within(table.answerTimeMs[a], windows.atRiskDays)
      default: break
      }
    }
    var recent = 0
    var before = 0
    for p in table.purchaseStart[i]..<table.purchaseStart[i + 1] {
      let time = table.purchaseTimeMs[p]
      if within(time, 90) { recent += 1 } else if within(time, 180) { before += 1 }
    }
    var points = 0.0
    if detractor { points += 40 }
    points += Double(min(complaints, 3) * 15)
    if lowCSAT { points += 20 }
    points += Double(min(open, 3) * 10)
    if before >= 2 && Double(recent) < Double(before) / 2 { points += 15 }
    if points > 0 && tier == "vip" { points += 10 }
    return points
  }

  /// The reasons and total for a customer's figures and tier.
  public static func assess(_ f: DerivedFigures, tier: String?) -> (score: Double, reasons: [RiskReason]) {
    let window = Int(f.windows.atRiskDays)
    var reasons: [RiskReason] = []
    if let detractor = f.lastAtRiskDetractor {
      reasons.append(RiskReason(code: "detractor", points: 40, detail: "NPS \(detractor.score) in the last \(window) days"))
    }
    let complaints = f.complaintsAtRisk
    if complaints > 0 {
      reasons.append(
        RiskReason(
          code: "complaints", points: Double(min(complaints, 3) * 15),
          detail: "\(complaints) complaint\(complaints == 1 ? "" : "s") in the last \(window) days"))
    }
    if let low = f.lastAtRiskLowCSAT {
      reasons.append(RiskReason(code: "low_csat", points: 20, detail: "CSAT \(low.score) in the last \(window) days"))
    }
    let open = f.openTickets
    if open > 0 {
      reasons.append(
        RiskReason(code: "unresolved", points: Double(min(open, 3) * 10), detail: "\(open) unresolved ticket\(open == 1 ? "" : "s")"))
    }
    if fallingOrders(f) {
      reasons.append(
        RiskReason(
          code: "falling_orders", points: 15,
          detail: "\(f.orders90d) orders in the last 90 days after \(f.ordersPrevious90d) in the 90 before"))
    }
    guard !reasons.isEmpty else { return (0, []) }
    if tier == "vip" { reasons.append(RiskReason(code: "vip", points: 10, detail: "VIP customer")) }
    return (reasons.reduce(0) { $0 + $1.points }, reasons)
  }

  /// Fewer orders in the last 90 days than half of the 90 days before, which had at least 2.
  static func fallingOrders(_ f: DerivedFigures) -> Bool {
    f.ordersPrevious90d >= 2 && Double(f.orders90d) < Double(f.ordersPrevious90d) / 2
  }
}
