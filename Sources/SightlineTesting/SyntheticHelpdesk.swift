import SightlineModel
public import SightlineWire
import SwiftProtobuf

/// Synthetic helpdesk history for the benchmarks: tickets created over `days` days across
/// business lines, each with its reply, resolution, maybe a reopen and a CSAT answer
/// (about 3.4 events per ticket), seeded so every run sees the same data.
///
/// Real exports arrive in time order, so a ticket's events are spread among other
/// tickets' (``Order/interleaved``); ``Order/sorted`` keeps each ticket's events together,
/// which keeps every page a consumer touches hot and flatters it.
public struct SyntheticHelpdesk: Sendable {
  /// The order events are produced in.
  public enum Order: String, Sendable, CaseIterable {
    /// By event time, as a helpdesk exports them: a ticket's reply comes an hour or so
    /// later, among a thousand other tickets' events.
    case interleaved
    /// Ticket by ticket.
    case sorted
  }

  public var tickets: Int
  public var days: Int
  public var lines: Int
  public var order: Order
  /// The end of the period (the tickets are created in the `days` before it, less a day).
  public var endMs: Int64

  public init(tickets: Int, days: Int = 120, lines: Int = 20, order: Order = .interleaved, endMs: Int64) {
    self.tickets = tickets
    self.days = days
    self.lines = lines
    self.order = order
    self.endMs = endMs
  }

  private static let dayMs: Int64 = 86_400_000

  /// Calls `body` with the events in batches of `size` (the last may be smaller).
  public func forEachBatch(
    size: Int, _ body: ([Sightline_Ingestion_V1_Event]) async throws -> Void
  ) async throws {
    var batch: [Sightline_Ingestion_V1_Event] = []
    batch.reserveCapacity(size)
    func emit(_ event: Sightline_Ingestion_V1_Event) async throws {
      batch.append(event)
      if batch.count >= size {
        try await body(batch)
        batch.removeAll(keepingCapacity: true)
      }
    }
    var random = SeededRandom(seed: 42)
    var pending = EventHeap()
    let startMs = endMs - Int64(days) * Self.dayMs
    let span = Double(endMs - startMs - Self.dayMs)
    for index in 0..<tickets {
      // Interleaved: tickets are created in index order; sorted: at random times.
      let created =
        order == .interleaved
        ? startMs + Int64(span * (Double(index) + random.unit()) / Double(tickets))
        : startMs + Int64(random.unit() * span)
      for event in ticketEvents(index, created: created, random: &random) {
        if order == .sorted { try await emit(event.event) } else { pending.push(event) }
      }
      // Everything due before this ticket's creation has happened: send it.
      while let first = pending.first, first.timeMs <= created { try await emit(pending.pop()!.event) }
    }
    while let next = pending.pop() { try await emit(next.event) }
    if !batch.isEmpty { try await body(batch) }
  }

  /// The events of ticket `index`, created at `created`.
  private func ticketEvents(_ index: Int, created: Int64, random: inout SeededRandom) -> [TimedEvent] {
    let ticket = "T\(index)"
    let line = "L\(index % lines + 1)"
    let customer = "C\(Int(random.next() % UInt64(max(tickets / 3, 1))))"
    let priority: Sightline_Ingestion_V1_Priority = random.pick([.low, .normal, .normal, .high, .urgent])
    let complaint = random.chance(0.06)
    var events: [TimedEvent] = []
    func add(_ kind: Sightline_Ingestion_V1_TicketEventKind, _ ms: Int64) {
      let sequence = events.count + 1
      events.append(
        TimedEvent(
          timeMs: ms, sequence: index &* 8 &+ sequence,
          event: .with {
            $0.eventID = "\(ticket)-\(sequence)"
            $0.ticketEvent = .with {
              $0.ticketID = ticket
              $0.customerID = customer
              $0.time = RFC3339.format(milliseconds: ms)
              $0.kind = kind
              $0.businessLine = line
              $0.channel = "wechat"
              $0.region = "r\(index % 6)"
              $0.priority = priority
              $0.complaint = complaint
            }
          }))
    }
    add(.created, created)
    guard random.chance(0.98) else { return events }
    let reply = created + Int64(random.logNormal(median: 3_600, sigma: 0.8) * 1000)
    add(.agentReply, reply)
    guard random.chance(0.95) else { return events }
    let resolved = reply + Int64(random.logNormal(median: 14_400, sigma: 0.8) * 1000)
    add(.resolved, resolved)
    if random.chance(0.07) {
      add(.reopened, resolved + 3_600_000)
      add(.resolved, resolved + 7_200_000)
    }
    if random.chance(0.4) {
      let score = Int32(1 + random.next() % 5)
      let answered = resolved + 600_000
      events.append(
        TimedEvent(
          timeMs: answered, sequence: index &* 8 &+ 7,
          event: .with {
            $0.eventID = "\(ticket)-csat"
            $0.surveyResponse = .with {
              $0.customerID = customer
              $0.ticketID = ticket
              $0.kind = .csat
              $0.score = score
              $0.time = RFC3339.format(milliseconds: answered)
            }
          }))
    }
    return events
  }
}

/// An event with its time, ordered by time and then by a sequence (stable order).
private struct TimedEvent {
  var timeMs: Int64
  var sequence: Int
  var event: Sightline_Ingestion_V1_Event

  func precedes(_ other: TimedEvent) -> Bool { (timeMs, sequence) < (other.timeMs, other.sequence) }
}

/// A binary min-heap of events by time.
private struct EventHeap {
  private var items: [TimedEvent] = []

  var first: TimedEvent? { items.first }

  mutating func push(_ item: TimedEvent) {
    items.append(item)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard items[child].precedes(items[parent]) else { break }
      items.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> TimedEvent? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let top = items.removeLast()
    var parent = 0
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var smallest = parent
      if left < items.count, items[left].precedes(items[smallest]) { smallest = left }
      if right < items.count, items[right].precedes(items[smallest]) { smallest = right }
      if smallest == parent { break }
      items.swapAt(parent, smallest)
      parent = smallest
    }
    return top
  }
}
