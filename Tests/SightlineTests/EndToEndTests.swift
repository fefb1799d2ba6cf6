import Foundation
import GRPCCore
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Synchronization
import Testing

extension RealProcessSuites {
  /// Runs the built executables as a user would (`swift build` first), through the gateway over TLS.
  @Suite(.serialized) struct EndToEndTests {
    /// The executables under test: `SIGHTLINE_BIN` when set (CI points it at the release
    /// build, which is what users deploy), else the debug build `swift build` makes.
    static var binaryDirectory: String {
      if let directory = ProcessInfo.processInfo.environment["SIGHTLINE_BIN"], !directory.isEmpty { return directory }
      // Tests/SightlineTests/EndToEndTests.swift → package root → .build/debug
      let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      return root.appendingPathComponent(".build/debug").path
    }

    /// A random block of twelve free ports: the gateway, four services and the cockpit, then
    /// the services' Prometheus listeners from base + 6.
    static func freePortBase() -> Int { FreePorts.base(count: 12, in: 20_000..<32_000) }
    /// A base for `count` consecutive free ports, in a range of its own (10000-19999).
    static func freePortBase(count: Int) -> Int { FreePorts.base(count: count, in: 10_000..<20_000) }

    @Test(arguments: TestBackend.all)
    func suiteStartsHealthyServesTheRealPathAndStopsCleanly(_ backend: TestBackend) async throws {
      switch backend {
      case .sqlite: try await Self.startServeStopRestart(database: nil)
      case .postgres: try await TestPostgres.withScratchDatabase { try await Self.startServeStopRestart(database: $0) }
      }
    }

    /// The five executables (as `sightline up` starts them, with `--database` through the
    /// environment when `database` is given): healthy, serving, drained by SIGTERM, and
    /// their data still there after a restart.
    /// Scrapes `component` until its `sightline_database_bytes` for `tenant` is positive
    /// (at most 20 s).
    static func expectDatabaseBytes(_ launcher: SuiteLauncher, _ component: SuiteComponent, tenant: String) async throws {
      let sample = "sightline_database_bytes{tenant=\"\(tenant)\"}"
      let deadline = ContinuousClock.now + .seconds(20)
      var text = ""
      while ContinuousClock.now < deadline {
        text = try await PrometheusTests.scrape(launcher.prometheusPorts[component]!).1
        if (PrometheusTests.value(text, sample) ?? 0) > 0 { return }
        try await Task.sleep(for: .milliseconds(200))
      }
      Issue.record("\(component.rawValue) never reported \(sample): \(text)")
    }

    static func startServeStopRestart(database: SuiteDatabase?) async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = Self.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: Self.binaryDirectory)
      if let database {
        launcher.environment["SIGHTLINE_DATABASE_URL"] = database.url
        launcher.environment["SIGHTLINE_DATABASE_OWNER_URL"] = database.ownerURL
      }
      for (offset, component) in SuiteComponent.allCases.enumerated() {
        launcher.prometheusPorts[component] = base + 6 + offset
      }
      let log = FileHandle(forWritingAtPath: "/dev/null")
      try await launcher.start(timeout: .seconds(60), output: log)
      let pids = launcher.processIdentifiers
      #expect(pids.count == 5)
      let tenantKey: String
      do {
        for component in SuiteComponent.allCases {
          #expect(try await launcher.checkHealth(component) == .serving)
        }
        let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(
          in: .whitespacesAndNewlines)
        let mode = try FileManager.default.attributesOfItem(atPath: launcher.operatorKeyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        tenantKey = try await ClientFactory.withClient(
          launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)
        ) { client in
          let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
          let tenant = try await gateway.createTenant(.with { $0.name = "e2e" }, metadata: SuiteMetadata.bearer(operatorKey))
          let key = SuiteMetadata.bearer(tenant.adminSecret)
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          let reply = try await ingestion.ingest(
            .with { $0.events = [ticketCreated("x1"), ticketCreated("x2", ticket: "T2")] }, metadata: key)
          #expect(reply.accepted == 2)
          #expect(try await ingestion.getStats(.init(), metadata: key).lastOffset == 2)
          let tenantID = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).whoAmI(.init(), metadata: key).tenant.id
          // Each process reports its data's size, from files or from the database (whose
          // figures are computed after the first scrape asks for them).
          try await Self.expectDatabaseBytes(launcher, .ingestion, tenant: tenantID)
          try await Self.expectDatabaseBytes(launcher, .gateway, tenant: "-")
          return tenant.adminSecret
        }
      } catch {
        await launcher.stop()
        throw error
      }
      await launcher.stop()
      // SIGTERM drained every process; none is left behind.
      for (component, pid) in pids {
        #expect(kill(pid, 0) != 0, "\(component.executableName) (pid \(pid)) is still running")
      }
      // Data survives the restart: the tenant, its key and both logged events.
      let restarted = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: Self.binaryDirectory)
      restarted.environment = launcher.environment
      try await restarted.start(timeout: .seconds(60), output: log)
      let operatorKey = try String(contentsOfFile: restarted.operatorKeyFile, encoding: .utf8).trimmingCharacters(
        in: .whitespacesAndNewlines)
      do {
        try await ClientFactory.withClient(restarted.gateway, security: SuiteTLS(pki: restarted.pki).clientSecurity(identity: nil)) {
          client in
          let tenants = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).listTenants(
            .init(), metadata: SuiteMetadata.bearer(operatorKey))
          #expect(tenants.tenants.map(\.name) == ["e2e"])
          let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(
            .init(), metadata: SuiteMetadata.bearer(tenantKey))
          #expect(stats.lastOffset == 2)
          #expect(stats.eventsByKind == ["ticket_event": 2])
        }
      } catch {
        await restarted.stop()
        throw error
      }
      await restarted.stop()
    }
  }
}

extension RealProcessSuites.EndToEndTests {
  @Test func aSupervisorGivesUpOnAChildThatKeepsDying() async throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let launcher = SuiteLauncher(dataDirectory: directory, portBase: Self.freePortBase(), binaryDirectory: Self.binaryDirectory)
    try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
    var policy = RestartPolicy()
    policy.firstDelay = .milliseconds(50)
    policy.maxCrashes = 1
    let events = Mutex<[String]>([])
    async let verdict = launcher.supervise(policy: policy) { event in events.withLock { $0.append(event) } }
    launcher.crash(.segmentation)
    // Wait for the restart, then kill the new process too: the second crash in the window.
    let deadline = ContinuousClock.now + .seconds(20)
    while !events.withLock({ $0.contains { $0.hasPrefix("sightline-segmentation restarted") } }), ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(50))
    }
    launcher.crash(.segmentation)
    let reason = await verdict
    await launcher.stop()
    #expect(
      events.withLock { $0.first?.hasPrefix("sightline-segmentation was killed by SIGKILL (signal 9); restarting it in ") } == true,
      "\(events.withLock { $0 })")
    #expect(
      reason?.hasPrefix(
        "sightline-segmentation was killed by SIGKILL (signal 9); it died 2 times within 60 s, so it is not restarted again") == true,
      "\(reason ?? "nil")")
  }
}

extension RealProcessSuites {
  /// `sightline up` itself, as README's first command runs it.
  @Suite(.serialized) struct UpCommandTests {
    /// Process ids whose command line mentions `text` (read from /proc).
    /// A process's command line, its arguments joined by spaces.
    static func commandLine(_ pid: Int32) -> String {
      let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
      return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    static func processes(mentioning text: String) -> [Int32] {
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
      return entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data, as: UTF8.self).contains(text)
      }
    }

    /// Starts the real `sightline up` and reads its output until the banner says the suite is
    /// up (bounded by a deadline); returns the process and the banner.
    static func startUp(directory: String, base: Int, errors: Any? = nil) throws -> (Process, String) {
      let up = Process()
      up.executableURL = URL(fileURLWithPath: EndToEndTests.binaryDirectory + "/sightline")
      up.arguments = [
        "up", "--data-dir", directory, "--port", "\(base)", "--service-port-base", "\(base + 1)", "--cockpit-port", "\(base + 5)",
      ]
      let output = Pipe()
      up.standardOutput = output
      up.standardError = errors ?? FileHandle(forWritingAtPath: "/dev/null")
      try up.run()
      var banner = ""
      let deadline = ContinuousClock.now + .seconds(60)
      while !banner.contains("Press Ctrl-C"), ContinuousClock.now < deadline, up.isRunning {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        banner += String(decoding: chunk, as: UTF8.self)
      }
      return (up, banner)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func upStopsEveryProcessOnASignal(signal: Int32) async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let (up, banner) = try Self.startUp(directory: directory, base: base)
      defer { if up.isRunning { kill(up.processIdentifier, SIGKILL) } }
      #expect(banner.contains("gateway       127.0.0.1:\(base) (TLS)"))
      #expect(banner.contains("cockpit       https://localhost:\(base + 5)/"), "\(banner)")
      let children = Self.processes(mentioning: directory).filter { $0 != up.processIdentifier }
      #expect(children.count == 5, "five suite processes run under \(directory)")

      kill(up.processIdentifier, signal)
      let stopDeadline = ContinuousClock.now + .seconds(30)
      while up.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
      #expect(!up.isRunning, "sightline up exits on the signal")
      #expect(up.terminationReason == .exit && up.terminationStatus == 0)
      #expect(Self.processes(mentioning: directory).isEmpty, "no suite process is left behind")
      for pid in Self.processes(mentioning: directory) { kill(pid, SIGKILL) }
    }

    @Test func upRestartsAChildThatDiesAndSaysSo() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let errors = Pipe()
      let collected = CollectedOutput(errors.fileHandleForReading)
      let (up, _) = try Self.startUp(directory: directory, base: base, errors: errors)
      defer {
        if up.isRunning { kill(up.processIdentifier, SIGKILL) }
        for pid in Self.processes(mentioning: directory) { kill(pid, SIGKILL) }
      }
      let metrics = try #require(Self.processes(mentioning: directory).first { Self.commandLine($0).contains("sightline-metrics") })

      kill(metrics, SIGKILL)
      let killed = ContinuousClock.now
      // The same ports as `up`'s: the gateway on base, the services from base + 1.
      let probe = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      var serving = false
      while !serving, ContinuousClock.now - killed < .seconds(5) {
        let restarted = Self.processes(mentioning: directory).contains {
          $0 != metrics && Self.commandLine($0).contains("sightline-metrics")
        }
        if restarted { serving = (try? await probe.checkHealth(.metrics)) == .serving }
        if !serving { try await Task.sleep(for: .milliseconds(100)) }
      }
      #expect(serving, "metrics is restarted and serving within 5 s of its SIGKILL")
      try await Task.sleep(for: .milliseconds(200))
      let log = collected.text
      #expect(log.contains("sightline-metrics was killed by SIGKILL (signal 9); restarting it in"), "\(log)")
      #expect(log.contains("sightline-metrics restarted (pid "), "\(log)")
      #expect(try await probe.checkHealth(.gateway) == .serving)

      kill(up.processIdentifier, SIGTERM)
      let stopDeadline = ContinuousClock.now + .seconds(30)
      while up.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
      #expect(up.terminationReason == .exit && up.terminationStatus == 0)
      #expect(Self.processes(mentioning: directory).isEmpty, "the restarted child stops with the rest")
    }

    @Test func childrenStopWhenUpIsKilledOutright() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let (up, _) = try Self.startUp(directory: directory, base: base)
      #expect(Self.processes(mentioning: directory).count == 6)
      // SIGKILL cannot be trapped: the children notice their parent is gone and drain.
      kill(up.processIdentifier, SIGKILL)
      let stopDeadline = ContinuousClock.now + .seconds(20)
      while !Self.processes(mentioning: directory).isEmpty, ContinuousClock.now < stopDeadline {
        try await Task.sleep(for: .milliseconds(100))
      }
      let left = Self.processes(mentioning: directory)
      #expect(left.isEmpty, "orphans: \(left)")
      for pid in left { kill(pid, SIGKILL) }
    }
  }
}

extension RealProcessSuites {
  /// Ingestion's promises with real processes: the CLI on a 10,000-line file with 1 % bad
  /// lines, CSV and flat exports, and a SIGKILL between batches losing nothing acknowledged;
  /// on the same data, the CLI's kpi (CSV), segments (a parse error) and experiment (a YAML
  /// spec, evaluated as JSON) commands.
  @Suite(.serialized) struct IngestionEndToEndTests {
    static func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: EndToEndTests.binaryDirectory + "/sightline")
      process.arguments = arguments
      let (out, err) = (Pipe(), Pipe())
      process.standardOutput = out
      process.standardError = err
      try process.run()
      let stdout = out.fileHandleForReading.readDataToEndOfFile()
      let stderr = err.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func aFileWithBadLinesAndAKillBetweenBatches() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let base = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
      try await launcher.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
      let connection = ["--data-dir", directory, "--gateway", "127.0.0.1:\(base)"]
      do {
        // Readiness of one process, directly (what docker-compose's health checks run);
        // a log consumer says how many tenants it follows and how many are behind.
        let direct = try Self.cli(["health", "--direct", "127.0.0.1:\(base + 2)"] + connection)
        #expect(direct.status == 0 && direct.stdout == "SERVING: following 0 tenants, 0 behind\n", "\(direct)")
        let created = try Self.cli(["tenant", "create", "acme"] + connection)
        let key = try #require(created.stdout.split(separator: " ").first { $0.hasPrefix("slk_") }.map { String($0.prefix(68)) })

        // 10,000 lines, every 100th broken in a different way.
        var lines: [String] = []
        for index in 0..<10_000 {
          switch index % 100 {
          case 99 where index % 300 == 99: lines.append("{not json")
          case 99 where index % 300 == 199:
            lines.append(
              #"{"eventId":"b\#(index)","surveyResponse":{"customerId":"C1","kind":"SURVEY_KIND_CSAT","score":9,"time":"2026-11-20T10:00:00Z"}}"#
            )
          case 99:
            lines.append(
              #"{"eventId":"b\#(index)","ticketEvent":{"ticketId":"T\#(index)","customerId":"C1","kind":"TICKET_EVENT_KIND_CREATED","time":"1999-12-31T23:59:59Z"}}"#
            )
          default:
            lines.append(
              #"{"eventId":"e\#(index)","ticketEvent":{"ticketId":"T\#(index)","customerId":"C\#(index % 50)","kind":"TICKET_EVENT_KIND_CREATED","time":"2026-11-20T10:00:00+08:00","channel":"wechat"}}"#
            )
          }
        }
        let file = directory + "/events.ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let rejects = directory + "/rejects.ndjson"
        let run = try Self.cli(["ingest", file, "--api-key", key, "--rejects", rejects, "--batch-size", "2000"] + connection)
        #expect(run.status == 1, "rejections make the exit status 1")
        #expect(run.stdout.contains("accepted 9900, duplicates 0, rejected 100"), "\(run.stdout)")
        let rejected = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n")
        #expect(rejected.count == 100)
        #expect(rejected.contains { $0.contains("survey_response.score") })
        #expect(rejected.contains { $0.contains("\"line\":100") })
        // A rejection by the service maps back to its line across the batches of a stream
        // (line 3200, in the second batch of 2,000, has an out-of-range score).
        #expect(rejected.contains { $0.contains("\"line\":3200") && $0.contains("survey_response.score") }, "\(rejected)")

        // A file that cannot be read whole is refused before anything is sent: a bad byte at
        // its very end, an open quote on its last line.
        let badBytes = directory + "/bad-end.ndjson"
        var bytes = Array((lines.prefix(10).joined(separator: "\n") + "\n").utf8)
        let badOffset = bytes.count
        bytes.append(0xFF)
        try Data(bytes).write(to: URL(fileURLWithPath: badBytes))
        let refused = try Self.cli(["ingest", badBytes, "--api-key", key] + connection)
        #expect(refused.status != 0 && refused.stderr.contains("first bad byte is at offset \(badOffset)"), "\(refused)")
        #expect(!refused.stdout.contains("accepted"), "\(refused.stdout)")
        let openQuote = directory + "/open-quote.csv"
        try
          "event_id,customer_id,kind,score,time,comment\nq1,C1,csat,5,2026-11-20T10:00:00Z,ok\nq2,C1,csat,4,2026-11-20T10:00:00Z,\"never closed\n"
          .write(toFile: openQuote, atomically: true, encoding: .utf8)
        let unclosed = try Self.cli(["ingest", openQuote, "--kind", "survey_response", "--api-key", key] + connection)
        #expect(unclosed.status != 0 && unclosed.stderr.contains("line 3: a quoted field is not closed"), "\(unclosed)")
        #expect(!unclosed.stdout.contains("accepted"), "\(unclosed.stdout)")

        // A flat helpdesk export becomes ticket events; re-importing it stores nothing twice.
        let export = directory + "/export.csv"
        try """
        ticket_id,customer_id,created,first_reply,resolved,reopened,channel,priority,complaint
        X1,C1,2026-11-20T09:00:00Z,2026-11-20T09:30:00Z,2026-11-20T12:00:00Z,2026-11-21T08:00:00Z,phone,high,true
        X2,C2,2026-11-20T10:00:00Z,,,,"web, form",low,false
        """.write(toFile: export, atomically: true, encoding: .utf8)
        let imported = try Self.cli(["ingest", export, "--kind", "ticket_export", "--api-key", key] + connection)
        #expect(imported.stdout.contains("accepted 5, duplicates 0, rejected 0"), "\(imported.stdout) \(imported.stderr)")
        let again = try Self.cli(["ingest", export, "--kind", "ticket_export", "--api-key", key] + connection)
        #expect(again.stdout.contains("accepted 0, duplicates 5, rejected 0"))

        // A Chinese team's export as Excel saves it on Chinese Windows (GBK, Chinese headers,
        // local times, 是/否), read through the shipped map: --preview shows it and sends
        // nothing; the import says how it read the file; the same rows as a workbook (data
        // on its second sheet) are the same events, so they are all duplicates.
        let utf8 = directory + "/utf8.csv"
        try """
        工单编号,客户ID,创建时间,首次响应时间,解决时间,业务线,渠道,优先级,是否投诉,备注
        Z1,C1,2026-10-20 09:00:00,2026/10/20 10:00,,宽带,电话,紧急,是,回访
        Z2,C2,2026/10/20 9:05,,,宽带,微信,中,否,

        """.write(toFile: utf8, atomically: true, encoding: .utf8)
        let chinese = directory + "/工单导出.csv"
        try HelpdeskImportTests.run("iconv", ["-f", "UTF-8", "-t", "GBK", utf8], stdout: chinese)
        let map = HelpdeskImportTests.root.path + "/maps/chinese-helpdesk.yaml"
        let preview = try Self.cli(["ingest", chinese, "--map", map, "--preview", "--time-zone", "Asia/Shanghai"])
        #expect(preview.status == 0, "\(preview.stderr)")
        for line in ["工单导出.csv: GB18030", "column 工单编号 → ticket_id", "column 备注 → not used", #""time":"2026-10-20T09:00:00+08:00""#] {
          #expect(preview.stdout.contains(line), "\(line) in \(preview.stdout)")
        }
        // The tenant's zone, set from the CLI, is the zone of local times (put back at the end).
        let badSettings = try Self.cli(["settings", "set", "--sla", "urgent=soon", "--api-key", key] + connection)
        #expect(badSettings.status != 0 && badSettings.stderr.contains("--sla urgent: 'soon' is not a duration"), "\(badSettings)")
        let settings = try Self.cli(
          [
            "settings", "set", "--time-zone", "Asia/Shanghai", "--sla", "urgent=30m,high=1h30m", "--complaint-target", "1.5d",
            "--repeat-window", "7d", "--api-key", key,
          ] + connection)
        #expect(settings.status == 0, "\(settings.stderr)")
        let shown = try Self.cli(["settings", "show", "--api-key", key] + connection).stdout
        for line in [
          "time zone          Asia/Shanghai", "first-response SLA urgent 30m, high 1h30m, normal 8h, low 1d",
          "complaint target   1d12h", "repeat window      1w",
        ] {
          #expect(settings.stdout.contains(line) && shown.contains(line), "\(line) in \(settings.stdout) and \(shown)")
        }
        let local = try Self.cli(["ingest", chinese, "--map", map, "--api-key", key] + connection)
        #expect(local.status == 0, "\(local.stderr)")
        for line in [
          "工单导出.csv: read as GB18030", "工单导出.csv: 3 times without an offset read in Asia/Shanghai (the tenant's zone)",
          "工单导出.csv: columns not used: 备注", "accepted 3, duplicates 0, rejected 0",
        ] {
          #expect(local.stdout.contains(line), "\(line) in \(local.stdout)")
        }
        let workbook = directory + "/工单导出.xlsx"
        try HelpdeskImportTests.run(
          "python3",
          [HelpdeskImportTests.root.path + "/scripts/import-fixtures.py", "xlsx", utf8, workbook, "--sheet", "工单", "--dates", "创建时间"])
        let sheet = try Self.cli(["ingest", workbook, "--map", map, "--sheet", "工单", "--api-key", key] + connection)
        #expect(sheet.stdout.contains("accepted 0, duplicates 3, rejected 0"), "\(sheet.stdout) \(sheet.stderr)")
        let broken = directory + "/broken.xlsx"
        try Data("PK not really a zip".utf8).write(to: URL(fileURLWithPath: broken))
        let refusedBook = try Self.cli(["ingest", broken, "--kind", "ticket_export", "--api-key", key] + connection)
        #expect(refusedBook.status != 0 && refusedBook.stderr.contains("not an .xlsx workbook"), "\(refusedBook)")
        #expect(!refusedBook.stderr.contains("Usage:"), "a refused file is not a usage mistake: \(refusedBook.stderr)")
        let reset = try Self.cli(
          [
            "settings", "set", "--time-zone", "UTC", "--sla", "urgent=1h,high=4h", "--complaint-target", "48h", "--repeat-window", "7d",
            "--api-key", key,
          ] + connection)
        #expect(reset.status == 0, "\(reset.stderr)")

        // The other CLI commands against the same data: kpi as CSV, a segment, an experiment
        // from a YAML spec (short enum names, a flow list, comments) evaluated as JSON.
        let kpi = try Self.cli(
          [
            "kpi", "--metric", "volume", "--by", "channel", "--from", "2026-11-19", "--to", "2026-11-22",
            "--format", "csv", "--min-offset", "9905", "--api-key", key,
          ] + connection)
        #expect(kpi.status == 0, "\(kpi.stderr)")
        #expect(kpi.stdout.hasPrefix("period,channel,volume,volume.n"), "\(kpi.stdout)")
        #expect(kpi.stdout.contains(",wechat,9900.0,9900"), "\(kpi.stdout)")
        let badSegment = try Self.cli(["segments", "define", "x", "tier = 'vip'", "--api-key", key] + connection)
        #expect(badSegment.status == 1 && badSegment.stderr.contains("column 6"), "\(badSegment.stderr)")
        let spec = directory + "/spec.yaml"
        try """
        # a customer-level test
        name: callback pilot
        unit: customer
        hash:
          salt: pilot-1
          treatment_share: 0.5
        start: 2026-11-01T00:00:00Z
        pre_period_days: 7
        primary:
          - kpi: complaint_rate
            good_direction: down
        guardrails: [ ]
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        let createdExperiment = try Self.cli(["experiment", "create", "--file", spec, "--api-key", key] + connection)
        #expect(createdExperiment.status == 0, "\(createdExperiment.stderr)")
        let evaluated = try Self.cli(["experiment", "evaluate", "callback pilot", "--format", "json", "--api-key", key] + connection)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(
          evaluated.stdout.contains("\"method\": \"METHOD_DELTA\"") || evaluated.stdout.contains("\"method\":\"METHOD_DELTA\""),
          "\(evaluated.stdout)")

        // Dates print in the tenant's zone, named once: the experiment starts at
        // 2026-11-01T00:00Z, which is 31 October in Los Angeles. A UTC date leaking into the
        // report or the list fails here.
        let zoned = try Self.cli(["settings", "set", "--time-zone", "America/Los_Angeles", "--api-key", key] + connection)
        #expect(zoned.status == 0, "\(zoned.stderr)")
        let report = try Self.cli(["experiment", "evaluate", "callback pilot", "--api-key", key] + connection)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(
          report.stdout.contains("post-period 2026-10-31 → ") && report.stdout.contains("pre-period 2026-10-24 → 2026-10-31")
            && report.stdout.contains("(dates in America/Los_Angeles)") && !report.stdout.contains("2026-11-01 "),
          "\(report.stdout)")
        // The verdict stands beside the interval it was decided on, and they agree.
        let decided = try #require(
          report.stdout.firstMatch(of: /(better|worse|inconclusive)\s+(always-valid|fixed 95% CI|Holm-adjusted)\s+\[([^,\]]+), ([^\]]+)\]/),
          "\(report.stdout)")
        func shownNumber(_ text: Substring) -> Double? {
          Double(
            text.replacingOccurrences(of: " pts", with: "").replacingOccurrences(of: "+", with: "").replacingOccurrences(of: "−", with: "-")
          )
        }
        if let low = shownNumber(decided.3), let high = shownNumber(decided.4) {
          #expect((low > 0 || high < 0) == (decided.1 != "inconclusive"), "\(decided.0)")
        }
        #expect(report.stdout.contains("fixed 95% CI") && report.stdout.contains("each verdict rests on"), "\(report.stdout)")
        // A hash assignment's arms are customers: --chart says why it draws nothing.
        let charted = try Self.cli(["experiment", "evaluate", "callback pilot", "--chart", "--api-key", key] + connection)
        #expect(charted.status == 0 && charted.stdout.contains("no chart: a hash assignment"), "\(charted)")
        let listed = try Self.cli(["experiment", "list", "--api-key", key] + connection)
        #expect(
          listed.stdout.contains("start (America/Los_Angeles)") && listed.stdout.contains("2026-10-31 17:00")
            && !listed.stdout.contains("2026-11-01"), "\(listed.stdout)")
        let dashboard = try Self.cli(["dashboard", "--period", "7d", "--api-key", key] + connection)
        #expect(
          dashboard.status == 0 && dashboard.stdout.firstMatch(of: /·\s+\d{4}-\d\d-\d\d \d\d:\d\d America\/Los_Angeles/) != nil,
          "\(dashboard.stdout.prefix(300))")
        _ = try Self.cli(["settings", "set", "--time-zone", "UTC", "--api-key", key] + connection)

        // Kill ingestion with SIGKILL between acknowledged batches.
        let acknowledged = try await ClientFactory.withClient(
          launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)
        ) { client in
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          var offset: Int64 = 0
          for batch in 0..<5 {
            let events = (0..<1_000).map { ticketCreated("k\(batch)-\($0)", ticket: "K\(batch)-\($0)") }
            offset = try await ingestion.ingest(.with { $0.events = events }, metadata: SuiteMetadata.bearer(key)).offset
          }
          return offset
        }
        kill(try #require(launcher.processIdentifiers[.ingestion]), SIGKILL)
        await launcher.stop()
        let restarted = SuiteLauncher(dataDirectory: directory, portBase: base, binaryDirectory: EndToEndTests.binaryDirectory)
        try await restarted.start(timeout: .seconds(60), output: FileHandle(forWritingAtPath: "/dev/null"))
        defer { Task { await restarted.stop() } }
        try await ClientFactory.withClient(restarted.gateway, security: SuiteTLS(pki: restarted.pki).clientSecurity(identity: nil)) {
          client in
          let ingestion = Sightline_Ingestion_V1_Ingestion.Client(wrapping: client)
          let stats = try await ingestion.getStats(.init(), metadata: SuiteMetadata.bearer(key))
          #expect(stats.lastOffset == acknowledged, "every acknowledged record survived the SIGKILL")
          // The client retries everything it sent: all duplicates, nothing stored twice.
          let events = (0..<1_000).map { ticketCreated("k4-\($0)", ticket: "K4-\($0)") }
          let retry = try await ingestion.ingest(.with { $0.events = events }, metadata: SuiteMetadata.bearer(key))
          #expect(retry.duplicates == 1_000 && retry.accepted == 0 && retry.offset == acknowledged)
        }
        await restarted.stop()
      } catch {
        await launcher.stop()
        throw error
      }
    }
  }
}
