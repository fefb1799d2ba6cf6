import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting
import Testing

extension RealProcessSuites {
  /// Delivery as it runs: the five real processes, `sightline endpoints` from the command
  /// line, and receivers on 127.0.0.1 that are down, slow, answering 5xx or 410, and one
  /// whose message is in flight when the metrics process is killed with SIGKILL (issue 24).
  /// At the end every message reached every receiver at least once under its one id, every
  /// signature checked out, and the dead letter holds only what the 410 put there, until
  /// it is replayed.
  @Suite(.serialized) struct DeliveryProcessTests {
    static func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
      try IngestionEndToEndTests.cli(arguments)
    }

    @Test func messagesSurviveDownSlowFailingGoneReceiversAndAKilledSender() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let secret = WebhookSecret.generate()
      let slow = TestReceiver(secret: secret)
      let down = TestReceiver(secret: secret)
      let flaky = TestReceiver(secret: secret)
      let gone = TestReceiver()
      let robot = TestReceiver(secret: "SEC0123456789abcdefSightline")
      for receiver in [slow, down, flaky, gone, robot] { try await receiver.start() }
      // Down: its port is known, nothing listens there until the test starts it again.
      await down.stop()
      defer { Task { for receiver in [slow, down, flaky, gone, robot] { await receiver.stop() } } }

      let base = EndToEndTests.freePortBase()
      var launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      launcher.environment["SIGHTLINE_DELIVERY_FIRST_RETRY_MS"] = "200"
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        try await Self.exercise(
          launcher: launcher, directory: directory, base: base, secret: secret,
          receivers: (slow: slow, down: down, flaky: flaky, gone: gone, robot: robot))
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
    }

    static func exercise(
      launcher: SuiteLauncher, directory: String, base: Int, secret: String,
      receivers: (slow: TestReceiver, down: TestReceiver, flaky: TestReceiver, gone: TestReceiver, robot: TestReceiver)
    ) async throws {
      let connection = ["--data-dir", directory, "--gateway", "127.0.0.1:\(base)"]
      let created = try Self.cli(["tenant", "create", "acme"] + connection)
      let admin = try #require(created.stdout.split(separator: " ").first { $0.hasPrefix("slk_") }.map { String($0.prefix(68)) })
      let keyed = connection + ["--api-key", admin]

      // Endpoints from the command line; a wrong flag is named before anything is sent.
      let badKind = try Self.cli(
        ["endpoints", "add", "--name", "x", "--kind", "fax", "--url", "https://x", "--event", "case.opened"] + keyed)
      #expect(badKind.status != 0 && badKind.stderr.contains("--kind is dingtalk, wecom, slack or webhook"), "\(badKind)")
      let insecure = try Self.cli(
        ["endpoints", "add", "--name", "x", "--kind", "slack", "--url", "http://hooks.example.com", "--event", "case.opened"] + keyed)
      #expect(insecure.status != 0 && insecure.stderr.contains("url"), "\(insecure)")
      var ids: [String: String] = [:]
      for (name, kind, receiver, extra) in [
        ("slow", "webhook", receivers.slow, ["--secret", secret]), ("down", "webhook", receivers.down, ["--secret", secret]),
        ("flaky", "webhook", receivers.flaky, ["--secret", secret]), ("gone", "slack", receivers.gone, []),
        ("robot", "dingtalk", receivers.robot, ["--secret", receivers.robot.secret, "--language", "zh"]),
      ] {
        let added = try Self.cli(
          ["endpoints", "add", "--name", name, "--kind", kind, "--url", receiver.url, "--event", "case.opened"] + extra + keyed)
        #expect(added.status == 0, "\(added)")
        ids[name] = try #require(added.stdout.split(separator: " ").dropFirst().first.map(String.init), "\(added)")
      }
      let tested = try Self.cli(["endpoints", "test", try #require(ids["robot"])] + keyed)
      #expect(tested.status == 0 && tested.stdout.contains("delivered after 1 attempt(s)"), "\(tested)")

      // The slow receiver holds its first message 4 s; the metrics process is killed while it waits.
      receivers.slow.program(delay: .seconds(4))
      receivers.flaky.program(statuses: [503, 502, 500])
      // Gone answers 410 however often it is asked (a send cut short by the kill is repeated).
      receivers.gone.program(statuses: Array(repeating: 410, count: 20))
      let opened = try Self.cli(["cases", "open", "--title", "Refund delays"] + keyed)
      let caseID = try #require(opened.stdout.split(separator: " ").dropFirst().first.map(String.init), "\(opened)")
      let event = "case.opened-\(caseID)"
      let deadline = ContinuousClock.now + .seconds(30)
      while receivers.slow.arrived == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
      #expect(receivers.slow.arrived == 1)
      launcher.crash(.metrics)
      receivers.slow.program()
      try await launcher.restart(.metrics, output: FileHandle(forWritingAtPath: "/dev/null"))
      // A second case while the down receiver is still down.
      let second = try Self.cli(["cases", "open", "--title", "Late parcels"] + keyed)
      let secondID = try #require(second.stdout.split(separator: " ").dropFirst().first.map(String.init), "\(second)")
      let events: Set<String> = [event, "case.opened-\(secondID)"]
      try await Task.sleep(for: .seconds(2))
      try await receivers.down.start(port: receivers.down.port)

      for (name, receiver) in [("slow", receivers.slow), ("down", receivers.down), ("flaky", receivers.flaky)] {
        let got = await receiver.wait(timeout: .seconds(60)) { messages in
          events.isSubset(of: Set(messages.filter { $0.status == 200 }.compactMap(\.messageID)))
        }
        #expect(events.isSubset(of: Set(got.filter { $0.status == 200 }.compactMap(\.messageID))), "\(name): \(got.map(\.messageID))")
        #expect(got.allSatisfy { $0.signatureValid == true }, "\(name)")
        #expect(Set(got.compactMap(\.messageID)).isSubset(of: events), "\(name): only the cases' ids")
      }
      // The message in flight at the kill came again under its id: at least once.
      #expect(receivers.slow.messages.filter { $0.messageID == event }.count >= 2)
      #expect(receivers.flaky.messages.filter { $0.messageID == event }.map(\.status).prefix(3) == [503, 502, 500])
      let robotGot = await receivers.robot.wait { $0.filter { $0.body.contains("新工单") }.count >= 2 }
      #expect(robotGot.filter { $0.body.contains("新工单") }.count >= 2 && robotGot.allSatisfy { $0.signatureValid == true })

      // The 410 disabled its endpoint; the dead letter holds its messages and nothing else.
      let listed = try Self.cli(["endpoints", "list"] + keyed)
      #expect(listed.stdout.contains("DISABLED: HTTP 410 Gone"), "\(listed)")
      #expect(!listed.stdout.contains(secret) && listed.stdout.contains("whsec_…"), "\(listed)")
      var deadLetter = ""
      for _ in 0..<50 {
        deadLetter = try Self.cli(["endpoints", "deliveries", "--status", "dead", "--format", "json"] + keyed).stdout
        if deadLetter.components(separatedBy: "\"eventId\"").count - 1 == 2 { break }
        try await Task.sleep(for: .milliseconds(200))
      }
      #expect(deadLetter.components(separatedBy: "\"eventId\"").count - 1 == 2, "\(deadLetter)")
      #expect(deadLetter.components(separatedBy: "\"endpointId\":\"\(try #require(ids["gone"]))\"").count - 1 == 2, "\(deadLetter)")
      let refusedReplay = try Self.cli(["endpoints", "replay"] + keyed)
      #expect(refusedReplay.status != 0 && refusedReplay.stderr.contains("--endpoint ID, --event ID, or --all"), "\(refusedReplay)")
      receivers.gone.program()
      let replayed = try Self.cli(["endpoints", "replay", "--endpoint", try #require(ids["gone"])] + keyed)
      #expect(replayed.stdout.contains("2 deliveries queued again"), "\(replayed)")
      let back = await receivers.gone.wait { Set($0.filter { $0.status == 200 }.map(\.body)).count >= 2 }
      #expect(back.filter { $0.status == 200 }.count >= 2)
      var empty = ""
      for _ in 0..<50 {
        empty = try Self.cli(["endpoints", "deliveries", "--status", "dead"] + keyed).stdout
        if empty.contains("No deliveries.") { break }
        try await Task.sleep(for: .milliseconds(200))
      }
      #expect(empty.contains("No deliveries."), "\(empty)")
      #expect(try Self.cli(["endpoints", "remove", try #require(ids["down"])] + keyed).stdout.contains("removed"))
    }
  }
}
