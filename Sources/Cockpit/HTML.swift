/// Building HTML by hand, safely: every piece of text that reaches a page goes through
/// `escape`, so data (customer comments, segment names) can never become markup.
enum HTML {
  /// `text` with the five HTML-special characters escaped, for text and attribute values.
  static func escape(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": escaped += "&amp;"
      case "<": escaped += "&lt;"
      case ">": escaped += "&gt;"
      case "\"": escaped += "&quot;"
      case "'": escaped += "&#39;"
      default: escaped.append(character)
      }
    }
    return escaped
  }

  /// A query string from `parameters` (percent-encoded), starting with "?" unless empty.
  static func query(_ parameters: [(String, String)]) -> String {
    let parts = parameters.filter { !$0.1.isEmpty }.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
  }

  static func percentEncode(_ text: String) -> String {
    var encoded = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        encoded.append(Character(Unicode.Scalar(byte)))
      default:
        let hex = String(byte, radix: 16, uppercase: true)
        encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return encoded
  }
}
