/// A tenant's stable identifier, e.g. `t_3f9a0c…`. It names storage files, so it is
/// restricted to a safe alphabet: lowercase letters, digits and `_`, 3 to 64 characters,
/// starting with a letter. Anything else is refused before it reaches a file path.
public struct TenantID: Hashable, Sendable, Codable, CustomStringConvertible {
  /// The identifier text.
  public let rawValue: String

  /// Accepts `rawValue` only if it is a well-formed tenant id.
  public init?(_ rawValue: String) {
    guard Self.isValid(rawValue) else { return nil }
    self.rawValue = rawValue
  }

  public var description: String { rawValue }

  /// Whether `text` is a well-formed tenant id.
  public static func isValid(_ text: String) -> Bool {
    let scalars = text.unicodeScalars
    guard (3...64).contains(scalars.count), let first = scalars.first, ("a"..."z").contains(first) else {
      return false
    }
    return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
  }
}

/// Rules for the human-readable tenant name chosen by an operator.
public enum TenantName {
  /// Returns nil when `name` is acceptable, otherwise a sentence saying why not.
  public static func problem(with name: String) -> String? {
    if name.isEmpty { return "the tenant name is empty" }
    if name.utf8.count > 64 { return "the tenant name is longer than 64 bytes" }
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        || $0 == "-" || $0 == "_" || $0 == "."
    }
    return allowed ? nil : "the tenant name may contain only letters, digits, '-', '_' and '.'"
  }
}
