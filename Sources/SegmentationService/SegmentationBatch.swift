import SightlineModel

/// One batch of the segmentation fold, worked out in memory whatever the backend: the
/// store loads the tickets and profiles the batch touches, ``apply()`` plays the events on
/// them in log order, and the store writes back what changed and inserts the batch's
/// answers, texts and orders, with the offset, in one transaction. The rules are the
/// metrics fold's (``TicketState``); the latest profile by its own time wins.
struct SegmentationBatch {
  /// A customer's profile as segments read it.
  struct Profile: Equatable {
    var attributes: [String: String]
    var signupMs: Int64?
    var profileMs: Int64
    /// When the first profile applied was dated (it moves only with a profile that applies).
    var firstProfileMs: Int64
  }

  let events: [(offset: Int64, event: SegmentationEvent)]
  private(set) var loadedTickets: [String: TicketState] = [:]
  private(set) var tickets: [String: TicketState] = [:]
  private(set) var loadedProfiles: [String: Profile] = [:]
  private(set) var profiles: [String: Profile] = [:]

  init(_ events: [(offset: Int64, event: SegmentationEvent)]) {
    self.events = events
  }

  /// Tickets the events name.
  var ticketIDs: Set<String> {
    var ids = Set<String>()
    for case (_, .ticket(let ticketID, _, _, _, _, _)) in events { ids.insert(ticketID) }
    return ids
  }

  /// Customers whose profiles the events carry.
  var profileCustomerIDs: Set<String> {
    var ids = Set<String>()
    for case (_, .profile(let customerID, _, _, _)) in events { ids.insert(customerID) }
    return ids
  }

  /// Adds stored tickets and profiles.
  mutating func load(tickets stored: [TicketState], profiles storedProfiles: [String: Profile]) {
    for ticket in stored {
      loadedTickets[ticket.ticketID] = ticket
      tickets[ticket.ticketID] = ticket
    }
    loadedProfiles = storedProfiles
    profiles = storedProfiles
  }

  /// Plays the ticket and profile events in log order.
  mutating func apply() {
    for (offset, event) in events {
      switch event {
      case .ticket(let ticketID, let customerID, let type, let timeMs, let complaint, let problemType):
        tickets[ticketID, default: TicketState(ticketID: ticketID)].apply(
          type, customerID: customerID, timeMs: timeMs,
          attributes: TicketAttributes(problemType: problemType, complaint: complaint), offset: offset)
      case .profile(let customerID, let attributes, let signupMs, let timeMs):
        let first: Int64
        if let current = profiles[customerID] {
          if current.profileMs > timeMs { continue }
          first = min(current.firstProfileMs, timeMs)
        } else {
          first = timeMs
        }
        profiles[customerID] = Profile(attributes: attributes, signupMs: signupMs, profileMs: timeMs, firstProfileMs: first)
      case .answer, .feedback, .order, .other:
        continue
      }
    }
  }

  /// Tickets new or changed by the batch.
  var changedTickets: [TicketState] { tickets.values.filter { $0 != loadedTickets[$0.ticketID] } }

  /// Customers whose facts the batch changed: those of its profiles, answers and orders,
  /// and both the old and the new customer of every changed ticket.
  var changedCustomers: Set<String> {
    var ids = Set<String>()
    for ticket in changedTickets {
      ids.insert(ticket.customerID)
      if let before = loadedTickets[ticket.ticketID] { ids.insert(before.customerID) }
    }
    for (id, _) in changedProfiles { ids.insert(id) }
    for (_, event) in events {
      switch event {
      case .answer(_, let customerID, _, _, _, _, _), .order(_, let customerID, _, _): ids.insert(customerID)
      case .profile, .ticket, .feedback, .other: continue
      }
    }
    ids.remove("")
    return ids
  }

  /// Profiles new or changed by the batch.
  var changedProfiles: [(customerID: String, profile: Profile)] {
    profiles.compactMap { id, profile in profile != loadedProfiles[id] ? (id, profile) : nil }
  }
}
