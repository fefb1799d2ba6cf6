import ArgumentParser
import Foundation
import GRPCCore
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// `sightline segments …`: built-in and custom customer segments.
struct SegmentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "segments", abstract: "List, show, define and delete customer segments (docs/segments.md).",
    subcommands: [List.self, Show.self, Define.self, Delete.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Built-in and saved segments.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).listSegments(.init(), metadata: metadata)
      }
      print("built in: " + reply.builtin.joined(separator: ", "))
      if reply.segments.isEmpty {
        print("No saved segments. Define one with: sightline segments define NAME 'tier == \"vip\" && nps_last <= 6'")
      } else {
        printTable(["name", "expression"], reply.segments.map { [$0.name, $0.expression] })
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A segment's scorecard (last 30 days vs the 30 before) and first members.")
    @Argument(help: "Segment name.") var name: String
    @Option(help: "Members to list.") var limit: Int32 = 20
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, limit) = (self.name, self.limit)
      let (card, members) = try await connection.withGateway { client, metadata in
        let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: client)
        async let card = segmentation.getScorecard(.with { $0.segment = name }, metadata: metadata)
        async let members = segmentation.listMembers(
          .with {
            $0.segment = name; $0.limit = limit
          }, metadata: metadata)
        return (try await card, try await members)
      }
      print("segment \(name): \(card.members) members")
      printTable(
        ["figure", "last 30 days", "30 days before", "n"],
        card.figures.map { figure in
          let kind = KpiKind(rawValue: figure.name)
          let show = { (value: Double) in kind.map { KpiFormat.value(value, $0) } ?? KpiFormat.fixed(value, digits: 2) }
          return [figure.name, figure.sampleSize > 0 ? show(figure.value) : "–", show(figure.previous), String(figure.sampleSize)]
        })
      print("")
      printTable(
        ["customer", "tier", "lifecycle", "rfm", "nps_last", "complaints_30d"],
        members.customers.map { customer in
          [
            customer.customerID, customer.attributes["tier"] ?? "", Self.lifecycle(customer.lifecycle), customer.rfmGroup,
            customer.derived["nps_last"].map { String(Int($0)) } ?? "–", String(Int(customer.derived["complaints_30d"] ?? 0)),
          ]
        })
      if members.total > Int64(members.customers.count) { print("… \(members.total) in all") }
    }

    static func lifecycle(_ stage: Sightline_Segmentation_V1_Lifecycle) -> String {
      switch stage {
      case .new: "new"
      case .active: "active"
      case .atRisk: "at_risk"
      case .dormant: "dormant"
      case .churned: "churned"
      default: "-"
      }
    }
  }

  struct Define: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Save a custom segment.",
      discussion: "Example: sightline segments define angry_vips 'tier == \"vip\" && nps_last <= 6 && complaints_30d >= 1'")
    @Argument(help: "Segment name.") var name: String
    @Argument(help: "Expression (docs/segments.md).") var expression: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let (name, expression) = (self.name, self.expression)
      _ = try await connection.withGateway { client, metadata in
        try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).defineSegment(
          .with {
            $0.name = name; $0.expression = expression
          }, metadata: metadata)
      }
      print("segment \(name) saved")
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a saved segment.")
    @Argument(help: "Segment name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let name = self.name
      _ = try await connection.withGateway { client, metadata in
        try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).deleteSegment(
          .with { $0.name = name }, metadata: metadata)
      }
      print("segment \(name) deleted")
    }
  }
}

/// `sightline customers at-risk`: the call-back (回访) list.
struct CustomersCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "customers", abstract: "Customers: the at-risk follow-up list.", subcommands: [AtRisk.self])

  struct AtRisk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "at-risk", abstract: "Customers ranked by risk score, with the reasons (docs/segments.md).")
    @Option(help: "How many.") var limit: Int32 = 20
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let limit = self.limit
      let reply = try await connection.withGateway { client, metadata in
        try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).listAtRisk(.with { $0.limit = limit }, metadata: metadata)
      }
      if reply.customers.isEmpty {
        print("No customer needs a call-back.")
        return
      }
      printTable(
        ["customer", "tier", "score", "reasons"],
        reply.customers.map { customer in
          [
            customer.customerID, customer.tier, KpiFormat.fixed(customer.score, digits: 0),
            customer.reasons.map { "\($0.detail) (+\(Int($0.points)))" }.joined(separator: "; "),
          ]
        })
    }
  }
}

/// `sightline themes`: what customers talk about, and how they feel.
struct ThemesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "themes",
    abstract: "Recurring phrases of feedback and comments: share, sentiment, change against the period before, the themes that rose.",
    discussion: """
      With --since, each theme is compared with the period of the same length before it, and the emerging list \
      shows the themes whose share rose most, with a two-proportion z-test (q: Benjamini-Hochberg adjusted). \
      --theme lists one theme's texts; --split-by counts each theme's texts by a dimension.
      """)
  @Option(help: "Only this segment's customers.") var segment: String?
  @Option(help: "Only texts about tickets of this problem type.") var problemType: String?
  @Option(help: "From this date (YYYY-MM-DD or RFC 3339; default: all).") var since: String?
  @Option(help: "Until this date, exclusive (default: now).") var until: String?
  @Flag(help: "Only negative texts (low scores or negative sentiment).") var negative = false
  @Option(help: "How many themes (or texts, with --theme).") var limit: Int32 = 10
  @Option(help: "List this theme's texts, newest first (a phrase, such as a theme's name).") var theme: String?
  @Option(
    help: "Split each theme's texts by problem_type, business_line, product_module, channel, region, tier or type.")
  var splitBy: String?
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let (segment, problemType, negative, limit, since, until) = (
      self.segment, self.problemType, self.negative, self.limit, self.since, self.until
    )
    let (theme, splitBy) = (self.theme, self.splitBy)
    // A mistake fails before connecting.
    if let since { _ = try DateArgument.timestamp(since, zone: .gmt, flag: "--since") }
    if let until { _ = try DateArgument.timestamp(until, zone: .gmt, flag: "--until") }
    let reply = try await connection.withGateway { client, metadata in
      // A date is the tenant's midnight.
      let zone = since != nil || until != nil ? await DateArgument.tenantZone(client, metadata: metadata) : .gmt
      return try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).getThemes(
        .with {
          if let segment { $0.segment = segment }
          if let problemType { $0.problemType = problemType }
          if let since { $0.range.start = try DateArgument.timestamp(since, zone: zone, flag: "--since") }
          if let until { $0.range.end = try DateArgument.timestamp(until, zone: zone, flag: "--until") }
          if let theme { $0.theme = theme }
          if let splitBy { $0.splitBy = splitBy }
          $0.negativeOnly = negative
          $0.limit = limit
        }, metadata: metadata)
    }
    if theme != nil {
      print("\(reply.texts.count) texts")
      printTable(
        ["time", "sentiment", "problem_type", "business_line", "text"],
        reply.texts.map { text in
          [
            RFC3339.format(milliseconds: text.time.unixMilliseconds), text.label, text.problemType, text.businessLine,
            String(text.text.prefix(100)),
          ]
        })
      return
    }
    let compared = reply.previousDocuments > 0
    print("\(reply.documents) texts" + (compared ? ", \(reply.previousDocuments) in the period before" : ""))
    // Sentiment as the shares of negative, neutral and positive texts, not a mean that
    // hides a split (docs/segments.md, "Sentiment").
    printTable(
      ["theme", "texts", "share"] + (compared ? ["before", "p"] : []) + ["negative", "neutral", "positive", "related", "example"],
      reply.themes.map { theme in
        [theme.term, String(theme.count), KpiFormat.percent(theme.share)]
          + (compared ? [KpiFormat.percent(theme.previousShare), KpiFormat.fixed(theme.changePValue, digits: 4)] : [])
          + [
            KpiFormat.percent(theme.negativeShare), KpiFormat.percent(theme.neutralShare), KpiFormat.percent(theme.positiveShare),
            theme.related.prefix(3).joined(separator: ", "), String((theme.examples.first ?? "").prefix(60)),
          ]
      })
    if !reply.emerging.isEmpty {
      print("\nEmerging (share now against the period before):")
      printTable(
        ["theme", "texts", "share", "before", "rise", "p", "q"],
        reply.emerging.map { theme in
          [
            theme.term, String(theme.count), KpiFormat.percent(theme.share), KpiFormat.percent(theme.previousShare),
            (theme.share >= theme.previousShare ? "+" : "-") + KpiFormat.fixed(abs(theme.share - theme.previousShare) * 100, digits: 1)
              + " pts", KpiFormat.fixed(theme.changePValue, digits: 4),
            KpiFormat.fixed(theme.changeQValue, digits: 4),
          ]
        })
    }
    if splitBy != nil {
      for theme in reply.themes where !theme.splits.isEmpty {
        print("\n\(theme.term) by \(splitBy!):")
        printTable(
          ["value", "texts", "of", "share"],
          theme.splits.map { [$0.value.isEmpty ? "–" : $0.value, String($0.count), String($0.texts), KpiFormat.percent($0.share)] })
      }
    }
  }
}
