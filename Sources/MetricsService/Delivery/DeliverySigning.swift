import Crypto
import Foundation
public import SightlineModel

/// The signatures receivers check (docs/delivery.md, "Signatures").
public enum DeliverySigning {
  /// DingTalk's robot signature: HMAC-SHA256 keyed by the `SEC…` secret over
  /// "timestamp\nsecret", in base64, then percent-encoded for the query.
  public static func dingTalkSign(secret: String, timestampMs: Int64) -> String {
    let mac = HMAC<SHA256>.authenticationCode(
      for: Data("\(timestampMs)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return percentEncode(Data(mac).base64EncodedString())
  }

  /// `url` with DingTalk's `timestamp` and `sign` added to its query.
  public static func dingTalkURL(_ url: String, secret: String, timestampMs: Int64) -> String {
    let separator = url.contains("?") ? "&" : "?"
    return "\(url)\(separator)timestamp=\(timestampMs)&sign=\(dingTalkSign(secret: secret, timestampMs: timestampMs))"
  }

  /// The Standard Webhooks signature header's value: `v1,` and the base64 HMAC-SHA256, keyed
  /// by the secret's key bytes, of "id.timestamp.body" (nil if the secret is malformed).
  public static func webhookSignature(secret: String, id: String, timestampSeconds: Int64, body: [UInt8]) -> String? {
    guard let key = WebhookSecret.key(secret) else { return nil }
    var signed = Data("\(id).\(timestampSeconds).".utf8)
    signed.append(contentsOf: body)
    let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(key)))
    return "v1," + Data(mac).base64EncodedString()
  }

  /// Percent-encodes everything but RFC 3986's unreserved characters (so `+`, `/` and `=`
  /// of base64 survive a query string).
  static func percentEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }
}
