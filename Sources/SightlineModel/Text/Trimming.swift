extension String {
  /// The string without leading and trailing white space and line breaks: exactly what
  /// Foundation's `trimmingCharacters(in: .whitespacesAndNewlines)` removes.
  ///
  /// Native, not Foundation's `trimmingCharacters(in:)`: on Linux that one goes through
  /// NSString and UTF-16 for every call, and was over a quarter of ingestion's CPU time (it
  /// runs on every id and text field of every event). A string with nothing to trim is
  /// returned as it is, without copying.
  public var trimmingWhitespace: String {
    // Fast path: printable ASCII at both ends (ids, codes, times) needs no scalar lookups.
    guard let firstByte = utf8.first, let lastByte = utf8.last else { return self }
    if (0x21...0x7E).contains(firstByte) && (0x21...0x7E).contains(lastByte) { return self }
    let scalars = unicodeScalars
    guard let first = scalars.first, let last = scalars.last else { return self }
    if !Self.isTrimmed(first) && !Self.isTrimmed(last) { return self }
    guard let start = scalars.firstIndex(where: { !Self.isTrimmed($0) }) else { return "" }
    let end = scalars.lastIndex(where: { !Self.isTrimmed($0) })!
    return String(scalars[start...end])
  }

  /// White space as Foundation's set has it: the White_Space property, and the zero-width
  /// space (U+200B), which Foundation still counts.
  private static func isTrimmed(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace || scalar.value == 0x200B
  }
}
