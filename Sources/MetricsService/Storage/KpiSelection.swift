public import SightlineModel

/// Which rows a KPI read selects and how it labels them: a time range, filters (every one
/// must hold; values of one filter are alternatives) and the dimensions to group by.
public struct KpiSelection: Sendable {
  /// Range start (inclusive) and end (exclusive), Unix ms.
  public var startMs: Int64
  public var endMs: Int64
  /// Dimension → accepted values.
  public var filters: [KpiDimension: [String]]
  /// Dimensions whose values label each row, in order.
  public var groupBy: [KpiDimension]
  /// Only the tickets a rollup left pending: without an agent reply, or open (for judging
  /// the SLA breaches of the last days).
  public var pending: PendingTickets?
  /// Ticket reads: also give each ticket's business line and channel (``TicketFacts``),
  /// which SLA policies match on.
  public var ticketLines = false
  /// Survey reads: also give each answer's service time, the creation of the ticket it is
  /// about (its own time when it names none), as one more value after the groups (Unix ms
  /// as text). The hour-of-week cut reads an answer there: when the service was given.
  public var surveyServiceTime = false

  /// The tickets whose SLA a rollup could not judge.
  public enum PendingTickets: Sendable {
    /// No agent reply yet (first-response SLA).
    case unanswered
    /// Open now (resolution SLA).
    case open
  }

  /// A selection from its parts.
  public init(startMs: Int64, endMs: Int64, filters: [KpiDimension: [String]] = [:], groupBy: [KpiDimension] = []) {
    self.startMs = startMs
    self.endMs = endMs
    self.filters = filters
    self.groupBy = groupBy
  }
}
