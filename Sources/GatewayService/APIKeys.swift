import Crypto
import Foundation

/// API key secrets: 256 random bits from the system CSPRNG, shown once as
/// `slk_<64 hex>`, stored only as their SHA-256.
public enum APIKeys {
  /// Prefix that makes a Sightline key recognisable (e.g. to secret scanners).
  public static let prefix = "slk_"

  /// A new secret.
  public static func newSecret() -> String {
    prefix + randomHex(bytes: 32)
  }

  /// The stored form of `secret`.
  public static func hash(_ secret: String) -> String {
    SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
  }

  /// `bytes` random bytes as lowercase hex.
  public static func randomHex(bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }
}
