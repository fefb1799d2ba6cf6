/// Bytes as lowercase hexadecimal: checksums (SHA-256 of files and key secrets), random
/// key secrets and session ids.
public enum Hex {
  /// `bytes`, two lowercase hex digits each.
  public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// `count` bytes from the system's cryptographically secure generator, in hex.
  public static func random(bytes count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return encode((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
  }
}
