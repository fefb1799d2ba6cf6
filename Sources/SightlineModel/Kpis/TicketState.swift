/// A ticket as its events leave it: the facts the KPIs and segments read (creation,
/// dimensions, first reply, resolutions, reopens, current status, next contact).
///
/// The consumers fold a batch of log entries by loading the touched tickets once,
/// applying every event in log order with ``apply(_:customerID:timeMs:attributes:offset:handleMs:)``
/// and writing the changed tickets back. The rules make the result independent of arrival
/// order and of batch boundaries (docs/kpis.md):
/// - the earliest `created` event defines the ticket (a later one is ignored, an earlier
///   one corrects it; its agent only if it names one);
/// - the first reply and first resolution are the earliest, the last resolution the latest;
/// - the current status is that of the latest status event by event time, ties broken by
///   log offset.
public struct TicketState: Sendable, Equatable {
  public var ticketID: String
  /// The customer named by the defining `created` event ("" before one arrives).
  public var customerID = ""
  /// When the ticket was created (nil until its `created` event arrives).
  public var createdMs: Int64?
  /// The ticket dimensions.
  public var attributes = TicketAttributes()
  public var firstReplyMs: Int64?
  public var replyCount = 0
  public var firstResolvedMs: Int64?
  public var lastResolvedMs: Int64?
  public var reopenCount = 0
  /// The agents' working time on the ticket (the sum of its replies' handle times) and
  /// how many replies carried one.
  public var handleMs: Int64 = 0
  public var handledReplies = 0
  /// Whether the latest status event (created, resolved, reopened) left it open.
  public var statusOpen: Bool?
  public var statusMs: Int64?
  public var statusOffset: Int64?
  /// When the same customer's next ticket was created (repeat contacts); kept by
  /// ``assignNextContacts(_:)``.
  public var nextContactMs: Int64?

  /// A ticket known by its id only (an event arrived before its `created` event).
  public init(ticketID: String) {
    self.ticketID = ticketID
  }

  /// What the defining event decides: who the ticket is for, when and its dimensions.
  public var definition: Definition { Definition(customerID: customerID, createdMs: createdMs, attributes: attributes) }

  /// The part of a ticket that other rows are grouped or joined by.
  public struct Definition: Equatable, Sendable {
    public var customerID: String
    public var createdMs: Int64?
    public var attributes: TicketAttributes
  }

  /// Applies one event of this ticket. Returns whether it is a status event, which the
  /// status history (backlog) keeps.
  @discardableResult
  public mutating func apply(
    _ type: TicketEventType, customerID: String, timeMs: Int64, attributes: TicketAttributes, offset: Int64,
    handleMs: Int64? = nil
  ) -> Bool {
    switch type {
    case .created:
      if createdMs == nil || createdMs! > timeMs {
        let agent = attributes.agent.isEmpty ? self.attributes.agent : attributes.agent
        createdMs = timeMs
        self.customerID = customerID
        self.attributes = attributes
        self.attributes.agent = agent
      }
      recordStatus(open: true, timeMs: timeMs, offset: offset)
      return true
    case .agentReply:
      replyCount += 1
      firstReplyMs = min(firstReplyMs ?? timeMs, timeMs)
      if let handleMs {
        self.handleMs += handleMs
        handledReplies += 1
      }
      if self.attributes.agent.isEmpty { self.attributes.agent = attributes.agent }
      return false
    case .resolved:
      firstResolvedMs = min(firstResolvedMs ?? timeMs, timeMs)
      lastResolvedMs = max(lastResolvedMs ?? timeMs, timeMs)
      recordStatus(open: false, timeMs: timeMs, offset: offset)
      return true
    case .reopened:
      reopenCount += 1
      recordStatus(open: true, timeMs: timeMs, offset: offset)
      return true
    case .customerReply:
      return false
    }
  }

  private mutating func recordStatus(open: Bool, timeMs: Int64, offset: Int64) {
    if let statusMs, statusMs > timeMs || (statusMs == timeMs && (statusOffset ?? .min) >= offset) { return }
    statusOpen = open
    statusMs = timeMs
    statusOffset = offset
  }

  /// Sets each ticket's next contact: the creation of the same customer's next ticket
  /// (the earliest created strictly later), nil for the last. `tickets` must be all the
  /// created tickets of one customer.
  public static func assignNextContacts(_ tickets: inout [TicketState]) {
    let times = tickets.compactMap(\.createdMs).sorted()
    for index in tickets.indices {
      guard let created = tickets[index].createdMs else { continue }
      // The first time strictly greater than `created` (binary search).
      var low = 0
      var high = times.count
      while low < high {
        let middle = (low + high) / 2
        if times[middle] <= created { low = middle + 1 } else { high = middle }
      }
      tickets[index].nextContactMs = low < times.count ? times[low] : nil
    }
  }
}
