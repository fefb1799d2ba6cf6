/// The kinds of personal information that ingestion redacts from free text (PIPL: phone
/// numbers and e-mail addresses are personal information, ID and bank card numbers
/// sensitive personal information).
public enum PersonalDataKind: String, CaseIterable, Sendable, Comparable {
  /// A mainland China mobile number, with or without +86 / 0086.
  case phone
  /// An 18-character resident identity card number.
  case idNumber = "id_number"
  /// A bank card number.
  case bankCard = "bank_card"
  /// An e-mail address.
  case email

  /// The token's label in English text.
  public var englishLabel: String {
    switch self {
    case .phone: "PHONE"
    case .idNumber: "ID_NUMBER"
    case .bankCard: "BANK_CARD"
    case .email: "EMAIL"
    }
  }

  /// The token's label in Chinese text.
  public var chineseLabel: String {
    switch self {
    case .phone: "手机号"
    case .idNumber: "身份证号"
    case .bankCard: "银行卡号"
    case .email: "邮箱"
    }
  }

  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One piece of personal information found in a text.
public struct PersonalDataMatch: Sendable, Equatable {
  /// What it is.
  public var kind: PersonalDataKind
  /// Where it is: offsets in the text's Unicode scalars (not its normalised form).
  public var scalars: Range<Int>
  /// The value in a canonical form, the same however it was written: a phone's 11 digits,
  /// an ID number with an upper-case X, a card's digits, a lower-cased address.
  public var canonical: String
}

/// Finds phone, ID card, bank card numbers and e-mail addresses in Chinese and English
/// text (rules in docs/ingestion.md, "Personal data").
///
/// Numbers are found as runs of digit groups, not with word boundaries: in
/// `客户手机13800138000` there is no boundary between 机 and 1. A group is its digits with
/// nothing but a non-digit on either side; groups joined by one space or dash form a run
/// (`138 0013 8000`, `+86-138-0013-8000`). Full-width digits and signs count as their
/// ASCII forms, while offsets stay in the original text. A group glued to Latin letters
/// (`SO13800138000`) or to a decimal point or thousands separator (`13,800,138,000`) is
/// part of a code or an amount, and never matches.
public enum PersonalDataDetector {
  /// Every match in `text`, in order, not overlapping.
  public static func matches(in text: String) -> [PersonalDataMatch] {
    guard mayHoldPersonalData(text) else { return [] }
    let scanner = Scanner(text)
    let emails = scanner.emails()
    return (emails + scanner.numbers(outside: emails)).sorted { $0.scalars.lowerBound < $1.scalars.lowerBound }
  }

  /// False when `text` has neither a digit nor an at sign, ASCII or full-width: most texts,
  /// passed over without decoding a scalar.
  static func mayHoldPersonalData(_ text: String) -> Bool {
    var previous: UInt8 = 0
    for byte in text.utf8 {
      if (0x30...0x39).contains(byte) || byte == 0x40 { return true }
      // U+FF10-FF19 (full-width digits) and U+FF20 (＠) are EF BC 90-A0 in UTF-8.
      if previous == 0xBC && (0x90...0xA0).contains(byte) { return true }
      previous = byte
    }
    return false
  }

  // MARK: - Checks, each on a number's characters alone

  /// Whether `digits` is a mainland mobile number, after dropping a leading 86 or 0086:
  /// 11 digits, 1 then 3-9. Returns the 11 digits.
  static func mobileNumber(_ digits: [UInt8]) -> [UInt8]? {
    var number = digits[...]
    if number.count == 13 && number.starts(with: [8, 6]) { number = number.dropFirst(2) }
    if number.count == 15 && number.starts(with: [0, 0, 8, 6]) { number = number.dropFirst(4) }
    guard number.count == 11, number.first == 1, (3...9).contains(number[number.startIndex + 1]) else { return nil }
    return Array(number)
  }

  /// Whether the 18 characters (17 digits, then a digit or 10 for X) are a resident ID
  /// number: a region code starting 1-8, a real birth date in 1900-2099, and the
  /// ISO 7064 MOD 11-2 check character.
  static func isResidentID(_ characters: [UInt8]) -> Bool {
    guard characters.count == 18, characters[..<17].allSatisfy({ $0 <= 9 }), (1...8).contains(characters[0]) else { return false }
    func number(_ range: Range<Int>) -> Int { characters[range].reduce(0) { $0 * 10 + Int($1) } }
    let year = number(6..<10)
    let month = number(10..<12)
    let day = number(12..<14)
    guard (1900...2099).contains(year), (1...12).contains(month),
      (1...RFC3339.daysInMonth(year: year, month: month)).contains(day)
    else { return false }
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    let sum = zip(characters, weights).reduce(0) { $0 + Int($1.0) * $1.1 }
    // MOD 11-2: the check value c makes (sum + c) ≡ 1 (mod 11); 10 is written X.
    return Int(characters[17]) == (12 - sum % 11) % 11
  }

  /// Whether `digits` pass the Luhn check.
  static func passesLuhn(_ digits: [UInt8]) -> Bool {
    var sum = 0
    for (position, digit) in digits.reversed().enumerated() {
      let value = Int(digit) * (position % 2 == 1 ? 2 : 1)
      sum += value > 9 ? value - 9 : value
    }
    return sum % 10 == 0
  }

  /// Whether `digits` look like a card number of a scheme issued in or to China: 16-19
  /// digits starting 3 (JCB), 4 (Visa), 5 or 2221-2720 (Mastercard), 6 (UnionPay,
  /// Discover). Numbers starting 1 or 2 are mostly dates and order numbers.
  static func hasCardPrefix(_ digits: [UInt8]) -> Bool {
    guard (16...19).contains(digits.count) else { return false }
    if (3...6).contains(digits[0]) { return true }
    let first4 = digits[..<4].reduce(0) { $0 * 10 + Int($1) }
    return (2221...2720).contains(first4)
  }

  /// Whether `digits` are a card number: of a card prefix and passing Luhn, or failing it
  /// with a 62 prefix next to a card word. 18 digits is the length of an ID number and rare
  /// for cards (UnionPay debit cards have 19, credit cards 16), so an 18-digit number also
  /// needs the card word: a mistyped ID number is no card.
  static func isCardNumber(_ digits: [UInt8], besideCardWord: @autoclosure () -> Bool) -> Bool {
    guard hasCardPrefix(digits) else { return false }
    if passesLuhn(digits) && digits.count != 18 { return true }
    return (passesLuhn(digits) || digits.starts(with: [6, 2])) && besideCardWord()
  }

  /// Words that make a 62-prefixed number a card number even when it fails Luhn (a typo
  /// in a card number is still the customer's card number).
  static let cardContextWords = ["卡号", "银行卡", "card"]
  /// How many characters before a number a context word may end.
  static let contextReach = 12
}

/// One pass over a text's scalars, with ASCII stand-ins for full-width digits and signs.
private struct Scanner {
  /// The text's scalars, as written.
  let original: [Unicode.Scalar]
  /// The same scalars, full-width forms replaced by ASCII ones (same count, same offsets).
  let normalised: [Unicode.Scalar]

  init(_ text: String) {
    original = Array(text.unicodeScalars)
    normalised = original.map(Self.normalise)
  }

  static func normalise(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    switch scalar.value {
    case 0xFF01...0xFF5E: Unicode.Scalar(scalar.value - 0xFEE0)!  // full-width ASCII forms
    case 0x3000, 0x00A0: " "
    case 0x2010...0x2014, 0x2212: "-"
    default: scalar
    }
  }

  func character(_ index: Int) -> Unicode.Scalar? { normalised.indices.contains(index) ? normalised[index] : nil }
  static func isDigit(_ s: Unicode.Scalar?) -> Bool { s.map { ("0"..."9").contains($0) } ?? false }
  static func isLatinLetter(_ s: Unicode.Scalar?) -> Bool { s.map { ("a"..."z").contains($0) || ("A"..."Z").contains($0) } ?? false }

  // MARK: E-mail

  static func isLocalPart(_ s: Unicode.Scalar) -> Bool {
    isLatinLetter(s) || isDigit(s) || "._%+-".unicodeScalars.contains(s)
  }
  static func isDomainPart(_ s: Unicode.Scalar) -> Bool { isLatinLetter(s) || isDigit(s) || s == "-" || s == "." }

  /// Addresses: a local part, @, and a domain of dot-separated labels ending in a
  /// top-level domain of two or more letters.
  func emails() -> [PersonalDataMatch] {
    var found: [PersonalDataMatch] = []
    for at in normalised.indices where normalised[at] == "@" {
      if let last = found.last, last.scalars.contains(at) { continue }
      var start = at
      while start > 0 && Self.isLocalPart(normalised[start - 1]) { start -= 1 }
      while start < at && normalised[start] == "." { start += 1 }
      var end = at + 1
      while end < normalised.count && Self.isDomainPart(normalised[end]) { end += 1 }
      while end > at + 1 && (normalised[end - 1] == "." || normalised[end - 1] == "-") { end -= 1 }
      guard start < at, end > at + 1 else { continue }
      let domain = String(String.UnicodeScalarView(normalised[(at + 1)..<end]))
      let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
      guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }),
        let tld = labels.last, tld.count >= 2, tld.allSatisfy({ $0.isASCII && $0.isLetter })
      else { continue }
      let address = String(String.UnicodeScalarView(normalised[start..<end])).lowercased()
      found.append(PersonalDataMatch(kind: .email, scalars: start..<end, canonical: address))
    }
    return found
  }

  // MARK: Numbers

  /// A maximal string of digits, with a trailing X when one follows (an ID number's check
  /// character).
  struct Group {
    var range: Range<Int>
    /// Digit values; an X is 10.
    var values: [UInt8]
    /// Joined to a Latin letter, a decimal point or a thousands separator.
    var glued: Bool
  }

  func groups(outside taken: [PersonalDataMatch]) -> [Group] {
    var groups: [Group] = []
    var index = 0
    while index < normalised.count {
      guard Self.isDigit(normalised[index]), !taken.contains(where: { $0.scalars.contains(index) }) else {
        index += 1
        continue
      }
      let start = index
      var values: [UInt8] = []
      while Self.isDigit(character(index)) {
        values.append(UInt8(normalised[index].value - 0x30))
        index += 1
      }
      if let x = character(index), x == "X" || x == "x", !Self.isLatinLetter(character(index + 1)), !Self.isDigit(character(index + 1)) {
        values.append(10)
        index += 1
      }
      let before = character(start - 1)
      let after = character(index)
      // ASCII marks only, as written: a full-width comma (，) separates clauses, not digits.
      func isDecimalMark(_ index: Int) -> Bool { original.indices.contains(index) && (original[index] == "." || original[index] == ",") }
      let decimalBefore = isDecimalMark(start - 1) && Self.isDigit(character(start - 2))
      let decimalAfter = isDecimalMark(index) && Self.isDigit(character(index + 1))
      let glued = Self.isLatinLetter(before) || Self.isLatinLetter(after) || decimalBefore || decimalAfter
      groups.append(Group(range: start..<index, values: values, glued: glued))
    }
    return groups
  }

  /// Groups joined by single spaces or dashes, split where a group is glued.
  func runs(_ groups: [Group]) -> [[Group]] {
    var runs: [[Group]] = []
    var current: [Group] = []
    for group in groups {
      if group.glued {
        if !current.isEmpty { runs.append(current) }
        current = []
        continue
      }
      if let last = current.last, group.range.lowerBound == last.range.upperBound + 1, last.values.last != 10,
        normalised[last.range.upperBound] == " " || normalised[last.range.upperBound] == "-"
      {
        current.append(group)
      } else {
        if !current.isEmpty { runs.append(current) }
        current = [group]
      }
    }
    if !current.isEmpty { runs.append(current) }
    return runs
  }

  /// Numbers in every run: from each group, the longest span of groups that is a number
  /// of some kind, taken greedily left to right.
  func numbers(outside taken: [PersonalDataMatch]) -> [PersonalDataMatch] {
    var found: [PersonalDataMatch] = []
    for run in runs(groups(outside: taken)) {
      var first = 0
      while first < run.count {
        var longest: PersonalDataMatch?
        var characters: [UInt8] = []
        for last in first..<run.count {
          characters += run[last].values
          if characters.count > 19 { break }
          if let match = classify(characters, from: run[first].range.lowerBound, to: run[last].range.upperBound) { longest = match }
        }
        if let match = longest {
          found.append(match)
          first = run.firstIndex { $0.range.lowerBound >= match.scalars.upperBound } ?? run.count
        } else {
          first += 1
        }
      }
    }
    return found
  }

  /// What the characters from `start` to `end` are, if anything.
  func classify(_ characters: [UInt8], from start: Int, to end: Int) -> PersonalDataMatch? {
    if PersonalDataDetector.isResidentID(characters) {
      let canonical = String(characters.map { $0 == 10 ? "X" : Character(String($0)) })
      return PersonalDataMatch(kind: .idNumber, scalars: start..<end, canonical: canonical)
    }
    guard characters.last != 10 else { return nil }
    if let mobile = PersonalDataDetector.mobileNumber(characters) {
      // A "+" before a country code belongs to the number.
      let plus = characters.count > 11 && character(start - 1) == "+" ? 1 : 0
      return PersonalDataMatch(kind: .phone, scalars: (start - plus)..<end, canonical: digits(mobile))
    }
    if PersonalDataDetector.isCardNumber(characters, besideCardWord: hasCardContext(before: start)) {
      return PersonalDataMatch(kind: .bankCard, scalars: start..<end, canonical: digits(characters))
    }
    return nil
  }

  func digits(_ values: [UInt8]) -> String { String(values.map { Character(String($0)) }) }

  /// Whether a card context word ends within `contextReach` characters before `start`.
  func hasCardContext(before start: Int) -> Bool {
    let from = max(0, start - PersonalDataDetector.contextReach)
    let window = String(String.UnicodeScalarView(normalised[from..<start])).lowercased()
    return PersonalDataDetector.cardContextWords.contains { window.contains($0) }
  }
}
