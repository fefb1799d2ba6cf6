import Foundation

/// Values kept as JSON text in a database column (a verification, an outbox event): sorted
/// keys, so equal values store equal text, and unbounded numbers (an interval without an
/// end) kept as strings rather than lost.
enum StoredJSON {
  /// `value` as stored text ("{}" if it cannot be encoded).
  static func text(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
  }

  /// The value of stored `text` (nil if it cannot be read).
  static func value<Value: Decodable>(_ type: Value.Type, from text: String) -> Value? {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try? decoder.decode(type, from: Data(text.utf8))
  }
}
