import Foundation
public import GRDB
public import SightlineModel
public import SightlineStorage

/// The reads KPIs are computed from: tickets, survey answers and status histories in a
/// selection, with the values of the grouping dimensions.
extension SQLiteMetricsStore {
  // MARK: - Reads for KPIs

  /// Calls `body` with each ticket created in the selection's range that passes its
  /// filters, and the ticket's values of the grouping dimensions.
  public func forEachTicket(_ selection: KpiSelection, _ body: (TicketFacts, [String]) throws -> Void) throws {
    let (conditions, arguments) = Self.filterSQL(selection.filters, source: .ticket)
    let groups = selection.groupBy.map { Self.expression($0, source: .ticket) }
    let unanswered = selection.unansweredOnly ? " AND t.first_reply_ms IS NULL" : ""
    let sql = """
      SELECT t.created_ms, t.priority, t.complaint, t.first_reply_ms, t.reply_count, t.first_resolved_ms,
        t.last_resolved_ms, t.reopen_count, t.status_open, t.next_contact_ms\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t\(Self.customerJoin(selection.filters, selection.groupBy))
      WHERE t.created_ms >= ? AND t.created_ms < ?\(unanswered)\(conditions)
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + arguments))
      while let row = try rows.next() {
        let facts = TicketFacts(
          createdMs: row[0], priority: TicketPriority(rawValue: row[1]) ?? .normal, complaint: row[2],
          firstReplyMs: row[3], replyCount: row[4], firstResolvedMs: row[5], lastResolvedMs: row[6],
          reopenCount: row[7], isResolved: (row[8] as Int?) == 0, nextContactMs: row[9])
        try body(facts, (0..<groups.count).map { row[10 + $0] ?? "" })
      }
    }
  }

  /// Calls `body` with each survey answer given in the selection's range that passes its
  /// filters (ticket dimensions come from the answer's ticket, if it names one).
  public func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws {
    let (conditions, arguments) = Self.filterSQL(selection.filters, source: .survey)
    let groups = selection.groupBy.map { Self.expression($0, source: .survey) }
    let sql = """
      SELECT s.scale, s.score, s.time_ms\(groups.map { ", " + $0 }.joined())
      FROM survey AS s LEFT JOIN ticket AS t ON t.ticket_id = s.ticket_id
        LEFT JOIN customer AS c ON c.customer_id = s.customer_id
      WHERE s.time_ms >= ? AND s.time_ms < ?\(conditions)
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + arguments))
      while let row = try rows.next() {
        guard let scale = SurveyScale(rawValue: row[0]) else { continue }
        try body(SurveyFact(scale: scale, score: row[1]), row[2], (0..<groups.count).map { row[3 + $0] ?? "" })
      }
    }
  }

  /// Calls `body` with the status history (time-ordered (time, open) pairs) of every ticket
  /// passing the filters that was created before `beforeMs` and may be open at or after
  /// `sinceMs` (tickets whose last status event is a resolution before `sinceMs` are closed
  /// from then on and are skipped).
  public func forEachStatusHistory(
    filters: [KpiDimension: [String]], groupBy: [KpiDimension], sinceMs: Int64, beforeMs: Int64,
    _ body: ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
  ) throws {
    let (conditions, arguments) = Self.filterSQL(filters, source: .ticket)
    let groups = groupBy.map { Self.expression($0, source: .ticket) }
    let sql = """
      SELECT t.ticket_id, s.time_ms, s.open\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t LEFT JOIN customer AS c ON c.customer_id = t.customer_id
        JOIN status_event AS s ON s.ticket_id = t.ticket_id
      WHERE t.created_ms IS NOT NULL AND t.created_ms < ? AND (t.status_open = 1 OR t.status_ms >= ?)\(conditions)
      ORDER BY t.ticket_id, s.time_ms, s.log_offset
      """
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([beforeMs, sinceMs] + arguments))
      var current: String?
      var history: [(timeMs: Int64, open: Bool)] = []
      var labels: [String] = []
      while let row = try rows.next() {
        let ticket: String = row[0]
        if ticket != current {
          if current != nil { try body(history, labels) }
          current = ticket
          history.removeAll(keepingCapacity: true)
          labels = (0..<groups.count).map { row[3 + $0] ?? "" }
        }
        history.append((row[1], row[2]))
      }
      if current != nil { try body(history, labels) }
    }
  }

  /// The join to customers, only when a customer dimension is read (it costs a lookup per
  /// ticket).
  private static func customerJoin(_ filters: [KpiDimension: [String]], _ groupBy: [KpiDimension]) -> String {
    let needed = [KpiDimension.customerTier, .customerType].contains { filters[$0] != nil || groupBy.contains($0) }
    return needed ? " LEFT JOIN customer AS c ON c.customer_id = t.customer_id" : ""
  }

  /// Where a dimension's value comes from.
  private enum Source { case ticket, survey }

  /// The SQL expression of `dimension` for rows of `source` (aliases: t ticket, c
  /// customer, s survey). A survey takes its channel from itself (else its ticket), its
  /// region from its ticket (else the customer's profile), the rest from its ticket.
  private static func expression(_ dimension: KpiDimension, source: Source) -> String {
    switch (dimension, source) {
    case (.channel, .ticket): "t.channel"
    case (.channel, .survey): "COALESCE(NULLIF(s.channel, ''), t.channel, '')"
    case (.region, .ticket): "t.region"
    case (.region, .survey): "COALESCE(NULLIF(t.region, ''), c.region, '')"
    case (.businessLine, _): "COALESCE(t.business_line, '')"
    case (.agent, _): "COALESCE(t.agent, '')"
    case (.productModule, _): "COALESCE(t.product_module, '')"
    case (.problemType, _): "COALESCE(t.problem_type, '')"
    case (.priority, _): "COALESCE(t.priority, '')"
    case (.customerTier, _): "COALESCE(c.tier, '')"
    case (.customerType, _): "COALESCE(c.type, '')"
    case (.customer, .ticket): "t.customer_id"
    case (.customer, .survey): "s.customer_id"
    }
  }

  private static func filterSQL(_ filters: [KpiDimension: [String]], source: Source) -> (String, [any DatabaseValueConvertible]) {
    var sql = ""
    var arguments: [any DatabaseValueConvertible] = []
    for dimension in KpiDimension.allCases {
      guard let values = filters[dimension], !values.isEmpty else { continue }
      sql += " AND \(expression(dimension, source: source)) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))"
      arguments += values
    }
    return (sql, arguments)
  }
}
