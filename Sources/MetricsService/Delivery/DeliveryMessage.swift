import Foundation
public import SightlineModel

/// An HTTP request to an endpoint: the message as the receiver's kind wants it, signed.
public struct OutgoingMessage: Sendable, Equatable {
  public var url: String
  public var headers: [(String, String)]
  public var body: [UInt8]

  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.url == rhs.url && lhs.body == rhs.body && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
  }
}

/// Words an event in the endpoint's language and shapes it for the receiver: DingTalk and
/// WeCom markdown, Slack text, or a Standard Webhooks JSON event (docs/delivery.md).
public struct DeliveryMessage: Sendable {
  /// The cockpit's address, for links ("" for none).
  public var cockpitURL: String

  public init(cockpitURL: String) {
    self.cockpitURL = cockpitURL.hasSuffix("/") ? String(cockpitURL.dropLast()) : cockpitURL
  }

  /// The request that carries `event` to `endpoint` at `nowMs` (signatures use that time).
  public func request(_ event: DeliveryEvent, to endpoint: DeliveryEndpoint, nowMs: Int64) -> OutgoingMessage {
    let words = Words(language: endpoint.language)
    let headline = words.headline(event, endpoint: endpoint)
    let lines = words.details(event)
    let link = self.link(event)
    let json: [UInt8]
    var url = endpoint.url
    var headers = [("content-type", "application/json")]
    switch endpoint.kind {
    case .dingtalk:
      var text = "#### \(headline)\n\n" + lines.map { "- \($0)" }.joined(separator: "\n")
      if let link { text += "\n\n[\(words.open)](\(link))" }
      json = Self.encode(["msgtype": "markdown", "markdown": ["title": headline, "text": text]])
      if !endpoint.secret.isEmpty { url = DeliverySigning.dingTalkURL(url, secret: endpoint.secret, timestampMs: nowMs) }
    case .wecom:
      var content = "**\(headline)**\n" + lines.map { "> \($0)" }.joined(separator: "\n")
      if let link { content += "\n[\(words.open)](\(link))" }
      json = Self.encode(["msgtype": "markdown", "markdown": ["content": content]])
    case .slack:
      var text = "*\(headline)*\n" + lines.map { "• \($0)" }.joined(separator: "\n")
      if let link { text += "\n<\(link)|\(words.open)>" }
      json = Self.encode(["text": text])
    case .webhook:
      json = Self.webhookBody(event, headline: headline, link: link)
      let seconds = nowMs / 1000
      headers += [("webhook-id", event.id), ("webhook-timestamp", "\(seconds)")]
      if let signature = DeliverySigning.webhookSignature(secret: endpoint.secret, id: event.id, timestampSeconds: seconds, body: json) {
        headers.append(("webhook-signature", signature))
      }
    }
    return OutgoingMessage(url: url, headers: headers, body: json)
  }

  /// The cockpit page of the event's subject, if the cockpit's address is known.
  func link(_ event: DeliveryEvent) -> String? {
    guard !cockpitURL.isEmpty else { return nil }
    let subject = DeliverySigning.percentEncode(event.facts.subject)
    switch event.kind {
    case .alertOpened, .alertResolved:
      return "\(cockpitURL)/why?kpi=\(event.facts.kpi ?? "csat")&days=7"
    case .caseOpened, .caseOverdue, .verificationResult:
      return "\(cockpitURL)/case?id=\(subject)"
    case .digest, .test:
      return "\(cockpitURL)/cases"
    }
  }

  /// The Standard Webhooks event: `type`, `timestamp` and the facts as `data`.
  static func webhookBody(_ event: DeliveryEvent, headline: String, link: String?) -> [UInt8] {
    struct Body: Encodable {
      var type: String
      var timestamp: String
      var data: Data
      struct Data: Encodable {
        var id: String
        var text: String
        var url: String?
        var facts: DeliveryFacts
      }
    }
    let body = Body(
      type: event.kind.rawValue, timestamp: RFC3339.format(milliseconds: event.atMs),
      data: .init(id: event.id, text: headline, url: link, facts: event.facts))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // A number JSON cannot hold must not cost the whole message.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return Array((try? encoder.encode(body)) ?? Data("{}".utf8))
  }

  private static func encode(_ object: [String: Any]) -> [UInt8] {
    Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
  }
}

/// The words of messages in one language.
struct Words {
  let language: MessageLanguage

  var open: String { language == .zh ? "在 Sightline 中查看" : "Open in Sightline" }

  func headline(_ event: DeliveryEvent, endpoint: DeliveryEndpoint) -> String {
    let facts = event.facts
    let zh = language == .zh
    switch event.kind {
    case .alertOpened:
      let severity = facts.severity ?? ""
      return zh ? "告警（\(severity)）：\(scope(facts)) \(facts.kpi ?? "")" : "Alert (\(severity)): \(facts.kpi ?? "") \(scope(facts))"
    case .alertResolved:
      return zh ? "告警已恢复：\(scope(facts)) \(facts.kpi ?? "")" : "Alert resolved: \(facts.kpi ?? "") \(scope(facts))"
    case .caseOpened:
      return zh ? "新工单：\(facts.summary)" : "Case opened: \(facts.summary)"
    case .caseOverdue:
      return zh ? "工单超时：\(facts.summary)" : "Case overdue: \(facts.summary)"
    case .verificationResult:
      return zh ? "效果复盘：\(facts.summary)" : "Verified effect: \(facts.summary)"
    case .digest:
      return zh ? "另有 \(facts.folded.count) 条消息（频率限制合并）" : "\(facts.folded.count) more messages (folded by the rate limit)"
    case .test:
      return zh ? "Sightline 测试消息：\(endpoint.name)" : "Test message from Sightline: \(endpoint.name)"
    }
  }

  func details(_ event: DeliveryEvent) -> [String] {
    let facts = event.facts
    let zh = language == .zh
    var lines: [String] = []
    switch event.kind {
    case .alertOpened, .alertResolved:
      if let value = facts.value {
        let expected = "\(number(facts.expectedLow))–\(number(facts.expectedHigh))"
        lines.append(zh ? "当前值 \(number(value))，预期 \(expected)" : "now \(number(value)), expected \(expected)")
      }
      if !facts.contributors.isEmpty {
        let named = facts.contributors.map { "\($0.dimension)=\($0.value) (\(signed($0.effect)))" }.joined(separator: ", ")
        lines.append((zh ? "主要原因：" : "top contributors: ") + named)
      }
    case .caseOpened, .caseOverdue:
      if let owner = facts.owner { lines.append((zh ? "负责人：" : "owner: ") + owner) }
      if let due = facts.dueMs { lines.append((zh ? "截止：" : "due: ") + RFC3339.format(milliseconds: due)) }
    case .verificationResult:
      if let verdict = facts.verdict { lines.append((zh ? "结论：" : "verdict: ") + verdict) }
      if let effect = facts.effect {
        let interval = "\(number(facts.ciLow)) … \(number(facts.ciHigh))"
        lines.append(
          zh
            ? "效应 \(signed(effect))，95% 置信区间 \(interval)，p = \(number(facts.pValue))"
            : "effect \(signed(effect)), 95% CI \(interval), p = \(number(facts.pValue))")
      }
    case .digest:
      lines = facts.folded.map { "\($0.kind.rawValue): \($0.summary)" }
    case .test:
      lines.append(zh ? "此端点可以接收 Sightline 的消息。" : "This endpoint receives Sightline's messages.")
    }
    return lines
  }

  private func scope(_ facts: DeliveryFacts) -> String {
    guard let dimension = facts.dimension, let value = facts.dimensionValue, !value.isEmpty else {
      return language == .zh ? "全部" : "(all)"
    }
    return "\(dimension)=\(value)"
  }

  private func number(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "–" }
    return String(format: "%.3g", value)
  }

  private func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + number(value) }
}
