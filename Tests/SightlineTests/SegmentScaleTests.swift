import Foundation
import SightlineRPC
import SightlineStorage
import Testing

@testable import SegmentationService
@testable import SightlineModel

/// Segments at scale (docs/segments.md, "Scale"): the one-pass derived figures equal the
/// definitions written out plainly, RFM scores of a page equal ranking everyone, and the
/// cached customer facts equal a full read of the store after every batch.
@Suite("Segments at scale")
struct SegmentScaleTests {
  static let day: Int64 = 86_400_000
  static let now: Int64 = 1_800_000_000_000

  /// Random facts with ties in time, answers of every scale, open and reopened tickets,
  /// and orders on both sides of the 90- and 180-day marks.
  static func randomFacts(_ random: inout SeededRandom, id: String) -> CustomerFacts {
    func time() -> Int64 { now - Int64(random.next() % UInt64(400 * day)) + Int64(random.next() % UInt64(20 * day)) }
    let tied = time()
    func pick(_ tie: Bool) -> Int64 { tie ? tied : time() }
    let tickets = (0..<Int(random.next() % 6)).map { _ in
      let created = pick(random.next() % 4 == 0)
      return CustomerFacts.Ticket(
        createdMs: created, complaint: random.next() % 3 == 0,
        resolvedMs: random.next() % 3 == 0 ? nil : created + Int64(random.next() % UInt64(3 * day)))
    }
    let scales: [SurveyScale] = [.csat, .nps, .ces]
    let answers = (0..<Int(random.next() % 6)).map { _ in
      let scale = scales[Int(random.next() % 3)]
      let score = scale == .nps ? Int(random.next() % 11) : 1 + Int(random.next() % 5)
      return CustomerFacts.Answer(scale: scale, score: score, timeMs: pick(random.next() % 3 == 0))
    }
    let purchases = (0..<Int(random.next() % 7)).map { _ in
      CustomerFacts.Purchase(amountMinor: Int64(random.next() % 10_000), timeMs: pick(random.next() % 5 == 0))
    }
    return CustomerFacts(
      customerID: id, attributes: random.next() % 4 == 0 ? ["tier": "vip"] : ["tier": "standard"],
      signupMs: random.next() % 2 == 0 ? time() : nil, profileMs: random.next() % 2 == 0 ? time() : nil, tickets: tickets,
      answers: answers, purchases: purchases)
  }

  @Test func derivedFiguresEqualThePlainDefinitions() {
    var random = SeededRandom(seed: 7)
    var windows = SegmentWindows()
    for round in 0..<3_000 {
      let facts = Self.randomFacts(&random, id: "C\(round)")
      if round % 500 == 0 { windows.atRiskDays = Double(10 + round / 100) }
      let asOf = Self.now - Int64(random.next() % UInt64(200 * Self.day))
      let derived = DerivedCustomer(facts, asOfMs: asOf, windows: windows)
      let reference = PlainDerivedCustomer(facts: facts, asOfMs: asOf, windows: windows)
      #expect(derived.numbers == reference.numbers, "customer \(round)")
      #expect(derived.lifecycle == reference.lifecycle, "customer \(round)")
      #expect(derived.npsClass == reference.npsClass, "customer \(round)")
      let (score, reasons) = RiskScore.assess(derived)
      let expected = reference.risk
      #expect(score == expected.score && reasons == expected.reasons, "customer \(round)")
      let fromColumns = CustomerTable([facts]).withColumns {
        RiskScore.score($0, at: 0, asOfMs: asOf, windows: windows, tier: facts.attributes["tier"])
      }
      #expect(fromColumns == expected.score, "customer \(round): the ranking score")
    }
  }

  @Test func aTableGivesBackWhatWasPutIn() {
    var random = SeededRandom(seed: 13)
    let facts = (0..<500).map { Self.randomFacts(&random, id: "C\(String(format: "%03d", 499 - $0 * 7 % 500))") }
    let table = CustomerTable(facts)
    // Customers by id, each one's tickets and purchases in their canonical order.
    #expect(table.allFacts == facts.sorted { $0.customerID < $1.customerID }.map(\.canonical))
    #expect(table.attributeSets.count == 3, "two tiers and the empty set, each stored once")
    // Replacing: some customers change, one disappears, two are new.
    let changed = ["C000", "C001", "C250", "C999", "D1"]
    var fresh = facts.filter { ["C001", "C250"].contains($0.customerID) }.map { customer in
      var changed = customer
      changed.tickets.removeAll()
      changed.attributes = ["tier": "platinum"]
      return changed
    }
    fresh += [Self.randomFacts(&random, id: "C999"), Self.randomFacts(&random, id: "D1")]
    let replaced = table.replacing(changed, with: CustomerTable(fresh))
    let expected = (facts.filter { !changed.contains($0.customerID) } + fresh).sorted { $0.customerID < $1.customerID }.map(\.canonical)
    #expect(replaced.allFacts == expected)
    #expect(replaced.index(of: "C000") == nil && replaced.index(of: "D1") == replaced.count - 1)
  }

  @Test func rfmOfAPageEqualsRankingEveryone() {
    var random = SeededRandom(seed: 11)
    let population: [RFM.Values] = (0..<2_000).map { _ in
      (Double(random.next() % 300), Double(1 + random.next() % 8), Double(random.next() % 50) * 10)
    }
    let everyone = RFM.score(population, among: population)
    // A page of 30 scores by counting (fewer than an eighth of the population asks).
    let page = (0..<30).map { _ in Int(random.next() % 2_000) }
    #expect(RFM.score(page.map { population[$0] }, among: population) == page.map { everyone[$0] })
    #expect(RFM.score([], among: population).isEmpty)
    #expect(RFM.score([population[0]], among: population) == [everyone[0]])
    // The dictionary form (sorting everyone) agrees with both.
    let byID = RFM.score(Dictionary(uniqueKeysWithValues: population.enumerated().map { ("c\($0.offset)", $0.element) }))
    #expect(population.indices.allSatisfy { byID["c\($0)"] == everyone[$0] })
  }

  @Test func indexedExpressionsMatchAsNamedOnes() throws {
    let expression = try SegmentExpression(
      "tier == 'vip' && (nps_last <= 6 || complaints_30d >= 2) && !(region in ['north', 'east'])", schema: DerivedCustomer.schema)
    #expect(expression.fieldNames == ["complaints_30d", "nps_last", "region", "tier"])
    let customers: [[String: FieldValue]] = [
      ["tier": .text("vip"), "nps_last": .number(3), "region": .text("south")],
      ["tier": .text("vip"), "complaints_30d": .number(2), "region": .text("north")],
      ["tier": .text("vip"), "complaints_30d": .number(2)],
      ["tier": .text("standard"), "nps_last": .number(0)],
    ]
    let named = customers.map { values in expression.matches { values[$0] } }
    let indexed = customers.map { values in expression.matchesByPosition { values[expression.fieldNames[$0]] } }
    #expect(named == [true, false, true, false])
    #expect(indexed == named)
    // Knowing only the text fields: decided for a standard tier or a northern VIP, open
    // otherwise; whatever is decided agrees with the full evaluation.
    let textOnly = customers.map { values in
      expression.decidesByPosition { k -> FieldValue?? in
        let name = expression.fieldNames[k]
        return name == "tier" || name == "region" ? .some(values[name]) : nil
      }
    }
    #expect(textOnly == [nil, false, nil, false])
    for expression in try [
      "!(tier == 'vip') || nps_last > 3", "tier != 'vip' && !(complaints_30d < 1)", "(tier in ['vip']) || region == 'east'",
    ].map({ try SegmentExpression($0, schema: DerivedCustomer.schema) }) {
      for values in customers {
        for known in [Set<String>(), ["tier"], ["tier", "region"], Set(expression.fieldNames)] {
          let decided = expression.decidesByPosition { k -> FieldValue?? in
            known.contains(expression.fieldNames[k]) ? .some(values[expression.fieldNames[k]]) : nil
          }
          if let decided { #expect(decided == expression.matches { values[$0] }, "\(expression.source) with \(known)") }
          if known.isSuperset(of: expression.fieldNames) { #expect(decided != nil) }
        }
      }
    }
  }

  /// Random segmentation events over 40 customers: profiles (some dated earlier than the
  /// stored one), tickets whose second `created` moves them to another customer, answers
  /// and orders, some delivered twice.
  static func randomEvents(seed: UInt64, count: Int) -> [SegmentationEvent] {
    var random = SeededRandom(seed: seed)
    func customer() -> String { "C\(random.next() % 40)" }
    func time() -> Int64 { now - Int64(random.next() % UInt64(200 * day)) }
    var events: [SegmentationEvent] = []
    for index in 0..<count {
      switch random.next() % 10 {
      case 0:
        events.append(
          .profile(customerID: customer(), attributes: ["tier": random.next() % 2 == 0 ? "vip" : "gold"], signupMs: time(), timeMs: time()))
      case 1, 2, 3:
        let type: TicketEventType = [.created, .created, .resolved, .reopened, .agentReply][Int(random.next() % 5)]
        events.append(
          .ticket(
            ticketID: "T\(random.next() % 120)", customerID: type == .created ? customer() : "", type: type, timeMs: time(),
            attributes: TicketAttributes(problemType: "billing", complaint: random.next() % 3 == 0)))
      case 4, 5:
        events.append(
          .answer(
            responseID: "A\(random.next() % 300)", customerID: customer(), ticketID: "", scale: random.next() % 2 == 0 ? .nps : .csat,
            score: Int(random.next() % 6), timeMs: time(), comment: ""))
      case 6, 7:
        events.append(.order(id: "O\(random.next() % 300)", customerID: customer(), amountMinor: Int64(index), timeMs: time()))
      default:
        events.append(
          .feedback(id: "F\(index)", customerID: customer(), ticketID: "", source: "app", text: "slow", timeMs: time(), rating: 2))
      }
    }
    return events
  }

  @Test(arguments: TestBackend.all)
  func cachedFactsEqualAFullReadAfterEveryBatch(_ backend: TestBackend) async throws {
    let directory = NSTemporaryDirectory() + "segment-cache-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let mismatches = try await BlockingWork.run { () -> [Int] in
      let stores = try backend.segmentationStores(directory: directory)
      let tenant = TestBackend.freshTenant()
      let store = try stores.segmentation(for: tenant)
      let cache = CustomerFactsCache()
      var mismatches: [Int] = []
      var offset: Int64 = 0
      var random = SeededRandom(seed: 3)
      let events = Self.randomEvents(seed: 5, count: 3_000)
      var start = 0
      var batch = 0
      while start < events.count {
        let size = 1 + Int(random.next() % 120)
        let slice = events[start..<min(start + size, events.count)]
        try store.apply(
          slice.map {
            offset += 1; return (offset, $0)
          }, throughOffset: offset)
        start += size
        batch += 1
        // Read through the cache after most batches, and let some batches pile up.
        if random.next() % 3 != 0 {
          let cached = try cache.facts(for: tenant, store: store).allFacts
          let full = try store.customerFacts(changedAfter: nil).customers.allFacts
          if cached != full { mismatches.append(batch) }
        }
      }
      return mismatches
    }
    #expect(mismatches.isEmpty, "the cached facts differ from a full read after batches \(mismatches)")
  }

  /// The same events, in the same batches, give the same customer facts and documents on
  /// both backends (answers at the same time included: the later stored wins on both).
  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func bothBackendsFoldTheSameFacts() async throws {
    let directory = NSTemporaryDirectory() + "segment-backends-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let tenant = TestBackend.freshTenant()
    let stores = try [TestBackend.sqlite, .postgres].map { try $0.segmentationStores(directory: directory).segmentation(for: tenant) }
    let events = Self.randomEvents(seed: 17, count: 2_000)
    try await BlockingWork.run {
      for store in stores {
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: events.count, by: 250) {
          let slice = events[chunk..<min(chunk + 250, events.count)]
          try store.apply(
            slice.map {
              offset += 1; return (offset, $0)
            }, throughOffset: offset)
        }
      }
    }
    let facts = try stores.map { try $0.customerFacts(changedAfter: nil) }
    #expect(facts[0].offset == facts[1].offset)
    #expect(facts[0].customers.count > 20)
    // Tickets and orders are sets (their order means nothing to any figure); answers keep
    // the order they were stored in among those of the same time, where the later wins.
    func normal(_ facts: CustomerFacts) -> String {
      let tickets = facts.tickets.map { "\($0)" }.sorted()
      let purchases = facts.purchases.map { "\($0)" }.sorted()
      let answers = facts.answers.enumerated().sorted { ($0.element.timeMs, $0.offset) < ($1.element.timeMs, $1.offset) }.map {
        "\($0.element)"
      }
      return
        "\(facts.customerID) \(facts.attributes.sorted { $0.key < $1.key }) \(facts.signupMs ?? -1) \(facts.profileMs ?? -1) \(tickets) \(answers) \(purchases)"
    }
    let (sqlite, postgres) = (facts[0].customers.allFacts.map(normal), facts[1].customers.allFacts.map(normal))
    #expect(sqlite.count == postgres.count)
    let firstDifference = zip(sqlite, postgres).first { $0 != $1 }
    #expect(firstDifference == nil, "first customer that differs: \(String(describing: firstDifference))")
    let documents = try stores.map {
      try $0.documents(startMs: nil, endMs: nil).map { "\($0.id) \($0.problemType) \($0.lowScore) \($0.text)" }.sorted()
    }
    #expect(documents[0] == documents[1])
  }

  @Test func theLeastRecentlyReadTenantsMakeRoom() throws {
    let directory = NSTemporaryDirectory() + "segment-cache-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let stores = SQLiteTenantStores<SegmentationSchema>(root: directory, service: "segmentation")
    let tenants = ["t_lru_a", "t_lru_b", "t_lru_c"].map { TenantID($0)! }
    let events = Self.randomEvents(seed: 21, count: 400)
    for tenant in tenants {
      try stores.segmentation(for: tenant).apply(events.enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: 400)
    }
    let perTenant = try stores.segmentation(for: tenants[0]).customerFacts(changedAfter: nil).customers.count
    #expect(perTenant > 10)
    // Room for two tenants' customers.
    let cache = CustomerFactsCache(maxCustomers: 2 * perTenant)
    for tenant in [tenants[0], tenants[1], tenants[0], tenants[2]] {
      _ = try cache.facts(for: tenant, store: stores.segmentation(for: tenant))
    }
    #expect(cache.cachedTenants == [tenants[0], tenants[2]], "b was read least recently")
    // An evicted tenant is read whole again, with the same answer.
    let again = try cache.facts(for: tenants[1], store: stores.segmentation(for: tenants[1]))
    #expect(again.allFacts == (try stores.segmentation(for: tenants[1]).customerFacts(changedAfter: nil).customers.allFacts))
    #expect(cache.cachedTenants == [tenants[2], tenants[1]])
  }

  @Test func aStoreThatWentBackIsReadWhole() throws {
    let directory = NSTemporaryDirectory() + "segment-cache-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let tenant = TenantID("t_segments")!
    let first = try SQLiteTenantStores<SegmentationSchema>(root: directory + "/a", service: "segmentation").segmentation(for: tenant)
    let second = try SQLiteTenantStores<SegmentationSchema>(root: directory + "/b", service: "segmentation").segmentation(for: tenant)
    let events = Self.randomEvents(seed: 9, count: 200)
    try first.apply(events.enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: 200)
    try second.apply(events.prefix(50).enumerated().map { (Int64($0.offset + 1), $0.element) }, throughOffset: 50)
    let cache = CustomerFactsCache()
    #expect(try cache.facts(for: tenant, store: first).allFacts == first.customerFacts(changedAfter: nil).customers.allFacts)
    // The same tenant now at a lower offset (as after an import): read whole, not merged.
    #expect(try cache.facts(for: tenant, store: second).allFacts == second.customerFacts(changedAfter: nil).customers.allFacts)
  }
}

/// Segmentation's definitions (docs/segments.md) written out as plainly as possible, filter
/// by filter: the reference the one-pass ``DerivedFigures`` must equal.
struct PlainDerivedCustomer {
  let facts: CustomerFacts
  let asOfMs: Int64
  let windows: SegmentWindows

  func days(_ ms: Int64) -> Double { Double(asOfMs - ms) / 86_400_000.0 }
  func within(_ ms: Int64, days limit: Double) -> Bool { ms <= asOfMs && days(ms) < limit }
  var tickets: [CustomerFacts.Ticket] { facts.tickets.filter { $0.createdMs <= asOfMs } }
  var answers: [CustomerFacts.Answer] { facts.answers.filter { $0.timeMs <= asOfMs }.sorted { $0.timeMs < $1.timeMs } }
  var purchases: [CustomerFacts.Purchase] { facts.purchases.filter { $0.timeMs <= asOfMs } }
  var activityTimes: [Int64] { tickets.map(\.createdMs) + answers.map(\.timeMs) + purchases.map(\.timeMs) }

  var numbers: [String: Double] {
    var fields: [String: Double] = [:]
    for (suffix, limit) in [("30d", 30.0), ("90d", 90.0), ("365d", 365.0)] {
      fields["tickets_\(suffix)"] = Double(tickets.filter { within($0.createdMs, days: limit) }.count)
      fields["complaints_\(suffix)"] = Double(tickets.filter { $0.complaint && within($0.createdMs, days: limit) }.count)
    }
    fields["open_tickets"] = Double(tickets.filter { $0.resolvedMs.map { $0 > asOfMs } ?? true }.count)
    let csat = answers.filter { $0.scale == .csat }
    if let last = csat.last { fields["csat_last"] = Double(last.score) }
    if !csat.isEmpty { fields["csat_mean"] = Double(csat.reduce(0) { $0 + $1.score }) / Double(csat.count) }
    if let nps = answers.last(where: { $0.scale == .nps }) { fields["nps_last"] = Double(nps.score) }
    let recent = purchases.filter { within($0.timeMs, days: windows.rfmDays) }
    fields["orders_365d"] = Double(recent.count)
    fields["frequency"] = Double(recent.count)
    fields["monetary_365d"] = Double(recent.reduce(0) { $0 + $1.amountMinor }) / 100
    if let last = purchases.map(\.timeMs).max() { fields["recency_days"] = days(last) }
    if let first = activityTimes.min() { fields["first_activity_days"] = days(first) }
    if let last = activityTimes.max() { fields["last_activity_days"] = days(last) }
    if let signup = facts.signupMs { fields["days_since_signup"] = days(signup) }
    return fields
  }

  var npsClass: String? {
    guard let nps = answers.last(where: { $0.scale == .nps }) else { return nil }
    return nps.score >= 9 ? "promoter" : nps.score >= 7 ? "passive" : "detractor"
  }

  var lifecycle: LifecycleStage {
    let firstSeen = (activityTimes + [facts.signupMs, facts.profileMs].compactMap { $0 }).filter { $0 <= asOfMs }.min()
    guard let firstSeen else { return .churned }
    let lastActivity = activityTimes.max()
    let active = lastActivity.map { days($0) < windows.activeDays } ?? false
    if active {
      let detractor = answers.contains { $0.scale == .nps && $0.score <= 6 && within($0.timeMs, days: windows.atRiskDays) }
      let complaints = tickets.filter { $0.complaint && within($0.createdMs, days: windows.atRiskDays) }.count
      if detractor || complaints >= 2 { return .atRisk }
    }
    if days(firstSeen) < windows.newDays { return .new }
    if active { return .active }
    guard let lastActivity else { return .churned }
    return days(lastActivity) < windows.dormantDays ? .dormant : .churned
  }

  var risk: (score: Double, reasons: [RiskReason]) {
    var reasons: [RiskReason] = []
    let window = windows.atRiskDays
    if let detractor = answers.last(where: { $0.scale == .nps && $0.score <= 6 && within($0.timeMs, days: window) }) {
      reasons.append(RiskReason(code: "detractor", points: 40, detail: "NPS \(detractor.score) in the last \(Int(window)) days"))
    }
    let complaints = tickets.filter { $0.complaint && within($0.createdMs, days: window) }.count
    if complaints > 0 {
      reasons.append(
        RiskReason(
          code: "complaints", points: Double(min(complaints, 3) * 15),
          detail: "\(complaints) complaint\(complaints == 1 ? "" : "s") in the last \(Int(window)) days"))
    }
    if let low = answers.last(where: { $0.scale == .csat && $0.score <= 2 && within($0.timeMs, days: window) }) {
      reasons.append(RiskReason(code: "low_csat", points: 20, detail: "CSAT \(low.score) in the last \(Int(window)) days"))
    }
    let open = tickets.filter { $0.resolvedMs.map { $0 > asOfMs } ?? true }.count
    if open > 0 {
      reasons.append(
        RiskReason(code: "unresolved", points: Double(min(open, 3) * 10), detail: "\(open) unresolved ticket\(open == 1 ? "" : "s")"))
    }
    let recent = purchases.filter { within($0.timeMs, days: 90) }.count
    let before = purchases.filter { !within($0.timeMs, days: 90) && within($0.timeMs, days: 180) }.count
    if before >= 2 && Double(recent) < Double(before) / 2 {
      reasons.append(
        RiskReason(code: "falling_orders", points: 15, detail: "\(recent) orders in the last 90 days after \(before) in the 90 before"))
    }
    guard !reasons.isEmpty else { return (0, []) }
    if facts.attributes["tier"] == "vip" { reasons.append(RiskReason(code: "vip", points: 10, detail: "VIP customer")) }
    return (reasons.reduce(0) { $0 + $1.points }, reasons)
  }
}
