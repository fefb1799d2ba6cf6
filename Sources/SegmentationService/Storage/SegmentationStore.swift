import Foundation
public import SightlineModel
public import SightlineStorage

/// A log entry reduced to what segmentation keeps.
public enum SegmentationEvent: Sendable {
  case profile(customerID: String, attributes: [String: String], signupMs: Int64?, timeMs: Int64)
  /// A ticket event with what segmentation keeps of its attributes: complaint, problem type,
  /// business line, product module and channel (the last three split themes).
  case ticket(ticketID: String, customerID: String, type: TicketEventType, timeMs: Int64, attributes: TicketAttributes)
  case answer(responseID: String, customerID: String, ticketID: String, scale: SurveyScale, score: Int, timeMs: Int64, comment: String)
  case feedback(id: String, customerID: String, ticketID: String, source: String, text: String, timeMs: Int64, rating: Int)
  case order(id: String, customerID: String, amountMinor: Int64, timeMs: Int64)
  case other
}

/// Customer facts read from a store: every customer, or those changed after an offset.
public struct CustomerFactsUpdate: Sendable {
  /// The applied offset the facts are as of.
  public var offset: Int64
  /// The customers' facts.
  public var customers: CustomerTable
  /// For a change read, every customer changed (sorted): those missing from `customers`
  /// have no facts left (their only ticket moved to another customer). Nil for a full read.
  public var changedIDs: [String]?

  public init(offset: Int64, customers: CustomerTable, changedIDs: [String]?) {
    self.offset = offset
    self.customers = customers
    self.changedIDs = changedIDs
  }
}

/// A text to mine for themes: feedback, or a survey comment.
public struct FeedbackDocument: Sendable {
  public var id: String
  public var customerID: String
  public var problemType: String
  /// Of the text's ticket ("" without one).
  public var businessLine = ""
  public var productModule = ""
  public var channel = ""
  public var text: String
  public var timeMs: Int64
  /// A low rating or score goes with it (CSAT ≤ 2, NPS ≤ 6, rating ≤ 2).
  public var lowScore: Bool
}

/// A customer's own words: a survey comment or a piece of feedback.
public struct CustomerText: Sendable, Equatable {
  public var customerID: String
  /// "survey", or the feedback's source (app_review, social, chat, ...).
  public var source: String
  public var text: String
  public var timeMs: Int64
  public var ticketID: String
  /// nps, csat or ces for a survey comment ("" for feedback).
  public var scale: String
  /// The answer's score, or the feedback's rating (0: none).
  public var score: Int

  public init(customerID: String, source: String, text: String, timeMs: Int64, ticketID: String, scale: String, score: Int) {
    self.customerID = customerID
    self.source = source
    self.text = text
    self.timeMs = timeMs
    self.ticketID = ticketID
    self.scale = scale
    self.score = score
  }
}

/// A tenant's segmentation state: what segmentation needs from its storage. The fold
/// keeps each customer's profile, tickets, answers, orders and texts with the offset
/// applied, in one transaction per batch; the reads feed RFM, risk, scorecards and themes.
public protocol SegmentationStore: Sendable {
  /// The last log offset applied (0 before the first batch).
  func appliedOffset() throws -> Int64
  /// Applies entries above the stored offset and stores `throughOffset`, atomically, if
  /// `fence` is still the tenant's segmentation lease (else ``LeaseLost``, and nothing is
  /// written).
  func apply(_ entries: [(offset: Int64, event: SegmentationEvent)], throughOffset: Int64, fence: LeaseFence) throws
  /// Customers' facts (profile, tickets, answers, orders) as of the applied offset, read
  /// at once with it: every customer when `changedAfter` is nil, else only the customers
  /// that batches after that offset changed.
  func customerFacts(changedAfter offset: Int64?) throws -> CustomerFactsUpdate
  /// Texts (feedback and survey comments) in the range, all when nil.
  func documents(startMs: Int64?, endMs: Int64?) throws -> [FeedbackDocument]
  /// The texts of `customerIDs` at or after `sinceMs` (survey comments and feedback),
  /// newest first.
  func customerTexts(customerIDs: [String], sinceMs: Int64) throws -> [CustomerText]
  /// The tenant's segment windows (defaults until set).
  func windows() throws -> SegmentWindows
  /// Replaces the tenant's segment windows.
  func setWindows(_ windows: SegmentWindows) throws
  /// Saves (or replaces) a named segment; returns its creation time.
  func saveSegment(name: String, expression: String) throws -> Int64
  /// Saved segments by name.
  func segments() throws -> [(name: String, expression: String, createdMs: Int64)]
  /// Deletes a saved segment; false if unknown.
  func deleteSegment(name: String) throws -> Bool
}

/// Every tenant's segmentation state, and the tenant data lifecycle over them.
public protocol SegmentationStorage: TenantDataStore {
  /// The segmentation state of `tenant`, created on first use.
  func segmentation(for tenant: TenantID) throws -> any SegmentationStore
}

extension SQLiteTenantStores: SegmentationStorage where Schema == SegmentationSchema {
  public func segmentation(for tenant: TenantID) throws -> any SegmentationStore { try store(for: tenant) }
}

extension SegmentationStore {
  /// Applies `entries` as the store's only writer (no lease to check).
  public func apply(_ entries: [(offset: Int64, event: SegmentationEvent)], throughOffset: Int64) throws {
    try apply(entries, throughOffset: throughOffset, fence: .sole)
  }
}
