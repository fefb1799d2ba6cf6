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
  /// Only tickets without an agent reply (for judging SLA breaches of unanswered tickets).
  public var unansweredOnly = false
  /// Survey reads: also give each answer's service time, the creation of the ticket it is
  /// about (its own time when it names none), as one more value after the groups (Unix ms
  /// as text). The hour-of-week cut reads an answer there: when the service was given.
  public var surveyServiceTime = false

  /// A selection from its parts.
  public init(startMs: Int64, endMs: Int64, filters: [KpiDimension: [String]] = [:], groupBy: [KpiDimension] = []) {
    self.startMs = startMs
    self.endMs = endMs
    self.filters = filters
    self.groupBy = groupBy
  }
}
