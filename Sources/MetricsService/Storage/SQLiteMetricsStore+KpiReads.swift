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
    var builder = KpiReadSQL(.sqlite)
    let (sql, values) = builder.tickets(selection)
    let groups = selection.groupBy.count
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + values))
      while let row = try rows.next() {
        var facts = TicketFacts(
          createdMs: row[0], priority: TicketPriority(rawValue: row[1]) ?? .normal, complaint: row[2],
          firstReplyMs: row[3], replyCount: row[4], firstResolvedMs: row[5], lastResolvedMs: row[6],
          reopenCount: row[7], isResolved: (row[8] as Int?) == 0, nextContactMs: row[9], handleMs: row[10],
          handledReplies: row[11])
        if selection.ticketLines {
          facts.businessLine = row[KpiReadSQL.ticketFactColumns + groups] ?? ""
          facts.channel = row[KpiReadSQL.ticketFactColumns + groups + 1] ?? ""
        }
        try body(facts, (0..<groups).map { row[KpiReadSQL.ticketFactColumns + $0] ?? "" })
      }
    }
  }

  /// Calls `body` with each survey answer given in the selection's range that passes its
  /// filters (ticket dimensions come from the answer's ticket, if it names one).
  public func forEachSurvey(_ selection: KpiSelection, _ body: (SurveyFact, Int64, [String]) throws -> Void) throws {
    var builder = KpiReadSQL(.sqlite)
    let (sql, values) = builder.surveys(selection)
    let groups = selection.groupBy.count + (selection.surveyServiceTime ? 1 : 0)
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([selection.startMs, selection.endMs] + values))
      while let row = try rows.next() {
        guard let scale = SurveyScale(rawValue: row[0]) else { continue }
        try body(SurveyFact(scale: scale, score: row[1]), row[2], (0..<groups).map { row[3 + $0] ?? "" })
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
    var builder = KpiReadSQL(.sqlite)
    let (sql, values) = builder.statusHistories(filters: filters, groupBy: groupBy)
    try writer.read { db in
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([beforeMs, sinceMs] + values))
      var histories = StatusHistories(groups: groupBy.count)
      while let row = try rows.next() {
        try histories.add(ticket: row[0], timeMs: row[1], open: row[2], label: { row[3 + $0] ?? "" }, to: body)
      }
      try histories.finish(to: body)
    }
  }
}

/// Gathers status events, arriving ticket by ticket in time order, into each ticket's
/// history, and hands each history on once the next ticket starts.
struct StatusHistories {
  typealias Body = ([(timeMs: Int64, open: Bool)], [String]) throws -> Void
  private let groups: Int
  private var current: String?
  private var history: [(timeMs: Int64, open: Bool)] = []
  private var labels: [String] = []

  init(groups: Int) { self.groups = groups }

  /// One status event; `label(i)` reads the row's i-th grouping value (read only on a new
  /// ticket).
  mutating func add(ticket: String, timeMs: Int64, open: Bool, label: (Int) -> String, to body: Body) throws {
    if ticket != current {
      try finish(to: body)
      current = ticket
      labels = (0..<groups).map(label)
    }
    history.append((timeMs, open))
  }

  /// Hands on the last ticket's history.
  mutating func finish(to body: Body) throws {
    if current != nil, !history.isEmpty { try body(history, labels) }
    history.removeAll(keepingCapacity: true)
  }
}
