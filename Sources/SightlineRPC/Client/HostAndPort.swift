/// A host and port to dial or listen on, parsed from `HOST:PORT` (IPv6 as `[::1]:PORT`).
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
  /// Host name or IP literal (without brackets).
  public var host: String
  /// TCP port; 0 asks the OS for an ephemeral port when listening.
  public var port: Int

  /// An endpoint from its parts.
  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Parses `HOST:PORT` or `[IPV6]:PORT`; nil when malformed.
  public init?(_ text: String) {
    let host: Substring
    let portText: Substring
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
      host = text[text.index(after: text.startIndex)..<close]
      portText = text[text.index(close, offsetBy: 2)...]
    } else {
      guard let colon = text.lastIndex(of: ":") else { return nil }
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
    }
    guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
    self.init(host: String(host), port: port)
  }

  /// True for an IPv4 or IPv6 literal, which certificates match by IP SAN; we then ask
  /// for `localhost` as the TLS authority, which the development certificate also names.
  public var isIPLiteral: Bool {
    host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
  }

  public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
