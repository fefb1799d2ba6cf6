import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline endpoints …`: where the tenant's messages go, and what became of them
/// (docs/delivery.md).
struct EndpointsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "endpoints",
    abstract: "Endpoints: DingTalk, WeCom, Slack and signed webhooks that hear of alerts and cases (admin key to change).",
    discussion: """
      Events: alert.opened, alert.resolved, case.opened, case.overdue, verification.result.
      Example: sightline endpoints add --name ops --kind dingtalk --url 'https://oapi.dingtalk.com/robot/send?access_token=…' \\
        --secret SEC… --event alert.opened --event case.overdue --language zh
      A message that fails is tried again with backoff for 3 days, then kept in the dead letter:
      sightline endpoints deliveries --status dead; sightline endpoints replay --endpoint ID
      """,
    subcommands: [Add.self, List.self, Test.self, Remove.self, Deliveries.self, Replay.self])

  static func kindName(_ kind: Sightline_Cases_V1_EndpointKind) -> String { CaseWireNames.name(kind) }
  static func statusName(_ status: Sightline_Cases_V1_DeliveryStatus) -> String { CaseWireNames.name(status) }

  struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add an endpoint (admin key).")
    @Option(help: "A name people recognise, e.g. the group's.") var name: String
    @Option(help: "dingtalk, wecom, slack or webhook.") var kind: String
    @Option(help: "The robot's or receiver's URL: https:// (http:// only to this machine).") var url: String
    @Option(help: "DingTalk: the robot's SEC… signing secret (optional). Webhook: whsec_… (generated when left out).")
    var secret: String = ""
    @Option(
      name: .customLong("event"),
      help: "An event it receives (repeatable): alert.opened, alert.resolved, case.opened, case.overdue, verification.result.")
    var events: [String] = []
    @Option(help: "The messages' language: en or zh.") var language: String = "en"
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      guard let kindValue = EndpointKind(rawValue: kind).map(CaseWireNames.kind) else {
        throw ValidationError("--kind is dingtalk, wecom, slack or webhook, not '\(kind)'")
      }
      guard !events.isEmpty else {
        throw ValidationError(
          "--event is needed at least once: alert.opened, alert.resolved, case.opened, case.overdue, verification.result")
      }
      let request = Sightline_Cases_V1_AddEndpointRequest.with {
        $0.name = name; $0.kind = kindValue; $0.url = url; $0.secret = secret; $0.events = events; $0.language = language
      }
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).addEndpoint(request, metadata: metadata)
      }
      print("endpoint \(reply.endpoint.id) added: \(reply.endpoint.name) (\(EndpointsCommand.kindName(reply.endpoint.kind)))")
      print("  events: \(reply.endpoint.events.joined(separator: ", ")); language \(reply.endpoint.language)")
      if !reply.generatedSecret.isEmpty {
        print("  signing secret (shown once; give it to the receiver): \(reply.generatedSecret)")
      }
      print("Try it: sightline endpoints test \(reply.endpoint.id)")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the endpoints (secrets masked).")
    @Option(help: "Output: table or json.") var format: Dashboard.Format = .table
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).listEndpoints(.init(), metadata: metadata)
      }
      if format == .json {
        print(try reply.jsonString())
        return
      }
      guard !reply.endpoints.isEmpty else {
        print("No endpoints. Add one: sightline endpoints add --help")
        return
      }
      printTable(
        ["id", "name", "kind", "state", "language", "events", "url", "secret"],
        reply.endpoints.map { endpoint in
          [
            endpoint.id, endpoint.name, EndpointsCommand.kindName(endpoint.kind),
            endpoint.enabled ? "enabled" : "DISABLED: \(endpoint.disabledReason)", endpoint.language,
            endpoint.events.joined(separator: ","), endpoint.url, endpoint.maskedSecret.isEmpty ? "-" : endpoint.maskedSecret,
          ]
        })
    }
  }

  struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a test message to an endpoint (admin key).")
    @Argument(help: "The endpoint id.") var id: String
    @Option(help: "Seconds to wait for the answer (0: queue it and return).") var wait: Double = 30
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let delivery = try await connection.withGateway { client, metadata -> Sightline_Cases_V1_Delivery? in
        let cases = Sightline_Cases_V1_Cases.Client(wrapping: client)
        let queued = try await cases.testEndpoint(.with { $0.id = id }, metadata: metadata)
        print("test message \(queued.eventID) queued")
        let deadline = ContinuousClock.now + .milliseconds(Int64(wait * 1000))
        var latest: Sightline_Cases_V1_Delivery? = nil
        while ContinuousClock.now < deadline {
          let listed = try await cases.listDeliveries(.with { $0.eventID = queued.eventID }, metadata: metadata)
          latest = listed.deliveries.first
          if let answered = latest, answered.status != .pending || answered.attempts > 0 { return latest }
          try await Task.sleep(for: .milliseconds(300))
        }
        return latest
      }
      guard let delivery, wait > 0 else { return }
      switch delivery.status {
      case .delivered: print("delivered after \(delivery.attempts) attempt(s)")
      case .pending where delivery.attempts > 0:
        print(
          "not delivered yet: \(delivery.lastError); tried again with backoff (sightline endpoints deliveries --event \(delivery.eventID))")
        throw ExitCode(1)
      case .dead:
        print("refused: \(delivery.lastError)")
        throw ExitCode(1)
      default:
        print("not sent yet: the metrics process sends within seconds (sightline endpoints deliveries --event \(delivery.eventID))")
        throw ExitCode(1)
      }
    }
  }

  struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove an endpoint and its deliveries (admin key).")
    @Argument(help: "The endpoint id.") var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      _ = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).removeEndpoint(.with { $0.id = id }, metadata: metadata)
      }
      print("endpoint \(id) removed")
    }
  }

  struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List deliveries, newest first; --status dead is the dead letter.")
    @Option(help: "Only this status: pending, delivered, dead, folded.") var status: String?
    @Option(help: "Only this endpoint's.") var endpoint: String = ""
    @Option(help: "Only this event's.") var event: String = ""
    @Option(help: "At most this many (default 100).") var limit: Int32 = 100
    @Option(help: "Output: table or json.") var format: Dashboard.Format = .table
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      var request = Sightline_Cases_V1_ListDeliveriesRequest.with {
        $0.endpointID = endpoint; $0.eventID = event; $0.limit = limit
      }
      if let status {
        guard let value = DeliveryStatus(rawValue: status) else {
          let names = DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", ")
          throw ValidationError("--status is one of \(names), not '\(status)'")
        }
        request.status = CaseWireNames.deliveryStatus(value)
      }
      let query = request
      let (reply, zone) = try await connection.withGateway { client, metadata in
        (
          try await Sightline_Cases_V1_Cases.Client(wrapping: client).listDeliveries(query, metadata: metadata),
          await DateArgument.tenantZone(client, metadata: metadata)
        )
      }
      if format == .json {
        print(try reply.jsonString())
        return
      }
      guard !reply.deliveries.isEmpty else {
        print("No deliveries.")
        return
      }
      printTable(
        ["event id", "endpoint", "event", "status", "attempts", "written (\(DateArgument.zoneName(zone)))", "last error", "summary"],
        reply.deliveries.map { item in
          [
            item.eventID, item.endpointID, item.event,
            EndpointsCommand.statusName(item.status) + (item.foldedInto.isEmpty ? "" : " in \(item.foldedInto)"), "\(item.attempts)",
            DateArgument.localTime(item.createdAt, zone: zone), item.lastError.isEmpty ? "-" : String(item.lastError.prefix(60)),
            String(item.summary.prefix(60)),
          ]
        })
    }
  }

  struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send dead deliveries again, with a fresh retry period; enables their endpoints again (admin key).")
    @Option(help: "Only this endpoint's dead letter.") var endpoint: String = ""
    @Option(help: "Only this event's.") var event: String = ""
    @Flag(help: "All of the dead letter (needed when neither --endpoint nor --event is given).") var all = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      guard all || !endpoint.isEmpty || !event.isEmpty else {
        throw ValidationError("name what to replay: --endpoint ID, --event ID, or --all")
      }
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Cases_V1_Cases.Client(wrapping: client).replayDeliveries(
          .with {
            $0.endpointID = endpoint; $0.eventID = event
          }, metadata: metadata)
      }
      print("\(reply.replayed) deliveries queued again")
    }
  }
}
