import Foundation
import SightlineLauncher
import SightlineModel
import SightlineTesting
import Testing

extension RealProcessSuites {
  /// `sightline cases`, `followups` and `case-rules` as a user runs them, against the five
  /// real processes (issue 24): the rules open a follow-up for a detractor answer on their
  /// own, people work cases under their key's name, bad flags and ids are named.
  @Suite(.serialized) struct CaseCLITests {
    static func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
      try IngestionEndToEndTests.cli(arguments)
    }

    @Test func casesFollowUpsAndRulesFromTheCommandLine() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      do {
        try await Self.exercise(directory: directory, base: base)
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
    }

    static func exercise(directory: String, base: Int) async throws {
      let connection = ["--data-dir", directory, "--gateway", "127.0.0.1:\(base)"]
      let created = try Self.cli(["tenant", "create", "acme"] + connection)
      let admin = try #require(created.stdout.split(separator: " ").first { $0.hasPrefix("slk_") }.map { String($0.prefix(68)) })
      let keyed = connection + ["--api-key", admin]

      // Rules: a bad owner spec is named before anything is sent.
      let badOwner = try Self.cli(["case-rules", "set", "--owner", "south-team"] + keyed)
      #expect(badOwner.status != 0 && badOwner.stderr.contains("--owner is DIM=VALUE:OWNER"), "\(badOwner)")
      let rules = try Self.cli(
        ["case-rules", "set", "--owner", "region=south:south-team", "--default-owner", "desk", "--due-hours", "8"] + keyed)
      #expect(rules.status == 0 && rules.stdout.contains("owner: region=south → south-team"), "\(rules)")
      #expect(try Self.cli(["case-rules", "show"] + keyed).stdout.contains("detractor follow-ups: NPS ≤ 6, CSAT ≤ 2"))

      // A detractor answer of an hour ago, about a ticket in the south.
      let now = WallClock.unixMilliseconds()
      let hourAgo = RFC3339.format(milliseconds: now - 3_600_000)
      let lines = [
        #"{"eventId":"t1","ticketEvent":{"ticketId":"T1","customerId":"C7","kind":"TICKET_EVENT_KIND_CREATED","time":"\#(hourAgo)","region":"south"}}"#,
        #"{"eventId":"r1","surveyResponse":{"customerId":"C7","ticketId":"T1","kind":"SURVEY_KIND_NPS","score":2,"time":"\#(hourAgo)"}}"#,
      ]
      let file = directory + "/answers.ndjson"
      try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
      #expect(try Self.cli(["ingest", file] + keyed).status == 0)

      // The metrics process runs the rules every 15 s: the follow-up appears on its own.
      var followUps = ""
      let deadline = ContinuousClock.now + .seconds(60)
      while ContinuousClock.now < deadline {
        followUps = try Self.cli(["followups", "list"] + keyed).stdout
        if followUps.contains("answer-r1") { break }
        try await Task.sleep(for: .seconds(1))
      }
      #expect(followUps.contains("case answer-r1") && followUps.contains("owner south-team"), "\(followUps)")
      #expect(followUps.contains("answer ") && followUps.contains("nps 2") && followUps.contains("ticket T1"), "\(followUps)")
      let recorded = try Self.cli(["followups", "record", "answer-r1", "recovered", "--note", "refund sent"] + keyed)
      #expect(recorded.status == 0 && recorded.stdout.contains("status closed"), "\(recorded)")

      // A person's case, worked step by step; the history names the key.
      let opened = try Self.cli(["cases", "open", "--title", "Refund delays", "--region", "south"] + keyed)
      let id = try #require(opened.stdout.split(separator: " ").dropFirst().first.map(String.init), "\(opened)")
      #expect(opened.stdout.contains("owner south-team"), "\(opened)")
      #expect(try Self.cli(["cases", "assign", id, "wang"] + keyed).stdout.contains("owner wang"))
      #expect(try Self.cli(["cases", "note", id, "called the carrier"] + keyed).status == 0)
      let acted = try Self.cli(["cases", "act", id, "same-day refunds", "--from", "2026-12-01"] + keyed)
      #expect(acted.stdout.contains("action: same-day refunds") && acted.stdout.contains("region=south"), "\(acted)")
      let stale = try Self.cli(["cases", "close", id, "--version", "1"] + keyed)
      #expect(stale.status != 0 && stale.stderr.contains("not 1"), "\(stale)")
      #expect(try Self.cli(["cases", "close", id, "--note", "done"] + keyed).stdout.contains("status closed"))
      let shown = try Self.cli(["cases", "show", id] + keyed).stdout
      #expect(shown.contains("first admin key (") && shown.contains("assigned: owner south-team → wang"), "\(shown)")
      #expect(shown.components(separatedBy: "\n").filter { $0.hasPrefix("  20") }.count == 5, "\(shown)")
      let missing = try Self.cli(["cases", "show", "case-nope"] + keyed)
      #expect(missing.status != 0 && missing.stderr.contains("no case has id case-nope"), "\(missing)")

      let listed = try Self.cli(["cases", "list", "--status", "closed", "--format", "json"] + keyed)
      #expect(listed.stdout.contains("\"answer-r1\"") && listed.stdout.contains("\"\(id)\""), "\(listed)")
      let kpis = try Self.cli(["cases", "kpis"] + keyed).stdout
      #expect(kpis.contains("follow_up_rate") && kpis.contains("100.0 %"), "\(kpis)")
    }
  }
}
