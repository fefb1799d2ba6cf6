import Foundation
public import GRPCCore
public import Logging
import Metrics
public import SightlineModel
import SightlineRPC
public import SightlineStorage
public import SightlineTenantData
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// The ingestion service: validates, normalises, de-duplicates and appends records to
/// each tenant's event log, and streams the log to downstream services.
public final class IngestionProvider: Sendable {
  /// Largest batch accepted in one message.
  public static let maxBatch = 10_000
  /// Default entries per `Subscribe` message while catching up.
  public static let defaultSubscribeBatch = 1_000

  /// Every tenant's event log.
  let storage: any EventLogStorage
  /// Wakes `Subscribe` streams after each commit (newest-only: a wake-up, not data).
  private let signal = TenantBroadcast<Void>(buffering: .bufferingNewest(1))
  /// Tells the downstream consumers which tenants' logs moved (`WatchChanges`).
  public let feed = ChangeFeed()
  private let clock: @Sendable () -> Int64
  /// When each tenant's retention was last applied (Unix ms).
  private let lastRetention = Mutex<[TenantID: Int64]>([:])

  /// A provider keeping its logs in `storage`; `clock` gives "now" in Unix milliseconds
  /// (tests pass a fixed clock).
  public init(storage: any EventLogStorage, clock: @escaping @Sendable () -> Int64 = WallClock.unixMilliseconds) {
    self.storage = storage
    self.clock = clock
  }

  /// A provider keeping its logs in SQLite under `dataDirectory` (the embedded default).
  public convenience init(
    dataDirectory: String,
    clock: @escaping @Sendable () -> Int64 = WallClock.unixMilliseconds
  ) {
    self.init(storage: SQLiteTenantStores<EventLogSchema>(root: dataDirectory, service: "ingestion"), clock: clock)
  }

  /// This service's part of the tenant data lifecycle; deleting a tenant first ends its
  /// `Subscribe` streams and tells the change feed; an import announces the tenant's log.
  public func tenantData(logger: Logger) -> TenantDataProvider {
    TenantDataProvider(
      store: storage, logger: logger,
      beforeDelete: { tenant in
        self.signal.finish(tenant: tenant)
        self.feed.deleted(tenant)
      },
      afterImport: { tenant in
        if let head = try? self.store(for: tenant).lastOffset() { self.feed.moved(tenant, to: head) }
      })
  }

  /// Reads every tenant's log head into the change feed, then marks its snapshot complete:
  /// run once at start, beside the server (a commit during the scan is not lost: the feed
  /// keeps the newer head). Each log is opened once, through the bounded cache of handles.
  public func scanHeads(isCancelled: () -> Bool = { Task.isCancelled }) {
    var heads: [TenantID: Int64] = [:]
    for tenant in (try? storage.tenants()) ?? [] where !isCancelled() {
      if let head = try? store(for: tenant).lastOffset() { heads[tenant] = head }
      if heads.count == 500 {
        feed.fill(heads)
        heads = [:]
      }
    }
    feed.fill(heads)
    if !isCancelled() { feed.completeSnapshot() }
  }

  /// A commit to `tenant`'s log up to `head` that another process (a replica sharing the
  /// PostgreSQL database) made: wakes the tenant's `Subscribe` streams and tells the change
  /// feed, as a commit here does.
  public func commitObserved(tenant: TenantID, head: Int64) {
    signal.publish((), tenant: tenant)
    feed.moved(tenant, to: head)
  }

  /// Wakes every `Subscribe` stream to look for new records: the fallback for commit
  /// notifications that were lost (ticked every second on PostgreSQL).
  public func wakeAllSubscribers() {
    signal.publishToAll(())
  }

  /// The event log of `tenant`.
  public func store(for tenant: TenantID) throws -> any EventLog {
    try storage.log(for: tenant)
  }

  /// Applies `tenant`'s retention: at once when `force`, else at most hourly (ingest calls
  /// it after each batch, so an active tenant's old events go without a scheduler).
  /// Returns the events removed.
  func applyRetention(_ store: any EventLog, tenant: TenantID, force: Bool) throws -> Int {
    let now = clock()
    let due = lastRetention.withLock { last -> Bool in
      guard force || now - (last[tenant] ?? 0) >= Self.retentionInterval else { return false }
      last[tenant] = now
      return true
    }
    guard due else { return 0 }
    let days = try store.retainDays()
    guard days > 0 else { return 0 }
    return try store.prune(before: now - Int64(days) * 86_400_000)
  }

  /// How often an ingesting tenant's retention is applied.
  static let retentionInterval: Int64 = 3_600_000

  /// Validates and appends one batch; the reply is sent only after the commit.
  public func ingest(
    _ events: [Sightline_Ingestion_V1_Event], tenant: TenantID, indexBase: Int = 0
  ) throws
    -> Sightline_Ingestion_V1_IngestResponse
  {
    guard events.count <= Self.maxBatch else {
      throw InvalidInput(field: "events", reason: "a batch holds at most \(Self.maxBatch) events, this one \(events.count)")
    }
    let store = try store(for: tenant)
    let validator = EventValidator(
      channelAliases: try store.aliases(field: AliasFieldName.channel),
      problemTypeAliases: try store.aliases(field: AliasFieldName.problemType),
      nowMs: clock())
    let redaction = EventRedaction(try store.redactionSettings())
    var valid: [(index: Int, event: ValidatedEvent)] = []
    valid.reserveCapacity(events.count)
    var problems: [RecordProblem] = []
    for (position, event) in events.enumerated() {
      switch validator.validate(event, index: indexBase + position) {
      case .success(let event): valid.append((indexBase + position, event))
      case .failure(let problem): problems.append(problem)
      }
    }
    // A ticket's replies, resolutions and reopenings cannot precede its creation, when the
    // creation is known (stored earlier, or in this batch).
    let ordering = TicketOrdering(valid.map(\.event))
    let stored = try store.creationTimes(of: ordering.ticketsToCheck)
    var records: [LogRecord] = []
    records.reserveCapacity(valid.count)
    for (index, var event) in valid {
      if let problem = ordering.problem(event, index: index, stored: stored) {
        problems.append(problem)
        continue
      }
      var creates: String?
      if case .ticketEvent(let ticket) = event.event.record, ticket.kind == .created { creates = ticket.ticketID }
      let redacted = redaction.apply(&event.event)
      records.append(
        LogRecord(
          eventID: event.event.eventID, kind: event.kind, eventTimeMs: event.eventTimeMs,
          payload: try event.event.serializedData(), createsTicket: creates, redacted: redacted))
    }
    let rejected = problems.sorted { $0.index < $1.index }.map(\.wire)
    let outcome = try store.append(records, rejected: rejected.count)
    if outcome.accepted > 0 {
      signal.publish((), tenant: tenant)
      feed.moved(tenant, to: outcome.lastOffset)
    }
    _ = try applyRetention(store, tenant: tenant, force: false)
    Self.count(records: records, outcome: outcome, problems: problems, tenant: tenant)
    return .with {
      $0.accepted = Int64(outcome.accepted)
      $0.duplicates = Int64(outcome.duplicateIndices.count)
      $0.rejected = rejected
      $0.offset = outcome.lastOffset
    }
  }
}

extension IngestionProvider {
  /// `sightline_ingest_records_total` by tenant, record kind and outcome (accepted,
  /// duplicate, rejected). A rejected record's kind comes from its field path.
  static func count(records: [LogRecord], outcome: AppendOutcome, problems: [RecordProblem], tenant: TenantID) {
    var counts: [String: [String: Int]] = [:]
    let duplicates = Set(outcome.duplicateIndices)
    for (index, record) in records.enumerated() {
      counts[duplicates.contains(index) ? "duplicate" : "accepted", default: [:]][record.kind, default: 0] += 1
    }
    for problem in problems {
      let prefix = String(problem.field.prefix { $0 != "." })
      counts["rejected", default: [:]][TenantSeries.recordKinds.contains(prefix) ? prefix : "unknown", default: 0] += 1
    }
    for (outcome, byKind) in counts {
      for (kind, count) in byKind {
        TenantSeries.ingestRecords(tenant.rawValue, kind: kind, outcome: outcome).increment(by: count)
      }
    }
  }
}

/// The alias map names used in storage.
enum AliasFieldName {
  static let channel = "channel"
  static let problemType = "problem_type"

  static func of(_ field: Sightline_Ingestion_V1_AliasField) throws -> String {
    switch field {
    case .channel: channel
    case .problemType: problemType
    default: throw InvalidInput(field: "field", reason: "must be CHANNEL or PROBLEM_TYPE")
    }
  }
}

extension IngestionProvider: Sightline_Ingestion_V1_Ingestion.ServiceProtocol {
  public func ingest(
    request: ServerRequest<Sightline_Ingestion_V1_IngestRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_IngestResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let events = request.message.events
    return ServerResponse(message: try await BlockingWork.run { try self.ingest(events, tenant: tenant) })
  }

  public func ingestStream(
    request: StreamingServerRequest<Sightline_Ingestion_V1_IngestRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_IngestResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    var total = Sightline_Ingestion_V1_IngestResponse()
    var indexBase = 0
    for try await batch in request.messages {
      // Each batch commits on its own: a broken stream keeps what was acknowledged so far
      // by the offsets in the server's log (retries are idempotent by event id).
      let base = indexBase
      let reply = try await BlockingWork.run { try self.ingest(batch.events, tenant: tenant, indexBase: base) }
      indexBase += batch.events.count
      total.accepted += reply.accepted
      total.duplicates += reply.duplicates
      total.rejected += reply.rejected
      total.offset = reply.offset
    }
    if total.offset == 0 { total.offset = try store(for: tenant).lastOffset() }
    return ServerResponse(message: total)
  }

  public func subscribe(
    request: ServerRequest<Sightline_Ingestion_V1_SubscribeRequest>, context: ServerContext
  ) async throws -> StreamingServerResponse<Sightline_Ingestion_V1_SubscribeResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    guard request.message.fromOffset >= 0 else {
      throw InvalidInput(field: "from_offset", reason: "must not be negative")
    }
    let store = try store(for: tenant)
    let limit = request.message.maxBatch > 0 ? min(Int(request.message.maxBatch), 10_000) : Self.defaultSubscribeBatch
    return StreamingServerResponse { writer in
      // Ends when the subscriber leaves or the server drains (subscribers resume from
      // their stored offset).
      try await runLiveStream {
        try await self.follow(store: store, tenant: tenant, from: request.message.fromOffset, limit: limit, writer: writer)
      }
      return [:]
    }
  }

  private func follow(
    store: any EventLog, tenant: TenantID, from: Int64, limit: Int,
    writer: RPCWriter<Sightline_Ingestion_V1_SubscribeResponse>
  ) async throws {
    var offset = from
    let (wakeups, cancel) = self.signal.subscribe(tenant: tenant)
    defer { cancel() }
    var iterator = wakeups.makeAsyncIterator()
    while !Task.isCancelled {
      let batch = try store.records(after: offset, limit: limit)
      if batch.isEmpty {
        // Caught up: wait for the next commit (or the caller's cancellation).
        guard await iterator.next() != nil else { break }
        continue
      }
      var message = Sightline_Ingestion_V1_SubscribeResponse()
      message.entries = try batch.map(Self.logEntry)
      offset = batch.last!.offset
      message.headOffset = max(offset, try store.lastOffset())
      try await writer.write(message)
    }
  }

  /// A stored record as the wire's log entry.
  static func logEntry(_ stored: StoredLogRecord) throws -> Sightline_Ingestion_V1_LogEntry {
    try .with {
      $0.offset = stored.offset
      $0.event = try Sightline_Ingestion_V1_Event(serializedBytes: stored.record.payload)
      $0.eventTimeUnixMs = stored.record.eventTimeMs
      $0.ingestedAt = Google_Protobuf_Timestamp(
        seconds: stored.ingestedAtMs / 1000, nanos: Int32(stored.ingestedAtMs % 1000) * 1_000_000)
    }
  }

  public func getStats(
    request: ServerRequest<Sightline_Ingestion_V1_GetStatsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_GetStatsResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let stats = try store(for: tenant).statistics()
    return ServerResponse(
      message: .with {
        $0.lastOffset = stats.lastOffset
        $0.eventsByKind = stats.countsByKind
        $0.duplicates = stats.duplicates
        $0.rejections = stats.rejections
        $0.retainDays = Int32(stats.retainDays)
        $0.prunedEvents = stats.pruned
        $0.redactionPolicy = stats.redactionPolicy.rawValue
        $0.redactionsByKind = stats.redactions
      })
  }

  public func setRedaction(
    request: ServerRequest<Sightline_Ingestion_V1_SetRedactionRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_SetRedactionResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    guard let policy = RedactionPolicy(rawValue: request.message.policy.trimmingWhitespace.lowercased()) else {
      throw InvalidInput(
        field: "policy",
        reason: "'\(request.message.policy)' is not a redaction policy: \(RedactionPolicy.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    try await BlockingWork.run { try self.store(for: tenant).setRedactionPolicy(policy) }
    return ServerResponse(message: .with { $0.policy = policy.rawValue })
  }

  public func setRetention(
    request: ServerRequest<Sightline_Ingestion_V1_SetRetentionRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_SetRetentionResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let days = Int(request.message.retainDays)
    guard (0...36_500).contains(days) else {
      throw InvalidInput(field: "retain_days", reason: "must be 0 (keep forever) to 36500 days, got \(days)")
    }
    let store = try store(for: tenant)
    try store.setRetainDays(days)
    let pruned = try applyRetention(store, tenant: tenant, force: true)
    return ServerResponse(
      message: .with {
        $0.retainDays = Int32(days)
        $0.prunedEvents = Int64(pruned)
      })
  }

  public func setAliases(
    request: ServerRequest<Sightline_Ingestion_V1_SetAliasesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_SetAliasesResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let field = try AliasFieldName.of(request.message.field)
    for (raw, canonical) in request.message.aliases
    where raw.trimmingWhitespace.isEmpty || canonical.trimmingWhitespace.isEmpty {
      throw InvalidInput(field: "aliases[\(raw)]", reason: "alias keys and values must not be empty (value '\(canonical)')")
    }
    let stored = try store(for: tenant).setAliases(field: field, request.message.aliases)
    return ServerResponse(message: .with { $0.aliases = stored })
  }

  public func getAliases(
    request: ServerRequest<Sightline_Ingestion_V1_GetAliasesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Ingestion_V1_GetAliasesResponse> {
    let tenant = try SuiteMetadata.requireTenant(request.metadata)
    let field = try AliasFieldName.of(request.message.field)
    let aliases = try store(for: tenant).aliases(field: field)
    return ServerResponse(message: .with { $0.aliases = aliases })
  }
}
