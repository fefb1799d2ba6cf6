import Foundation
import GRDB
public import SightlineModel
public import SightlineStorage

/// Cases and case rules of one tenant, in its metrics database beside the alerts and
/// answers that open them.
extension SQLiteStore: CaseStore where Schema == MetricsSchema {
  public func caseRules() throws -> CaseRules {
    try CaseRules(document: try writer.read { db in try String.fetchOne(db, sql: "SELECT document FROM case_rules WHERE id = 1") })
  }

  public func setCaseRules(_ rules: CaseRules) throws {
    try writer.write { db in
      try db.execute(
        sql: "INSERT INTO case_rules (id, document) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET document = excluded.document",
        arguments: [rules.document])
    }
  }

  /// Inserts the case unless one of its id exists. The fence is not checked: one process is
  /// the only writer of a tenant's SQLite file.
  public func open(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool {
    try writer.write { db in
      try db.execute(
        sql: "INSERT INTO service_case (\(StoredCase.columns)) VALUES (\(placeholders(20))) ON CONFLICT (id) DO NOTHING",
        arguments: StatementArguments(Self.values(StoredCase(serviceCase))))
      guard db.changesCount > 0 else { return false }
      try Self.append(change, caseID: serviceCase.id, version: serviceCase.version, db)
      if let event = DeliveryEvent.announced(by: change, of: serviceCase) { try SQLiteOutbox.record(event, db) }
      return true
    }
  }

  public func update(_ serviceCase: ServiceCase, change: CaseChange, fence: LeaseFence) throws -> Bool {
    try writer.write { db in
      let stored = StoredCase(serviceCase)
      try db.execute(
        sql: """
          UPDATE service_case SET title = ?, source = ?, source_ref = ?, owner = ?, due_ms = ?, due_business = ?, status = ?,
            overdue = ?, scope = ?, action = ?, opened_ms = ?, first_action_ms = ?, closed_ms = ?, version = ?,
            follow_up_attempts = ?, first_follow_up_ms = ?, answer_scale = ?, answer_score = ?, answer_ms = ?
          WHERE id = ? AND version = ?
          """,
        arguments: StatementArguments(Array(Self.values(stored).dropFirst()) + [stored.id, stored.version - 1]))
      guard db.changesCount > 0 else { return false }
      try Self.append(change, caseID: serviceCase.id, version: serviceCase.version, db)
      if let event = DeliveryEvent.announced(by: change, of: serviceCase) { try SQLiteOutbox.record(event, db) }
      return true
    }
  }

  public func serviceCase(id: String) throws -> ServiceCase? {
    try writer.read { db in
      try Row.fetchOne(db, sql: "SELECT \(StoredCase.columns) FROM service_case WHERE id = ?", arguments: [id])
        .flatMap(Self.storedCase)
    }
  }

  public func history(caseID: String) throws -> [CaseChange] {
    try writer.read { db in
      try Row.fetchAll(
        db, sql: "SELECT at_ms, actor, kind, detail FROM case_change WHERE case_id = ? ORDER BY version", arguments: [caseID]
      ).compactMap { row in
        CaseChangeKind(rawValue: row[2]).map { CaseChange(atMs: row[0], actor: row[1], kind: $0, detail: row[3]) }
      }
    }
  }

  public func cases(_ filter: CaseFilter) throws -> [ServiceCase] {
    let (clauses, bindings) = CaseListingSQL.clauses(filter, first: 1) { _ in "?" }
    let arguments = StatementArguments(
      bindings.map { binding -> (any DatabaseValueConvertible)? in
        switch binding {
        case .text(let text): text
        case .integer(let number): number
        }
      })
    return try writer.read { db in
      try Row.fetchAll(db, sql: "SELECT \(StoredCase.columns) FROM service_case WHERE 1 = 1\(clauses)", arguments: arguments)
        .compactMap(Self.storedCase)
    }
  }

  public func uncasedDetractors(sinceMs: Int64, rules: CaseRules, limit: Int) throws -> [DetractorAnswer] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT s.response_id, s.customer_id, s.ticket_id, s.scale, s.score, s.time_ms, COALESCE(t.business_line, ''),
            COALESCE(t.region, '')
          FROM survey s LEFT JOIN ticket t ON t.ticket_id = s.ticket_id
          WHERE s.time_ms >= ? AND ((s.scale = 'nps' AND s.score <= ?) OR (s.scale = 'csat' AND s.score <= ?))
            AND NOT EXISTS (SELECT 1 FROM service_case c WHERE c.id = 'answer-' || s.response_id)
          ORDER BY s.time_ms, s.response_id LIMIT ?
          """,
        arguments: [sinceMs, rules.npsMax, rules.csatMax, limit]
      ).map { row in
        DetractorAnswer(
          answer: CaseAnswer(responseID: row[0], scale: row[3], score: row[4], timeMs: row[5]), customerID: row[1],
          ticketID: row[2], businessLine: row[6], region: row[7])
      }
    }
  }

  public func nextAnswerScores(_ questions: [NextAnswerQuestion]) throws -> [Int?] {
    guard !questions.isEmpty else { return [] }
    // The questions go in as one JSON array: one statement, however many there are.
    let list = String(decoding: try JSONEncoder().encode(questions.map { [$0.customerID, $0.scale, String($0.afterMs)] }), as: UTF8.self)
    return try writer.read { db in
      var scores = [Int?](repeating: nil, count: questions.count)
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT q.key, (
            SELECT s.score FROM survey s
            WHERE s.customer_id = json_extract(q.value, '$[0]') AND s.scale = json_extract(q.value, '$[1]')
              AND s.time_ms > CAST(json_extract(q.value, '$[2]') AS INTEGER)
            ORDER BY s.time_ms, s.response_id LIMIT 1)
          FROM json_each(?) q
          """, arguments: [list])
      {
        let index: Int = row[0]
        scores[index] = row[1]
      }
      return scores
    }
  }

  public func tickets(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerTicket] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT ticket_id, created_ms, channel, business_line, problem_type, complaint, 0, status_open
          FROM ticket WHERE customer_id = ? AND created_ms >= ? ORDER BY created_ms DESC, ticket_id LIMIT ?
          """,
        arguments: [customerID, sinceMs, limit]
      ).map { row in
        CustomerTicket(
          ticketID: row[0], createdMs: row[1], channel: row[2], businessLine: row[3], problemType: row[4],
          complaint: (row[5] as Int64) != 0, resolved: (row[7] as Int64?) == 0)
      }
    }
  }

  public func answers(customerID: String, sinceMs: Int64, limit: Int) throws -> [CustomerAnswer] {
    try writer.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT response_id, ticket_id, scale, score, time_ms FROM survey WHERE customer_id = ? AND time_ms >= ?
          ORDER BY time_ms DESC, response_id LIMIT ?
          """,
        arguments: [customerID, sinceMs, limit]
      ).map { row in
        CustomerAnswer(answer: CaseAnswer(responseID: row[0], scale: row[2], score: row[3], timeMs: row[4]), ticketID: row[1])
      }
    }
  }

  public func verifications(caseID: String, actionEffectiveMs: Int64) throws -> [CaseVerification] {
    try writer.read { db in
      try String.fetchAll(
        db, sql: "SELECT document FROM case_verification WHERE case_id = ? AND action_ms = ? ORDER BY horizon_days",
        arguments: [caseID, actionEffectiveMs]
      ).compactMap(CaseVerification.init(document:))
    }
  }

  public func verifiedHorizons() throws -> Set<VerifiedHorizon> {
    try writer.read { db in
      Set(
        try Row.fetchAll(db, sql: "SELECT case_id, action_ms, horizon_days FROM case_verification").map { row in
          VerifiedHorizon(caseID: row[0], actionEffectiveMs: row[1], horizonDays: row[2])
        })
    }
  }

  public func recordVerification(_ verification: CaseVerification, of serviceCase: ServiceCase, fence: LeaseFence) throws -> Bool {
    try writer.write { db in
      try db.execute(
        sql: """
          INSERT INTO case_verification (case_id, action_ms, horizon_days, document) VALUES (?, ?, ?, ?)
          ON CONFLICT DO NOTHING
          """,
        arguments: [serviceCase.id, serviceCase.action?.effectiveMs ?? 0, verification.horizonDays, verification.document])
      guard db.changesCount > 0 else { return false }
      try SQLiteOutbox.record(DeliveryEvent(verification, of: serviceCase), db)
      return true
    }
  }

  private static func append(_ change: CaseChange, caseID: String, version: Int64, _ db: Database) throws {
    try db.execute(
      sql: "INSERT INTO case_change (case_id, version, at_ms, actor, kind, detail) VALUES (?, ?, ?, ?, ?, ?)",
      arguments: [caseID, version, change.atMs, change.actor, change.kind.rawValue, change.detail])
  }

  private static func values(_ stored: StoredCase) -> [(any DatabaseValueConvertible)?] {
    [
      stored.id, stored.title, stored.source, stored.sourceRef, stored.owner, stored.dueMs, stored.dueBusiness, stored.status,
      stored.overdue, stored.scope, stored.action, stored.openedMs, stored.firstActionMs, stored.closedMs, stored.version,
      stored.followUpAttempts, stored.firstFollowUpMs, stored.answerScale, stored.answerScore, stored.answerMs,
    ]
  }

  private static func storedCase(_ row: Row) -> ServiceCase? {
    StoredCase(
      id: row[0], title: row[1], source: row[2], sourceRef: row[3], owner: row[4], dueMs: row[5], dueBusiness: row[6],
      status: row[7], overdue: row[8], scope: row[9], action: row[10], openedMs: row[11], firstActionMs: row[12],
      closedMs: row[13], version: row[14], followUpAttempts: row[15], firstFollowUpMs: row[16], answerScale: row[17],
      answerScore: row[18], answerMs: row[19]
    ).serviceCase
  }
}

private func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }
