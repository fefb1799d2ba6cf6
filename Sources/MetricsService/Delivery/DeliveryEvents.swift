public import SightlineModel

extension DeliveryEvent {
  /// The event of `kind` about `alert`: its id names the change and the alert, so saving
  /// the same change twice writes one event.
  public init(_ alert: AlertRecord, kind: DeliveryEventKind) {
    var facts = DeliveryFacts()
    facts.subject = alert.id
    facts.summary = alert.message
    facts.kpi = alert.kpi.rawValue
    facts.dimension = alert.dimension?.rawValue
    facts.dimensionValue = alert.dimensionValue
    facts.value = alert.value
    facts.expectedLow = alert.expectedLow
    facts.expectedHigh = alert.expectedHigh
    facts.severity = alert.severity.rawValue
    facts.contributors = alert.contributors.map {
      DeliveryContributor(dimension: $0.dimension.rawValue, value: $0.value, effect: $0.effect)
    }
    self.init(
      id: "\(kind.rawValue)-\(alert.id)", kind: kind, atMs: kind == .alertResolved ? alert.resolvedMs ?? alert.openedMs : alert.openedMs,
      facts: facts)
  }

  /// The event of `kind` about `serviceCase` at `atMs`.
  public init(_ serviceCase: ServiceCase, kind: DeliveryEventKind, atMs: Int64) {
    var facts = DeliveryFacts()
    facts.subject = serviceCase.id
    facts.summary = serviceCase.title
    facts.owner = serviceCase.owner
    facts.dueMs = serviceCase.dueMs
    facts.source = serviceCase.source.rawValue
    self.init(id: "\(kind.rawValue)-\(serviceCase.id)", kind: kind, atMs: atMs, facts: facts)
  }

  /// The `verification.result` event of `serviceCase`'s action at one horizon.
  public init(_ verification: CaseVerification, of serviceCase: ServiceCase) {
    var facts = DeliveryFacts()
    facts.subject = serviceCase.id
    facts.summary =
      "\(serviceCase.action?.description ?? serviceCase.title) (\(verification.horizonDays) days): \(verification.verdict.rawValue)"
    facts.kpi = verification.kpi
    facts.owner = serviceCase.owner
    facts.verdict =
      verification.verdict.rawValue + " (\(verification.method)"
      + (verification.weakerEvidence ? ", weaker evidence: no untouched units" : "")
      + ")"
    // An interval the design cannot bound (too few units) is left out, not sent as ±∞.
    func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
    facts.effect = finite(verification.effect)
    facts.ciLow = finite(verification.ciLow)
    facts.ciHigh = finite(verification.ciHigh)
    facts.pValue = finite(verification.pValue)
    self.init(
      id: "verification.result-\(serviceCase.id)-\(serviceCase.action?.effectiveMs ?? 0)-\(verification.horizonDays)d",
      kind: .verificationResult, atMs: verification.evaluatedMs, facts: facts)
  }

  /// The event a case change announces, if any: its opening, or its escalation when overdue.
  static func announced(by change: CaseChange, of serviceCase: ServiceCase) -> DeliveryEvent? {
    switch change.kind {
    case .opened: DeliveryEvent(serviceCase, kind: .caseOpened, atMs: change.atMs)
    case .escalated: DeliveryEvent(serviceCase, kind: .caseOverdue, atMs: change.atMs)
    case .assigned, .status, .note, .action, .followUp: nil
    }
  }
}
