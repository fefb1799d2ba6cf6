import Foundation
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
    for case (_, .ticket(let ticketID, _, _, _, _)) in events { ids.insert(ticketID) }
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
      case .ticket(let ticketID, let customerID, let type, let timeMs, let attributes):
        tickets[ticketID, default: TicketState(ticketID: ticketID)].apply(
          type, customerID: customerID, timeMs: timeMs, attributes: attributes, offset: offset)
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

  /// The rows the batch's answers, texts and orders add (the first of an id wins, as a
  /// re-delivered event must change nothing: stores insert them ignoring conflicts).
  var newRecords: NewRecords {
    var records = NewRecords()
    for (_, event) in events {
      switch event {
      case .answer(let responseID, let customerID, let ticketID, let scale, let score, let timeMs, let comment):
        records.answers.append((responseID, customerID, ticketID, scale, score, timeMs, comment))
      case .feedback(let id, let customerID, let ticketID, let source, let text, let timeMs, let rating):
        records.texts.append((id, customerID, ticketID, source, text, timeMs, rating))
      case .order(let id, let customerID, let amountMinor, let timeMs):
        records.orders.append((id, customerID, amountMinor, timeMs))
      case .profile, .ticket, .other:
        continue
      }
    }
    return records
  }

  /// See ``newRecords``.
  struct NewRecords {
    var answers:
      [(responseID: String, customerID: String, ticketID: String, scale: SurveyScale, score: Int, timeMs: Int64, comment: String)] = []
    var texts: [(id: String, customerID: String, ticketID: String, source: String, text: String, timeMs: Int64, rating: Int)] = []
    var orders: [(id: String, customerID: String, amountMinor: Int64, timeMs: Int64)] = []
  }
}

/// A profile's free attributes as both backends store them: a JSON object with sorted keys.
enum ProfileAttributesJSON {
  static func encode(_ attributes: [String: String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: attributes, options: [.sortedKeys]), as: UTF8.self)
  }

  static func decode(_ json: String) -> [String: String] {
    (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]) ?? [:]
  }

  /// Decodes, parsing each distinct text once: most customers share a handful of attribute
  /// sets (the cache stops growing at 100,000 texts).
  struct Cache {
    private var parsed: [String: [String: String]] = [:]

    mutating func decode(_ json: String) -> [String: String] {
      if let attributes = parsed[json] { return attributes }
      let attributes = ProfileAttributesJSON.decode(json)
      if parsed.count < 100_000 { parsed[json] = attributes }
      return attributes
    }
  }
}

/// The segment windows as both backends store them: one (name, days) row per window.
enum SegmentWindowRows {
  static func windows(from rows: [(name: String, value: Double)]) -> SegmentWindows {
    var windows = SegmentWindows()
    for (name, value) in rows {
      switch name {
      case "new_days": windows.newDays = value
      case "active_days": windows.activeDays = value
      case "at_risk_days": windows.atRiskDays = value
      case "dormant_days": windows.dormantDays = value
      case "rfm_days": windows.rfmDays = value
      default: break
      }
    }
    return windows
  }

  static func rows(_ windows: SegmentWindows) -> [(name: String, value: Double)] {
    [
      ("new_days", windows.newDays), ("active_days", windows.activeDays), ("at_risk_days", windows.atRiskDays),
      ("dormant_days", windows.dormantDays), ("rfm_days", windows.rfmDays),
    ]
  }
}

extension FeedbackDocument {
  /// Whether a survey answer is a low score, for its comment: CSAT or CES ≤ 2, NPS ≤ 6.
  static func isLowScore(scale: String, score: Int) -> Bool {
    (scale == "csat" && score <= 2) || (scale == "nps" && score <= 6) || (scale == "ces" && score <= 2)
  }

  /// Whether a feedback text's rating is a low one (1 or 2; 0 is no rating).
  static func isLowRating(_ rating: Int) -> Bool { rating > 0 && rating <= 2 }
}
