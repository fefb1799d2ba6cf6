/// A value a segment expression compares: text or a number; nil when the customer has none.
public enum FieldValue: Sendable, Equatable {
  case text(String)
  case number(Double)
}

/// A parse error: where (1-based column) and what was expected.
public struct SegmentExpressionError: Error, Equatable, CustomStringConvertible, Sendable {
  /// 1-based column in the expression.
  public var column: Int
  /// What was wrong.
  public var message: String
  public var description: String { "column \(column): \(message)" }
}

/// A custom segment's boolean expression over profile and derived fields (grammar in
/// docs/segments.md):
///
///     expr       := and ("||" and)*
///     and        := unary ("&&" unary)*
///     unary      := "!" unary | "(" expr ")" | comparison
///     comparison := field ("==" | "!=" | "<" | "<=" | ">" | ">=") literal
///                 | field "in" "[" literal ("," literal)* "]"
///     field      := name | "attributes." name
///     literal    := "double-quoted" | 'single-quoted' | number
///
/// Fields are typed: text fields take `==`, `!=`, `in` and text literals; number fields take
/// every comparison and number literals. A comparison with a value the customer lacks is
/// false (`!=` is true). Limits keep hostile input cheap: 2,000 characters, nesting 32.
public struct SegmentExpression: Sendable, Equatable {
  /// Largest accepted expression, in characters.
  public static let maxLength = 2_000
  /// Deepest accepted nesting of parentheses and `!`.
  public static let maxDepth = 32

  /// A parsed expression over fields named by `Field`: names as parsed, positions in
  /// ``fieldNames`` for evaluation.
  indirect enum Node<Field: Sendable & Equatable>: Sendable, Equatable {
    case or(Node, Node)
    case and(Node, Node)
    case not(Node)
    case compare(field: Field, op: Operator, literal: FieldValue)
    case member(field: Field, values: [FieldValue])

    func map<Other: Sendable & Equatable>(_ transform: (Field) -> Other) -> Node<Other> {
      switch self {
      case .or(let a, let b): .or(a.map(transform), b.map(transform))
      case .and(let a, let b): .and(a.map(transform), b.map(transform))
      case .not(let a): .not(a.map(transform))
      case .compare(let field, let op, let literal): .compare(field: transform(field), op: op, literal: literal)
      case .member(let field, let values): .member(field: transform(field), values: values)
      }
    }
  }

  enum Operator: String, Sendable, Equatable { case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }

  let root: Node<String>
  /// The same tree reading fields by their position in ``fieldNames``.
  let indexedRoot: Node<Int>
  /// The source text.
  public let source: String
  /// The distinct fields the expression reads, sorted: ``matchesByPosition(_:)`` asks for them
  /// by position, so a caller evaluating many customers resolves each name once.
  public let fieldNames: [String]

  /// The fields the expression reads.
  public var fields: Set<String> { Set(fieldNames) }

  /// Parses `source` against `schema` (field name → is numeric; `attributes.*` are text).
  public init(_ source: String, schema: [String: Bool]) throws(SegmentExpressionError) {
    guard source.count <= Self.maxLength else {
      throw SegmentExpressionError(column: Self.maxLength + 1, message: "the expression is longer than \(Self.maxLength) characters")
    }
    var parser = Parser(tokens: try Lexer.tokens(source), schema: schema)
    let root = try parser.expression(depth: 0)
    if let extra = parser.peek, extra.kind != .end {
      throw SegmentExpressionError(column: extra.column, message: "expected '&&', '||' or the end, found \(extra.display)")
    }
    self.root = root
    self.source = source
    let names = Self.fields(root).sorted()
    fieldNames = names
    indexedRoot = root.map { names.firstIndex(of: $0)! }
  }

  /// Whether a customer with `values` is a member.
  public func matches(_ values: (String) -> FieldValue?) -> Bool { Self.evaluate(root, values) }

  /// Whether a customer is a member, reading field `fieldNames[i]` as `values(i)`.
  public func matchesByPosition(_ values: (Int) -> FieldValue?) -> Bool { Self.evaluate(indexedRoot, values) }

  /// Whether a customer is a member when only some fields are known: `values(i)` is nil
  /// for an unknown field, `.some(nil)` for a field the customer lacks. Nil when the known
  /// fields do not decide (three-valued logic: `false && unknown` is false). A segment
  /// evaluates this once per distinct attribute set and skips every customer whose set
  /// already decides.
  public func decidesByPosition(_ values: (Int) -> FieldValue??) -> Bool? { Self.decide(indexedRoot, values) }

  static func decide(_ node: Node<Int>, _ values: (Int) -> FieldValue??) -> Bool? {
    switch node {
    case .or(let a, let b):
      let left = decide(a, values)
      if left == true { return true }
      let right = decide(b, values)
      if right == true { return true }
      return left == false && right == false ? false : nil
    case .and(let a, let b):
      let left = decide(a, values)
      if left == false { return false }
      let right = decide(b, values)
      if right == false { return false }
      return left == true && right == true ? true : nil
    case .not(let a):
      return decide(a, values).map { !$0 }
    case .member(let field, _), .compare(let field, _, _):
      guard let known = values(field) else { return nil }
      return evaluate(node) { _ in known }
    }
  }

  static func evaluate<Field>(_ node: Node<Field>, _ values: (Field) -> FieldValue?) -> Bool {
    switch node {
    case .or(let a, let b): return evaluate(a, values) || evaluate(b, values)
    case .and(let a, let b): return evaluate(a, values) && evaluate(b, values)
    case .not(let a): return !evaluate(a, values)
    case .member(let field, let list):
      guard let value = values(field) else { return false }
      return list.contains(value)
    case .compare(let field, let op, let literal):
      guard let value = values(field) else { return op == .ne }
      return compare(value, op, literal)
    }
  }

  static func compare(_ value: FieldValue, _ op: Operator, _ literal: FieldValue) -> Bool {
    switch (value, literal) {
    case (.number(let a), .number(let b)):
      switch op {
      case .eq: return a == b
      case .ne: return a != b
      case .lt: return a < b
      case .le: return a <= b
      case .gt: return a > b
      case .ge: return a >= b
      }
    case (.text(let a), .text(let b)):
      return op == .eq ? a == b : op == .ne ? a != b : false
    default:
      return op == .ne
    }
  }

  static func fields(_ node: Node<String>) -> Set<String> {
    switch node {
    case .or(let a, let b), .and(let a, let b): fields(a).union(fields(b))
    case .not(let a): fields(a)
    case .compare(let field, _, _), .member(let field, _): [field]
    }
  }
}

struct Token: Equatable {
  enum Kind: Equatable { case name, text, number, symbol, end }
  var kind: Kind
  var text: String
  var column: Int

  var display: String {
    switch kind {
    case .end: "the end of the expression"
    case .text: "\"\(text)\""
    default: "'\(text)'"
    }
  }
}

enum Lexer {
  static func tokens(_ source: String) throws(SegmentExpressionError) -> [Token] {
    let characters = Array(source)
    var tokens: [Token] = []
    var index = 0
    while index < characters.count {
      let c = characters[index]
      let column = index + 1
      if c == " " || c == "\t" || c == "\n" {
        index += 1
      } else if c == "\"" || c == "'" {
        var end = index + 1
        while end < characters.count && characters[end] != c { end += 1 }
        guard end < characters.count else { throw SegmentExpressionError(column: column, message: "unterminated string") }
        tokens.append(Token(kind: .text, text: String(characters[(index + 1)..<end]), column: column))
        index = end + 1
      } else if c.isNumber || (c == "-" && index + 1 < characters.count && characters[index + 1].isNumber) {
        var end = index + 1
        while end < characters.count && (characters[end].isNumber || characters[end] == ".") { end += 1 }
        let text = String(characters[index..<end])
        guard Double(text) != nil else { throw SegmentExpressionError(column: column, message: "'\(text)' is not a number") }
        tokens.append(Token(kind: .number, text: text, column: column))
        index = end
      } else if c.isLetter || c == "_" {
        var end = index + 1
        while end < characters.count
          && (characters[end].isLetter || characters[end].isNumber || characters[end] == "_" || characters[end] == ".")
        {
          end += 1
        }
        tokens.append(Token(kind: .name, text: String(characters[index..<end]), column: column))
        index = end
      } else {
        let two = index + 1 < characters.count ? String(characters[index...(index + 1)]) : ""
        if ["&&", "||", "==", "!=", "<=", ">="].contains(two) {
          tokens.append(Token(kind: .symbol, text: two, column: column))
          index += 2
        } else if "!<>()[],".contains(c) {
          tokens.append(Token(kind: .symbol, text: String(c), column: column))
          index += 1
        } else {
          let hint = c == "=" ? "; compare with '=='" : c == "&" ? "; 'and' is '&&'" : c == "|" ? "; 'or' is '||'" : ""
          throw SegmentExpressionError(column: column, message: "unexpected character '\(c)'\(hint)")
        }
      }
    }
    tokens.append(Token(kind: .end, text: "", column: characters.count + 1))
    return tokens
  }
}

struct Parser {
  let tokens: [Token]
  let schema: [String: Bool]
  var position = 0

  init(tokens: [Token], schema: [String: Bool]) {
    self.tokens = tokens
    self.schema = schema
  }

  var peek: Token? { position < tokens.count ? tokens[position] : nil }

  mutating func next() -> Token {
    defer { position += 1 }
    return tokens[position]
  }

  mutating func accept(_ symbol: String) -> Bool {
    guard let token = peek, token.kind == .symbol, token.text == symbol else { return false }
    position += 1
    return true
  }

  mutating func expression(depth: Int) throws(SegmentExpressionError) -> SegmentExpression.Node<String> {
    guard depth <= SegmentExpression.maxDepth else {
      throw SegmentExpressionError(column: peek?.column ?? 0, message: "nested deeper than \(SegmentExpression.maxDepth) levels")
    }
    var left = try conjunction(depth: depth)
    while accept("||") { left = .or(left, try conjunction(depth: depth)) }
    return left
  }

  mutating func conjunction(depth: Int) throws(SegmentExpressionError) -> SegmentExpression.Node<String> {
    var left = try unary(depth: depth)
    while accept("&&") { left = .and(left, try unary(depth: depth)) }
    return left
  }

  mutating func unary(depth: Int) throws(SegmentExpressionError) -> SegmentExpression.Node<String> {
    guard depth <= SegmentExpression.maxDepth else {
      throw SegmentExpressionError(column: peek?.column ?? 0, message: "nested deeper than \(SegmentExpression.maxDepth) levels")
    }
    if accept("!") { return .not(try unary(depth: depth + 1)) }
    if accept("(") {
      let inner = try expression(depth: depth + 1)
      guard accept(")") else {
        throw SegmentExpressionError(column: peek?.column ?? 0, message: "expected ')', found \(peek?.display ?? "nothing")")
      }
      return inner
    }
    return try comparison()
  }

  mutating func comparison() throws(SegmentExpressionError) -> SegmentExpression.Node<String> {
    let field = next()
    guard field.kind == .name else {
      throw SegmentExpressionError(column: field.column, message: "expected a field name, '(' or '!', found \(field.display)")
    }
    let numeric: Bool
    if field.text.hasPrefix("attributes.") && field.text.count > "attributes.".count {
      numeric = false
    } else if let known = schema[field.text] {
      numeric = known
    } else {
      throw SegmentExpressionError(
        column: field.column,
        message: "unknown field '\(field.text)'; known fields: \(schema.keys.sorted().joined(separator: ", ")), attributes.<name>")
    }
    let op = next()
    if op.kind == .name && op.text == "in" {
      guard accept("[") else { throw SegmentExpressionError(column: peek?.column ?? 0, message: "expected '[' after 'in'") }
      var values: [FieldValue] = []
      repeat { values.append(try literal(numeric: numeric, field: field.text)) } while accept(",")
      guard accept("]") else {
        throw SegmentExpressionError(column: peek?.column ?? 0, message: "expected ',' or ']', found \(peek?.display ?? "nothing")")
      }
      return .member(field: field.text, values: values)
    }
    guard op.kind == .symbol, let comparison = SegmentExpression.Operator(rawValue: op.text) else {
      throw SegmentExpressionError(
        column: op.column, message: "expected a comparison (==, !=, <, <=, >, >=, in) after '\(field.text)', found \(op.display)")
    }
    if !numeric && ![.eq, .ne].contains(comparison) {
      throw SegmentExpressionError(column: op.column, message: "'\(field.text)' is text: compare it with ==, != or in")
    }
    return .compare(field: field.text, op: comparison, literal: try literal(numeric: numeric, field: field.text))
  }

  mutating func literal(numeric: Bool, field: String) throws(SegmentExpressionError) -> FieldValue {
    let token = next()
    switch (token.kind, numeric) {
    case (.number, true): return .number(Double(token.text)!)
    case (.text, false): return .text(token.text)
    case (.number, false), (.text, true):
      throw SegmentExpressionError(
        column: token.column,
        message:
          "'\(field)' is \(numeric ? "a number" : "text"); expected a \(numeric ? "number" : "quoted text") literal, found \(token.display)"
      )
    default:
      throw SegmentExpressionError(column: token.column, message: "expected a literal, found \(token.display)")
    }
  }
}
