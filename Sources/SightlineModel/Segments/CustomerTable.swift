/// Every customer's facts in columns, sorted by customer id: what segmentation evaluates a
/// million customers over. A customer's tickets, answers and orders are contiguous ranges of
/// flat arrays, so a pass over the customer base reads memory in order instead of chasing
/// four heap objects per customer; identical attribute sets are stored once.
public struct CustomerTable: Sendable {
  /// Marks a missing time.
  public static let none = Int64.min

  public private(set) var ids: [String] = []
  /// Per customer, its attribute set in ``attributeSets`` (0: none).
  public private(set) var attributeSet: [Int32] = []
  /// Distinct attribute sets; the first is empty.
  public private(set) var attributeSets: [[String: String]] = [[:]]
  public private(set) var signupMs: [Int64] = []
  public private(set) var profileMs: [Int64] = []

  /// Customer i's tickets are `ticketStart[i]..<ticketStart[i + 1]`.
  public private(set) var ticketStart: [Int] = [0]
  public private(set) var ticketCreatedMs: [Int64] = []
  /// ``none`` while open.
  public private(set) var ticketResolvedMs: [Int64] = []
  public private(set) var ticketComplaint: [Bool] = []
  public private(set) var ticketReplies: [Int32] = []
  public private(set) var ticketReopens: [Int32] = []
  public private(set) var ticketFirstReplyMs: [Int64] = []

  public private(set) var answerStart: [Int] = [0]
  public private(set) var answerScale: [SurveyScale] = []
  public private(set) var answerScore: [Int32] = []
  public private(set) var answerTimeMs: [Int64] = []

  public private(set) var purchaseStart: [Int] = [0]
  public private(set) var purchaseAmountMinor: [Int64] = []
  public private(set) var purchaseTimeMs: [Int64] = []

  public init() {}

  /// A table of `facts` (any order).
  public init(_ facts: [CustomerFacts]) {
    var builder = Builder()
    for customer in facts { builder.add(customer) }
    self = builder.build()
  }

  public var count: Int { ids.count }

  /// The position of customer `id`, if present.
  public func index(of id: String) -> Int? {
    let low = firstPosition(notBefore: id, from: 0)
    return low < ids.count && ids[low] == id ? low : nil
  }

  /// The first position at or after `start` whose id is not below `id` (binary search).
  func firstPosition(notBefore id: String, from start: Int) -> Int {
    var low = start
    var high = ids.count
    while low < high {
      let mid = (low + high) / 2
      if ids[mid] < id { low = mid + 1 } else { high = mid }
    }
    return low
  }

  public func tickets(of i: Int) -> Range<Int> { ticketStart[i]..<ticketStart[i + 1] }
  public func answers(of i: Int) -> Range<Int> { answerStart[i]..<answerStart[i + 1] }
  public func purchases(of i: Int) -> Range<Int> { purchaseStart[i]..<purchaseStart[i + 1] }
  public func attributes(of i: Int) -> [String: String] { attributeSets[Int(attributeSet[i])] }

  /// The columns a customer's figures are worked out from, as buffer pointers: a pass over
  /// a million customers reads them without retaining and releasing arrays per customer.
  /// Valid only inside ``withColumns(_:)``.
  public struct Columns {
    public let signupMs, profileMs: UnsafeBufferPointer<Int64>
    public let ticketStart: UnsafeBufferPointer<Int>
    public let ticketCreatedMs, ticketResolvedMs: UnsafeBufferPointer<Int64>
    public let ticketComplaint: UnsafeBufferPointer<Bool>
    public let answerStart: UnsafeBufferPointer<Int>
    public let answerScale: UnsafeBufferPointer<SurveyScale>
    public let answerScore: UnsafeBufferPointer<Int32>
    public let answerTimeMs: UnsafeBufferPointer<Int64>
    public let purchaseStart: UnsafeBufferPointer<Int>
    public let purchaseAmountMinor, purchaseTimeMs: UnsafeBufferPointer<Int64>
  }

  /// Runs `body` with the columns (see ``Columns``).
  public func withColumns<R>(_ body: (Columns) throws -> R) rethrows -> R {
    try signupMs.withUnsafeBufferPointer { signup in
      try profileMs.withUnsafeBufferPointer { profile in
        try ticketStart.withUnsafeBufferPointer { ticketStart in
          try ticketCreatedMs.withUnsafeBufferPointer { created in
            try ticketResolvedMs.withUnsafeBufferPointer { resolved in
              try ticketComplaint.withUnsafeBufferPointer { complaint in
                try answerStart.withUnsafeBufferPointer { answerStart in
                  try answerScale.withUnsafeBufferPointer { scale in
                    try answerScore.withUnsafeBufferPointer { score in
                      try answerTimeMs.withUnsafeBufferPointer { answerTime in
                        try purchaseStart.withUnsafeBufferPointer { purchaseStart in
                          try purchaseAmountMinor.withUnsafeBufferPointer { amount in
                            try purchaseTimeMs.withUnsafeBufferPointer { purchaseTime in
                              try body(
                                Columns(
                                  signupMs: signup, profileMs: profile, ticketStart: ticketStart, ticketCreatedMs: created,
                                  ticketResolvedMs: resolved, ticketComplaint: complaint, answerStart: answerStart,
                                  answerScale: scale, answerScore: score, answerTimeMs: answerTime, purchaseStart: purchaseStart,
                                  purchaseAmountMinor: amount, purchaseTimeMs: purchaseTime))
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// Customer i's facts as one value.
  public func facts(at i: Int) -> CustomerFacts {
    CustomerFacts(
      customerID: ids[i], attributes: attributes(of: i), signupMs: signupMs[i] == Self.none ? nil : signupMs[i],
      profileMs: profileMs[i] == Self.none ? nil : profileMs[i],
      tickets: tickets(of: i).map { t in
        CustomerFacts.Ticket(
          createdMs: ticketCreatedMs[t], complaint: ticketComplaint[t],
          resolvedMs: ticketResolvedMs[t] == Self.none ? nil : ticketResolvedMs[t], replyCount: Int(ticketReplies[t]),
          reopenCount: Int(ticketReopens[t]), firstReplyMs: ticketFirstReplyMs[t] == Self.none ? nil : ticketFirstReplyMs[t])
      },
      answers: answers(of: i).map { a in
        CustomerFacts.Answer(scale: answerScale[a], score: Int(answerScore[a]), timeMs: answerTimeMs[a])
      },
      purchases: purchases(of: i).map { p in CustomerFacts.Purchase(amountMinor: purchaseAmountMinor[p], timeMs: purchaseTimeMs[p]) })
  }

  /// Every customer's facts, in id order.
  public var allFacts: [CustomerFacts] { ids.indices.map(facts(at:)) }

  /// This table with the customers `changed` (sorted) replaced by their rows in `fresh`,
  /// or dropped when `fresh` has none. Unchanged customers are copied in runs.
  public func replacing(_ changed: [String], with fresh: CustomerTable) -> CustomerTable {
    var result = CustomerTable()
    result.attributeSets = attributeSets
    var internedFresh: [Int32] = fresh.attributeSets.indices.map { _ in -1 }
    internedFresh[0] = 0
    var old = 0
    var next = 0
    func copyOld(_ range: Range<Int>) {
      guard !range.isEmpty else { return }
      result.appendRun(of: self, range, attributeSetMap: nil)
    }
    for id in changed {
      // The unchanged run before `id` is copied whole.
      let end = firstPosition(notBefore: id, from: old)
      copyOld(old..<end)
      old = end < ids.count && ids[end] == id ? end + 1 : end
      while next < fresh.count, fresh.ids[next] < id { next += 1 }
      if next < fresh.count, fresh.ids[next] == id {
        let set = Int(fresh.attributeSet[next])
        if internedFresh[set] < 0 {
          internedFresh[set] = Int32(result.attributeSets.count)
          result.attributeSets.append(fresh.attributeSets[set])
        }
        result.appendRun(of: fresh, next..<next + 1, attributeSetMap: internedFresh)
      }
    }
    copyOld(old..<ids.count)
    return result
  }

  /// Appends customers `range` of `source`, mapping their attribute sets through `map`
  /// (nil: the same numbering as this table's).
  private mutating func appendRun(of source: CustomerTable, _ range: Range<Int>, attributeSetMap map: [Int32]?) {
    ids.append(contentsOf: source.ids[range])
    if let map {
      attributeSet.append(contentsOf: source.attributeSet[range].map { map[Int($0)] })
    } else {
      attributeSet.append(contentsOf: source.attributeSet[range])
    }
    signupMs.append(contentsOf: source.signupMs[range])
    profileMs.append(contentsOf: source.profileMs[range])
    let tickets = source.ticketStart[range.lowerBound]..<source.ticketStart[range.upperBound]
    let ticketShift = ticketCreatedMs.count - tickets.lowerBound
    ticketStart.append(contentsOf: source.ticketStart[range.lowerBound + 1...range.upperBound].map { $0 + ticketShift })
    ticketCreatedMs.append(contentsOf: source.ticketCreatedMs[tickets])
    ticketResolvedMs.append(contentsOf: source.ticketResolvedMs[tickets])
    ticketComplaint.append(contentsOf: source.ticketComplaint[tickets])
    ticketReplies.append(contentsOf: source.ticketReplies[tickets])
    ticketReopens.append(contentsOf: source.ticketReopens[tickets])
    ticketFirstReplyMs.append(contentsOf: source.ticketFirstReplyMs[tickets])
    let answers = source.answerStart[range.lowerBound]..<source.answerStart[range.upperBound]
    let answerShift = answerTimeMs.count - answers.lowerBound
    answerStart.append(contentsOf: source.answerStart[range.lowerBound + 1...range.upperBound].map { $0 + answerShift })
    answerScale.append(contentsOf: source.answerScale[answers])
    answerScore.append(contentsOf: source.answerScore[answers])
    answerTimeMs.append(contentsOf: source.answerTimeMs[answers])
    let purchases = source.purchaseStart[range.lowerBound]..<source.purchaseStart[range.upperBound]
    let purchaseShift = purchaseTimeMs.count - purchases.lowerBound
    purchaseStart.append(contentsOf: source.purchaseStart[range.lowerBound + 1...range.upperBound].map { $0 + purchaseShift })
    purchaseAmountMinor.append(contentsOf: source.purchaseAmountMinor[purchases])
    purchaseTimeMs.append(contentsOf: source.purchaseTimeMs[purchases])
  }

  /// Collects rows in any order (a store's table scans) and builds the table: customers
  /// sorted by id, each customer's rows in the order they were added.
  public struct Builder: Sendable {
    private var slots: [String: Int32] = [:]
    private var ids: [String] = []
    private var attributes: [[String: String]] = []
    private var signupMs: [Int64] = []
    private var profileMs: [Int64] = []
    private var ticketOwner: [Int32] = []
    private var tickets: [CustomerFacts.Ticket] = []
    private var answerOwner: [Int32] = []
    private var answers: [CustomerFacts.Answer] = []
    private var purchaseOwner: [Int32] = []
    private var purchases: [CustomerFacts.Purchase] = []

    public init() {}

    private mutating func slot(_ id: String) -> Int32 {
      if let slot = slots[id] { return slot }
      let slot = Int32(ids.count)
      slots[id] = slot
      ids.append(id)
      attributes.append([:])
      signupMs.append(CustomerTable.none)
      profileMs.append(CustomerTable.none)
      return slot
    }

    /// A customer's profile (creates the customer).
    public mutating func profile(_ id: String, attributes: [String: String], signupMs: Int64?, profileMs: Int64?) {
      let slot = Int(slot(id))
      self.attributes[slot] = attributes
      self.signupMs[slot] = signupMs ?? CustomerTable.none
      self.profileMs[slot] = profileMs ?? CustomerTable.none
    }

    public mutating func ticket(_ id: String, _ ticket: CustomerFacts.Ticket) {
      ticketOwner.append(slot(id))
      tickets.append(ticket)
    }

    public mutating func answer(_ id: String, _ answer: CustomerFacts.Answer) {
      answerOwner.append(slot(id))
      answers.append(answer)
    }

    public mutating func purchase(_ id: String, _ purchase: CustomerFacts.Purchase) {
      purchaseOwner.append(slot(id))
      purchases.append(purchase)
    }

    /// Adds everything `facts` holds.
    public mutating func add(_ facts: CustomerFacts) {
      profile(facts.customerID, attributes: facts.attributes, signupMs: facts.signupMs, profileMs: facts.profileMs)
      for ticket in facts.tickets { self.ticket(facts.customerID, ticket) }
      for answer in facts.answers { self.answer(facts.customerID, answer) }
      for purchase in facts.purchases { self.purchase(facts.customerID, purchase) }
    }

    /// The table.
    public func build() -> CustomerTable {
      let order = ids.indices.sorted { ids[$0] < ids[$1] }
      var position = [Int](repeating: 0, count: ids.count)
      for (rank, slot) in order.enumerated() { position[slot] = rank }
      var table = CustomerTable()
      var interned: [[String: String]: Int32] = [[:]: 0]
      table.ids = order.map { ids[$0] }
      table.attributeSet = order.map { slot in
        let set = attributes[slot]
        if let known = interned[set] { return known }
        let index = Int32(table.attributeSets.count)
        interned[set] = index
        table.attributeSets.append(set)
        return index
      }
      table.signupMs = order.map { signupMs[$0] }
      table.profileMs = order.map { profileMs[$0] }
      // Counting sort by customer position: stable, so each customer's rows keep their order.
      func layout(_ owners: [Int32]) -> (starts: [Int], order: [Int]) {
        var starts = [Int](repeating: 0, count: ids.count + 1)
        for owner in owners { starts[position[Int(owner)] + 1] += 1 }
        for i in 0..<ids.count { starts[i + 1] += starts[i] }
        var fill = starts
        var order = [Int](repeating: 0, count: owners.count)
        for (row, owner) in owners.enumerated() {
          let p = position[Int(owner)]
          order[fill[p]] = row
          fill[p] += 1
        }
        return (starts, order)
      }
      /// Sorts each customer's rows of `layout` by `before`: a canonical order, so the same
      /// facts give the same table whatever order a database returned them in (PostgreSQL's
      /// order without `ORDER BY` depends on the plan and on where updated rows landed).
      func canonical(_ layout: (starts: [Int], order: [Int]), by before: (Int, Int) -> Bool) -> (starts: [Int], order: [Int]) {
        var order = layout.order
        for customer in 0..<ids.count where layout.starts[customer + 1] - layout.starts[customer] > 1 {
          order[layout.starts[customer]..<layout.starts[customer + 1]].sort(by: before)
        }
        return (layout.starts, order)
      }
      let t = canonical(layout(ticketOwner)) { tickets[$0].canonicallyBefore(tickets[$1]) }
      table.ticketStart = t.starts
      table.ticketCreatedMs = t.order.map { tickets[$0].createdMs }
      table.ticketResolvedMs = t.order.map { tickets[$0].resolvedMs ?? CustomerTable.none }
      table.ticketComplaint = t.order.map { tickets[$0].complaint }
      table.ticketReplies = t.order.map { Int32(clamping: tickets[$0].replyCount) }
      table.ticketReopens = t.order.map { Int32(clamping: tickets[$0].reopenCount) }
      table.ticketFirstReplyMs = t.order.map { tickets[$0].firstReplyMs ?? CustomerTable.none }
      let a = layout(answerOwner)
      table.answerStart = a.starts
      table.answerScale = a.order.map { answers[$0].scale }
      table.answerScore = a.order.map { Int32(clamping: answers[$0].score) }
      table.answerTimeMs = a.order.map { answers[$0].timeMs }
      // Answers keep the order they were stored in: of two at the same time the later wins.
      let p = canonical(layout(purchaseOwner)) { purchases[$0].canonicallyBefore(purchases[$1]) }
      table.purchaseStart = p.starts
      table.purchaseAmountMinor = p.order.map { purchases[$0].amountMinor }
      table.purchaseTimeMs = p.order.map { purchases[$0].timeMs }
      return table
    }
  }
}
