import PostgresNIO
public import SightlineModel
public import SightlinePostgres

/// One tenant's endpoints and outbox in PostgreSQL (in the metrics schema, beside the
/// alerts and cases whose events fill it). The deliverer's writes check the tenant's lease
/// fence in their transaction, so a replica that lost the tenant cannot record an attempt.
extension PostgresStore: DeliveryStore where Schema == MetricsPostgresSchema {
  public func endpoints() throws -> [DeliveryEndpoint] {
    try transaction { session in
      try session.query(
        "SELECT \(unescaped: DeliverySQL.endpointColumns) FROM delivery_endpoint WHERE tenant_id = \(tenant.rawValue) ORDER BY created_ms, id"
      ).compactMap(Self.endpoint)
    }
  }

  public func addEndpoint(_ endpoint: DeliveryEndpoint) throws -> Bool {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO delivery_endpoint (tenant_id, \(unescaped: DeliverySQL.endpointColumns))
        VALUES (\(tenant.rawValue), \(endpoint.id), \(endpoint.name), \(endpoint.kind.rawValue), \(endpoint.url), \(endpoint.secret),
          \(DeliverySQL.events(endpoint)), \(endpoint.language.rawValue), \(Int64(endpoint.enabled ? 1 : 0)), \(endpoint.disabledReason),
          \(endpoint.createdMs))
        ON CONFLICT (tenant_id, id) DO NOTHING
        """) > 0
    }
  }

  public func removeEndpoint(id: String) throws -> Bool {
    try transaction { session in
      guard try session.execute("DELETE FROM delivery_endpoint WHERE tenant_id = \(tenant.rawValue) AND id = \(id)") > 0 else {
        return false
      }
      try session.execute("DELETE FROM delivery WHERE tenant_id = \(tenant.rawValue) AND endpoint_id = \(id)")
      return true
    }
  }

  public func enqueue(_ event: DeliveryEvent, endpointID: String, nowMs: Int64) throws {
    try transaction { session in
      try session.recordOutboxEvent(event, tenant: tenant, fannedOut: true)
      try insertDelivery(eventID: event.id, endpointID: endpointID, nowMs: nowMs, session)
    }
  }

  public func fanOut(nowMs: Int64, fence: LeaseFence) throws -> Int {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      // One statement: the events marked fanned out are exactly those whose deliveries it
      // writes, every endpoint that chose an event's kind getting one (a disabled one
      // straight in the dead letter, as the SQLite store does). Two statements would each
      // see the events committed by then: one committed between them would be marked
      // without a delivery, and its message never sent.
      return try session.execute(
        """
        WITH fanned AS (
          UPDATE outbox_event SET fanned_out = 1 WHERE tenant_id = \(tenant.rawValue) AND fanned_out = 0
          RETURNING tenant_id, id, kind)
        INSERT INTO delivery (tenant_id, event_id, endpoint_id, status, attempts, created_ms, next_ms, last_error, folded_into)
        SELECT e.tenant_id, e.id, p.id, CASE WHEN p.enabled = 1 THEN 'pending' ELSE 'dead' END, 0, \(nowMs), \(nowMs),
          CASE WHEN p.enabled = 1 THEN '' ELSE \(DeliverySQL.disabled("")) || p.disabled_reason END, ''
        FROM fanned e JOIN delivery_endpoint p ON p.tenant_id = e.tenant_id
          AND e.kind = ANY (string_to_array(p.events, ','))
        ON CONFLICT (tenant_id, event_id, endpoint_id) DO NOTHING
        """)
    }
  }

  public func dueDeliveries(nowMs: Int64, limit: Int) throws -> DueDeliveries {
    try transaction { session in
      var due = DueDeliveries()
      for row in try session.query(
        """
        SELECT e.payload, d.attempts, d.created_ms, d.event_id, \(unescaped: DeliverySQL.joinedEndpointColumns)
        FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
          JOIN delivery_endpoint p ON p.tenant_id = d.tenant_id AND p.id = d.endpoint_id
        WHERE d.tenant_id = \(tenant.rawValue) AND d.status = 'pending' AND d.next_ms <= \(nowMs) AND p.enabled = 1
        ORDER BY d.next_ms, e.seq LIMIT \(Int64(limit))
        """)
      {
        let cells = row.makeRandomAccess()
        guard let event = DeliveryEvent(payload: try cells[0].decode(String.self)),
          let endpoint = try Self.endpoint(cells, from: 4)
        else {
          due.unreadable.append(
            DeliveryKey(eventID: try cells[3].decode(String.self), endpointID: try cells[4].decode(String.self)))
          continue
        }
        due.pending.append(
          PendingDelivery(
            event: event, endpoint: endpoint, attempts: Int(try cells[1].decode(Int64.self)),
            createdMs: try cells[2].decode(Int64.self)))
      }
      return due
    }
  }

  public func attempts(endpointID: String, sinceMs: Int64) throws -> Int {
    try transaction { session in
      Int(
        try session.value(
          """
          SELECT COUNT(*) FROM delivery
          WHERE tenant_id = \(tenant.rawValue) AND endpoint_id = \(endpointID) AND last_attempt_ms >= \(sinceMs)
          """, as: Int64.self) ?? 0)
    }
  }

  public func record(_ outcome: DeliveryOutcome, eventID: String, endpointID: String, atMs: Int64, fence: LeaseFence) throws {
    let (status, nextMs, error) = DeliverySQL.columns(outcome, atMs: atMs)
    let deliveredMs: Int64? = status == .delivered ? atMs : nil
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      try session.execute(
        """
        UPDATE delivery SET status = \(status.rawValue), attempts = attempts + 1, next_ms = \(nextMs), last_attempt_ms = \(atMs),
          last_error = \(DeliverySQL.short(error)), delivered_ms = COALESCE(\(deliveredMs), delivered_ms)
        WHERE tenant_id = \(tenant.rawValue) AND event_id = \(eventID) AND endpoint_id = \(endpointID) AND status = 'pending'
        """)
      if case .gone(let reason) = outcome {
        try session.execute(
          """
          UPDATE delivery_endpoint SET enabled = 0, disabled_reason = \(DeliverySQL.short(reason))
          WHERE tenant_id = \(tenant.rawValue) AND id = \(endpointID)
          """)
        try session.execute(
          """
          UPDATE delivery SET status = 'dead', last_error = \(DeliverySQL.disabled(reason))
          WHERE tenant_id = \(tenant.rawValue) AND endpoint_id = \(endpointID) AND status = 'pending'
          """)
      }
    }
  }

  public func postpone(endpointID: String, untilMs: Int64, fence: LeaseFence) throws {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      try session.execute(
        """
        UPDATE delivery SET next_ms = \(untilMs)
        WHERE tenant_id = \(tenant.rawValue) AND endpoint_id = \(endpointID) AND status = 'pending' AND next_ms < \(untilMs)
        """)
    }
  }

  public func fold(eventIDs: [String], endpointID: String, into digest: DeliveryEvent, nowMs: Int64, fence: LeaseFence) throws {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      try session.recordOutboxEvent(digest, tenant: tenant, fannedOut: true)
      try insertDelivery(eventID: digest.id, endpointID: endpointID, nowMs: nowMs, session)
      try session.execute(
        """
        UPDATE delivery SET status = 'folded', folded_into = \(digest.id)
        WHERE tenant_id = \(tenant.rawValue) AND endpoint_id = \(endpointID) AND status = 'pending' AND event_id = ANY (\(eventIDs))
        """)
    }
  }

  public func deliveries(_ filter: DeliveryFilter) throws -> [DeliveryRecord] {
    try transaction { session in
      try session.query(
        """
        SELECT \(unescaped: DeliverySQL.recordColumns)
        FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
        WHERE d.tenant_id = \(tenant.rawValue) AND (\(filter.status?.rawValue)::text IS NULL OR d.status = \(filter.status?.rawValue))
          AND (\(filter.endpointID)::text IS NULL OR d.endpoint_id = \(filter.endpointID))
          AND (\(filter.eventID)::text IS NULL OR d.event_id = \(filter.eventID))
        ORDER BY d.created_ms DESC, d.event_id DESC LIMIT \(Int64(filter.limit))
        """
      ).compactMap { row in
        let (event, endpoint, kind, payload, status, attempts, created, next, lastAttempt, lastError, delivered, folded) =
          try row.decode((String, String, String, String, String, Int64, Int64, Int64, Int64?, String, Int64?, String).self)
        return DeliverySQL.record(
          eventID: event, endpointID: endpoint, kind: kind, payload: payload, status: status, attempts: attempts, createdMs: created,
          nextMs: next, lastAttemptMs: lastAttempt, lastError: lastError, deliveredMs: delivered, foldedInto: folded)
      }
    }
  }

  public func replay(endpointID: String?, eventID: String?, nowMs: Int64) throws -> Int {
    try transaction { session in
      try session.execute(
        """
        UPDATE delivery_endpoint SET enabled = 1, disabled_reason = ''
        WHERE tenant_id = \(tenant.rawValue) AND id IN (
          SELECT endpoint_id FROM delivery WHERE tenant_id = \(tenant.rawValue) AND status = 'dead'
            AND (\(endpointID)::text IS NULL OR endpoint_id = \(endpointID)) AND (\(eventID)::text IS NULL OR event_id = \(eventID)))
        """)
      return try session.execute(
        """
        UPDATE delivery SET status = 'pending', attempts = 0, created_ms = \(nowMs), next_ms = \(nowMs), last_error = ''
        WHERE tenant_id = \(tenant.rawValue) AND status = 'dead'
          AND (\(endpointID)::text IS NULL OR endpoint_id = \(endpointID)) AND (\(eventID)::text IS NULL OR event_id = \(eventID))
        """)
    }
  }

  public func nextDeliveryMs() throws -> Int64? {
    try transaction { session in
      try session.value(
        """
        SELECT MIN(d.next_ms) FROM delivery d JOIN delivery_endpoint p ON p.tenant_id = d.tenant_id AND p.id = d.endpoint_id
        WHERE d.tenant_id = \(tenant.rawValue) AND d.status = 'pending' AND p.enabled = 1
        """, as: Int64?.self) ?? nil
    }
  }

  public func prune(beforeMs: Int64, fence: LeaseFence) throws -> PrunedDeliveries {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      let deliveries = try session.execute(
        "DELETE FROM delivery WHERE tenant_id = \(tenant.rawValue) AND \(unescaped: DeliverySQL.prunable) \(beforeMs)")
      let events = try session.execute(
        """
        DELETE FROM outbox_event e WHERE e.tenant_id = \(tenant.rawValue) AND e.fanned_out = 1 AND e.at_ms < \(beforeMs)
          AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id)
        """)
      return PrunedDeliveries(deliveries: deliveries, events: events)
    }
  }

  private func insertDelivery(eventID: String, endpointID: String, nowMs: Int64, _ session: PostgresSession) throws {
    try session.execute(
      """
      INSERT INTO delivery (tenant_id, event_id, endpoint_id, status, attempts, created_ms, next_ms, last_error, folded_into)
      VALUES (\(tenant.rawValue), \(eventID), \(endpointID), 'pending', 0, \(nowMs), \(nowMs), '', '')
      ON CONFLICT (tenant_id, event_id, endpoint_id) DO NOTHING
      """)
  }

  private static func endpoint(_ row: PostgresRow) throws -> DeliveryEndpoint? {
    try endpoint(row.makeRandomAccess(), from: 0)
  }

  private static func endpoint(_ cells: PostgresRandomAccessRow, from first: Int) throws -> DeliveryEndpoint? {
    func text(_ index: Int) throws -> String { try cells[first + index].decode(String.self) }
    func number(_ index: Int) throws -> Int64 { try cells[first + index].decode(Int64.self) }
    return DeliverySQL.endpoint(
      id: try text(0), name: try text(1), kind: try text(2), url: try text(3), secret: try text(4), events: try text(5),
      language: try text(6), enabled: try number(7), disabledReason: try text(8), createdMs: try number(9))
  }
}

extension PostgresSession {
  /// Adds `event` to `tenant`'s outbox inside this transaction (once: an event's id is its
  /// cause); one already `fannedOut` has its deliveries written beside it.
  func recordOutboxEvent(_ event: DeliveryEvent, tenant: TenantID, fannedOut: Bool = false) throws {
    try execute(
      """
      INSERT INTO outbox_event (tenant_id, id, kind, at_ms, payload, fanned_out)
      VALUES (\(tenant.rawValue), \(event.id), \(event.kind.rawValue), \(event.atMs), \(event.payload), \(Int64(fannedOut ? 1 : 0)))
      ON CONFLICT (tenant_id, id) DO NOTHING
      """)
  }
}
