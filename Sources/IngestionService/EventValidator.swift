import Foundation
import SightlineModel
import SightlineStorage
public import SightlineWire
import SwiftProtobuf

/// A record that passed validation, normalised and ready to append.
public struct ValidatedEvent: Sendable {
  /// The normalised event (UTC times, trimmed text, aliases applied).
  public var event: Sightline_Ingestion_V1_Event
  /// Record kind, e.g. `ticket_event`.
  public var kind: String
  /// Event time in Unix milliseconds.
  public var eventTimeMs: Int64
}

/// Validates and normalises input records (rules in docs/ingestion.md).
///
/// Pure: the tenant's alias maps and the clock are passed in, so every rule is testable
/// without I/O.
public struct EventValidator: Sendable {
  /// Earliest accepted event time: 2000-01-01T00:00:00Z.
  public static let earliestMs: Int64 = 946_684_800_000
  /// How far in the future an event time may be (clock skew allowance): one day.
  public static let futureAllowanceMs: Int64 = 86_400_000
  /// The largest handle time a reply may carry, seconds (a day).
  public static let maxHandleSeconds: Double = 86_400
  /// Largest accepted free text (feedback text, survey comment), in UTF-8 bytes.
  public static let maxTextBytes = 16 * 1024
  /// Largest accepted id or label, in UTF-8 bytes.
  public static let maxFieldBytes = 256

  /// Channel aliases, keys normalised with `AliasKey.normalise`.
  public var channelAliases: [String: String]
  /// Problem-type aliases, keys normalised.
  public var problemTypeAliases: [String: String]
  /// "Now" in Unix milliseconds.
  public var nowMs: Int64

  /// A validator with the tenant's alias maps, judging times against `nowMs`.
  public init(channelAliases: [String: String] = [:], problemTypeAliases: [String: String] = [:], nowMs: Int64) {
    self.channelAliases = channelAliases
    self.problemTypeAliases = problemTypeAliases
    self.nowMs = nowMs
  }

  /// Validates `event` at position `index` of its batch.
  public func validate(_ event: Sightline_Ingestion_V1_Event, index: Int) -> Result<ValidatedEvent, RecordProblem> {
    var checker = Checker(index: index, recordID: event.eventID, validator: self)
    let normalised = checker.run(event)
    if let problem = checker.problem { return .failure(problem) }
    return .success(normalised!)
  }
}

/// Why one record was rejected.
public struct RecordProblem: Error, Sendable, Equatable {
  /// Position in the batch.
  public var index: Int
  /// The record's event id (may be empty).
  public var recordID: String
  /// Field path, e.g. `survey_response.score`.
  public var field: String
  /// Stable code: `missing`, `out_of_range`, `unparseable`, `too_large`, `invalid`.
  public var code: String
  /// A sentence.
  public var reason: String

  /// As the wire's `RecordError`.
  public var wire: Sightline_Common_V1_RecordError {
    .with {
      $0.index = Int64(index)
      $0.recordID = recordID
      $0.field = field
      $0.code = code
      $0.reason = reason
    }
  }
}

/// Walks one record, stopping at the first problem (one clear reason per record).
private struct Checker {
  let index: Int
  let recordID: String
  let validator: EventValidator
  var problem: RecordProblem?

  mutating func fail(_ field: String, _ code: String, _ reason: String) {
    if problem == nil { problem = RecordProblem(index: index, recordID: recordID, field: field, code: code, reason: reason) }
  }

  mutating func id(_ value: String, _ field: String, required: Bool = true) -> String {
    let trimmed = value.trimmingWhitespace
    if trimmed.isEmpty && required { fail(field, "missing", "is required") }
    if trimmed.utf8.count > EventValidator.maxFieldBytes {
      fail(field, "too_large", "is longer than \(EventValidator.maxFieldBytes) bytes")
    }
    return trimmed
  }

  mutating func text(_ value: String, _ field: String, required: Bool) -> String {
    let trimmed = value.trimmingWhitespace
    if trimmed.isEmpty && required { fail(field, "missing", "is required") }
    if trimmed.utf8.count > EventValidator.maxTextBytes {
      fail(field, "too_large", "is \(trimmed.utf8.count) bytes, more than the limit of \(EventValidator.maxTextBytes)")
    }
    return trimmed
  }

  mutating func time(_ value: String, _ field: String, required: Bool = true) -> (String, Int64)? {
    let trimmed = value.trimmingWhitespace
    if trimmed.isEmpty {
      if required { fail(field, "missing", "is required") }
      return nil
    }
    guard let ms = RFC3339.parseMilliseconds(trimmed) else {
      fail(field, "unparseable", "'\(trimmed.prefix(64))' is not an RFC 3339 time such as 2026-03-01T09:30:00+08:00")
      return nil
    }
    if ms < EventValidator.earliestMs {
      fail(field, "out_of_range", "\(trimmed) is before 2000-01-01")
      return nil
    }
    if ms > validator.nowMs + EventValidator.futureAllowanceMs {
      fail(field, "out_of_range", "\(trimmed) is more than a day in the future")
      return nil
    }
    return (RFC3339.format(milliseconds: ms), ms)
  }

  /// An agent's working time on a reply: only replies carry it, and it is a real
  /// duration of at most a day (a larger one is a unit mistake, milliseconds or a clock
  /// time, that would swamp a channel's mean).
  mutating func handleSeconds(_ t: Sightline_Ingestion_V1_TicketEvent) {
    let field = "ticket_event.handle_seconds"
    if t.kind != .agentReply {
      fail(field, "invalid", "only an agent_reply carries a handle time; this event is another kind")
    } else if !t.handleSeconds.isFinite || t.handleSeconds < 0 {
      fail(field, "out_of_range", "\(t.handleSeconds) is not a duration of 0 seconds or more")
    } else if t.handleSeconds > EventValidator.maxHandleSeconds {
      fail(field, "out_of_range", "\(t.handleSeconds) s is more than a day (86400 s): is it in milliseconds?")
    }
  }

  func alias(_ value: String, _ map: [String: String]) -> String {
    let trimmed = value.trimmingWhitespace
    return map[AliasKey.normalise(trimmed)] ?? trimmed
  }

  mutating func run(_ input: Sightline_Ingestion_V1_Event) -> ValidatedEvent? {
    var event = input
    event.eventID = id(input.eventID, "event_id")
    var kind = ""
    var timeMs: Int64 = 0
    switch input.record {
    case .none:
      fail("record", "missing", "the event carries no record (ticket_event, survey_response, feedback, customer_profile or order)")
    case .ticketEvent(var t):
      kind = "ticket_event"
      t.ticketID = id(t.ticketID, "ticket_event.ticket_id")
      t.customerID = id(t.customerID, "ticket_event.customer_id", required: t.kind == .created)
      if let (text, ms) = time(t.time, "ticket_event.time") { (t.time, timeMs) = (text, ms) }
      switch t.kind {
      case .created, .agentReply, .customerReply, .resolved, .reopened: break
      case .unspecified: fail("ticket_event.kind", "missing", "is required (created, agent_reply, customer_reply, resolved, reopened)")
      case .UNRECOGNIZED(let raw): fail("ticket_event.kind", "invalid", "\(raw) is not a known ticket event kind")
      }
      if case .UNRECOGNIZED(let raw) = t.priority { fail("ticket_event.priority", "invalid", "\(raw) is not a known priority") }
      t.channel = alias(t.channel, validator.channelAliases)
      t.problemType = alias(t.problemType, validator.problemTypeAliases)
      t.region = id(t.region, "ticket_event.region", required: false)
      t.businessLine = id(t.businessLine, "ticket_event.business_line", required: false)
      t.agent = id(t.agent, "ticket_event.agent", required: false)
      t.productModule = id(t.productModule, "ticket_event.product_module", required: false)
      if t.hasHandleSeconds { handleSeconds(t) }
      event.record = .ticketEvent(t)
    case .surveyResponse(var s):
      kind = "survey_response"
      s.customerID = id(s.customerID, "survey_response.customer_id")
      s.ticketID = id(s.ticketID, "survey_response.ticket_id", required: false)
      if let (text, ms) = time(s.time, "survey_response.time") { (s.time, timeMs) = (text, ms) }
      let range: ClosedRange<Int32>?
      switch s.kind {
      case .csat: range = 1...5
      case .nps: range = 0...10
      case .ces: range = 1...7
      case .unspecified:
        range = nil
        fail("survey_response.kind", "missing", "is required (csat, nps or ces)")
      case .UNRECOGNIZED(let raw):
        range = nil
        fail("survey_response.kind", "invalid", "\(raw) is not a known survey kind")
      }
      if let range, !range.contains(s.score) {
        fail("survey_response.score", "out_of_range", "\(s.score) is outside the \(s.kind) scale \(range.lowerBound)-\(range.upperBound)")
      }
      s.comment = text(s.comment, "survey_response.comment", required: false)
      s.channel = alias(s.channel, validator.channelAliases)
      event.record = .surveyResponse(s)
    case .feedback(var f):
      kind = "feedback"
      f.customerID = id(f.customerID, "feedback.customer_id", required: false)
      f.ticketID = id(f.ticketID, "feedback.ticket_id", required: false)
      if let (text, ms) = time(f.time, "feedback.time") { (f.time, timeMs) = (text, ms) }
      if f.source == .unspecified { fail("feedback.source", "missing", "is required (app_review, social, chat, call_note)") }
      if case .UNRECOGNIZED(let raw) = f.source { fail("feedback.source", "invalid", "\(raw) is not a known source") }
      f.text = text(f.text, "feedback.text", required: true)
      if f.rating < 0 { fail("feedback.rating", "out_of_range", "\(f.rating) is negative") }
      event.record = .feedback(f)
    case .customerProfile(var p):
      kind = "customer_profile"
      p.customerID = id(p.customerID, "customer_profile.customer_id")
      if let (text, ms) = time(p.time, "customer_profile.time") { (p.time, timeMs) = (text, ms) }
      if let (text, _) = time(p.signupTime, "customer_profile.signup_time", required: false) { p.signupTime = text }
      p.type = id(p.type, "customer_profile.type", required: false).lowercased()
      p.tier = id(p.tier, "customer_profile.tier", required: false).lowercased()
      p.region = id(p.region, "customer_profile.region", required: false)
      p.industry = id(p.industry, "customer_profile.industry", required: false)
      p.ageBand = id(p.ageBand, "customer_profile.age_band", required: false)
      if p.attributes.count > 64 { fail("customer_profile.attributes", "too_large", "has more than 64 attributes") }
      for (key, value) in p.attributes {
        _ = id(key, "customer_profile.attributes", required: true)
        _ = text(value, "customer_profile.attributes[\(key.prefix(32))]", required: false)
      }
      event.record = .customerProfile(p)
    case .order(var o):
      kind = "order"
      o.customerID = id(o.customerID, "order.customer_id")
      if let (text, ms) = time(o.time, "order.time") { (o.time, timeMs) = (text, ms) }
      if o.amountMinor < 0 { fail("order.amount_minor", "out_of_range", "\(o.amountMinor) is negative") }
      let currency = o.currency.trimmingWhitespace.uppercased()
      if currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isLetter }) {
        fail("order.currency", currency.isEmpty ? "missing" : "invalid", "must be a 3-letter ISO 4217 code such as CNY")
      }
      o.currency = currency
      event.record = .order(o)
    }
    return problem == nil ? ValidatedEvent(event: event, kind: kind, eventTimeMs: timeMs) : nil
  }
}
