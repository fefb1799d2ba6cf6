import SightlineModel
import Testing

/// Durations as people write them (`sightline settings set`, alert windows), and back.
@Suite struct HumanDurationTests {
  @Test func durationsReadAsWrittenAndWriteBackInTheLargestExactUnits() throws {
    let cases: [(String, Int64)] = [
      ("45s", 45), ("30m", 1_800), ("1h", 3_600), ("1h30m", 5_400), ("1.5h", 5_400), ("48h", 172_800), ("7d", 604_800),
      ("2w", 1_209_600), ("1d 12h", 129_600), ("90M", 5_400), ("0.5m", 30),
    ]
    for (text, seconds) in cases { #expect(try HumanDuration.seconds(text).get() == seconds, "\(text)") }
    for bad in ["", "30", "h", "1x", "-1h", "0h", "1.5.2h", "1h30", "0.3s", "1e3h", "9999w", "一小时"] {
      #expect(throws: HumanDuration.DurationError.self, "\(bad)") { try HumanDuration.seconds(bad).get() }
    }
    #expect(
      HumanDuration.seconds("soon").failureDescription
        == "'soon' is not a duration (whole seconds written like 45s, 30m, 1h30m, 1.5h, 48h, 7d or 2w)")
    let written: [(Int64, String)] = [(3_600, "1h"), (5_400, "1h30m"), (86_400, "1d"), (129_600, "1d12h"), (604_800, "1w"), (61, "1m1s")]
    for (seconds, text) in written { #expect(HumanDuration.text(seconds) == text) }
  }
}

extension Result where Failure == HumanDuration.DurationError {
  var failureDescription: String? {
    if case .failure(let error) = self { error.description } else { nil }
  }
}
