import SightlineModel

/// One batch of the metrics fold, worked out in memory whatever the backend: the store
/// loads what the batch touches (``ticketIDs``, then the tickets of ``customersToLoad(_:)``,
/// the answers and profiles it names), ``apply()`` plays every event on those rows in log
/// order, and the store writes back what changed, with the offset, in one transaction.
///
/// The result is the one the event-at-a-time fold gave (docs/kpis.md): the same rules
/// (``TicketState``), the same repeat contacts, and a superset of the hours it marked for
/// the rollups.
struct MetricsBatch {
  /// A customer's profile as the KPIs group by it.
  struct Profile: Equatable {
    var type: String
    var tier: String
    var region: String
    var profileMs: Int64
  }

  /// A survey answer to store.
  struct Answer {
    var responseID: String
    var customerID: String
    var ticketID: String
    var scale: SurveyScale
    var score: Int
    var timeMs: Int64
    var channel: String
  }

  /// A status event to keep in the history.
  struct StatusEvent {
    var ticketID: String
    var offset: Int64
    var timeMs: Int64
    var open: Bool
  }

  let events: [(offset: Int64, event: MetricsEvent)]

  /// The tickets as loaded (absent: not stored yet) and as the batch leaves them.
  private(set) var loadedTickets: [String: TicketState] = [:]
  private(set) var tickets: [String: TicketState] = [:]
  /// Stored profiles of the customers whose profiles the batch carries, and the result.
  private(set) var loadedProfiles: [String: Profile] = [:]
  private(set) var profiles: [String: Profile] = [:]
  /// Answers already stored (a re-delivered answer is ignored).
  private var storedAnswers: Set<String> = []

  private(set) var statusEvents: [StatusEvent] = []
  private(set) var newAnswers: [Answer] = []
  /// The UTC hours whose rollups the batch changed (more may be marked after reading the
  /// rows of ``storedRowsToMark``).
  private(set) var changedHours = Set<Int64>()

  init(_ events: [(offset: Int64, event: MetricsEvent)]) {
    self.events = events
  }

  // MARK: What to load

  /// Tickets the events name.
  var ticketIDs: Set<String> {
    var ids = Set<String>()
    for case (_, .ticket(let ticketID, _, _, _, _, _)) in events { ids.insert(ticketID) }
    return ids
  }

  /// Customers whose tickets' next contacts the batch may change: those its `created`
  /// events name, and the stored customers of the tickets those events correct. All their
  /// tickets must be loaded before ``apply()``.
  func customersToLoad(_ stored: [String: TicketState]) -> Set<String> {
    var customers = Set<String>()
    for case (_, .ticket(let ticketID, let customerID, .created, _, _, _)) in events {
      customers.insert(customerID)
      if let old = stored[ticketID]?.customerID { customers.insert(old) }
    }
    customers.remove("")
    return customers
  }

  /// Answer ids the events carry.
  var answerIDs: [String] {
    events.compactMap { if case .survey(let id, _, _, _, _, _, _) = $0.event { id } else { nil } }
  }

  /// Customers whose profiles the events carry.
  var profileCustomerIDs: Set<String> {
    var ids = Set<String>()
    for case (_, .profile(let customerID, _, _, _, _)) in events { ids.insert(customerID) }
    return ids
  }

  // MARK: Loading

  /// Adds stored tickets (by id, or all the tickets of a customer).
  mutating func load(tickets stored: [TicketState]) {
    for ticket in stored where loadedTickets[ticket.ticketID] == nil {
      loadedTickets[ticket.ticketID] = ticket
      tickets[ticket.ticketID] = ticket
    }
  }

  /// Adds stored profiles.
  mutating func load(profiles stored: [String: Profile]) {
    loadedProfiles.merge(stored) { old, _ in old }
    profiles.merge(stored) { old, _ in old }
  }

  /// Notes the answers already stored.
  mutating func load(storedAnswers ids: some Sequence<String>) { storedAnswers.formUnion(ids) }

  // MARK: Folding

  /// Plays every event in log order on the loaded rows, then recomputes the next contacts
  /// of every customer whose tickets moved, and collects the changed hours.
  mutating func apply() {
    for (offset, event) in events {
      switch event {
      case .ticket(let ticketID, let customerID, let type, let timeMs, let attributes, let handleMs):
        let isStatus = tickets[ticketID, default: TicketState(ticketID: ticketID)].apply(
          type, customerID: customerID, timeMs: timeMs, attributes: attributes, offset: offset, handleMs: handleMs)
        if isStatus { statusEvents.append(StatusEvent(ticketID: ticketID, offset: offset, timeMs: timeMs, open: type != .resolved)) }
      case .survey(let responseID, let customerID, let ticketID, let scale, let score, let timeMs, let channel):
        guard storedAnswers.insert(responseID).inserted else { continue }
        newAnswers.append(
          Answer(
            responseID: responseID, customerID: customerID, ticketID: ticketID, scale: scale, score: score,
            timeMs: timeMs, channel: channel))
        mark(timeMs)
      case .profile(let customerID, let type, let tier, let region, let timeMs):
        // The latest profile (by its own time) wins, whatever the arrival order.
        if let current = profiles[customerID], current.profileMs > timeMs { continue }
        profiles[customerID] = Profile(type: type, tier: tier, region: region, profileMs: timeMs)
      case .other:
        continue
      }
    }
    assignNextContacts()
    changedTickets = tickets.values.filter { $0 != loadedTickets[$0.ticketID] }
    for ticket in changedTickets {
      if let created = loadedTickets[ticket.ticketID]?.createdMs { mark(created) }
      if let created = ticket.createdMs { mark(created) }
    }
  }

  /// Repeat contacts: "the same customer's next ticket", recomputed for every customer a
  /// ticket joined or left, over all of that customer's tickets (a handful).
  private mutating func assignNextContacts() {
    var customers = Set<String>()
    for (id, ticket) in tickets
    where ticket.definition.customerID != loadedTickets[id]?.customerID
      || ticket.createdMs != loadedTickets[id]?.createdMs
    {
      customers.insert(ticket.customerID)
      if let old = loadedTickets[id]?.customerID { customers.insert(old) }
    }
    customers.remove("")
    guard !customers.isEmpty else { return }
    var byCustomer: [String: [TicketState]] = [:]
    for ticket in tickets.values where ticket.createdMs != nil && customers.contains(ticket.customerID) {
      byCustomer[ticket.customerID, default: []].append(ticket)
    }
    for var group in byCustomer.values {
      TicketState.assignNextContacts(&group)
      for ticket in group { tickets[ticket.ticketID] = ticket }
    }
  }

  private mutating func mark(_ ms: Int64) { changedHours.insert(ms / 3_600_000) }

  // MARK: What to write

  /// Tickets new or changed by the batch (after ``apply()``).
  private(set) var changedTickets: [TicketState] = []

  /// Profiles new or changed by the batch.
  var changedProfiles: [(customerID: String, profile: Profile)] {
    profiles.compactMap { id, profile in profile != loadedProfiles[id] ? (id, profile) : nil }
  }

  /// Stored rows the batch changed the dimensions of without touching them: their hours
  /// must be marked too. Each is read as `SELECT timeColumn FROM table WHERE keyColumn IN
  /// keys`.
  struct StoredRows {
    var table: String
    var timeColumn: String
    var keyColumn: String
    var keys: [String]
  }

  /// The answers of tickets whose definition changed (they take the ticket's dimensions),
  /// the answers of customers whose profile changed (answers without a ticket region take
  /// the profile's; all take its tier and type), and the tickets of customers whose tier or
  /// type changed.
  var storedRowsToMark: [StoredRows] {
    let tickets = changedTickets.filter { $0.definition != loadedTickets[$0.ticketID]?.definition }.map(\.ticketID)
    let profiles = changedProfiles
    let regrouped = profiles.filter { id, profile in
      let old = loadedProfiles[id]
      return (old?.tier ?? "") != profile.tier || (old?.type ?? "") != profile.type
    }
    return [
      StoredRows(table: "survey", timeColumn: "time_ms", keyColumn: "ticket_id", keys: tickets),
      StoredRows(table: "survey", timeColumn: "time_ms", keyColumn: "customer_id", keys: profiles.map(\.customerID)),
      StoredRows(table: "ticket", timeColumn: "created_ms", keyColumn: "customer_id", keys: regrouped.map(\.customerID)),
    ].filter { !$0.keys.isEmpty }
  }

  /// Marks the hours of `times` (of rows read from the store).
  mutating func markHours(_ times: some Sequence<Int64>) {
    for ms in times { mark(ms) }
  }
}
