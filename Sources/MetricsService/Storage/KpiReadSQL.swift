import SightlineModel

/// The SQL of the KPI reads, written once for both backends: which tickets, answers and
/// status histories a selection reads, and the expressions of its dimensions. The two
/// dialects differ only in their placeholders and in PostgreSQL's tenant column, which
/// every table and join there carries (`$1` is the tenant).
struct KpiReadSQL {
  /// SQLite (`?`) or PostgreSQL (`$n`, the tenant first).
  enum Dialect { case sqlite, postgres }

  let dialect: Dialect
  /// Placeholders handed out so far (PostgreSQL numbers them; `$1` is the tenant).
  private var used: Int

  init(_ dialect: Dialect) {
    self.dialect = dialect
    used = dialect == .postgres ? 1 : 0
  }

  /// The next placeholder.
  private mutating func placeholder() -> String {
    used += 1
    return dialect == .sqlite ? "?" : "$\(used)"
  }

  /// ` AND <alias>.tenant_id = $1` on PostgreSQL, nothing on SQLite (one file per tenant).
  private func tenant(_ alias: String) -> String { dialect == .postgres ? " AND \(alias).tenant_id = $1" : "" }

  /// `a.tenant_id = b.tenant_id AND ` on PostgreSQL: joins stay within the tenant and use the
  /// keys that lead with it.
  private func sameTenant(_ a: String, _ b: String) -> String { dialect == .postgres ? "\(a).tenant_id = \(b).tenant_id AND " : "" }

  /// The columns of a ticket's facts that ``tickets(_:)`` reads before the groups.
  static let ticketFactColumns = 12

  /// The tickets created in the selection's range that pass its filters; bind the range
  /// start and end, then `values`. Columns: the facts (``ticketFactColumns``), one per
  /// grouping dimension, then the business line and channel if the selection asks for them.
  mutating func tickets(_ selection: KpiSelection) -> (sql: String, values: [String]) {
    let (start, end) = (placeholder(), placeholder())
    let (conditions, values) = filters(selection.filters, source: .ticket)
    var groups = selection.groupBy.map { expression($0, source: .ticket) }
    if selection.ticketLines { groups += ["COALESCE(t.business_line, '')", "t.channel"] }
    var pending = ""
    switch selection.pending {
    case .unanswered: pending = " AND t.first_reply_ms IS NULL"
    case .open: pending = " AND t.status_open = 1"
    case nil: break
    }
    let sql = """
      SELECT t.created_ms, t.priority, t.complaint, t.first_reply_ms, t.reply_count, t.first_resolved_ms,
        t.last_resolved_ms, t.reopen_count, t.status_open, t.next_contact_ms, t.handle_ms, t.handled_replies\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t\(customerJoin(selection.filters, selection.groupBy))
      WHERE t.created_ms >= \(start) AND t.created_ms < \(end)\(tenant("t"))\(pending)\(conditions)
      """
    return (sql, values)
  }

  /// The survey answers given in the selection's range that pass its filters (ticket
  /// dimensions come from the answer's ticket, if it names one); bind as ``tickets(_:)``.
  /// Columns: scale, score, time, one per grouping dimension, then the service time when
  /// the selection asks for it.
  mutating func surveys(_ selection: KpiSelection) -> (sql: String, values: [String]) {
    let (start, end) = (placeholder(), placeholder())
    let (conditions, values) = filters(selection.filters, source: .survey)
    var groups = selection.groupBy.map { expression($0, source: .survey) }
    if selection.surveyServiceTime { groups.append("CAST(COALESCE(t.created_ms, s.time_ms) AS TEXT)") }
    let sql = """
      SELECT s.scale, s.score, s.time_ms\(groups.map { ", " + $0 }.joined())
      FROM survey AS s LEFT JOIN ticket AS t ON \(sameTenant("t", "s"))t.ticket_id = s.ticket_id
        LEFT JOIN customer AS c ON \(sameTenant("c", "s"))c.customer_id = s.customer_id
      WHERE s.time_ms >= \(start) AND s.time_ms < \(end)\(tenant("s"))\(conditions)
      """
    return (sql, values)
  }

  /// The status events, ticket by ticket in time order, of every ticket passing `filters`
  /// created before the first bound value that may be open at or after the second (tickets
  /// whose last status event is a resolution before it are closed from then on); bind
  /// those two, then `values`. Columns: ticket id, time, open, one per grouping dimension.
  mutating func statusHistories(filters: [KpiDimension: [String]], groupBy: [KpiDimension]) -> (sql: String, values: [String]) {
    let (before, since) = (placeholder(), placeholder())
    let (conditions, values) = self.filters(filters, source: .ticket)
    let groups = groupBy.map { expression($0, source: .ticket) }
    let sql = """
      SELECT t.ticket_id, s.time_ms, s.open\(groups.map { ", " + $0 }.joined())
      FROM ticket AS t LEFT JOIN customer AS c ON \(sameTenant("c", "t"))c.customer_id = t.customer_id
        JOIN status_event AS s ON \(sameTenant("s", "t"))s.ticket_id = t.ticket_id
      WHERE t.created_ms IS NOT NULL AND t.created_ms < \(before) AND (t.status_open = 1 OR t.status_ms >= \(since))\(tenant("t"))\(conditions)
      ORDER BY t.ticket_id, s.time_ms, s.log_offset
      """
    return (sql, values)
  }

  /// The join to customers, only when a customer dimension is read (it costs a lookup per
  /// ticket).
  private func customerJoin(_ filters: [KpiDimension: [String]], _ groupBy: [KpiDimension]) -> String {
    let needed = [KpiDimension.customerTier, .customerType].contains { filters[$0] != nil || groupBy.contains($0) }
    return needed ? " LEFT JOIN customer AS c ON \(sameTenant("c", "t"))c.customer_id = t.customer_id" : ""
  }

  /// Where a dimension's value comes from.
  enum Source { case ticket, survey }

  /// The SQL expression of `dimension` for rows of `source` (aliases: t ticket, c
  /// customer, s survey). A survey takes its channel from itself (else its ticket), its
  /// region from its ticket (else the customer's profile), the rest from its ticket.
  func expression(_ dimension: KpiDimension, source: Source) -> String {
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
    // Read from the row's time in the tenant's zone by the KPI engine (``TimeOfWeekCut``),
    // which never hands these to a store.
    case (.weekday, _), (.hourOfDay, _): preconditionFailure("\(dimension) is read from the time, not stored")
    }
  }

  private mutating func filters(_ filters: [KpiDimension: [String]], source: Source) -> (String, [String]) {
    var sql = ""
    var values: [String] = []
    for dimension in KpiDimension.allCases {
      guard let accepted = filters[dimension], !accepted.isEmpty else { continue }
      var placeholders: [String] = []
      for _ in accepted { placeholders.append(placeholder()) }
      sql += " AND \(expression(dimension, source: source)) IN (\(placeholders.joined(separator: ", ")))"
      values += accepted
    }
    return (sql, values)
  }
}
