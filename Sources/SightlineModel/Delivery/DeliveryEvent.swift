import Foundation

/// Something that happened to a tenant that its endpoints may hear of: written to the
/// outbox in the transaction that makes it happen (docs/delivery.md). Its id is the
/// message id on every attempt, to every endpoint, so a receiver can de-duplicate.
public struct DeliveryEvent: Sendable, Equatable, Codable {
  public var id: String
  public var kind: DeliveryEventKind
  public var atMs: Int64
  /// What the message says, as facts the endpoint's language words.
  public var facts: DeliveryFacts

  /// An event from its parts.
  public init(id: String, kind: DeliveryEventKind, atMs: Int64, facts: DeliveryFacts) {
    self.id = id
    self.kind = kind
    self.atMs = atMs
    self.facts = facts
  }

  /// The event as the outbox stores it.
  public var payload: String { StoredJSON.text(self) }

  /// An event from its stored payload (nil if it cannot be read).
  public init?(payload: String) {
    guard let event = StoredJSON.value(Self.self, from: payload) else { return nil }
    self = event
  }
}

/// The facts of an event; only those of its kind are set.
public struct DeliveryFacts: Sendable, Equatable, Codable {
  /// The alert's or case's id.
  public var subject: String = ""
  /// A one-line summary in English (the alert's message, the case's title).
  public var summary: String = ""
  public var kpi: String?
  public var dimension: String?
  public var dimensionValue: String?
  public var value: Double?
  public var expectedLow: Double?
  public var expectedHigh: Double?
  public var severity: String?
  /// The segments that moved the KPI most, as "dimension=value" and effect.
  public var contributors: [DeliveryContributor] = []
  public var owner: String?
  public var dueMs: Int64?
  public var source: String?
  /// A verification's verdict, effect, interval and p-value.
  public var verdict: String?
  public var effect: Double?
  public var ciLow: Double?
  public var ciHigh: Double?
  public var pValue: Double?
  /// A digest's events, oldest first.
  public var folded: [FoldedEvent] = []

  /// Facts with nothing set.
  public init() {}
}

/// One segment's part in a change, as a message names it.
public struct DeliveryContributor: Sendable, Equatable, Codable {
  public var dimension: String
  public var value: String
  public var effect: Double

  public init(dimension: String, value: String, effect: Double) {
    self.dimension = dimension
    self.value = value
    self.effect = effect
  }
}

/// An event a digest carries: enough to name it.
public struct FoldedEvent: Sendable, Equatable, Codable {
  public var id: String
  public var kind: DeliveryEventKind
  public var atMs: Int64
  public var subject: String
  public var summary: String

  public init(_ event: DeliveryEvent) {
    id = event.id
    kind = event.kind
    atMs = event.atMs
    subject = event.facts.subject
    summary = event.facts.summary
  }
}
