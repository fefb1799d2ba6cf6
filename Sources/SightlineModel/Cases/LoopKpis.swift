/// The loop KPIs (DOMAIN.md, "Closing the loop"; docs/kpis.md), over the cases opened in a
/// range.
public enum LoopKpis {
  /// One loop KPI: a value (nil when its denominator is empty), and for the two times
  /// their median, in seconds.
  public struct Value: Sendable, Equatable {
    public var name: String
    public var value: Double?
    public var median: Double?
    /// Cases with an action, closed cases, detractor cases, followed-up detractors with a
    /// later answer.
    public var sampleSize: Int

    public init(name: String, value: Double?, median: Double? = nil, sampleSize: Int) {
      self.name = name
      self.value = value
      self.median = median
      self.sampleSize = sampleSize
    }
  }

  /// A detractor counts as followed up in time when its first attempt came within this.
  public static let followUpWindowMs: Int64 = 48 * 3_600_000

  /// The four KPIs of `cases`:
  /// - time to first action: opened → first status change or note by a person (seconds);
  /// - time to close: opened → closed, measured by `closeElapsedMs` (business time where
  ///   the tenant has a calendar);
  /// - follow-up rate: detractor cases with an attempt within 48 hours ÷ detractor cases;
  /// - recovery rate: followed-up detractors whose next answer of the same kind
  ///   (`nextAnswerScore`) is not a detractor's under `rules` ÷ followed-up detractors
  ///   with a later answer.
  public static func compute(
    cases: [ServiceCase], rules: CaseRules, closeElapsedMs: (Int64, Int64) -> Int64,
    nextAnswerScore: (ServiceCase) throws -> Int?
  ) rethrows -> [Value] {
    let firstAction = cases.compactMap { item in item.firstActionMs.map { Double($0 - item.openedMs) / 1000 } }
    let toClose = cases.compactMap { item in item.closedMs.map { Double(closeElapsedMs(item.openedMs, $0)) / 1000 } }
    let detractors = cases.filter { $0.source == .detractor }
    let inTime = detractors.filter { item in
      item.firstFollowUpMs.map { $0 - item.openedMs <= followUpWindowMs } ?? false
    }
    var laterAnswers = 0
    var recovered = 0
    for item in detractors where item.followUpAttempts > 0 {
      guard let answer = item.answer, let score = try nextAnswerScore(item) else { continue }
      laterAnswers += 1
      if !rules.isDetractor(scale: answer.scale, score: score) { recovered += 1 }
    }
    return [
      Value(name: "time_to_first_action", value: mean(firstAction), median: Percentile.median(firstAction), sampleSize: firstAction.count),
      Value(name: "time_to_close", value: mean(toClose), median: Percentile.median(toClose), sampleSize: toClose.count),
      Value(name: "follow_up_rate", value: ratio(inTime.count, detractors.count), sampleSize: detractors.count),
      Value(name: "recovery_rate", value: ratio(recovered, laterAnswers), sampleSize: laterAnswers),
    ]
  }

  private static func mean(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
  }

  private static func ratio(_ part: Int, _ whole: Int) -> Double? {
    whole == 0 ? nil : Double(part) / Double(whole)
  }
}
