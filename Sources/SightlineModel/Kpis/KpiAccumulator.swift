/// One KPI's answer for one group and bucket.
public struct KpiResult: Sendable, Equatable {
  /// The headline value: a share in [0, 1], a count, a mean in seconds or score points,
  /// or NPS points. Meaningless (0) when `sampleSize` is 0.
  public var value: Double
  /// Observations behind the value: tickets, resolved tickets, responses, ...
  public var sampleSize: Int64
  /// Median and 90th percentile (time KPIs only), linear interpolation between closest
  /// ranks; exact, or within 1 % when read from daily rollups of busy days.
  public var median: Double?
  public var p90: Double?
  /// Mean score for csat; share scoring 5-7 for ces.
  public var secondary: Double?

  /// A result from its parts.
  public init(value: Double, sampleSize: Int64, median: Double? = nil, p90: Double? = nil, secondary: Double? = nil) {
    self.value = value
    self.sampleSize = sampleSize
    self.median = median
    self.p90 = p90
    self.secondary = secondary
  }
}

/// Sufficient statistics of one KPI for one unit and period: enough for unit-level means,
/// variances and delta-method ratios without raw events. For a ratio KPI `count` is the
/// denominator and `sum` the numerator (0/1 observations, so `sumSquares == sum`); for a
/// time or score KPI they are the count, sum and sum of squares of the observations.
public struct SufficientStatistics: Sendable, Equatable {
  public var count: Double
  public var sum: Double
  public var sumSquares: Double

  /// Statistics from their parts.
  public init(count: Double, sum: Double, sumSquares: Double) {
    self.count = count
    self.sum = sum
    self.sumSquares = sumSquares
  }

  /// The mean (or the ratio), nil without observations.
  public var mean: Double? { count > 0 ? sum / count : nil }
}

/// Folds tickets and survey answers of one group and bucket into every KPI of docs/kpis.md.
/// Counts and means are exact; medians and p90s are exact too unless a daily rollup
/// contributed a histogram (``TimeDistribution``: then within 1 %).
public struct KpiAccumulator: Sendable {
  private var tickets = 0
  private var firstResponse = TimeDistribution()
  private var resolution = TimeDistribution()
  /// The same durations in business time, on each ticket's calendar (empty without one).
  private var firstResponseBusiness = TimeDistribution()
  private var resolutionBusiness = TimeDistribution()
  private var unanswered = 0
  private var resolved = 0
  private var firstContactResolved = 0
  private var everResolved = 0
  private var reopened = 0
  private var slaMet = 0
  private var slaBreached = 0
  private var slaResolutionMet = 0
  private var slaResolutionBreached = 0
  /// Tickets counted without a "now" (a rollup) that are still unanswered (unresolved) and
  /// have a first-response (resolution) target: the query judges them.
  private var firstResponsePending = 0
  private var resolutionPending = 0
  private var complaints = 0
  private var complaintsClosedInTarget = 0
  private var repeatContacts = 0
  private var csatResponses = 0
  private var csatSatisfied = 0
  private var csatScoreSum = 0
  private var npsResponses = 0
  private var promoters = 0
  private var detractors = 0
  private var cesResponses = 0
  private var cesScoreSum = 0
  private var cesScoreSquares = 0
  private var cesEasy = 0
  private var backlog = 0

  /// An empty accumulator.
  public init() {}

  /// Counts a ticket created in the bucket, in calendar time on the plain targets (no
  /// calendar, no policy). It builds the default policy on each call: a loop over many
  /// tickets makes one ``ServiceClock`` and calls ``add(ticket:clock:nowMs:)``.
  public mutating func add(ticket: TicketFacts, settings: KpiSettings, nowMs: Int64?) {
    let terms = ServiceClock.Terms(policy: SlaPolicy.fallback(settings), span: nil)
    add(ticket: ticket, judgement: terms.judge(ticket, nowMs: nowMs), settings: settings)
  }

  /// Counts a ticket created in the bucket under its SLA policy and calendar (`clock`).
  /// `nowMs` is when the query runs: an unanswered (unresolved) ticket breaches its target
  /// only once the target has passed by then. With `nowMs` nil (a daily rollup, built before
  /// the query's "now" is known) such tickets are left pending; the query judges them later
  /// with ``countPendingAsBreached(firstResponse:resolution:)`` or ``judgePending(_:clock:nowMs:firstResponse:resolution:)``.
  public mutating func add(ticket: TicketFacts, clock: ServiceClock, nowMs: Int64?) {
    add(ticket: ticket, judgement: clock.judge(ticket, nowMs: nowMs), settings: clock.settings)
  }

  /// Counts a ticket created in the bucket, judged already (``ServiceClock/judge(_:nowMs:)``):
  /// a rollup build adds each ticket to many accumulators and measures it once.
  public mutating func add(ticket: TicketFacts, judgement: TicketJudgement, settings: KpiSettings) {
    tickets += 1
    let created = ticket.createdMs
    if let reply = ticket.firstReplyMs {
      firstResponse.add(reply - created)
      if let business = judgement.firstResponseBusinessMs { firstResponseBusiness.add(business) }
    } else {
      unanswered += 1
    }
    if ticket.isResolved {
      resolved += 1
      if let last = ticket.lastResolvedMs {
        resolution.add(last - created)
        if let business = judgement.resolutionBusinessMs { resolutionBusiness.add(business) }
      }
      if ticket.replyCount == 1 && ticket.reopenCount == 0 { firstContactResolved += 1 }
    }
    if ticket.everResolved {
      everResolved += 1
      if ticket.reopenCount > 0 { reopened += 1 }
    }
    switch judgement.firstResponse {
    case .met: slaMet += 1
    case .breached: slaBreached += 1
    case .pending: firstResponsePending += 1
    case .notJudged: break
    }
    switch judgement.resolution {
    case .met: slaResolutionMet += 1
    case .breached: slaResolutionBreached += 1
    case .pending: resolutionPending += 1
    case .notJudged: break
    }
    if ticket.complaint {
      complaints += 1
      if let first = ticket.firstResolvedMs, first - created <= settings.complaintTargetMs {
        complaintsClosedInTarget += 1
      }
    }
    if let next = ticket.nextContactMs, next > created, next - created <= settings.repeatWindowMs {
      repeatContacts += 1
    }
  }

  /// Counts a survey answer given in the bucket.
  public mutating func add(survey: SurveyFact) {
    switch survey.scale {
    case .csat:
      csatResponses += 1
      csatScoreSum += survey.score
      if survey.score >= 4 { csatSatisfied += 1 }
    case .nps:
      npsResponses += 1
      if survey.score >= 9 { promoters += 1 } else if survey.score <= 6 { detractors += 1 }
    case .ces:
      cesResponses += 1
      cesScoreSum += survey.score
      cesScoreSquares += survey.score * survey.score
      if survey.score >= 5 { cesEasy += 1 }
    }
  }

  /// Counts a ticket open at the bucket's end.
  public mutating func addBacklog() { backlog += 1 }

  /// Judges every pending ticket counted so far as breaching its first-response
  /// (resolution) target: right for a day whose every target had passed by the query's "now".
  public mutating func countPendingAsBreached(firstResponse: Bool, resolution: Bool) {
    if firstResponse { slaBreached += firstResponsePending }
    if resolution { slaResolutionBreached += resolutionPending }
  }

  /// Judges one ticket a rollup left pending (read again by the query): still unanswered
  /// (unresolved) and past its first-response (resolution) target by `nowMs`, it breaches.
  public mutating func judgePending(_ ticket: TicketFacts, clock: ServiceClock, nowMs: Int64, firstResponse: Bool, resolution: Bool) {
    let judgement = clock.judge(ticket, nowMs: nowMs)
    if firstResponse && ticket.firstReplyMs == nil && judgement.firstResponse == .breached { slaBreached += 1 }
    if resolution && !ticket.isResolved && judgement.resolution == .breached { slaResolutionBreached += 1 }
  }

  /// Adds everything `other` counted (the two must have seen disjoint tickets and answers),
  /// so parts of a range can be accumulated in parallel.
  public mutating func merge(_ other: KpiAccumulator) {
    tickets += other.tickets
    firstResponse.merge(other.firstResponse)
    resolution.merge(other.resolution)
    firstResponseBusiness.merge(other.firstResponseBusiness)
    resolutionBusiness.merge(other.resolutionBusiness)
    unanswered += other.unanswered
    resolved += other.resolved
    firstContactResolved += other.firstContactResolved
    everResolved += other.everResolved
    reopened += other.reopened
    slaMet += other.slaMet
    slaBreached += other.slaBreached
    slaResolutionMet += other.slaResolutionMet
    slaResolutionBreached += other.slaResolutionBreached
    firstResponsePending += other.firstResponsePending
    resolutionPending += other.resolutionPending
    complaints += other.complaints
    complaintsClosedInTarget += other.complaintsClosedInTarget
    repeatContacts += other.repeatContacts
    csatResponses += other.csatResponses
    csatSatisfied += other.csatSatisfied
    csatScoreSum += other.csatScoreSum
    npsResponses += other.npsResponses
    promoters += other.promoters
    detractors += other.detractors
    cesResponses += other.cesResponses
    cesScoreSum += other.cesScoreSum
    cesScoreSquares += other.cesScoreSquares
    cesEasy += other.cesEasy
    backlog += other.backlog
  }

  /// The value of `kpi`; a time KPI in `hours` (business hours read the business-time
  /// durations, which exist only where tickets ran on a calendar).
  public func result(_ kpi: KpiKind, hours: DurationHours = .calendar) -> KpiResult {
    switch kpi {
    case .volume: return KpiResult(value: Double(tickets), sampleSize: Int64(tickets))
    case .firstResponseTime: return Self.timeResult(hours == .business ? firstResponseBusiness : firstResponse)
    case .resolutionTime: return Self.timeResult(hours == .business ? resolutionBusiness : resolution)
    case .unanswered: return KpiResult(value: Double(unanswered), sampleSize: Int64(tickets))
    case .backlog: return KpiResult(value: Double(backlog), sampleSize: Int64(backlog))
    case .nps:
      let value = npsResponses > 0 ? 100 * Double(promoters - detractors) / Double(npsResponses) : 0
      return KpiResult(value: value, sampleSize: Int64(npsResponses))
    case .ces:
      guard cesResponses > 0 else { return KpiResult(value: 0, sampleSize: 0, secondary: 0) }
      return KpiResult(
        value: Double(cesScoreSum) / Double(cesResponses), sampleSize: Int64(cesResponses),
        secondary: Double(cesEasy) / Double(cesResponses))
    case .csat:
      var result = Self.share(csatSatisfied, of: csatResponses)
      result.secondary = csatResponses > 0 ? Double(csatScoreSum) / Double(csatResponses) : 0
      return result
    case .fcrRate, .reopenRate, .slaFirstResponse, .slaResolution, .complaintRate, .complaintClosureRate, .repeatContactRate:
      let (numerator, denominator) = ratioParts(kpi)!
      return Self.share(numerator, of: denominator)
    }
  }

  /// The sufficient statistics of `kpi` (see ``SufficientStatistics``).
  public func sufficientStatistics(_ kpi: KpiKind) -> SufficientStatistics {
    if let (numerator, denominator) = ratioParts(kpi) {
      return SufficientStatistics(count: Double(denominator), sum: Double(numerator), sumSquares: Double(numerator))
    }
    switch kpi {
    case .firstResponseTime: return Self.moments(firstResponse)
    case .resolutionTime: return Self.moments(resolution)
    case .volume: return SufficientStatistics(count: Double(tickets), sum: Double(tickets), sumSquares: Double(tickets))
    case .backlog: return SufficientStatistics(count: Double(backlog), sum: Double(backlog), sumSquares: Double(backlog))
    case .unanswered:
      return SufficientStatistics(count: Double(tickets), sum: Double(unanswered), sumSquares: Double(unanswered))
    case .nps:
      // Each answer scores +100 (promoter), 0 (passive) or -100 (detractor); NPS is their mean.
      return SufficientStatistics(
        count: Double(npsResponses), sum: 100 * Double(promoters - detractors),
        sumSquares: 10_000 * Double(promoters + detractors))
    case .ces:
      return SufficientStatistics(count: Double(cesResponses), sum: Double(cesScoreSum), sumSquares: Double(cesScoreSquares))
    default: preconditionFailure("ratio KPIs are handled above")
    }
  }

  /// The observations of a time KPI (first response, resolution) in `hours`; nil for the others.
  public func timeDistribution(_ kpi: KpiKind, hours: DurationHours = .calendar) -> TimeDistribution? {
    switch kpi {
    case .firstResponseTime: hours == .business ? firstResponseBusiness : firstResponse
    case .resolutionTime: hours == .business ? resolutionBusiness : resolution
    default: nil
    }
  }

  /// Numerator and denominator of the share KPIs; nil for the others.
  private func ratioParts(_ kpi: KpiKind) -> (Int, Int)? {
    switch kpi {
    case .fcrRate: (firstContactResolved, resolved)
    case .reopenRate: (reopened, everResolved)
    case .slaFirstResponse: (slaMet, slaMet + slaBreached)
    case .slaResolution: (slaResolutionMet, slaResolutionMet + slaResolutionBreached)
    case .csat: (csatSatisfied, csatResponses)
    case .complaintRate: (complaints, tickets)
    case .complaintClosureRate: (complaintsClosedInTarget, complaints)
    case .repeatContactRate: (repeatContacts, tickets)
    default: nil
    }
  }

  private static func share(_ numerator: Int, of denominator: Int) -> KpiResult {
    KpiResult(value: denominator > 0 ? Double(numerator) / Double(denominator) : 0, sampleSize: Int64(denominator))
  }

  private static func timeResult(_ times: TimeDistribution) -> KpiResult {
    guard let mean = times.meanSeconds, let quantiles = times.percentiles([0.5, 0.9]) else {
      return KpiResult(value: 0, sampleSize: 0)
    }
    return KpiResult(value: mean, sampleSize: Int64(times.count), median: quantiles[0], p90: quantiles[1])
  }

  private static func moments(_ times: TimeDistribution) -> SufficientStatistics {
    SufficientStatistics(count: Double(times.count), sum: Double(times.sumMs) / 1000, sumSquares: times.sumSquaresSeconds)
  }

  // MARK: - Serialization (rollup rows)

  /// Format version of ``encoded()``; a stored rollup of another version is rebuilt.
  static let encodingVersion: Int64 = 2

  /// The counters, in the order ``encoded()`` writes them.
  private var counters: [Int] {
    [
      tickets, unanswered, resolved, firstContactResolved, everResolved, reopened, slaMet, slaBreached, complaints,
      complaintsClosedInTarget, repeatContacts, csatResponses, csatSatisfied, csatScoreSum, npsResponses, promoters,
      detractors, cesResponses, cesScoreSum, cesScoreSquares, cesEasy, backlog, slaResolutionMet, slaResolutionBreached,
      firstResponsePending, resolutionPending,
    ]
  }

  /// A compact binary form for daily rollup rows: little-endian 64-bit words.
  public func encoded() -> [UInt8] {
    var words: [Int64] = [Self.encodingVersion]
    words += counters.map(Int64.init)
    firstResponse.encode(into: &words)
    resolution.encode(into: &words)
    firstResponseBusiness.encode(into: &words)
    resolutionBusiness.encode(into: &words)
    return words.withUnsafeBytes { Array($0) }
  }

  /// Reads an accumulator written by ``encoded()``. Without `timeDistributions` the two
  /// time distributions are skipped and left empty: a read that asks for no time KPI
  /// (first response or resolution time) need not decode and merge them, which is most of
  /// a row's bytes.
  public init(encoded bytes: [UInt8], timeDistributions: Bool = true) throws(RollupDecodingError) {
    guard bytes.count % 8 == 0 else { throw RollupDecodingError() }
    var words = [Int64](repeating: 0, count: bytes.count / 8)
    bytes.withUnsafeBytes { source in words.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
    let counterCount = KpiAccumulator().counters.count
    guard words.count > counterCount, words[0] == Self.encodingVersion else { throw RollupDecodingError() }
    let c = words[1...counterCount].map { Int($0) }
    (tickets, unanswered, resolved, firstContactResolved, everResolved, reopened, slaMet, slaBreached) =
      (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
    (complaints, complaintsClosedInTarget, repeatContacts, csatResponses, csatSatisfied, csatScoreSum) =
      (c[8], c[9], c[10], c[11], c[12], c[13])
    (npsResponses, promoters, detractors, cesResponses, cesScoreSum, cesScoreSquares, cesEasy, backlog) =
      (c[14], c[15], c[16], c[17], c[18], c[19], c[20], c[21])
    (slaResolutionMet, slaResolutionBreached, firstResponsePending, resolutionPending) = (c[22], c[23], c[24], c[25])
    guard timeDistributions else { return }
    var position = counterCount + 1
    let distributions = try words.withUnsafeBufferPointer { buffer throws(RollupDecodingError) in
      var decoded: [TimeDistribution] = []
      for _ in 0..<4 { decoded.append(try TimeDistribution(decoding: buffer, at: &position)) }
      return decoded
    }
    guard position == words.count else { throw RollupDecodingError() }
    (firstResponse, resolution, firstResponseBusiness, resolutionBusiness) =
      (distributions[0], distributions[1], distributions[2], distributions[3])
  }
}
