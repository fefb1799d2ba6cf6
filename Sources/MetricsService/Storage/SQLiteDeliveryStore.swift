import GRDB
public import SightlineModel
public import SightlineStorage

/// One tenant's endpoints and outbox, in its metrics database beside the alerts and cases
/// whose events fill it. Fences are not checked: one process is the only writer of a
/// tenant's SQLite file.
extension SQLiteStore: DeliveryStore where Schema == MetricsSchema {
  public func endpoints() throws -> [DeliveryEndpoint] {
    try writer.read { db in
      try Row.fetchAll(db, sql: "SELECT \(DeliverySQL.endpointColumns) FROM delivery_endpoint ORDER BY created_ms, id")
        .compactMap { row in
          DeliverySQL.endpoint(
            id: row[0], name: row[1], kind: row[2], url: row[3], secret: row[4], events: row[5], language: row[6],
            enabled: row[7], disabledReason: row[8], createdMs: row[9])
        }
    }
  }

  public func addEndpoint(_ endpoint: DeliveryEndpoint) throws -> Bool {
    try writer.write { db in
      try db.execute(
        sql:
          "INSERT INTO delivery_endpoint (\(DeliverySQL.endpointColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        arguments: [
          endpoint.id, endpoint.name, endpoint.kind.rawValue, endpoint.url, endpoint.secret, DeliverySQL.events(endpoint),
          endpoint.language.rawValue, endpoint.enabled ? 1 : 0, endpoint.disabledReason, endpoint.createdMs,
        ])
      return db.changesCount > 0
    }
  }

  public func removeEndpoint(id: String) throws -> Bool {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM delivery_endpoint WHERE id = ?", arguments: [id])
      guard db.changesCount > 0 else { return false }
      try db.execute(sql: "DELETE FROM delivery WHERE endpoint_id = ?", arguments: [id])
      return true
    }
  }

  public func enqueue(_ event: DeliveryEvent, endpointID: String, nowMs: Int64) throws {
    try writer.write { db in
      try SQLiteOutbox.record(event, fannedOut: true, db)
      try Self.insertDelivery(eventID: event.id, endpointID: endpointID, nowMs: nowMs, db)
    }
  }

  public func fanOut(nowMs: Int64, fence: LeaseFence) throws -> Int {
    try writer.write { db in
      let events = try Row.fetchAll(db, sql: "SELECT id, kind FROM outbox_event WHERE fanned_out = 0 ORDER BY at_ms, id LIMIT 1000")
      guard !events.isEmpty else { return 0 }
      let endpoints = try Row.fetchAll(db, sql: "SELECT id, events, enabled, disabled_reason FROM delivery_endpoint").map {
        (
          id: $0[0] as String, events: Set(($0[1] as String).split(separator: ",").map(String.init)),
          disabledReason: ($0[2] as Int64) == 0 ? $0[3] as String : nil
        )
      }
      var written = 0
      for event in events {
        let (id, kind): (String, String) = (event[0], event[1])
        for endpoint in endpoints where endpoint.events.contains(kind) {
          try Self.insertDelivery(eventID: id, endpointID: endpoint.id, nowMs: nowMs, disabledReason: endpoint.disabledReason, db)
          written += db.changesCount
        }
        try db.execute(sql: "UPDATE outbox_event SET fanned_out = 1 WHERE id = ?", arguments: [id])
      }
      return written
    }
  }

  public func dueDeliveries(nowMs: Int64, limit: Int) throws -> DueDeliveries {
    try writer.read { db in
      var due = DueDeliveries()
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT e.payload, d.attempts, d.created_ms, d.event_id, \(DeliverySQL.joinedEndpointColumns)
          FROM delivery d JOIN outbox_event e ON e.id = d.event_id JOIN delivery_endpoint p ON p.id = d.endpoint_id
          WHERE d.status = 'pending' AND d.next_ms <= ? AND p.enabled = 1
          ORDER BY d.next_ms, e.rowid LIMIT ?
          """,
        arguments: [nowMs, limit])
      {
        guard let event = DeliveryEvent(payload: row[0]),
          let endpoint = DeliverySQL.endpoint(
            id: row[4], name: row[5], kind: row[6], url: row[7], secret: row[8], events: row[9], language: row[10],
            enabled: row[11], disabledReason: row[12], createdMs: row[13])
        else {
          due.unreadable.append(DeliveryKey(eventID: row[3], endpointID: row[4]))
          continue
        }
        due.pending.append(PendingDelivery(event: event, endpoint: endpoint, attempts: row[1], createdMs: row[2]))
      }
      return due
    }
  }

  public func attempts(endpointID: String, sinceMs: Int64) throws -> Int {
    try writer.read { db in
      try Int.fetchOne(
        db, sql: "SELECT COUNT(*) FROM delivery WHERE endpoint_id = ? AND last_attempt_ms >= ?", arguments: [endpointID, sinceMs])
        ?? 0
    }
  }

  public func record(_ outcome: DeliveryOutcome, eventID: String, endpointID: String, atMs: Int64, fence: LeaseFence) throws {
    let (status, nextMs, error) = DeliverySQL.columns(outcome, atMs: atMs)
    try writer.write { db in
      try db.execute(
        sql: """
          UPDATE delivery SET status = ?, attempts = attempts + 1, next_ms = ?, last_attempt_ms = ?, last_error = ?,
            delivered_ms = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_ms END
          WHERE event_id = ? AND endpoint_id = ? AND status = 'pending'
          """,
        arguments: [
          status.rawValue, nextMs, atMs, DeliverySQL.short(error), status.rawValue, atMs, eventID, endpointID,
        ])
      if case .gone(let reason) = outcome {
        try db.execute(
          sql: "UPDATE delivery_endpoint SET enabled = 0, disabled_reason = ? WHERE id = ?",
          arguments: [DeliverySQL.short(reason), endpointID])
        try db.execute(
          sql: "UPDATE delivery SET status = 'dead', last_error = ? WHERE endpoint_id = ? AND status = 'pending'",
          arguments: [DeliverySQL.disabled(reason), endpointID])
      }
    }
  }

  public func postpone(endpointID: String, untilMs: Int64, fence: LeaseFence) throws {
    try writer.write { db in
      try db.execute(
        sql: "UPDATE delivery SET next_ms = ? WHERE endpoint_id = ? AND status = 'pending' AND next_ms < ?",
        arguments: [untilMs, endpointID, untilMs])
    }
  }

  public func fold(eventIDs: [String], endpointID: String, into digest: DeliveryEvent, nowMs: Int64, fence: LeaseFence) throws {
    try writer.write { db in
      try SQLiteOutbox.record(digest, fannedOut: true, db)
      try Self.insertDelivery(eventID: digest.id, endpointID: endpointID, nowMs: nowMs, db)
      for eventID in eventIDs {
        try db.execute(
          sql: """
            UPDATE delivery SET status = 'folded', folded_into = ?, delivered_ms = NULL
            WHERE event_id = ? AND endpoint_id = ? AND status = 'pending'
            """,
          arguments: [digest.id, eventID, endpointID])
      }
    }
  }

  public func deliveries(_ filter: DeliveryFilter) throws -> [DeliveryRecord] {
    var conditions: [String] = []
    var arguments: [(any DatabaseValueConvertible)?] = []
    if let status = filter.status {
      conditions.append("d.status = ?")
      arguments.append(status.rawValue)
    }
    if let endpoint = filter.endpointID {
      conditions.append("d.endpoint_id = ?")
      arguments.append(endpoint)
    }
    if let event = filter.eventID {
      conditions.append("d.event_id = ?")
      arguments.append(event)
    }
    arguments.append(filter.limit)
    let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    return try writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT \(DeliverySQL.recordColumns) FROM delivery d JOIN outbox_event e ON e.id = d.event_id \(condition)
          ORDER BY d.created_ms DESC, d.event_id DESC LIMIT ?
          """,
        arguments: StatementArguments(arguments)
      ).compactMap { row in
        DeliverySQL.record(
          eventID: row[0], endpointID: row[1], kind: row[2], payload: row[3], status: row[4], attempts: row[5],
          createdMs: row[6], nextMs: row[7], lastAttemptMs: row[8], lastError: row[9], deliveredMs: row[10], foldedInto: row[11])
      }
    }
  }

  public func replay(endpointID: String?, eventID: String?, nowMs: Int64) throws -> Int {
    try writer.write { db in
      let condition = "status = 'dead' AND (? IS NULL OR endpoint_id = ?) AND (? IS NULL OR event_id = ?)"
      let arguments: StatementArguments = [endpointID, endpointID, eventID, eventID]
      try db.execute(
        sql: """
          UPDATE delivery_endpoint SET enabled = 1, disabled_reason = ''
          WHERE id IN (SELECT endpoint_id FROM delivery WHERE \(condition))
          """, arguments: arguments)
      try db.execute(
        sql: "UPDATE delivery SET status = 'pending', attempts = 0, created_ms = ?, next_ms = ?, last_error = '' WHERE \(condition)",
        arguments: [nowMs, nowMs] + arguments)
      return db.changesCount
    }
  }

  public func nextDeliveryMs() throws -> Int64? {
    try writer.read { db in
      try Int64.fetchOne(
        db,
        sql: """
          SELECT MIN(d.next_ms) FROM delivery d JOIN delivery_endpoint p ON p.id = d.endpoint_id
          WHERE d.status = 'pending' AND p.enabled = 1
          """)
    }
  }

  public func prune(beforeMs: Int64, fence: LeaseFence) throws -> PrunedDeliveries {
    try writer.write { db in
      try db.execute(sql: "DELETE FROM delivery WHERE \(DeliverySQL.prunable) ?", arguments: [beforeMs])
      let deliveries = db.changesCount
      try db.execute(
        sql: """
          DELETE FROM outbox_event WHERE fanned_out = 1 AND at_ms < ?
            AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.event_id = outbox_event.id)
          """, arguments: [beforeMs])
      return PrunedDeliveries(deliveries: deliveries, events: db.changesCount)
    }
  }

  /// A delivery due at `nowMs`; to an endpoint disabled for `disabledReason`, straight to
  /// the dead letter (replaying it enables the endpoint and sends it).
  private static func insertDelivery(
    eventID: String, endpointID: String, nowMs: Int64, disabledReason: String? = nil, _ db: Database
  ) throws {
    try db.execute(
      sql: """
        INSERT INTO delivery (event_id, endpoint_id, status, attempts, created_ms, next_ms, last_error, folded_into)
        VALUES (?, ?, ?, 0, ?, ?, ?, '') ON CONFLICT (event_id, endpoint_id) DO NOTHING
        """,
      arguments: [
        eventID, endpointID, disabledReason == nil ? "pending" : "dead", nowMs, nowMs, disabledReason.map(DeliverySQL.disabled) ?? "",
      ])
  }
}

/// Writes events to a tenant's SQLite outbox inside the transaction that causes them.
enum SQLiteOutbox {
  /// Adds `event` to the outbox (once: an event's id is its cause); one already
  /// `fannedOut` has its deliveries written beside it.
  static func record(_ event: DeliveryEvent, fannedOut: Bool = false, _ db: Database) throws {
    try db.execute(
      sql: "INSERT INTO outbox_event (id, kind, at_ms, payload, fanned_out) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      arguments: [event.id, event.kind.rawValue, event.atMs, event.payload, fannedOut ? 1 : 0])
  }
}
