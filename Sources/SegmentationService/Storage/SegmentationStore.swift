import Foundation
public import SightlineModel
public import SightlineStorage

/// A log entry reduced to what segmentation keeps.
public enum SegmentationEvent: Sendable {
  case profile(customerID: String, attributes: [String: String], signupMs: Int64?, timeMs: Int64)
  case ticket(ticketID: String, customerID: String, type: TicketEventType, timeMs: Int64, complaint: Bool, problemType: String)
  case answer(responseID: String, customerID: String, ticketID: String, scale: SurveyScale, score: Int, timeMs: Int64, comment: String)
  case feedback(id: String, customerID: String, ticketID: String, source: String, text: String, timeMs: Int64, rating: Int)
  case order(id: String, customerID: String, amountMinor: Int64, timeMs: Int64)
  case other
}

/// A ticket as scorecards read it.
public struct SegmentTicket: Sendable {
  public var customerID: String
  public var createdMs: Int64
  public var complaint: Bool
  public var resolved: Bool
  public var replyCount: Int
  public var reopenCount: Int
  public var firstReplyMs: Int64?
}

/// A text to mine for themes: feedback, or a survey comment.
public struct FeedbackDocument: Sendable {
  public var id: String
  public var customerID: String
  public var problemType: String
  public var text: String
  public var timeMs: Int64
  /// A low rating or score goes with it (CSAT ≤ 2, NPS ≤ 6, rating ≤ 2).
  public var lowScore: Bool
}

/// A tenant's segmentation state: what segmentation needs from its storage. The fold
/// keeps each customer's profile, tickets, answers, orders and texts with the offset
/// applied, in one transaction per batch; the reads feed RFM, risk, scorecards and themes.
public protocol SegmentationStore: Sendable {
  /// The last log offset applied (0 before the first batch).
  func appliedOffset() throws -> Int64
  /// Applies entries above the stored offset and stores `throughOffset`, atomically.
  func apply(_ entries: [(offset: Int64, event: SegmentationEvent)], throughOffset: Int64) throws
  /// Every customer's facts (profile, tickets, answers, orders).
  func customers() throws -> [CustomerFacts]
  /// Tickets created in [startMs, endMs).
  func tickets(startMs: Int64, endMs: Int64) throws -> [SegmentTicket]
  /// Survey answers given in [startMs, endMs).
  func answers(startMs: Int64, endMs: Int64) throws -> [(customerID: String, scale: SurveyScale, score: Int)]
  /// Texts (feedback and survey comments) in the range, all when nil.
  func documents(startMs: Int64?, endMs: Int64?) throws -> [FeedbackDocument]
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
