import Foundation

/// Reads the small YAML subset experiment specs need (block mappings, block lists of
/// scalars or mappings, flow lists `[a, b]`, quoted or plain scalars, `#` comments) into
/// JSON-compatible values. Anything else is an error naming the line.
enum SimpleYAML {
  struct ParseError: Error, CustomStringConvertible {
    var line: Int
    var reason: String
    var description: String { "line \(line): \(reason)" }
  }

  private struct Line {
    var number: Int
    var indent: Int
    var text: String
  }

  static func parse(_ text: String) throws -> Any {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, raw -> Line? in
      var content = String(raw)
      if let hash = content.range(of: " #") ?? (content.hasPrefix("#") ? content.range(of: "#") : nil) {
        content = String(content[..<hash.lowerBound])
      }
      let trimmed = content.trimmingCharacters(in: .whitespaces)
      guard !trimmed.isEmpty, trimmed != "---" else { return nil }
      return Line(number: index + 1, indent: content.prefix { $0 == " " }.count, text: trimmed)
    }
    var position = 0
    return try block(lines, &position, indent: lines.first?.indent ?? 0)
  }

  private static func block(_ lines: [Line], _ position: inout Int, indent: Int) throws -> Any {
    guard position < lines.count else { return [String: Any]() }
    if lines[position].text.hasPrefix("- ") || lines[position].text == "-" {
      var list: [Any] = []
      while position < lines.count, lines[position].indent == indent, lines[position].text.hasPrefix("-") {
        let line = lines[position]
        let rest = String(line.text.dropFirst()).trimmingCharacters(in: .whitespaces)
        position += 1
        if rest.isEmpty {
          list.append(try block(lines, &position, indent: lines[safe: position]?.indent ?? indent + 2))
        } else if let colon = keyColon(rest) {
          // "- key: value" starts a mapping whose other keys are indented past the dash.
          var mapping: [String: Any] = [:]
          let key = String(rest[..<colon]).trimmingCharacters(in: .whitespaces)
          let value = String(rest[rest.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
          mapping[key] =
            value.isEmpty
            ? try block(lines, &position, indent: lines[safe: position]?.indent ?? indent + 2) : try scalar(value, line.number)
          if position < lines.count, lines[position].indent > indent, !lines[position].text.hasPrefix("-") {
            let more = try block(lines, &position, indent: lines[position].indent)
            guard let extra = more as? [String: Any] else { throw ParseError(line: line.number, reason: "expected more keys") }
            mapping.merge(extra) { first, _ in first }
          }
          list.append(mapping)
        } else {
          list.append(try scalar(rest, line.number))
        }
      }
      return list
    }
    var mapping: [String: Any] = [:]
    while position < lines.count, lines[position].indent == indent {
      let line = lines[position]
      guard let colon = keyColon(line.text) else { throw ParseError(line: line.number, reason: "expected 'key: value'") }
      let key = String(line.text[..<colon]).trimmingCharacters(in: .whitespaces)
      let value = String(line.text[line.text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
      position += 1
      if value.isEmpty {
        guard position < lines.count, lines[position].indent > indent || lines[position].text.hasPrefix("-") else {
          mapping[key] = NSNull()
          continue
        }
        mapping[key] = try block(lines, &position, indent: lines[position].indent)
      } else {
        mapping[key] = try scalar(value, line.number)
      }
    }
    if position < lines.count, lines[position].indent > indent {
      throw ParseError(line: lines[position].number, reason: "unexpected indentation")
    }
    return mapping
  }

  /// The colon ending a mapping key (not inside quotes, followed by space or the end).
  private static func keyColon(_ text: String) -> String.Index? {
    guard !text.hasPrefix("\""), !text.hasPrefix("'"), !text.hasPrefix("[") else { return nil }
    var index = text.startIndex
    while index < text.endIndex {
      if text[index] == ":" {
        let next = text.index(after: index)
        if next == text.endIndex || text[next] == " " { return index }
      }
      index = text.index(after: index)
    }
    return nil
  }

  private static func scalar(_ text: String, _ line: Int) throws -> Any {
    if text.hasPrefix("[") {
      guard text.hasSuffix("]") else { throw ParseError(line: line, reason: "unclosed '['") }
      let inner = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
      if inner.isEmpty { return [Any]() }
      return try inner.split(separator: ",").map { try scalar($0.trimmingCharacters(in: .whitespaces), line) }
    }
    if (text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2) || (text.hasPrefix("'") && text.hasSuffix("'") && text.count >= 2)
    {
      return String(text.dropFirst().dropLast())
    }
    if text == "true" { return true }
    if text == "false" { return false }
    if let number = Double(text), !text.contains("-") || text.hasPrefix("-") { return number }
    return text
  }
}

extension Array {
  subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
