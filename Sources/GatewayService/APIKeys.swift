import Crypto
import Foundation
import SightlineModel

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
    Hex.encode(SHA256.hash(data: Data(secret.utf8)))
  }

  /// `bytes` random bytes as lowercase hex.
  public static func randomHex(bytes: Int) -> String {
    Hex.random(bytes: bytes)
  }
}
