/// What a tenant's ingestion does with personal data found in free text.
public enum RedactionPolicy: String, CaseIterable, Sendable {
  /// Stored as written.
  case off
  /// Each match replaced by its kind: `[手机号]`, `[PHONE]`. The default.
  case mask
  /// Each match replaced by its kind and a keyed hash of its value, `[PHONE#3f9a0c1d2e]`:
  /// the same number gives the same token, so repeat contacts can still be linked, while
  /// the number cannot be recovered without the tenant's key.
  case pseudonymise

  /// The policy of a tenant that never set one.
  public static let defaultPolicy = RedactionPolicy.mask
}

/// Replaces personal data in free text by tokens, as a tenant's policy says.
///
/// Tokens are in the text's language: Chinese labels when the text holds a CJK ideograph,
/// English ones otherwise.
public struct Redactor: Sendable {
  /// The policy applied.
  public let policy: RedactionPolicy
  /// For `pseudonymise`: the tag of a canonical value (a keyed hash, in hex).
  let pseudonym: @Sendable (PersonalDataKind, String) -> String

  /// A redactor for `policy`; `pseudonym` tags values under `pseudonymise`.
  public init(policy: RedactionPolicy, pseudonym: @escaping @Sendable (PersonalDataKind, String) -> String = { _, _ in "" }) {
    self.policy = policy
    self.pseudonym = pseudonym
  }

  /// `text` with its personal data replaced, and how many of each kind were replaced.
  public func redact(_ text: String) -> (text: String, found: [PersonalDataKind]) {
    guard policy != .off else { return (text, []) }
    let matches = PersonalDataDetector.matches(in: text)
    guard !matches.isEmpty else { return (text, []) }
    let chinese = text.contains(where: Tokenizer.isCJK)
    var scalars = Array(text.unicodeScalars)
    for match in matches.reversed() {
      let label = chinese ? match.kind.chineseLabel : match.kind.englishLabel
      let token = policy == .pseudonymise ? "[\(label)#\(pseudonym(match.kind, match.canonical))]" : "[\(label)]"
      scalars.replaceSubrange(match.scalars, with: token.unicodeScalars)
    }
    return (String(String.UnicodeScalarView(scalars)), matches.map(\.kind))
  }

  /// Every label a token may carry, so that text analysis can leave tokens out.
  static let labels: Set<String> = Set(PersonalDataKind.allCases.flatMap { [$0.englishLabel, $0.chineseLabel] })

  /// The length in characters of the redaction token starting at `characters[start]`, if
  /// one does (`[PHONE]`, `[手机号#3f9a0c1d2e]`).
  static func tokenLength(_ characters: [Character], at start: Int) -> Int? {
    guard characters[start] == "[" else { return nil }
    var end = start + 1
    while end < characters.count && end - start <= 32 && characters[end] != "]" { end += 1 }
    guard end < characters.count, characters[end] == "]" else { return nil }
    let inside = String(characters[(start + 1)..<end])
    let label = inside.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
    return labels.contains(label.uppercased()) || labels.contains(String(label)) ? end - start + 1 : nil
  }
}
