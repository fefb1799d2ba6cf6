import Foundation

/// The kinds of receiver a tenant's messages go to (docs/delivery.md).
public enum EndpointKind: String, Sendable, CaseIterable, Codable {
  /// A DingTalk group robot; signed with its `SEC…` secret when one is given.
  case dingtalk
  /// A WeCom (企业微信) group robot: the key in its URL is the credential.
  case wecom
  /// A Slack incoming webhook: the URL is the credential.
  case slack
  /// Any HTTPS receiver, signed the Standard Webhooks way with a `whsec_…` secret.
  case webhook

  /// Messages a minute the receiver takes: group robots drop what is above 20; more
  /// are folded into one digest (``DeliveryRatePlan``).
  public var messagesPerMinute: Int { self == .webhook ? 120 : 20 }
}

/// What happened, as endpoints subscribe to it.
public enum DeliveryEventKind: String, Sendable, CaseIterable, Codable {
  case alertOpened = "alert.opened"
  case alertResolved = "alert.resolved"
  case caseOpened = "case.opened"
  case caseOverdue = "case.overdue"
  case verificationResult = "verification.result"
  /// Several events folded into one message by the rate limit (never subscribed to).
  case digest
  /// A test message sent on request (never subscribed to).
  case test

  /// The kinds an endpoint may choose.
  public static let subscribable: [DeliveryEventKind] = [
    .alertOpened, .alertResolved, .caseOpened, .caseOverdue, .verificationResult,
  ]
}

/// The languages messages are written in.
public enum MessageLanguage: String, Sendable, CaseIterable, Codable {
  case en, zh
}

/// A receiver of one tenant's messages: where, how signed, which events, in which
/// language; disabled (with the reason) when it answered 410 Gone or a person said so.
public struct DeliveryEndpoint: Sendable, Equatable {
  public var id: String
  public var name: String
  public var kind: EndpointKind
  public var url: String
  /// The signing secret: DingTalk's `SEC…`, a webhook's `whsec_…`; "" for none.
  public var secret: String
  public var events: Set<DeliveryEventKind>
  public var language: MessageLanguage
  public var enabled: Bool
  /// Why the endpoint is disabled ("" while enabled).
  public var disabledReason: String
  public var createdMs: Int64

  /// An endpoint from its parts; ``validated()`` checks them.
  public init(
    id: String, name: String, kind: EndpointKind, url: String, secret: String, events: Set<DeliveryEventKind>,
    language: MessageLanguage, enabled: Bool = true, disabledReason: String = "", createdMs: Int64
  ) {
    self.id = id
    self.name = name
    self.kind = kind
    self.url = url
    self.secret = secret
    self.events = events
    self.language = language
    self.enabled = enabled
    self.disabledReason = disabledReason
    self.createdMs = createdMs
  }

  /// The secret as listings show it: its kind and last four characters, never the whole.
  public var maskedSecret: String {
    guard !secret.isEmpty else { return "" }
    let prefix = secret.hasPrefix("whsec_") ? "whsec_" : secret.hasPrefix("SEC") ? "SEC" : ""
    return "\(prefix)…\(secret.suffix(4))"
  }

  /// The endpoint if its parts make sense, else the first problem, naming the field.
  public func validated() throws(DeliveryEndpointError) -> DeliveryEndpoint {
    let trimmedName = name.trimmingCharacters(in: .whitespaces)
    guard !trimmedName.isEmpty, trimmedName.count <= 80 else { throw .invalid("name", "must be 1 to 80 characters") }
    guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), let host = parts.host, !host.isEmpty
    else { throw .invalid("url", "'\(url.prefix(80))' is not an absolute URL") }
    // Plain HTTP only to this machine (local receivers, tests): anything else carries
    // secrets and customer facts, so it must be TLS.
    let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
    guard scheme == "https" || (scheme == "http" && loopback) else {
      throw .invalid("url", "must be https:// (http:// only to 127.0.0.1, ::1 or localhost)")
    }
    guard !events.isEmpty else { throw .invalid("events", "choose at least one of \(Self.eventNames)") }
    if let unchoosable = events.first(where: { !DeliveryEventKind.subscribable.contains($0) }) {
      throw .invalid("events", "'\(unchoosable.rawValue)' cannot be chosen; choose from \(Self.eventNames)")
    }
    switch kind {
    case .dingtalk:
      guard secret.isEmpty || (secret.hasPrefix("SEC") && secret.count > 10) else {
        throw .invalid("secret", "a DingTalk robot's signing secret starts with SEC (or leave it out)")
      }
    case .wecom, .slack:
      guard secret.isEmpty else { throw .invalid("secret", "a \(kind.rawValue) URL is its own credential: no secret") }
    case .webhook:
      guard WebhookSecret.key(secret) != nil else {
        throw .invalid("secret", "a webhook secret is whsec_ followed by 24 to 64 bytes in base64 (or leave it out to get one)")
      }
    }
    var endpoint = self
    endpoint.name = trimmedName
    return endpoint
  }

  private static var eventNames: String { DeliveryEventKind.subscribable.map(\.rawValue).joined(separator: ", ") }
}

/// Why an endpoint was refused.
public enum DeliveryEndpointError: Error, Equatable, CustomStringConvertible {
  case invalid(_ field: String, _ reason: String)

  public var description: String {
    switch self {
    case .invalid(let field, let reason): "endpoint \(field): \(reason)"
    }
  }
}

/// Standard Webhooks secrets: `whsec_` and the key in base64.
public enum WebhookSecret {
  /// The key bytes of `secret`, if it is a well-formed secret.
  public static func key(_ secret: String) -> [UInt8]? {
    guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))),
      (24...64).contains(data.count)
    else { return nil }
    return Array(data)
  }

  /// A new secret of 32 random bytes.
  public static func generate() -> String {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    return "whsec_" + Data(bytes).base64EncodedString()
  }
}
