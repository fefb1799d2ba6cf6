import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

extension RealProcessSuites {
  /// The web cockpit driven in headless Chromium (Tests/browser/cockpit_browser.py, Selenium
  /// with Debian's chromium and chromium-driver) against the real processes on demo data:
  /// every page's numbers equal the RPCs', sign-in, sessions, CSRF, roles, languages, live
  /// refresh, and screenshots in artifacts/screenshots. `.ci/run` installs what it needs;
  /// without it the test is skipped.
  @Suite(.serialized) struct CockpitBrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var browserAvailable: Bool {
      ChildProcess.succeeds(["python3", "-c", "import selenium, grpc, grpc_tools"])
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
    }

    @Test(.enabled(if: browserAvailable, "needs chromium, chromium-driver and python3 with selenium and grpcio (.ci/run installs them)"))
    func thePagesShowTheRPCsNumbersInBothLanguages() async throws {
      let directory = InProcessSuite.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let binaries = EndToEndTests.binaryDirectory
      let portBase = EndToEndTests.freePortBase()
      let launcher = SuiteLauncher(dataDirectory: directory, portBase: portBase, binaryDirectory: binaries)
      launcher.cockpitPort = portBase + 5
      _ = FileManager.default.createFile(atPath: directory + "/suite.log", contents: nil)
      try await launcher.start(output: FileHandle(forWritingAtPath: directory + "/suite.log"))
      defer { Task { await launcher.stop() } }

      // Demo data that ends two days ago and spans 20 days: every rolling window of the
      // pages (30 days ending now) holds all of it whenever the page is drawn, and every SLA
      // target has passed, so the numbers cannot move between the RPCs and the pages.
      let day: Int64 = 86_400_000
      var scenario = DemoScenario(endMs: (WallClock.now - 2 * day) / 60_000 * 60_000)
      scenario.days = 20
      scenario.rolloutDay = 10
      scenario.customers = 300
      scenario.ticketsPerLineDay = 3
      scenario.vipDays = 10
      let planted = scenario
      let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(
        in: .whitespacesAndNewlines)
      let expected = try await ClientFactory.withClient(
        launcher.gateway, security: SuiteTLS(pki: launcher.pki).clientSecurity(identity: nil)
      ) { client in
        let demo = try await DemoRunner(client: client, operatorKey: operatorKey) { _ in }.run(planted)
        let admin = SuiteMetadata.bearer(demo.adminKey)
        let reader = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).createKey(
          .with {
            $0.role = .reader; $0.label = "cockpit test"
          }, metadata: admin)
        return try await Self.expectations(
          client, key: admin, demo: demo, readerKey: reader.secret, readerKeyID: reader.key.id, planted: planted)
      }
      let expectedFile = directory + "/expected.json"
      try expected.write(to: URL(fileURLWithPath: expectedFile))

      let screenshots = Self.root.appendingPathComponent("artifacts/screenshots").path
      let (status, text) = try await ChildProcess.run([
        "python3", Self.root.appendingPathComponent("Tests/browser/cockpit_browser.py").path,
        "--url", launcher.cockpitURL!, "--gateway", launcher.gateway.description, "--ca", launcher.pki.caCertificate,
        "--expected", expectedFile, "--screenshots", screenshots,
      ])
      #expect(status == 0, "\(text)")
      #expect(text.contains("all cockpit checks passed"), "\(text)")
      // Every headline KPI, every line's figures, every explorer row… were compared.
      let checks = text.firstMatch(of: /passed \((\d+) checks\)/).flatMap { Int($0.1) } ?? 0
      #expect(checks > 150, "only \(checks) checks ran")
      for page in ["overview", "explore", "segments", "voice", "workload", "experiments", "keys", "why", "cases", "case", "followups"] {
        for language in ["en", "zh"] {
          #expect(FileManager.default.fileExists(atPath: "\(screenshots)/\(page)-\(language).png"), "\(page)-\(language).png")
          #expect(FileManager.default.fileExists(atPath: "\(screenshots)/\(page)-phone-\(language).png"), "\(page)-phone-\(language).png")
        }
      }
      await launcher.stop()
    }

    /// What each page must show, from the RPCs, formatted as the pages format numbers.
    static func expectations(
      _ client: GRPCClient<HTTP2ClientTransport.Posix>, key: Metadata, demo: DemoOutcome, readerKey: String, readerKeyID: String,
      planted: DemoScenario
    ) async throws -> Data {
      let gateway = Sightline_Gateway_V1_Gateway.Client(wrapping: client)
      let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      // The tenant's own CSAT target (the rest keep the defaults): the overview's traffic
      // light must follow it.
      var settings = try await metrics.getSettings(.init(), metadata: key)
      settings.targets = [
        .with {
          $0.kpi = .csat; $0.goal = 0.5; $0.tolerance = 0.05
        }
      ]
      _ = try await metrics.setSettings(.with { $0.settings = settings }, metadata: key)
      // Wait until the consumers have applied the whole log.
      let cockpit = try await gateway.dashboard(
        .with {
          $0.periodDays = 30; $0.minOffset = demo.offset
        }, metadata: key)
      let headline = cockpit.headline
      var headlineValues: [String: String] = [:]
      var headlineSamples: [String: Int64] = [:]
      for value in headline.rows.first?.values ?? [] {
        guard let kind = KpiWire.kpis[value.kpi] else { continue }
        headlineValues[kind.rawValue] = value.sampleSize > 0 ? KpiFormat.value(value.value, kind) : "–"
        headlineSamples[kind.rawValue] = value.sampleSize
      }
      var lines: [String: [String: String]] = [:]
      for row in cockpit.byBusinessLine.rows {
        var values: [String: String] = [:]
        for value in row.values {
          guard let kind = KpiWire.kpis[value.kpi] else { continue }
          values[kind.rawValue] = value.sampleSize > 0 ? KpiFormat.value(value.value, kind) : "–"
        }
        lines[row.groupValues.first ?? ""] = values
      }
      // The explorer at fixed dates: weekly CSAT by business line over the demo's days. The
      // page's dates are the tenant's (Shanghai) local days, computed here independently
      // of LocalTime: Shanghai keeps +08:00 all year.
      let shanghai: Int64 = 8 * 3_600_000
      let localDay = { (ms: Int64) in String(RFC3339.format(milliseconds: ms + shanghai).prefix(10)) }
      let localMidnight = { (date: String) in RFC3339.parseMilliseconds(date + "T00:00:00+08:00")! }
      let from = localDay(planted.startMs)
      let to = localDay(planted.endMs)
      let explored = try await metrics.queryKpis(
        .with {
          $0.kpis = [.csat]
          $0.range = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: localMidnight(from))
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: localMidnight(to) + 86_400_000)
          }
          $0.interval = .week
          $0.groupBy = [.businessLine]
        }, metadata: key)
      let explorerRows = explored.rows.map { row -> [String] in
        let value = row.values[0]
        return [
          localDay(row.bucketStart.unixMilliseconds), row.groupValues.first ?? "",
          value.sampleSize > 0 ? KpiFormat.value(value.value, .csat) : "–", "\(value.sampleSize)",
        ]
      }
      let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
      let segments = try await segmentation.listSegments(.init(), metadata: key)
      var members: [String: Int64] = [:]
      let end = WallClock.now
      for name in segments.builtin + segments.segments.map(\.name) {
        let card = try await segmentation.getScorecard(
          .with {
            $0.segment = name
            $0.range = .with {
              $0.start = Google_Protobuf_Timestamp(unixMilliseconds: end - 30 * 86_400_000)
              $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
            }
          }, metadata: key)
        members[name] = card.members
      }
      let themes = try await segmentation.getThemes(
        .with {
          $0.range = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: end - 30 * 86_400_000)
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
          }
          $0.limit = 12
          $0.negativeOnly = true
        }, metadata: key)
      let evaluation = try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).evaluate(
        .with { $0.name = demo.experiment }, metadata: key)
      let effects = Dictionary(
        uniqueKeysWithValues: evaluation.results.compactMap { result in
          KpiWire.kpis[result.metric.kpi].map { ($0.rawValue, "\(result.effect)") }
        })
      // "Why did CSAT move?" over the demo's second half against its first: fixed days.
      let rollout = localDay(planted.rolloutMs)
      let lastDay = localDay(planted.endMs - 86_400_000)
      let why = try await metrics.explainChange(
        .with {
          $0.kpi = .csat
          $0.period = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: localMidnight(rollout))
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: localMidnight(lastDay) + 86_400_000)
          }
        }, metadata: key)
      // An open alert to open a case for: a rule every line's last week breaks, judged by
      // the metrics process's own scheduler (every 15 s).
      _ = try await metrics.addAlertRule(
        .with {
          $0.rule = .with {
            $0.name = "any volume"; $0.kpi = .volume; $0.comparison = .greater; $0.threshold = 0; $0.windowSeconds = 7 * 86_400
            $0.minSample = 1
          }
        }, metadata: key)
      var alertID = ""
      let deadline = ContinuousClock.now + .seconds(60)
      while alertID.isEmpty && ContinuousClock.now < deadline {
        alertID = try await metrics.listAlerts(.with { $0.openOnly = true }, metadata: key).alerts.first?.id ?? ""
        if alertID.isEmpty { try await Task.sleep(for: .seconds(1)) }
      }
      let expected: [String: Any] = [
        "alert_id": alertID,
        "why": [
          "query": "kpi=csat&from=\(rollout)&to=\(lastDay)", "change": "\(why.change)",
          "segments": why.dimensions.first?.segments.count ?? 0,
        ],
        "admin_key": demo.adminKey, "reader_key": readerKey, "reader_key_id": readerKeyID,
        "headline": headlineValues, "headline_samples": headlineSamples, "lines": lines,
        "csat_status": KpiTarget(goal: 0.5, tolerance: 0.05).status(
          headline.rows.first?.values.first { $0.kpi == .csat }?.value ?? 0, kind: .csat,
          sampleSize: headline.rows.first?.values.first { $0.kpi == .csat }?.sampleSize ?? 0
        ).rawValue,
        "explore": ["query": "kpi=csat&by=business_line&interval=week&from=\(from)&to=\(to)", "rows": explorerRows],
        "members": members, "themes": themes.themes.map(\.term),
        "experiment": [
          "name": demo.experiment, "verdict": Self.verdict(evaluation.verdict), "effects": effects,
          "primaries": evaluation.results.filter { !$0.guardrail }.count,
        ],
      ]
      return try JSONSerialization.data(withJSONObject: expected, options: [.prettyPrinted, .sortedKeys])
    }

    static func verdict(_ verdict: Sightline_Experiments_V1_Verdict) -> String {
      switch verdict {
      case .better: "better"
      case .worse: "worse"
      case .inconclusive: "inconclusive"
      default: "unspecified"
      }
    }
  }
}
