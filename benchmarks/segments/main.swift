// The segments benchmark (issue 19): a tenant with a million customers and five million
// tickets, folded straight into its segmentation store, then the at-risk list, a scorecard
// and a custom segment's members through the gateway, with the process's resident size.
// Prints the figures; docs/performance.md records the latest run.
//
//   swift run -c release bench-segments [--customers N] [--tickets N] [--queries N]
import Foundation
import GRPCCore
import SegmentationService
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftProtobuf

struct Options {
  var customers = 1_000_000
  var tickets = 5_000_000
  var queries = 20

  init(_ arguments: [String]) {
    var iterator = arguments.dropFirst().makeIterator()
    while let flag = iterator.next() {
      guard let value = Int(iterator.next() ?? ""), value > 0 else { fail("\(flag) takes a positive number") }
      switch flag {
      case "--customers": customers = value
      case "--tickets": tickets = value
      case "--queries": queries = value
      default: fail("unknown flag \(flag)")
      }
    }
  }
}

/// Prints a line at once (a crash must not eat the figures already measured).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(2)
}

let dayMs: Int64 = 86_400_000
let options = Options(CommandLine.arguments)
let now = Int64(Date().timeIntervalSince1970 * 1000)

func ms(_ duration: Duration) -> Double {
  Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}
func percentile(_ values: [Double], _ q: Double) -> Double { Percentile.linear(sorted: values.sorted(), q) ?? 0 }
/// Resident size, and the part of it that is the process's own memory rather than mapped
/// database files (RssAnon).
func resident() -> String {
  let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
  let anonymousKiB = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }.flatMap {
    Int($0.split(separator: " ").dropFirst().first ?? "")
  }
  return String(
    format: "%.0f MiB (own memory %.0f MiB)", Double(ProcessMetrics.residentBytes() ?? 0) / 1_048_576,
    Double(anonymousKiB ?? 0) / 1024)
}

/// A year of one customer's life: a profile, tickets (created, an agent reply, mostly
/// resolved; some complaints), CSAT answers on a third of the tickets, an NPS answer from a
/// fifth of the customers, and orders. Seeded: every run folds the same data.
func customerEvents(_ index: Int, tickets: Int, random: inout SeededRandom, ticketBase: Int) -> [SegmentationEvent] {
  let customer = "C\(index)"
  func time(_ days: Int64 = 365) -> Int64 { now - Int64(random.next() % UInt64(days * dayMs)) }
  let tiers = ["standard", "standard", "standard", "gold", "vip"]
  let regions = ["north", "south", "east", "west", "central", "overseas"]
  var events: [SegmentationEvent] = [
    .profile(
      customerID: customer,
      attributes: [
        "tier": tiers[Int(random.next() % 5)], "region": regions[Int(random.next() % 6)],
        "type": random.next() % 4 == 0 ? "business" : "consumer",
      ], signupMs: time(900), timeMs: time(400))
  ]
  for t in 0..<tickets {
    let id = "T\(ticketBase + t)"
    let created = time()
    events.append(
      .ticket(
        ticketID: id, customerID: customer, type: .created, timeMs: created,
        attributes: TicketAttributes(
          problemType: ["billing", "delivery", "device", "account"][Int(random.next() % 4)], complaint: random.next() % 16 == 0)))
    events.append(
      .ticket(
        ticketID: id, customerID: "", type: .agentReply, timeMs: created + Int64(random.next() % 20_000_000),
        attributes: TicketAttributes(problemType: "", complaint: false)))
    if random.next() % 10 != 0 {
      events.append(
        .ticket(
          ticketID: id, customerID: "", type: .resolved, timeMs: created + Int64(random.next() % 200_000_000),
          attributes: TicketAttributes(problemType: "", complaint: false)))
    }
    if random.next() % 3 == 0 {
      events.append(
        .answer(
          responseID: "S\(id)", customerID: customer, ticketID: id, scale: .csat, score: 1 + Int(random.next() % 5),
          timeMs: created + 3_600_000, comment: ""))
    }
  }
  if random.next() % 5 == 0 {
    events.append(
      .answer(
        responseID: "N\(customer)", customerID: customer, ticketID: "", scale: .nps, score: Int(random.next() % 11), timeMs: time(),
        comment: ""))
  }
  for o in 0..<Int(random.next() % 6) {
    events.append(.order(id: "O\(customer)-\(o)", customerID: customer, amountMinor: Int64(random.next() % 50_000), timeMs: time()))
  }
  return events
}

let machine =
  "\(ProcessInfo.processInfo.activeProcessorCount) cores, "
  + "\(ProcessInfo.processInfo.physicalMemory / (1 << 30)) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)"
say("bench-segments: \(options.customers) customers, \(options.tickets) tickets over 365 days; \(machine)")

// The consumers run (segmentation reports ready only with its change feed connected); the
// tenant's ingestion log stays empty, so they have nothing to fold.
try await InProcessSuite.with { suite in
  let tenant = try await suite.createTenant("bench")
  let key = SuiteMetadata.bearer(tenant.adminKey)
  let tenantID = TenantID(tenant.id)!

  // Fold the history straight into the tenant's segmentation store, as its consumer would
  // (customer by customer: the order of the fold is not what is measured here).
  let store = try SQLiteTenantStores<SegmentationSchema>(root: suite.directory, service: "segmentation").segmentation(for: tenantID)
  let foldStart = ContinuousClock.now
  var random = SeededRandom(seed: 19)
  var offset: Int64 = 0
  var pending: [(offset: Int64, event: SegmentationEvent)] = []
  var ticketsMade = 0
  for index in 0..<options.customers {
    // Spread the tickets evenly, with the remainder over the first customers.
    let count = options.tickets / options.customers + (index < options.tickets % options.customers ? 1 : 0)
    for event in customerEvents(index, tickets: count, random: &random, ticketBase: ticketsMade) {
      offset += 1
      pending.append((offset, event))
    }
    ticketsMade += count
    if pending.count >= 10_000 {
      try store.apply(pending, throughOffset: offset)
      pending.removeAll(keepingCapacity: true)
    }
  }
  try store.apply(pending, throughOffset: offset)
  let foldTime = ms(ContinuousClock.now - foldStart) / 1000
  say(
    String(
      format: "seed: %d events folded into the segmentation store in %.0f s (%.0f events/s); resident %@", offset, foldTime,
      Double(offset) / foldTime, resident()))

  try await suite.withGatewayClient { client in
    let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
    let expression = "tier == \"vip\" && nps_last <= 6 && complaints_30d >= 1"
    _ = try await segmentation.defineSegment(
      .with {
        $0.name = "unhappy_vip"
        $0.expression = expression
      }, metadata: key)

    let atRisk = Sightline_Segmentation_V1_ListAtRiskRequest.with { $0.limit = 20 }
    let coldStart = ContinuousClock.now
    let first = try await segmentation.listAtRisk(atRisk, metadata: key)
    say(
      String(
        format: "first call (loads the customer facts into memory): %.0f ms; resident %@", ms(ContinuousClock.now - coldStart),
        resident()))
    guard !first.customers.isEmpty else { fail("the at-risk list is empty") }

    func time(_ label: String, _ call: () async throws -> String) async throws {
      var latencies: [Double] = []
      var detail = ""
      for _ in 0..<options.queries {
        let start = ContinuousClock.now
        detail = try await call()
        latencies.append(ms(ContinuousClock.now - start))
      }
      say(
        String(
          format: "%@ (%d runs): p50 %.0f ms, p99 %.0f ms (goal p50 <= 200 ms); %@", label, latencies.count, percentile(latencies, 0.5),
          percentile(latencies, 0.99), detail))
    }
    try await time("at-risk list, top 20") {
      let reply = try await segmentation.listAtRisk(atRisk, metadata: key)
      return "top score \(reply.customers.first?.score ?? 0)"
    }
    try await time("scorecard of 'vip', last 30 days against the 30 before") {
      let reply = try await segmentation.getScorecard(.with { $0.segment = "vip" }, metadata: key)
      return "\(reply.members) members"
    }
    try await time("custom segment members, first 100 (\(expression))") {
      let reply = try await segmentation.listMembers(
        .with {
          $0.segment = "unhappy_vip"
          $0.limit = 100
        }, metadata: key)
      return "\(reply.total) members"
    }
    try await time("RFM segment members, first 100 (rfm_champions: scores every customer)") {
      let reply = try await segmentation.listMembers(
        .with {
          $0.segment = "rfm_champions"
          $0.limit = 100
        }, metadata: key)
      return "\(reply.total) members"
    }

    // A batch lands: the next call merges only the customers it changed.
    var batch: [(offset: Int64, event: SegmentationEvent)] = []
    var freshRandom = SeededRandom(seed: 20)
    for index in 0..<2_000 {
      for event in customerEvents(index * 499 % options.customers, tickets: 1, random: &freshRandom, ticketBase: ticketsMade + index) {
        offset += 1
        batch.append((offset, event))
      }
    }
    try store.apply(batch, throughOffset: offset)
    let refreshStart = ContinuousClock.now
    _ = try await segmentation.listAtRisk(atRisk, metadata: key)
    say(
      String(
        format: "first call after a %d-event batch for 2,000 customers (merges them): %.0f ms", batch.count,
        ms(ContinuousClock.now - refreshStart)))
    say("resident at the end: \(resident()) (the whole suite runs in this process)")
  }
}
