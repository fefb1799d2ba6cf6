import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MetricsService
import NIOCore
import SightlineModel
import Synchronization

/// A small HTTP receiver on 127.0.0.1 for delivery tests: it records what arrives, checks
/// the signature each endpoint kind carries (a Standard Webhooks secret, or a DingTalk
/// `SEC…` secret), and answers as the test programs it: a status per request in turn (then
/// 200), after a delay.
final class TestReceiver: Sendable {
  struct Received: Sendable {
    var path: String
    var query: String
    var headers: [String: String]
    var body: String
    /// Whether the signature checked out (nil: nothing to check).
    var signatureValid: Bool?
    /// The status it was answered with.
    var status: Int

    /// The Standard Webhooks message id, or the DingTalk/WeCom/Slack text's event-free body.
    var messageID: String? { headers["webhook-id"] }
  }

  private struct Script {
    var statuses: [Int] = []
    var delay: Duration = .zero
  }

  /// The secret messages are signed with ("" for none).
  let secret: String
  private let received = Mutex<[Received]>([])
  private let script = Mutex(Script())
  private let arrivals = Mutex(0)
  private let task = Mutex<Task<Void, any Error>?>(nil)
  private let boundPort = Mutex(0)
  /// The port it listens on.
  var port: Int { boundPort.withLock { $0 } }

  init(secret: String = "") { self.secret = secret }

  /// Starts listening on a free port of 127.0.0.1 (or `port`).
  func start(port requested: Int = 0) async throws {
    let router = Router()
    router.post("**") { request, _ -> Response in
      var body = try await request.body.collect(upTo: 1 << 20)
      let text = body.readString(length: body.readableBytes) ?? ""
      self.arrivals.withLock { $0 += 1 }
      let (status, delay) = self.script.withLock { script -> (Int, Duration) in
        (script.statuses.isEmpty ? 200 : script.statuses.removeFirst(), script.delay)
      }
      if delay > .zero { try await Task.sleep(for: delay) }
      var headers: [String: String] = [:]
      for field in request.headers { headers[field.name.canonicalName] = field.value }
      let path = request.uri.path
      let query = request.uri.query ?? ""
      self.received.withLock {
        $0.append(
          Received(
            path: path, query: query, headers: headers, body: text, signatureValid: self.check(headers: headers, query: query, body: text),
            status: status))
      }
      return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: status == 200 ? #"{"errcode":0}"# : "no")))
    }
    let bound = AsyncStream<Int>.makeStream()
    let application = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: requested)),
      onServerRunning: { channel in
        bound.continuation.yield(channel.localAddress?.port ?? 0)
        bound.continuation.finish()
      },
      logger: Logger(label: "receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
    task.withLock { $0 = Task { try await application.runService() } }
    for await value in bound.stream {
      boundPort.withLock { $0 = value }
      break
    }
  }

  /// Stops listening (a receiver that is down).
  func stop() async {
    let running = task.withLock { task -> Task<Void, any Error>? in
      defer { task = nil }
      return task
    }
    running?.cancel()
    _ = await running?.result
  }

  /// Answers the next requests with `statuses` in turn, each after `delay`.
  func program(statuses: [Int] = [], delay: Duration = .zero) {
    script.withLock { $0 = Script(statuses: statuses, delay: delay) }
  }

  /// What arrived and was answered, in order.
  var messages: [Received] { received.withLock { $0 } }
  /// Requests that arrived (answered or not yet).
  var arrived: Int { arrivals.withLock { $0 } }

  /// Waits until `condition` holds of the messages (or `timeout` passes).
  func wait(timeout: Duration = .seconds(30), until condition: ([Received]) -> Bool) async -> [Received] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      let now = messages
      if condition(now) { return now }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return messages
  }

  var url: String { "http://127.0.0.1:\(port)/hook" }

  /// The signature check: Standard Webhooks headers with a `whsec_` secret, DingTalk's
  /// `timestamp` and `sign` query with a `SEC` secret; computed here independently of the
  /// sender's code.
  private func check(headers: [String: String], query: String, body: String) -> Bool? {
    if secret.hasPrefix("whsec_") {
      guard let id = headers["webhook-id"], let timestamp = headers["webhook-timestamp"],
        let signature = headers["webhook-signature"], let key = Data(base64Encoded: String(secret.dropFirst(6)))
      else { return false }
      let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
      return signature.split(separator: " ").contains { $0 == "v1," + Data(mac).base64EncodedString() }
    }
    if secret.hasPrefix("SEC") {
      let items = Dictionary(
        query.split(separator: "&").map { pair -> (String, String) in
          let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
          return (parts[0], parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { a, _ in a })
      guard let timestamp = items["timestamp"], let sign = items["sign"]?.removingPercentEncoding else { return false }
      let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
      return sign == Data(mac).base64EncodedString()
    }
    return nil
  }
}
