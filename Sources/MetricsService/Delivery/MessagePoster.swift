import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SightlineModel

/// What a receiver made of a message.
public enum PostResult: Sendable, Equatable {
  case accepted
  /// 410 Gone: the receiver is no more (the endpoint is disabled).
  case gone(String)
  /// Anything else: refused, broken, slow or unreachable; tried again later.
  case failed(String)
}

/// Sends messages over HTTP(S) with one client: no redirects followed (a webhook that
/// moved must be set again), a connect and a whole-request timeout.
public final class MessagePoster: Sendable {
  private let client: HTTPClient
  private let timeout: Duration

  /// A poster whose requests give up after `timeout`.
  public init(timeout: Duration) {
    var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
    configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(Int64(timeout.components.seconds)))
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    self.timeout = timeout
  }

  /// Closes the client's connections.
  public func shutdown() async {
    try? await client.shutdown()
  }

  /// Posts `message` to a receiver of `kind` and judges its answer.
  public func post(_ message: OutgoingMessage, kind: EndpointKind) async -> PostResult {
    do {
      var request = HTTPClientRequest(url: message.url)
      request.method = .POST
      for (name, value) in message.headers { request.headers.add(name: name, value: value) }
      request.headers.replaceOrAdd(name: "user-agent", value: "Sightline-Delivery/1")
      request.body = .bytes(ByteBuffer(bytes: message.body))
      let response = try await client.execute(request, timeout: .init(timeout))
      let body = try await response.body.collect(upTo: 64 * 1024)
      return Self.judge(status: Int(response.status.code), body: String(buffer: body), kind: kind)
    } catch {
      return .failed("\(error)")
    }
  }

  /// A receiver's answer judged: 2xx is accepted (unless a robot's JSON says `errcode` is
  /// not 0: DingTalk and WeCom answer 200 to a bad signature or a rate limit), 410 is gone,
  /// anything else failed.
  static func judge(status: Int, body: String, kind: EndpointKind) -> PostResult {
    if status == 410 { return .gone("HTTP 410 Gone") }
    guard (200..<300).contains(status) else {
      return .failed("HTTP \(status)" + (body.isEmpty ? "" : ": " + String(body.prefix(200))))
    }
    if kind == .dingtalk || kind == .wecom,
      let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any],
      let code = (object["errcode"] as? NSNumber)?.intValue, code != 0
    {
      return .failed("errcode \(code): \((object["errmsg"] as? String) ?? "")")
    }
    return .accepted
  }
}
