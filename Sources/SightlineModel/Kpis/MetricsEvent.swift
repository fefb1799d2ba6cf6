/// What happened to a ticket, as the metrics service sees it.
public enum TicketEventType: String, Sendable, Hashable {
  case created
  case agentReply = "agent_reply"
  case customerReply = "customer_reply"
  case resolved
  case reopened
}

/// A ticket's attributes: the values of the ticket dimensions.
public struct TicketAttributes: Sendable, Equatable {
  public var channel = ""
  public var region = ""
  public var businessLine = ""
  public var agent = ""
  public var productModule = ""
  public var problemType = ""
  public var priority = TicketPriority.normal
  public var complaint = false

  /// Attributes from their parts (all optional).
  public init(
    channel: String = "", region: String = "", businessLine: String = "", agent: String = "",
    productModule: String = "", problemType: String = "", priority: TicketPriority = .normal, complaint: Bool = false
  ) {
    self.channel = channel
    self.region = region
    self.businessLine = businessLine
    self.agent = agent
    self.productModule = productModule
    self.problemType = problemType
    self.priority = priority
    self.complaint = complaint
  }
}

/// One log entry reduced to what the KPIs use. The metrics consumer maps each wire event
/// to one of these; records the KPIs do not use (feedback, orders) become `.other`.
public enum MetricsEvent: Sendable, Equatable {
  /// A ticket event; an agent reply may carry the agent's working time on it.
  case ticket(
    ticketID: String, customerID: String, type: TicketEventType, timeMs: Int64, attributes: TicketAttributes,
    handleMs: Int64? = nil)
  /// A survey answer.
  case survey(
    responseID: String, customerID: String, ticketID: String, scale: SurveyScale, score: Int, timeMs: Int64,
    channel: String)
  /// A customer profile upsert (only the attributes KPIs group by).
  case profile(customerID: String, type: String, tier: String, region: String, timeMs: Int64)
  /// Anything else: it still advances the consumer's offset.
  case other
}
