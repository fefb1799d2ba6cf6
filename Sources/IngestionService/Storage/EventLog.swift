public import Foundation
public import SightlineModel
public import SightlineStorage

/// One record to append to a tenant's event log. The payload is the normalised event,
/// serialized by the caller (the storage layer does not know the wire format).
public struct LogRecord: Sendable {
  /// The idempotency key.
  public var eventID: String
  /// Record kind, e.g. `ticket_event`.
  public var kind: String
  /// Event time, milliseconds since the Unix epoch (UTC).
  public var eventTimeMs: Int64
  /// The serialized normalised event.
  public var payload: Data
  /// For a ticket's `created` event, the ticket id: the store remembers creation times so
  /// that later replies can be checked against them.
  public var createsTicket: String?
  /// The personal data redacted from the record's free text, one entry per value: the
  /// store counts them when the record is stored (not when it is a duplicate).
  public var redacted: [PersonalDataKind]

  /// A record to append.
  public init(
    eventID: String, kind: String, eventTimeMs: Int64, payload: Data, createsTicket: String? = nil, redacted: [PersonalDataKind] = []
  ) {
    self.eventID = eventID
    self.kind = kind
    self.eventTimeMs = eventTimeMs
    self.payload = payload
    self.createsTicket = createsTicket
    self.redacted = redacted
  }
}

/// A record as stored, with its log offset.
public struct StoredLogRecord: Sendable {
  /// Position in the log, 1-based, without gaps.
  public var offset: Int64
  /// The record.
  public var record: LogRecord
  /// When it was committed, milliseconds since the Unix epoch.
  public var ingestedAtMs: Int64
}

/// The outcome of one append.
public struct AppendOutcome: Sendable, Equatable {
  /// Records newly stored.
  public var accepted: Int
  /// Positions (in the input array) of records whose event id was already stored, or
  /// repeated earlier in the same batch.
  public var duplicateIndices: [Int]
  /// The log's last offset after the commit.
  public var lastOffset: Int64

  /// An outcome from its parts.
  public init(accepted: Int, duplicateIndices: [Int], lastOffset: Int64) {
    self.accepted = accepted
    self.duplicateIndices = duplicateIndices
    self.lastOffset = lastOffset
  }
}

/// Counters of a tenant's log.
public struct LogStatistics: Sendable, Equatable {
  /// The last offset (0 when empty).
  public var lastOffset: Int64
  /// Stored records per kind.
  public var countsByKind: [String: Int64]
  /// Duplicates seen since the log was created.
  public var duplicates: Int64
  /// Rejected records since the log was created.
  public var rejections: Int64
  /// Retention of raw events in days (0: forever), and events it removed.
  public var retainDays: Int = 0
  public var pruned: Int64 = 0
  /// Values redacted from stored records, by kind (`phone`, `id_number`, ...).
  public var redactions: [String: Int64] = [:]
  /// The redaction policy in force.
  public var redactionPolicy = RedactionPolicy.defaultPolicy

  /// The statistics in a log's counter rows (name → value).
  init(lastOffset: Int64, countsByKind: [String: Int64], counters: [String: Int64]) {
    self.lastOffset = lastOffset
    self.countsByKind = countsByKind
    duplicates = counters["duplicates"] ?? 0
    rejections = counters["rejections"] ?? 0
    retainDays = Int(counters["retain_days"] ?? 0)
    pruned = counters["pruned"] ?? 0
    redactionPolicy = RedactionSettings.policy(stored: counters[RedactionSettings.policyCounter])
    for kind in PersonalDataKind.allCases {
      if let count = counters[RedactionSettings.counter(kind)] { redactions[kind.rawValue] = count }
    }
  }
}

/// How a tenant's ingestion redacts personal data from free text.
public struct RedactionSettings: Sendable {
  /// The policy in force.
  public var policy: RedactionPolicy
  /// The tenant's key for pseudonyms: 32 random bytes, made on first use and kept with the
  /// tenant's log (so a pseudonym stays the same across restarts, replicas, export and
  /// import, and goes when the tenant is deleted).
  public var key: [UInt8]

  /// The counter row holding the policy (absent: the default).
  static let policyCounter = "redaction_policy"
  /// The counter row of redacted values of `kind`.
  static func counter(_ kind: PersonalDataKind) -> String { "redacted_" + kind.rawValue }
  /// The key's row in the `secret` table.
  static let keyName = "pseudonym_key"

  /// A policy as its counter value.
  static func stored(_ policy: RedactionPolicy) -> Int64 {
    switch policy {
    case .off: 1
    case .mask: 2
    case .pseudonymise: 3
    }
  }

  /// The policy a counter value stands for.
  static func policy(stored value: Int64?) -> RedactionPolicy {
    switch value {
    case 1: .off
    case 3: .pseudonymise
    default: .defaultPolicy
    }
  }

  /// A fresh key (the system's cryptographic generator: getrandom on Linux).
  static func newKey() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }

  /// Counter rows to add for the values redacted from `records`.
  static func counts(_ records: some Sequence<LogRecord>) -> [String: Int] {
    var counts: [String: Int] = [:]
    for record in records {
      for kind in record.redacted { counts[counter(kind), default: 0] += 1 }
    }
    return counts
  }
}

/// A tenant's append-only, de-duplicated event log: what ingestion needs from its storage.
///
/// Offsets are gapless and strictly increasing, and a batch is visible (and acknowledged)
/// only once it is durable.
public protocol EventLog: Sendable {
  /// Appends `records` in one transaction, skipping duplicates (by event id, also within
  /// the batch), and counts `rejected` records of the same batch. Returns after the commit.
  func append(_ records: [LogRecord], rejected: Int) throws -> AppendOutcome
  /// Counts rejected records of a batch that stored nothing.
  func recordRejections(_ count: Int) throws
  /// Up to `limit` records with offset greater than `offset`, in offset order; entries
  /// emptied by retention are skipped.
  func records(after offset: Int64, limit: Int) throws -> [StoredLogRecord]
  /// The last offset (0 when empty).
  func lastOffset() throws -> Int64
  /// Counters of the log.
  func statistics() throws -> LogStatistics
  /// Creation times of the given tickets, for those whose `created` event is stored.
  func creationTimes(of tickets: Set<String>) throws -> [String: Int64]
  /// The retention of raw events in days (0: forever).
  func retainDays() throws -> Int
  /// Sets the retention of raw events (0: forever).
  func setRetainDays(_ days: Int) throws
  /// Empties every event older than `cutoffMs` (its offset and id stay taken); returns how
  /// many were emptied now.
  func prune(before cutoffMs: Int64) throws -> Int
  /// Replaces the alias map of `field`; returns it as stored (keys normalised).
  func setAliases(field: String, _ aliases: [String: String]) throws -> [String: String]
  /// The alias map of `field`.
  func aliases(field: String) throws -> [String: String]
  /// The redaction policy and pseudonym key; the key is made and stored on first use.
  func redactionSettings() throws -> RedactionSettings
  /// Sets the redaction policy for records ingested from now on.
  func setRedactionPolicy(_ policy: RedactionPolicy) throws
}

extension EventLog {
  /// Appends `records` with no rejected records beside them.
  public func append(_ records: [LogRecord]) throws -> AppendOutcome { try append(records, rejected: 0) }
}

/// Every tenant's event log, and the tenant data lifecycle over them.
public protocol EventLogStorage: TenantDataStore {
  /// The log of `tenant`, created on first use.
  func log(for tenant: TenantID) throws -> any EventLog
  /// Logs open now (for the many-tenant figures).
  var openCount: Int { get }
}

extension SQLiteTenantStores: EventLogStorage where Schema == EventLogSchema {
  public func log(for tenant: TenantID) throws -> any EventLog { try store(for: tenant) }
}

/// How alias keys are matched: trimmed and lower-cased (so `WeChat`, ` wechat ` match).
public enum AliasKey {
  /// The normal form of a raw value.
  public static func normalise(_ raw: String) -> String {
    raw.trimmingWhitespace.lowercased()
  }

  /// An alias map as stored: keys normalised, values trimmed (of keys that normalise alike,
  /// one wins).
  public static func normalise(_ aliases: [String: String]) -> [String: String] {
    Dictionary(
      aliases.map { (normalise($0.key), $0.value.trimmingCharacters(in: .whitespacesAndNewlines)) },
      uniquingKeysWith: { _, last in last })
  }
}
