import SightlineModel
public import SightlineWire
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Generates the demo's events from a ``DemoScenario``: customer profiles, tickets with
/// their whole life (creation, replies, resolutions, reopenings), CSAT/NPS/CES answers with
/// comments, app reviews and orders. Events that would happen after the scenario's end are
/// left out (they have not happened yet), so recent tickets are still open.
public struct DemoDataset: Sendable {
  /// The scenario generated.
  public let scenario: DemoScenario
  /// All events, ordered by time.
  public let events: [Sightline_Ingestion_V1_Event]

  /// Generates the data set of `scenario`.
  public init(_ scenario: DemoScenario) {
    self.scenario = scenario
    var generator = Generator(scenario: scenario)
    events = generator.run()
  }

  /// Number of events per record kind.
  public var counts: [String: Int] {
    var counts: [String: Int] = [:]
    for event in events {
      let kind =
        switch event.record {
        case .ticketEvent: "ticket_event"
        case .surveyResponse: "survey_response"
        case .feedback: "feedback"
        case .customerProfile: "customer_profile"
        case .order: "order"
        case nil: "none"
        }
      counts[kind, default: 0] += 1
    }
    return counts
  }
}

private struct Customer {
  var id: String
  var region: String
  var tier: String
  var type: String
}

private struct Generator {
  let scenario: DemoScenario
  var random: SeededRandom
  /// The short evenings' own draws (``DemoScenario/shortEveningLines``).
  var eveningRandom: SeededRandom
  var timed: [(ms: Int64, event: Sightline_Ingestion_V1_Event)] = []
  var customers: [Customer] = []
  var ticketCounter = 0

  init(scenario: DemoScenario) {
    self.scenario = scenario
    random = SeededRandom(seed: scenario.seed)
    eveningRandom = SeededRandom(seed: scenario.seed ^ 0x5EED_E7E0)
  }

  mutating func run() -> [Sightline_Ingestion_V1_Event] {
    makeCustomers()
    let lines = scenario.lines
    // Lines differ in size and in baseline speed (median first response 20 min to 3 h).
    let sizes = lines.map { _ in 0.6 + random.unit() }
    let baseFirstResponse = lines.map { _ in 1_200 + random.unit() * 9_600 }
    for day in 0..<scenario.days {
      let dayStart = scenario.startMs + Int64(day) * DemoScenario.dayMs
      for (index, line) in lines.enumerated() {
        let count = random.poisson(scenario.ticketsPerLineDay * sizes[index])
        for _ in 0..<count {
          makeTicket(line: line, dayStart: dayStart, baseFirstResponse: baseFirstResponse[index])
        }
      }
    }
    makeOrders()
    return timed.filter { $0.ms < scenario.endMs }.sorted { $0.ms < $1.ms }.map(\.event)
  }

  mutating func add(_ ms: Int64, _ id: String, _ fill: (inout Sightline_Ingestion_V1_Event) -> Void) {
    var event = Sightline_Ingestion_V1_Event()
    event.eventID = id
    fill(&event)
    timed.append((ms, event))
  }

  static func time(_ ms: Int64) -> String { RFC3339.format(milliseconds: ms) }

  mutating func makeCustomers() {
    for index in 0..<scenario.customers {
      let enterprise = random.chance(0.3)
      let customer = Customer(
        id: "C\(index + 1)", region: random.pick(DemoScenario.regions), tier: random.chance(0.1) ? "vip" : "standard",
        type: enterprise ? "enterprise" : "individual")
      customers.append(customer)
      let signup = scenario.startMs - Int64(random.unit() * 700) * DemoScenario.dayMs
      let industry = enterprise ? random.pick(["retail", "manufacturing", "finance", "logistics"]) : ""
      let ageBand = enterprise ? "" : random.pick(["18-24", "25-34", "35-44", "45-54", "55+"])
      let start = scenario.startMs
      add(start, "p-\(customer.id)") { event in
        event.customerProfile = .with {
          $0.customerID = customer.id
          $0.type = customer.type
          $0.tier = customer.tier
          $0.region = customer.region
          $0.industry = industry
          $0.ageBand = ageBand
          $0.signupTime = Self.time(signup)
          $0.time = Self.time(start)
        }
      }
    }
  }

  mutating func channel() -> String {
    var draw = random.unit()
    for (name, weight) in DemoScenario.channels {
      if draw < weight {
        // Some systems send the Chinese name; the tenant's alias map folds it.
        return name == "wechat" && random.chance(0.2) ? "微信" : name
      }
      draw -= weight
    }
    return "web"
  }

  /// The moment `workMs` of service hours (08:00-22:00 Shanghai) after `start`. Any 24
  /// hours hold exactly 14 service hours, so a day's tickets stay within its 24 hours
  /// whenever the scenario starts, and keep Shanghai's working day: the hour-of-week
  /// cuts (docs/workload.md) see evenings where Shanghai has them.
  static func afterServiceTime(_ start: Int64, _ workMs: Int64) -> Int64 {
    let hour: Int64 = 3_600_000
    let (open, close) = (Int64(DemoScenario.openHour) * hour, Int64(DemoScenario.closeHour) * hour)
    var (moment, remaining) = (start, workMs)
    while true {
      let timeOfDay = Self.localTimeOfDay(moment)
      if timeOfDay < open {
        moment += open - timeOfDay
      } else if timeOfDay >= close {
        moment += DemoScenario.dayMs - timeOfDay + open
      } else if remaining < close - timeOfDay {
        return moment + remaining
      } else {
        remaining -= close - timeOfDay
        moment += close - timeOfDay
      }
    }
  }

  /// Milliseconds since local midnight in Shanghai (times before 1970 included).
  static func localTimeOfDay(_ ms: Int64) -> Int64 {
    let remainder = (ms + DemoScenario.zoneOffsetMs) % DemoScenario.dayMs
    return remainder < 0 ? remainder + DemoScenario.dayMs : remainder
  }

  /// The local hour of `ms` in Shanghai.
  static func localHour(_ ms: Int64) -> Int { Int(localTimeOfDay(ms) / 3_600_000) }

  mutating func makeTicket(line: String, dayStart: Int64, baseFirstResponse: Double) {
    ticketCounter += 1
    let ticket = "T\(ticketCounter)"
    let customer = random.pick(customers)
    let created = Self.afterServiceTime(dayStart, Int64(random.unit() * 14 * 3_600_000))
    let shortEvening =
      scenario.shortEveningLines.contains(line) && Self.localHour(created) >= scenario.eveningFrom
    let treated = scenario.treatedLines.contains(line) && created >= scenario.rolloutMs
    let spike =
      customer.region == scenario.spikeRegion
      && created >= scenario.endMs - Int64(scenario.spikeDays) * DemoScenario.dayMs
    let complaint = random.chance(spike ? scenario.spikeComplaintRate : scenario.baseComplaintRate)
    let priorityDraw = random.unit()
    let priority: Sightline_Ingestion_V1_Priority =
      priorityDraw < 0.05 ? .urgent : priorityDraw < 0.25 ? .high : priorityDraw < 0.8 ? .normal : .low
    let problem = random.pick(DemoScenario.problemTypes)
    let agent = "\(line)-a\(1 + Int(random.next() % 6))"
    let channel = channel()
    let module = random.pick(DemoScenario.modules)
    var sequence = 0
    func ticketEvent(_ kind: Sightline_Ingestion_V1_TicketEventKind, _ ms: Int64, generator: inout Generator) {
      sequence += 1
      generator.add(ms, "t-\(ticket)-\(sequence)") { event in
        event.ticketEvent = .with {
          $0.ticketID = ticket
          $0.customerID = customer.id
          $0.time = Self.time(ms)
          $0.kind = kind
          $0.channel = channel
          $0.region = customer.region
          $0.businessLine = line
          $0.agent = agent
          $0.productModule = module
          $0.problemType = problem
          $0.priority = priority
          $0.complaint = complaint
        }
      }
    }
    ticketEvent(.created, created, generator: &self)

    // First response: log-normal around the line's baseline, faster on treated lines.
    guard random.chance(0.985) else { return }
    let firstResponse = random.logNormal(
      median: baseFirstResponse * (treated ? 1 + scenario.firstResponseEffect : 1), sigma: 0.6)
    var clock = created + Int64(firstResponse * (shortEvening ? scenario.eveningSlowdown : 1) * 1000)
    ticketEvent(.agentReply, clock, generator: &self)
    if random.chance(0.35) {
      for _ in 0..<(1 + random.poisson(0.5)) {
        clock += Int64(random.logNormal(median: 3_600, sigma: 0.8) * 1000)
        ticketEvent(.customerReply, clock, generator: &self)
        clock += Int64(random.logNormal(median: 1_800, sigma: 0.8) * 1000)
        ticketEvent(.agentReply, clock, generator: &self)
      }
    }
    guard random.chance(0.97) else { return }
    clock += Int64(random.logNormal(median: complaint ? 20 * 3_600 : 5 * 3_600, sigma: 0.8) * 1000)
    ticketEvent(.resolved, clock, generator: &self)
    let resolvedAt = clock
    if random.chance(0.08) {
      clock += Int64(random.logNormal(median: 12 * 3_600, sigma: 0.7) * 1000)
      ticketEvent(.reopened, clock, generator: &self)
      clock += Int64(random.logNormal(median: 8 * 3_600, sigma: 0.7) * 1000)
      ticketEvent(.resolved, clock, generator: &self)
    }
    makeSurveys(
      ticket: ticket, customer: customer, at: resolvedAt + 3_600_000, firstResponse: firstResponse,
      treated: treated, problem: problem, channel: channel, shortEvening: shortEvening)
  }

  mutating func makeSurveys(
    ticket: String, customer: Customer, at ms: Int64, firstResponse: Double, treated: Bool, problem: String,
    channel: String, shortEvening: Bool
  ) {
    let souring = customer.tier == "vip" && ms >= scenario.endMs - Int64(scenario.vipDays) * DemoScenario.dayMs
    var satisfiedChance = 0.80 - (firstResponse > 4 * 3_600 ? 0.10 : 0)
    if treated { satisfiedChance += scenario.csatEffect }
    if souring { satisfiedChance -= scenario.vipDrop }
    let satisfiedAsDrawn = random.chance(satisfiedChance)
    // A short evening sours some answers. Drawn from a stream of its own, and the draws
    // below gated on the main stream's outcome, so every other planted effect sees the
    // same draws as without it.
    let satisfied = satisfiedAsDrawn && !(shortEvening && eveningRandom.chance(scenario.eveningDissatisfaction))
    if random.chance(0.45) {
      let score = satisfied ? (random.chance(0.6) ? 5 : 4) : 1 + Int(random.next() % 3)
      let comment = random.chance(0.5) ? comment(score: score, scale: 5, problem: problem, souring: souring) : ""
      add(ms, "s-\(ticket)-csat") { event in
        event.surveyResponse = .with {
          $0.customerID = customer.id
          $0.ticketID = ticket
          $0.kind = .csat
          $0.score = Int32(score)
          $0.comment = comment
          $0.time = Self.time(ms)
          $0.channel = channel
        }
      }
    }
    if random.chance(0.2) {
      let score = satisfied ? 7 + Int(random.next() % 4) : Int(random.next() % 8)
      let comment = random.chance(0.4) ? comment(score: score, scale: 10, problem: problem, souring: souring) : ""
      add(ms + 60_000, "s-\(ticket)-nps") { event in
        event.surveyResponse = .with {
          $0.customerID = customer.id
          $0.ticketID = ticket
          $0.kind = .nps
          $0.score = Int32(score)
          $0.comment = comment
          $0.time = Self.time(ms + 60_000)
          $0.channel = channel
        }
      }
    }
    if random.chance(0.15) {
      let score = satisfied ? 4 + Int(random.next() % 4) : 1 + Int(random.next() % 4)
      add(ms + 120_000, "s-\(ticket)-ces") { event in
        event.surveyResponse = .with {
          $0.customerID = customer.id
          $0.ticketID = ticket
          $0.kind = .ces
          $0.score = Int32(score)
          $0.time = Self.time(ms + 120_000)
          $0.channel = channel
        }
      }
    }
    if !satisfiedAsDrawn && random.chance(0.1) {
      let text = DemoText.withContact(random.pick(DemoText.negative[problem] ?? DemoText.neutral), ticket: ticketCounter)
      let rating = 1 + Int32(random.next() % 2)
      add(ms + 7_200_000, "f-\(ticket)") { event in
        event.feedback = .with {
          $0.customerID = customer.id
          $0.ticketID = ticket
          $0.source = .appReview
          $0.text = text
          $0.time = Self.time(ms + 7_200_000)
          $0.rating = rating
        }
      }
    }
  }

  /// A comment for `score` of `scale`: a souring VIP's low score speaks of the VIP theme
  /// two times in three (by ticket number, so that the draws stay the same).
  mutating func comment(score: Int, scale: Int, problem: String, souring: Bool) -> String {
    let share = Double(score) / Double(scale)
    if share >= 0.8 { return random.pick(DemoText.positive) }
    if share <= 0.6 && souring && ticketCounter % 3 != 0 { return random.pick(DemoText.vipSouring) }
    if share <= 0.6 { return random.pick(DemoText.negative[problem] ?? DemoText.neutral) }
    return random.pick(DemoText.neutral)
  }

  mutating func makeOrders() {
    for customer in customers {
      let rate = customer.tier == "vip" ? 4.0 : customer.type == "enterprise" ? 2.0 : 0.8
      let count = random.poisson(rate * Double(scenario.days) / 30)
      for index in 0..<count {
        let ms =
          scenario.startMs + Int64(random.unit() * Double(scenario.days)) * DemoScenario.dayMs
          + Int64(random.unit() * 86_400_000)
        let amount = Int64(random.logNormal(median: customer.tier == "vip" ? 80_000 : 15_000, sigma: 0.7))
        add(ms, "o-\(customer.id)-\(index)") { event in
          event.order = .with {
            $0.customerID = customer.id
            $0.amountMinor = amount
            $0.currency = "CNY"
            $0.time = Self.time(ms)
          }
        }
      }
    }
  }
}
