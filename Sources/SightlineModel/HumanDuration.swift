/// Durations as people write them: `45s`, `30m`, `1h30m`, `1.5h`, `48h`, `7d`, `2w`, and
/// back. Used by the CLI's flags (settings, alert windows) and in its output.
public enum HumanDuration {
  static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]

  /// The whole seconds of `text` (one or more number-unit parts, units s, m, h, d, w), or
  /// why it is not a duration.
  public static func seconds(_ text: String) -> Result<Int64, DurationError> {
    let trimmed = text.filter { $0 != " " }.lowercased()
    guard !trimmed.isEmpty else { return .failure(DurationError(text: text)) }
    var total = 0.0
    var number = ""
    for character in trimmed {
      if character.isASCII && (character.isNumber || character == ".") {
        number.append(character)
      } else if let unit = units[character], let amount = Double(number), amount.isFinite {
        total += amount * unit
        number = ""
      } else {
        return .failure(DurationError(text: text))
      }
    }
    guard number.isEmpty, total > 0, total < 100 * 365 * 86_400, total == total.rounded() else {
      return .failure(DurationError(text: text))
    }
    return .success(Int64(total))
  }

  /// `seconds` in the largest units that write it exactly: 3600 → `1h`, 5400 → `1h30m`.
  public static func text(_ seconds: Int64) -> String {
    guard seconds > 0 else { return "\(seconds)s" }
    var rest = seconds
    var parts: [String] = []
    for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
      parts.append("\(rest / size)\(unit)")
      rest %= size
    }
    return parts.joined()
  }

  /// Text that is not a duration.
  public struct DurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String {
      "'\(text)' is not a duration (whole seconds written like 45s, 30m, 1h30m, 1.5h, 48h, 7d or 2w)"
    }
  }
}
