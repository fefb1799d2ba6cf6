import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf
import UnixSignals

/// `sightline demo`: the whole loop on realistic data, in one command.
struct Demo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Start the suite (or use the running one), load a realistic seeded data set, and show the cockpit and the A/B verdict.",
    discussion: """
      20 business lines over 120 days; lines L01-L10 get the dashboard on day 60 and answer about 15 % faster \
      with a few more satisfied customers; the south region's complaints spike over the last two days; VIP \
      customers sour over the last month. The demo defines complaint alerts and the rollout experiment, then \
      prints what a service manager sees.
      """)

  @Option(help: "Where the suite keeps its data (and the demo tenant's key, in demo.key).")
  var dataDir: String = "./.sightline"
  @Option(help: "Seed of the data set.") var seed: UInt64 = 7
  @Option(help: "Days of history.") var days: Int = 120
  @Option(help: "Mean tickets per business line per day.") var ticketsPerDay: Double = 6
  @Option(help: "The gateway's port.") var port: Int = SuiteComponent.gateway.defaultPort
  @Option(help: "First port of the four internal services.") var servicePortBase: Int = SuiteComponent.ingestion.defaultPort
  @Option(help: "The web cockpit's HTTPS port on 127.0.0.1 (0: do not serve it).")
  var cockpitPort: Int = SuiteComponent.gateway.defaultPort + 1
  @Flag(help: "Keep a suite the demo started running until Ctrl-C.") var keepRunning = false

  func validate() throws {
    guard (14...730).contains(days) else { throw ValidationError("--days must be 14-730") }
    guard ticketsPerDay > 0, ticketsPerDay <= 200 else { throw ValidationError("--tickets-per-day must be in (0, 200]") }
  }

  func run() async throws {
    var ports: [SuiteComponent: Int] = [:]
    for (offset, component) in SuiteComponent.backends.enumerated() { ports[component] = servicePortBase + offset }
    let launcher = SuiteLauncher(
      dataDirectory: dataDir, gatewayPort: port, servicePorts: ports, binaryDirectory: SuiteLauncher.currentBinaryDirectory)
    if cockpitPort > 0 { launcher.cockpitPort = cockpitPort }
    let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
    let alreadyRunning = (try? await launcher.checkHealth(.gateway)) == .serving
    if !alreadyRunning {
      Self.status("starting the Sightline suite in \(launcher.dataDirectory) (logs: \(launcher.dataDirectory)/suite.log)…")
      try FileManager.default.createDirectory(atPath: launcher.dataDirectory, withIntermediateDirectories: true)
      _ = FileManager.default.createFile(atPath: launcher.dataDirectory + "/suite.log", contents: nil)
      try await launcher.start(output: FileHandle(forWritingAtPath: launcher.dataDirectory + "/suite.log"))
    } else {
      Self.status("using the suite already running at \(launcher.gateway)")
    }
    do {
      try await demo(launcher)
    } catch {
      if !alreadyRunning { await launcher.stop() }
      throw report(error)
    }
    guard !alreadyRunning else { return }
    if keepRunning {
      if let url = launcher.cockpitURL { print(CockpitBanner.text(url: url, dataDirectory: dataDir)) }
      print("The suite keeps running at \(launcher.gateway). Press Ctrl-C to stop.")
      fflush(nil)
      for await _ in signals { break }
    }
    Self.status("stopping the suite…")
    await launcher.stop()
    print("Stopped. Start it again with: sightline up --data-dir \(dataDir)")
  }

  /// A progress line on standard error, after whatever standard output holds (so the two
  /// streams interleave in order on one terminal).
  static func status(_ line: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  private func demo(_ launcher: SuiteLauncher) async throws {
    let operatorKey = try String(contentsOfFile: launcher.operatorKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    var scenario = DemoScenario(endMs: WallClock.now / 60_000 * 60_000)
    scenario.seed = seed
    scenario.days = days
    scenario.rolloutDay = days / 2
    scenario.ticketsPerLineDay = ticketsPerDay
    let security = SuiteTLS.clientSecurity(caFile: launcher.pki.caCertificate, identity: nil)
    let dataDir = self.dataDir
    try await ClientFactory.withClient(launcher.gateway, security: security) { client in
      let tty = isatty(STDERR_FILENO) == 1
      let outcome = try await DemoRunner(client: client, operatorKey: operatorKey) { line in
        // The progress bar redraws in place on a terminal.
        if line.hasPrefix("ingest [") {
          guard tty || line.contains("100%") else { return }
          FileHandle.standardError.write(Data(((tty ? "\r" : "") + line + (line.contains("100%") ? "\n" : "")).utf8))
        } else {
          Self.status(line)
        }
      }.run(scenario)
      let keyFile = "\(dataDir)/demo.key"
      _ = FileManager.default.createFile(
        atPath: keyFile, contents: Data((outcome.adminKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
      let key = SuiteMetadata.bearer(outcome.adminKey)

      // Alert rules are evaluated every 15 s: wait for the first round.
      let metrics = Sightline_Metrics_V1_Metrics.Client(wrapping: client)
      Self.status("waiting for the first alert evaluation…")
      let deadline = ContinuousClock.now + .seconds(40)
      while ContinuousClock.now < deadline,
        try await metrics.listAlerts(.with { $0.openOnly = true }, metadata: key).alerts.isEmpty
      {
        try await Task.sleep(for: .seconds(1))
      }

      let caseLines = try await Self.spikeCase(client, key: key, scenario: scenario)

      let cockpit = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).dashboard(
        .with {
          $0.periodDays = 30; $0.minOffset = outcome.offset
        }, metadata: key)
      print(CockpitView(cockpit, days: 30, zone: TimeZone(identifier: DemoScenario.timeZone)!, color: Terminal.isTTY).render())
      print("")
      print(try await Self.businessHours(metrics, key: key, outcome: outcome))
      print("")
      print(caseLines)
      print("")
      let evaluation = try await Sightline_Experiments_V1_Experiments.Client(wrapping: client).evaluate(
        .with {
          $0.name = outcome.experiment; $0.minOffset = outcome.offset
        }, metadata: key)
      ExperimentReport.print(evaluation, zone: await DateArgument.tenantZone(client, metadata: key))
      // Why the complaint rate moved: the spike's days against as many days before.
      let spikeEnd = Google_Protobuf_Timestamp(unixMilliseconds: scenario.endMs)
      let spikeStart = Google_Protobuf_Timestamp(
        unixMilliseconds: scenario.endMs - Int64(scenario.spikeDays) * 86_400_000)
      let why = try await metrics.explainChange(
        .with {
          $0.kpi = .complaintRate
          $0.period = .with {
            $0.start = spikeStart
            $0.end = spikeEnd
          }
          $0.minOffset = outcome.offset
        }, metadata: key)
      print("\nWhy did the complaint rate move? (the last \(scenario.spikeDays) days against the \(scenario.spikeDays) before)")
      print(why.summary)
      print(
        """

        Planted in the data: lines \(scenario.treatedLines.first!)-\(scenario.treatedLines.last!) got the dashboard on \
        \(LocalTime.date(milliseconds: scenario.rolloutMs, zone: TimeZone(identifier: DemoScenario.timeZone)!)) with first response \(Int(-scenario.firstResponseEffect * 100)) % \
        faster and CSAT +\(Int(scenario.csatEffect * 100)) points; complaints spike in '\(scenario.spikeRegion)' over the last \
        \(scenario.spikeDays) days; VIP customers sour over the last \(scenario.vipDays) days; lines \
        \(scenario.shortEveningLines.joined(separator: " and ")) run short from \(scenario.eveningFrom):00 (slower replies, lower CSAT).

        Tenant \(outcome.tenantName) (\(outcome.tenantID)); its admin key is in \(keyFile). Try:
          sightline kpi --hours business --metric first_response_time --metric resolution_time --by channel --api-key $(cat \(keyFile)) --data-dir \(dataDir)
          sightline kpi --api-key $(cat \(keyFile)) --data-dir \(dataDir) --by business_line --metric first_response_time --metric csat
          sightline experiment evaluate '\(outcome.experiment)' --api-key $(cat \(keyFile)) --data-dir \(dataDir)
          sightline explain --metric complaint_rate --period \(scenario.spikeDays)d --api-key $(cat \(keyFile)) --data-dir \(dataDir)
          sightline workload staffing --roster examples/roster-line.csv --where business_line=\(scenario.shortEveningLines[0]) --period 17w --api-key $(cat \(keyFile)) --data-dir \(dataDir)
          sightline dashboard --watch --api-key $(cat \(keyFile)) --data-dir \(dataDir)
          sightline followups list --api-key $(cat \(keyFile)) --data-dir \(dataDir)
        """)
      if let url = launcher.cockpitURL {
        print(
          """
          Web cockpit: \(url) (sign in with the key in \(keyFile): \(outcome.adminKey)); it is up while the suite runs \
          (--keep-running, or sightline up --data-dir \(dataDir)).
          """)
      }
    }
  }

  /// The case the rules opened for the south complaint spike (they run after each alert
  /// round), with the demo's action recorded on it; and how many detractors wait for a call.
  static func spikeCase(_ client: GRPCClient<HTTP2ClientTransport.Posix>, key: Metadata, scenario: DemoScenario) async throws -> String {
    let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
    let zone = TimeZone(identifier: DemoScenario.timeZone)!
    var spike: Sightline_Cases_V1_Case?
    let deadline = ContinuousClock.now + .seconds(40)
    while spike == nil && ContinuousClock.now < deadline {
      spike = try await cases.listCases(.with { $0.source = .alert }, metadata: key).cases.first {
        $0.scope.regions == [scenario.spikeRegion]
      }
      if spike == nil { try await Task.sleep(for: .seconds(1)) }
    }
    var lines = ["CASES"]
    if let spike {
      let acted = try await cases.updateCase(
        .with {
          $0.caseID = spike.id
          $0.action = .with {
            $0.description_p = DemoRunner.spikeAction; $0.effectiveAt = .init(unixMilliseconds: WallClock.unixMilliseconds())
          }
        }, metadata: key
      ).case
      lines.append("  \(acted.title)")
      lines.append(
        "  case \(acted.id): owner \(acted.owner), due \(LocalTime.minute(milliseconds: acted.dueAt.unixMilliseconds, zone: zone))"
          + (acted.dueInBusinessHours ? " (in business hours)" : ""))
      lines.append("  action recorded: \(acted.action.description_p)")
      let firstLook = acted.action.effectiveAt.unixMilliseconds + Int64(ActionVerifier.horizonsDays[0]) * 86_400_000
      lines.append(
        "  its effect is verified on \(LocalTime.date(milliseconds: firstLook, zone: zone)) (\(ActionVerifier.horizonsDays[0]) days on) and again at "
          + "\(ActionVerifier.horizonsDays[1]) days (sightline cases show \(acted.id))")
    } else {
      lines.append("  the complaint spike's case was not opened within 40 s (the case rules run after each alert round)")
    }
    lines += try await rolloutVerification(cases, key: key, scenario: scenario)
    let waiting = try await cases.listCases(
      .with {
        $0.source = .detractor; $0.statuses = [.open, .inProgress]; $0.limit = 1000
      }, metadata: key
    ).cases.count
    lines.append(
      "  \(waiting == 1000 ? "1000 or more" : "\(waiting)") detractors of the last 7 days wait for a follow-up call (sightline followups list)"
    )
    return lines.joined(separator: "\n")
  }

  /// The dashboard rollout recorded as a case's action on the treated lines from the rollout
  /// day: its 14- and 28-day verifications are due already, and the metrics process's case
  /// rules (every 15 s) write them.
  static func rolloutVerification(
    _ cases: Sightline_Cases_V1_Cases.Client<HTTP2ClientTransport.Posix>, key: Metadata, scenario: DemoScenario
  ) async throws -> [String] {
    let lines = scenario.treatedLines
    let opened = try await cases.openCase(
      .with {
        $0.title = "Management dashboard for lines \(lines.joined(separator: ", "))"; $0.owner = "service-director"
        $0.scope.businessLines = lines
      }, metadata: key
    ).case
    _ = try await cases.updateCase(
      .with {
        $0.caseID = opened.id
        $0.action = .with {
          $0.description_p = "Dashboard rolled out to the team leads of lines \(lines.joined(separator: ", "))"
          $0.effectiveAt = .init(unixMilliseconds: scenario.rolloutMs)
          $0.scope.businessLines = lines
        }
      }, metadata: key)
    var verifications: [Sightline_Cases_V1_Verification] = []
    let deadline = ContinuousClock.now + .seconds(40)
    while verifications.count < ActionVerifier.horizonsDays.count && ContinuousClock.now < deadline {
      try await Task.sleep(for: .seconds(1))
      verifications = try await cases.getCase(.with { $0.caseID = opened.id }, metadata: key).verifications
    }
    var text = ["  case \(opened.id): the dashboard rollout as an action on lines \(lines.joined(separator: ", ")), verified (复盘):"]
    for verification in verifications {
      func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + String(format: "%.3f", value) }
      text.append(
        "    \(verification.horizonDays) days: \(verification.verdict) on \(verification.kpi), effect \(signed(verification.effect)) "
          + "(95 % CI \(signed(verification.ciLow)) … \(signed(verification.ciHigh)), p = \(String(format: "%.3f", verification.pValue))), "
          + "\(verification.method) against \(verification.controlUnits) untouched lines")
    }
    if verifications.isEmpty { text.append("    not verified within 40 s (the case rules run every 15 s)") }
    return text
  }

  /// First response and resolution over the last 30 days in calendar and in business time,
  /// on the demo tenant's office calendar.
  static func businessHours(
    _ metrics: Sightline_Metrics_V1_Metrics.Client<HTTP2ClientTransport.Posix>, key: Metadata, outcome: DemoOutcome
  ) async throws -> String {
    var lines = [
      "BUSINESS HOURS  calendar '\(DemoScenario.calendarName)': Mon–Fri \(DemoScenario.officeHours.start)–\(DemoScenario.officeHours.end) "
        + "\(DemoScenario.timeZone), China's 2026 holidays and make-up days"
    ]
    var rows: [[String]] = []
    var values: [Sightline_Metrics_V1_Hours: [Sightline_Metrics_V1_KpiValue]] = [:]
    for hours in [Sightline_Metrics_V1_Hours.calendar, .business] {
      let reply = try await metrics.queryKpis(
        .with {
          $0.kpis = [.firstResponseTime, .resolutionTime]
          $0.range.start = Google_Protobuf_Timestamp(unixMilliseconds: WallClock.unixMilliseconds() - 30 * 86_400_000)
          $0.minOffset = outcome.offset
          $0.hours = hours
        }, metadata: key)
      values[hours] = reply.rows.first?.values ?? []
    }
    for (index, kind) in [KpiKind.firstResponseTime, .resolutionTime].enumerated() {
      for hours in [Sightline_Metrics_V1_Hours.calendar, .business] {
        guard let value = values[hours]?[safe: index], value.sampleSize > 0 else { continue }
        rows.append([
          "  " + kind.rawValue, hours == .business ? "business" : "calendar", KpiFormat.value(value.value, kind),
          KpiFormat.value(value.median, kind), KpiFormat.value(value.p90, kind), "n=\(value.sampleSize)",
        ])
      }
    }
    lines += tableLines(["  kpi (30 days)", "hours", "mean", "median", "p90", ""], rows)
    return lines.joined(separator: "\n")
  }
}
