public import SightlineModel

/// One event on its way to one endpoint, due for an attempt.
public struct PendingDelivery: Sendable, Equatable {
  public var event: DeliveryEvent
  public var endpoint: DeliveryEndpoint
  /// Attempts made so far.
  public var attempts: Int
  /// When the delivery was written (or replayed): its retries end `maxAgeMs` after.
  public var createdMs: Int64
}

/// The deliveries due for an attempt.
public struct DueDeliveries: Sendable, Equatable {
  public var pending: [PendingDelivery] = []
  /// Due deliveries whose stored event or endpoint this version cannot read (written by a
  /// newer version, or damaged): they cannot be sent, so they go to the dead letter, where
  /// they stay visible and replayable, instead of waiting unseen.
  public var unreadable: [DeliveryKey] = []

  public init(pending: [PendingDelivery] = [], unreadable: [DeliveryKey] = []) {
    self.pending = pending
    self.unreadable = unreadable
  }
}

/// One event's delivery to one endpoint.
public struct DeliveryKey: Sendable, Equatable {
  public var eventID: String
  public var endpointID: String

  public init(eventID: String, endpointID: String) {
    self.eventID = eventID
    self.endpointID = endpointID
  }
}

/// What an attempt came to.
public enum DeliveryOutcome: Sendable, Equatable {
  case delivered
  /// Failed; try again at `atMs`.
  case retry(atMs: Int64, error: String)
  /// Failed for the last time: to the dead letter.
  case dead(error: String)
  /// The endpoint answered 410 Gone: it is disabled, and this and its other waiting
  /// deliveries go to the dead letter.
  case gone(error: String)
}

/// A delivery as listings show it.
public struct DeliveryRecord: Sendable, Equatable {
  public var eventID: String
  public var endpointID: String
  /// The event kind's name as stored (a newer version's kinds are listed too).
  public var kind: String
  public var summary: String
  public var status: DeliveryStatus
  public var attempts: Int
  public var createdMs: Int64
  public var nextMs: Int64
  public var lastAttemptMs: Int64?
  public var lastError: String
  public var deliveredMs: Int64?
  /// The digest it went out in ("" when sent on its own).
  public var foldedInto: String
}

/// Which deliveries a listing returns: newest first.
public struct DeliveryFilter: Sendable, Equatable {
  public var status: DeliveryStatus?
  public var endpointID: String?
  public var eventID: String?
  public var limit: Int

  public init(status: DeliveryStatus? = nil, endpointID: String? = nil, eventID: String? = nil, limit: Int = 100) {
    self.status = status
    self.endpointID = endpointID
    self.eventID = eventID
    self.limit = limit
  }
}

/// A tenant's endpoints and its outbox (docs/delivery.md). Events enter the outbox in the
/// transaction that causes them (``AlertStore/save(_:fence:announcing:)``, ``CaseStore``'s
/// `open` and `update`); the deliverer fans them out to the endpoints that chose them and
/// records every attempt. Writes the deliverer makes are fenced by the tenant's lease, so
/// a replica that lost it cannot mark a message delivered or send it twice.
public protocol DeliveryStore: Sendable {
  /// The tenant's endpoints, oldest first.
  func endpoints() throws -> [DeliveryEndpoint]
  /// Adds `endpoint`; false if one of its id exists.
  func addEndpoint(_ endpoint: DeliveryEndpoint) throws -> Bool
  /// Removes the endpoint and its deliveries; false if there is none of that id.
  func removeEndpoint(id: String) throws -> Bool
  /// Writes `event` to the outbox for `endpointID` alone, due at `nowMs` (a test message).
  func enqueue(_ event: DeliveryEvent, endpointID: String, nowMs: Int64) throws
  /// Gives each event not yet fanned out a delivery, due at `nowMs`, to every endpoint that
  /// chose its kind (to a disabled one in the dead letter, so a replay sends it); returns
  /// how many deliveries were written.
  func fanOut(nowMs: Int64, fence: LeaseFence) throws -> Int
  /// Pending deliveries to enabled endpoints due at `nowMs`, the earliest first (those due
  /// at once in the order their events were written).
  func dueDeliveries(nowMs: Int64, limit: Int) throws -> DueDeliveries
  /// Attempts made to `endpointID` at or after `sinceMs` (its rate window).
  func attempts(endpointID: String, sinceMs: Int64) throws -> Int
  /// Records an attempt at `atMs` and what it came to.
  func record(_ outcome: DeliveryOutcome, eventID: String, endpointID: String, atMs: Int64, fence: LeaseFence) throws
  /// Holds `endpointID`'s pending deliveries until at least `untilMs` (the endpoint failed:
  /// its queue backs off with the message that failed, instead of each being tried).
  func postpone(endpointID: String, untilMs: Int64, fence: LeaseFence) throws
  /// Writes `digest` to the outbox for `endpointID`, due at `nowMs`, and marks the
  /// deliveries of `eventIDs` to it folded into it, in one transaction.
  func fold(eventIDs: [String], endpointID: String, into digest: DeliveryEvent, nowMs: Int64, fence: LeaseFence) throws
  /// The deliveries `filter` keeps, newest first.
  func deliveries(_ filter: DeliveryFilter) throws -> [DeliveryRecord]
  /// Puts dead deliveries (of one endpoint or one event, or all) back in the queue, due at
  /// `nowMs` with a fresh retry period, and enables their endpoints again; returns how many.
  func replay(endpointID: String?, eventID: String?, nowMs: Int64) throws -> Int
  /// When the earliest pending delivery to an enabled endpoint falls due, if any.
  func nextDeliveryMs() throws -> Int64?
  /// Removes deliveries sent (on their own or in a digest) before `beforeMs`, then the
  /// events fanned out before it that have no delivery left; pending and dead ones stay.
  func prune(beforeMs: Int64, fence: LeaseFence) throws -> PrunedDeliveries
}

/// What a prune removed.
public struct PrunedDeliveries: Sendable, Equatable {
  public var deliveries: Int
  public var events: Int

  public init(deliveries: Int, events: Int) {
    self.deliveries = deliveries
    self.events = events
  }
}

/// The SQL both backends share for listings.
enum DeliverySQL {
  static let recordColumns = """
    d.event_id, d.endpoint_id, e.kind, e.payload, d.status, d.attempts, d.created_ms, d.next_ms, d.last_attempt_ms, \
    d.last_error, d.delivered_ms, d.folded_into
    """

  static let endpointColumns = "id, name, kind, url, secret, events, language, enabled, disabled_reason, created_ms"
  /// The endpoint's columns, as `p` in a join.
  static let joinedEndpointColumns =
    "p.id, p.name, p.kind, p.url, p.secret, p.events, p.language, p.enabled, p.disabled_reason, p.created_ms"

  /// An endpoint from its stored columns (nil if a stored name is unknown).
  static func endpoint(
    id: String, name: String, kind: String, url: String, secret: String, events: String, language: String, enabled: Int64,
    disabledReason: String, createdMs: Int64
  ) -> DeliveryEndpoint? {
    guard let kind = EndpointKind(rawValue: kind), let language = MessageLanguage(rawValue: language) else { return nil }
    return DeliveryEndpoint(
      id: id, name: name, kind: kind, url: url, secret: secret,
      events: Set(events.split(separator: ",").compactMap { DeliveryEventKind(rawValue: String($0)) }), language: language,
      enabled: enabled != 0, disabledReason: disabledReason, createdMs: createdMs)
  }

  static func events(_ endpoint: DeliveryEndpoint) -> String {
    endpoint.events.map(\.rawValue).sorted().joined(separator: ",")
  }

  /// A listing's row from its stored columns.
  static func record(
    eventID: String, endpointID: String, kind: String, payload: String, status: String, attempts: Int64, createdMs: Int64,
    nextMs: Int64, lastAttemptMs: Int64?, lastError: String, deliveredMs: Int64?, foldedInto: String
  ) -> DeliveryRecord? {
    guard let status = DeliveryStatus(rawValue: status) else { return nil }
    return DeliveryRecord(
      eventID: eventID, endpointID: endpointID, kind: kind, summary: DeliveryEvent(payload: payload)?.facts.summary ?? "",
      status: status, attempts: Int(attempts), createdMs: createdMs, nextMs: nextMs, lastAttemptMs: lastAttemptMs,
      lastError: lastError, deliveredMs: deliveredMs, foldedInto: foldedInto)
  }

  /// An outcome's new status, next attempt and error.
  static func columns(_ outcome: DeliveryOutcome, atMs: Int64) -> (status: DeliveryStatus, nextMs: Int64, error: String) {
    switch outcome {
    case .delivered: (.delivered, atMs, "")
    case .retry(let next, let error): (.pending, next, error)
    case .dead(let error), .gone(let error): (.dead, atMs, error)
    }
  }

  /// The dead letter's reason for a delivery to an endpoint disabled for `reason`.
  static func disabled(_ reason: String) -> String { "endpoint disabled: " + short(reason) }

  /// The deliveries a prune removes: sent on their own or in a digest, before the cutoff.
  static let prunable = "status IN ('delivered', 'folded') AND COALESCE(delivered_ms, last_attempt_ms, created_ms) <"

  /// Errors are kept short: a receiver's whole error page is not a reason.
  static func short(_ error: String) -> String { String(error.prefix(300)) }
}
