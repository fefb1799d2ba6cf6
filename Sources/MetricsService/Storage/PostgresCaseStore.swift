import PostgresNIO
public import SightlineModel
public import SightlinePostgres

/// Cases and case rules of one tenant in PostgreSQL (in the metrics schema, beside the
/// alerts and answers that open them).
extension PostgresStore: CaseStore where Schema == MetricsPostgresSchema {
  public func caseRules() throws -> CaseRules {
    try CaseRules(
      document: try transaction { session in
        try session.value("SELECT document FROM case_rules WHERE tenant_id = \(tenant.rawValue) AND id = 1", as: String.self)
      })
  }

  public func setCaseRules(_ rules: CaseRules) throws {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO case_rules (tenant_id, id, document) VALUES (\(tenant.rawValue), 1, \(rules.document))
        ON CONFLICT (tenant_id, id) DO UPDATE SET document = excluded.document
        """)
    }
  }

  public func open(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      let row = StoredCase(serviceCase)
      let inserted = try session.execute(
        """
        INSERT INTO service_case (tenant_id, id, title, source, source_ref, owner, due_ms, due_business, status, overdue, scope,
          action, opened_ms, first_action_ms, closed_ms, version, follow_up_attempts, first_follow_up_ms, answer_scale,
          answer_score, answer_ms)
        VALUES (\(tenant.rawValue), \(row.id), \(row.title), \(row.source), \(row.sourceRef), \(row.owner), \(row.dueMs),
          \(row.dueBusiness), \(row.status), \(row.overdue), \(row.scope), \(row.action), \(row.openedMs), \(row.firstActionMs),
          \(row.closedMs), \(row.version), \(row.followUpAttempts), \(row.firstFollowUpMs), \(row.answerScale),
          \(row.answerScore), \(row.answerMs))
        ON CONFLICT (tenant_id, id) DO NOTHING
        """)
      guard inserted > 0 else { return false }
      try append(change, caseID: row.id, version: row.version, session)
      if let event = DeliveryEvent.announced(by: change, of: serviceCase) { try session.recordOutboxEvent(event, tenant: tenant) }
      return true
    }
  }

  public func update(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      let row = StoredCase(serviceCase)
      let updated = try session.execute(
        """
        UPDATE service_case SET title = \(row.title), source = \(row.source), source_ref = \(row.sourceRef), owner = \(row.owner),
          due_ms = \(row.dueMs), due_business = \(row.dueBusiness), status = \(row.status), overdue = \(row.overdue),
          scope = \(row.scope), action = \(row.action), opened_ms = \(row.openedMs), first_action_ms = \(row.firstActionMs),
          closed_ms = \(row.closedMs), version = \(row.version), follow_up_attempts = \(row.followUpAttempts),
          first_follow_up_ms = \(row.firstFollowUpMs), answer_scale = \(row.answerScale), answer_score = \(row.answerScore),
          answer_ms = \(row.answerMs)
        WHERE tenant_id = \(tenant.rawValue) AND id = \(row.id) AND version = \(row.version - 1)
        """)
      guard updated > 0 else { return false }
      try append(change, caseID: row.id, version: row.version, session)
      if let event = DeliveryEvent.announced(by: change, of: serviceCase) { try session.recordOutboxEvent(event, tenant: tenant) }
      return true
    }
  }

  public func serviceCase(id: String) throws -> ServiceCase? {
    try cases(where: " AND id = $2", bindings: [.text(id)]).first
  }

  public func history(caseID: String) throws -> [CaseChange] {
    try transaction { session in
      try session.query(
        """
        SELECT at_ms, actor, kind, detail FROM case_change WHERE tenant_id = \(tenant.rawValue) AND case_id = \(caseID)
        ORDER BY version
        """
      ).compactMap { row in
        let (at, actor, kind, detail) = try row.decode((Int64, String, String, String).self)
        return CaseChangeKind(rawValue: kind).map { CaseChange(atMs: at, actor: actor, kind: $0, detail: detail) }
      }
    }
  }

  public func cases(_ filter: CaseFilter) throws -> [ServiceCase] {
    let (clauses, bindings) = CaseListingSQL.clauses(filter, first: 2) { "$\($0)" }
    return try cases(where: clauses, bindings: bindings)
  }

  public func uncasedDetractors(sinceMs: Int64, rules: CaseRules, limit: Int) throws -> [DetractorAnswer] {
    try transaction { session in
      try session.query(
        """
        SELECT s.response_id, s.customer_id, s.ticket_id, s.scale, s.score, s.time_ms, COALESCE(t.business_line, ''),
          COALESCE(t.region, '')
        FROM survey s LEFT JOIN ticket t ON t.tenant_id = s.tenant_id AND t.ticket_id = s.ticket_id
        WHERE s.tenant_id = \(tenant.rawValue) AND s.time_ms >= \(sinceMs)
          AND ((s.scale = 'nps' AND s.score <= \(Int64(rules.npsMax))) OR (s.scale = 'csat' AND s.score <= \(Int64(rules.csatMax))))
          AND NOT EXISTS (
            SELECT 1 FROM service_case c WHERE c.tenant_id = s.tenant_id AND c.id = 'answer-' || s.response_id)
        ORDER BY s.time_ms, s.response_id LIMIT \(Int64(limit))
        """
      ).map { row in
        let (response, customer, ticket, scale, score, time, line, region) = try row.decode(
          (String, String, String, String, Int64, Int64, String, String).self)
        return DetractorAnswer(
          answer: CaseAnswer(responseID: response, scale: scale, score: Int(score), timeMs: time), customerID: customer,
          ticketID: ticket, businessLine: line, region: region)
      }
    }
  }

  public func nextAnswerScores(_ questions: [NextAnswerQuestion]) throws -> [Int?] {
    guard !questions.isEmpty else { return [] }
    return try transaction { session in
      var scores = [Int?](repeating: nil, count: questions.count)
      // The questions go in as three arrays: one statement, however many there are.
      for row in try session.query(
        """
        SELECT q.i, (
          SELECT s.score FROM survey s
          WHERE s.tenant_id = \(tenant.rawValue) AND s.customer_id = q.customer_id AND s.scale = q.scale AND s.time_ms > q.after_ms
          ORDER BY s.time_ms, s.response_id LIMIT 1)
        FROM unnest(\(questions.map(\.customerID))::text[], \(questions.map(\.scale))::text[], \(questions.map(\.afterMs))::bigint[])
          WITH ORDINALITY AS q(customer_id, scale, after_ms, i)
        """)
      {
        let (index, score) = try row.decode((Int64, Int64?).self)
        scores[Int(index) - 1] = score.map { Int($0) }
      }
      return scores
    }
  }

  public func tickets(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerTicket] {
    try transaction { session in
      try session.query(
        """
        SELECT ticket_id, created_ms, channel, business_line, problem_type, complaint, status_open FROM ticket
        WHERE tenant_id = \(tenant.rawValue) AND customer_id = \(customerID) AND created_ms >= \(sinceMs)
        ORDER BY created_ms DESC, ticket_id LIMIT \(Int64(limit))
        """
      ).map { row in
        let (id, created, channel, line, problem, complaint, open) = try row.decode(
          (String, Int64, String, String, String, Int64, Int64?).self)
        return CustomerTicket(
          ticketID: id, createdMs: created, channel: channel, businessLine: line, problemType: problem, complaint: complaint != 0,
          resolved: open == 0)
      }
    }
  }

  public func answers(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerAnswer] {
    try transaction { session in
      try session.query(
        """
        SELECT response_id, ticket_id, scale, score, time_ms FROM survey
        WHERE tenant_id = \(tenant.rawValue) AND customer_id = \(customerID) AND time_ms >= \(sinceMs)
        ORDER BY time_ms DESC, response_id LIMIT \(Int64(limit))
        """
      ).map { row in
        let (response, ticket, scale, score, time) = try row.decode((String, String, String, Int64, Int64).self)
        return CustomerAnswer(answer: CaseAnswer(responseID: response, scale: scale, score: Int(score), timeMs: time), ticketID: ticket)
      }
    }
  }

  public func verifications(caseID: String, actionEffectiveMs: Int64) throws -> [CaseVerification] {
    try transaction { session in
      try session.query(
        """
        SELECT document FROM case_verification
        WHERE tenant_id = \(tenant.rawValue) AND case_id = \(caseID) AND action_ms = \(actionEffectiveMs) ORDER BY horizon_days
        """
      ).compactMap { row in CaseVerification(document: try row.decode(String.self)) }
    }
  }

  public func verifiedHorizons() throws -> Set<VerifiedHorizon> {
    try transaction { session in
      Set(
        try session.query(
          "SELECT case_id, action_ms, horizon_days FROM case_verification WHERE tenant_id = \(tenant.rawValue)"
        ).map { row in
          let (caseID, actionMs, horizon) = try row.decode((String, Int64, Int64).self)
          return VerifiedHorizon(caseID: caseID, actionEffectiveMs: actionMs, horizonDays: Int(horizon))
        })
    }
  }

  public func recordVerification(_ verification: CaseVerification, of serviceCase: ServiceCase, fence: LeaseFence) throws -> Bool {
    try transaction { session in
      try session.checkFence(fence, component: Schema.component, tenant: tenant)
      let inserted = try session.execute(
        """
        INSERT INTO case_verification (tenant_id, case_id, action_ms, horizon_days, document)
        VALUES (\(tenant.rawValue), \(serviceCase.id), \(serviceCase.action?.effectiveMs ?? 0), \(Int64(verification.horizonDays)),
          \(verification.document))
        ON CONFLICT (tenant_id, case_id, action_ms, horizon_days) DO NOTHING
        """)
      guard inserted > 0 else { return false }
      try session.recordOutboxEvent(DeliveryEvent(verification, of: serviceCase), tenant: tenant)
      return true
    }
  }

  private func append(_ change: CaseChange, caseID: String, version: Int64, _ session: PostgresSession) throws {
    try session.execute(
      """
      INSERT INTO case_change (tenant_id, case_id, version, at_ms, actor, kind, detail)
      VALUES (\(tenant.rawValue), \(caseID), \(version), \(change.atMs), \(change.actor), \(change.kind.rawValue), \(change.detail))
      """)
  }

  /// The tenant's cases matching `condition` (`$1` is the tenant; `bindings` bind `$2`…).
  private func cases(where condition: String, bindings values: [CaseListingSQL.Binding]) throws -> [ServiceCase] {
    try transaction { session in
      var bindings = PostgresBindings()
      bindings.append(tenant.rawValue)
      for value in values {
        switch value {
        case .text(let text): bindings.append(text)
        case .integer(let number): bindings.append(number)
        }
      }
      let sql = "SELECT \(StoredCase.columns) FROM service_case WHERE tenant_id = $1\(condition)"
      return try session.query(PostgresQuery(unsafeSQL: sql, binds: bindings)).compactMap { row in
        let cells = row.makeRandomAccess()
        func text(_ index: Int) throws -> String { try cells[index].decode(String.self) }
        func number(_ index: Int) throws -> Int64 { try cells[index].decode(Int64.self) }
        func optional(_ index: Int) throws -> Int64? { try cells[index].decode(Int64?.self) }
        return StoredCase(
          id: try text(0), title: try text(1), source: try text(2), sourceRef: try text(3), owner: try text(4),
          dueMs: try number(5), dueBusiness: try number(6), status: try text(7), overdue: try number(8), scope: try text(9),
          action: try text(10), openedMs: try number(11), firstActionMs: try optional(12), closedMs: try optional(13),
          version: try number(14), followUpAttempts: try number(15), firstFollowUpMs: try optional(16),
          answerScale: try text(17), answerScore: try optional(18), answerMs: try optional(19)
        ).serviceCase
      }
    }
  }
}
