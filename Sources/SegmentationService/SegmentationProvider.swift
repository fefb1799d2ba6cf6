import Foundation
public import GRPCCore
import Logging
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTenantData
public import SightlineWire
import SwiftProtobuf

/// The segmentation service: customers with derived fields, lifecycle and RFM segments,
/// custom segments, scorecards, the at-risk list, text themes and sentiment
/// (docs/segments.md).
public final class SegmentationProvider: Sendable {
  static let dayMs: Int64 = 86_400_000
  let state: SegmentationLogConsumer
  private let follower: LogFollower?
  private let clock: @Sendable () -> Int64
  private let facts = CustomerFactsCache()
  private let sentiments = SentimentScores()

  init(state: SegmentationLogConsumer, follower: LogFollower?, clock: @escaping @Sendable () -> Int64) {
    self.state = state
    self.follower = follower
    self.clock = clock
  }

  /// This service's part of the tenant data lifecycle; deleting a tenant first stops its log
  /// consumer.
  func tenantData(logger: Logger) -> TenantDataProvider {
    TenantDataProvider(
      store: state.storage, logger: logger,
      beforeDelete: { tenant in
        self.follower?.stop(tenant)
        self.facts.forget(tenant)
        self.sentiments.forget(tenant)
      },
      afterImport: { tenant in
        self.facts.forget(tenant)
        self.sentiments.forget(tenant)
      })
  }

  /// Every customer of `tenant` as of `asOfMs`, from the cached facts brought up to date.
  private func view(_ tenant: TenantID, _ store: any SegmentationStore, asOfMs: Int64) throws -> SegmentView {
    SegmentView(table: try facts.facts(for: tenant, store: store), asOfMs: asOfMs, windows: try store.windows())
  }

  private func store(_ metadata: Metadata) throws -> (TenantID, any SegmentationStore) {
    let tenant = try SuiteMetadata.requireTenant(metadata)
    follower?.follow(tenant)
    return (tenant, try state.store(for: tenant))
  }

  private func asOf(_ timestamp: Google_Protobuf_Timestamp, isSet: Bool) -> Int64 {
    isSet ? timestamp.seconds * 1000 + Int64(timestamp.nanos / 1_000_000) : clock()
  }

  /// The segment `name`: built in or saved; NOT_FOUND otherwise.
  private func definition(_ name: String, store: any SegmentationStore) throws -> SegmentDefinition {
    if let builtin = try SegmentDefinition.builtin(name) { return builtin }
    guard let saved = try store.segments().first(where: { $0.name == name }) else {
      throw RPCError(code: .notFound, message: "no segment named '\(name)'; built in: \(SegmentDefinition.builtin.joined(separator: ", "))")
    }
    return .expression(try SegmentExpression(saved.expression, schema: DerivedCustomer.schema))
  }

  static func wire(_ customer: DerivedCustomer, rfm: RFMScore?) -> Sightline_Segmentation_V1_Customer {
    .with {
      $0.customerID = customer.facts.customerID
      $0.attributes = customer.facts.attributes
      $0.derived = customer.numbers
      $0.lifecycle =
        switch customer.lifecycle {
        case .new: .new
        case .active: .active
        case .atRisk: .atRisk
        case .dormant: .dormant
        case .churned: .churned
        }
      if let rfm {
        $0.rfmRecency = Int32(rfm.recency)
        $0.rfmFrequency = Int32(rfm.frequency)
        $0.rfmMonetary = Int32(rfm.monetary)
        $0.rfmGroup = rfm.group
      }
    }
  }
}

extension SegmentationProvider: Sightline_Segmentation_V1_Segmentation.ServiceProtocol {
  public func getCustomer(
    request: ServerRequest<Sightline_Segmentation_V1_GetCustomerRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_Customer> {
    let (tenant, store) = try store(request.metadata)
    let view = try view(tenant, store, asOfMs: asOf(request.message.asOf, isSet: request.message.hasAsOf))
    guard let index = view.table.index(of: request.message.customerID) else {
      throw RPCError(code: .notFound, message: "no customer '\(request.message.customerID)'")
    }
    return ServerResponse(message: Self.wire(view.customer(index), rfm: view.rfm(of: [index])[index]))
  }

  public func defineSegment(
    request: ServerRequest<Sightline_Segmentation_V1_DefineSegmentRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_Segment> {
    let (_, store) = try store(request.metadata)
    let name = request.message.name
    guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
      throw InvalidInput(field: "name", reason: "1-64 letters, digits, '_' or '-'")
    }
    guard try SegmentDefinition.builtin(name) == nil else {
      throw InvalidInput(field: "name", reason: "'\(name)' is a built-in segment")
    }
    do {
      _ = try SegmentExpression(request.message.expression, schema: DerivedCustomer.schema)
    } catch {
      throw InvalidInput(field: "expression", reason: error.description)
    }
    let created = try store.saveSegment(name: name, expression: request.message.expression)
    return ServerResponse(
      message: .with {
        $0.name = name
        $0.expression = request.message.expression
        $0.createdAt = Google_Protobuf_Timestamp(unixMilliseconds: created)
      })
  }

  public func listSegments(
    request: ServerRequest<Sightline_Segmentation_V1_ListSegmentsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_ListSegmentsResponse> {
    let (_, store) = try store(request.metadata)
    let saved = try store.segments()
    return ServerResponse(
      message: .with {
        $0.segments = saved.map { segment in
          .with {
            $0.name = segment.name
            $0.expression = segment.expression
            $0.createdAt = Google_Protobuf_Timestamp(unixMilliseconds: segment.createdMs)
          }
        }
        $0.builtin = SegmentDefinition.builtin
      })
  }

  public func deleteSegment(
    request: ServerRequest<Sightline_Segmentation_V1_DeleteSegmentRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_DeleteSegmentResponse> {
    let (_, store) = try store(request.metadata)
    guard try store.deleteSegment(name: request.message.name) else {
      throw RPCError(code: .notFound, message: "no saved segment '\(request.message.name)'")
    }
    return ServerResponse(message: .init())
  }

  public func listMembers(
    request: ServerRequest<Sightline_Segmentation_V1_ListMembersRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_ListMembersResponse> {
    let (tenant, store) = try store(request.metadata)
    let segment = try definition(request.message.segment, store: store)
    let view = try view(tenant, store, asOfMs: asOf(request.message.asOf, isSet: request.message.hasAsOf))
    let members = view.members(segment)
    let limit = request.message.limit > 0 ? min(Int(request.message.limit), 1_000) : 100
    guard let start = request.message.pageToken.isEmpty ? 0 : Int(request.message.pageToken), start >= 0 else {
      throw InvalidInput(field: "page_token", reason: "not a page token from a previous answer")
    }
    let page = Array(members.dropFirst(start).prefix(limit))
    let rfm = view.rfm(of: page)
    return ServerResponse(
      message: .with {
        $0.customers = page.map { Self.wire(view.customer($0), rfm: rfm[$0]) }
        $0.total = Int64(members.count)
        if start + page.count < members.count { $0.nextPageToken = String(start + page.count) }
      })
  }

  public func getScorecard(
    request: ServerRequest<Sightline_Segmentation_V1_GetScorecardRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_Scorecard> {
    let (tenant, store) = try store(request.metadata)
    try await ReadYourWrites.wait(
      for: request.message.minOffset, tenant: tenant, follower: follower
    ) { try store.appliedOffset() }
    let segment = try definition(request.message.segment, store: store)
    let now = clock()
    let range = request.message.range
    let end = range.hasEnd ? range.end.seconds * 1000 : now
    let start = range.hasStart ? range.start.seconds * 1000 : end - 30 * Self.dayMs
    guard end > start else { throw InvalidInput(field: "range", reason: "the end must be after the start") }
    let facts = try facts.facts(for: tenant, store: store)
    let card = Scorecard.compute(
      segment: segment, facts: facts, windows: try store.windows(), current: (start, end),
      previous: (start - (end - start), start))
    return ServerResponse(message: card.with { $0.segment = request.message.segment })
  }

  public func listAtRisk(
    request: ServerRequest<Sightline_Segmentation_V1_ListAtRiskRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_ListAtRiskResponse> {
    let (tenant, store) = try store(request.metadata)
    let view = try view(tenant, store, asOfMs: asOf(request.message.asOf, isSet: request.message.hasAsOf))
    let limit = request.message.limit > 0 ? min(Int(request.message.limit), 1_000) : 20
    let ranked = view.atRisk(limit: limit).map { index, figures in
      let tier = view.table.attributes(of: index)["tier"]
      let (score, reasons) = RiskScore.assess(figures, tier: tier)
      return (id: view.table.ids[index], tier: tier, score: score, reasons: reasons)
    }
    return ServerResponse(
      message: .with {
        $0.customers = ranked.map { id, tier, score, reasons in
          .with {
            $0.customerID = id
            $0.score = score
            $0.tier = tier ?? ""
            $0.reasons = reasons.map(Self.wire)
          }
        }
      })
  }

  public func describeCustomers(
    request: ServerRequest<Sightline_Segmentation_V1_DescribeCustomersRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_DescribeCustomersResponse> {
    let message = request.message
    guard message.customerIds.count <= 500 else {
      throw InvalidInput(field: "customer_ids", reason: "\(message.customerIds.count) customers; at most 500 at a time")
    }
    guard (0...50).contains(message.textsPerCustomer) else {
      throw InvalidInput(field: "texts_per_customer", reason: "\(message.textsPerCustomer) is not between 0 and 50")
    }
    let (tenant, store) = try store(request.metadata)
    let now = clock()
    let view = try view(tenant, store, asOfMs: now)
    let known = message.customerIds.filter { view.table.index(of: $0) != nil }
    let since = message.hasTextsSince ? message.textsSince.seconds * 1000 : now - 90 * 86_400_000
    let perCustomer = message.textsPerCustomer == 0 ? 5 : Int(message.textsPerCustomer)
    let texts = Dictionary(grouping: try store.customerTexts(customerIDs: known, sinceMs: since), by: \.customerID)
    return ServerResponse(
      message: .with {
        $0.customers = known.map { id in
          let index = view.table.index(of: id)!
          let (score, reasons) = RiskScore.assess(view.figures(index), tier: view.table.attributes(of: index)["tier"])
          return .with {
            $0.customerID = id
            $0.riskScore = score
            $0.riskReasons = reasons.map(Self.wire)
            $0.recentTexts = (texts[id] ?? []).prefix(perCustomer).map { text in
              .with {
                $0.source = Self.sourceName(text.source); $0.text = text.text; $0.at = .init(unixMilliseconds: text.timeMs)
                $0.ticketID = text.ticketID; $0.scale = text.scale; $0.score = Int32(clamping: text.score)
              }
            }
          }
        }
      })
  }

  /// A stored text source in the API's words: feedback sources are stored as the wire
  /// enum's Swift name (`appReview`), shown as proto names are (`app_review`).
  static func sourceName(_ stored: String) -> String {
    stored.reduce(into: "") { name, character in
      if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
    }
  }

  public func getThemes(
    request: ServerRequest<Sightline_Segmentation_V1_GetThemesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_GetThemesResponse> {
    let (tenant, store) = try store(request.metadata)
    let message = request.message
    let end = message.range.hasEnd ? message.range.end.seconds * 1000 : clock()
    let start = message.range.hasStart ? message.range.start.seconds * 1000 : Int64.min
    var members: Set<String>?
    if !message.segment.isEmpty {
      let view = try view(tenant, store, asOfMs: end)
      members = Set(view.members(try definition(message.segment, store: store)).map { view.table.ids[$0] })
    }
    var split: Themes.Split?
    if !message.splitBy.isEmpty {
      guard let known = Themes.Split(rawValue: message.splitBy) else {
        throw InvalidInput(
          field: "split_by", reason: "'\(message.splitBy)' is not one of \(Themes.Split.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      split = known
    }
    guard (0...50).contains(message.emergingLimit) else { throw InvalidInput(field: "emerging_limit", reason: "must be 0-50") }
    guard message.theme.count <= 200 else { throw InvalidInput(field: "theme", reason: "longer than 200 characters") }
    var query = Themes.Query(
      range: (start, end), members: members, problemType: message.problemType.isEmpty ? nil : message.problemType,
      negativeOnly: message.negativeOnly, limit: message.limit > 0 ? min(Int(message.limit), 100) : 10)
    query.emergingLimit = message.emergingLimit > 0 ? Int(message.emergingLimit) : 5
    query.theme = message.theme.isEmpty ? nil : message.theme
    query.textLimit = message.limit > 0 ? min(Int(message.limit), 500) : 50
    query.split = split
    var customer: (String) -> [String: String]? = { _ in nil }
    if split?.isCustomerAttribute == true {
      let table = try view(tenant, store, asOfMs: end).table
      customer = { id in table.index(of: id).map(table.attributes(of:)) }
    }
    let themes = Themes.find(
      documents: try store.documents(startMs: nil, endMs: nil), query: query,
      sentiment: { [sentiments] in sentiments.score($0, tenant: tenant) }, customer: customer)
    return ServerResponse(message: themes)
  }

  public func getSegmentSettings(
    request: ServerRequest<Sightline_Segmentation_V1_GetSegmentSettingsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_SegmentSettings> {
    let (_, store) = try store(request.metadata)
    return ServerResponse(message: Self.wire(try store.windows()))
  }

  public func setSegmentSettings(
    request: ServerRequest<Sightline_Segmentation_V1_SetSegmentSettingsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_SegmentSettings> {
    let (_, store) = try store(request.metadata)
    let wire = request.message.settings
    var windows = SegmentWindows()
    let fields: [(Int32, String, WritableKeyPath<SegmentWindows, Double>)] = [
      (wire.newDays, "new_days", \.newDays), (wire.activeDays, "active_days", \.activeDays),
      (wire.atRiskDays, "at_risk_days", \.atRiskDays), (wire.dormantDays, "dormant_days", \.dormantDays),
      (wire.rfmDays, "rfm_days", \.rfmDays),
    ]
    for (value, name, path) in fields {
      guard (0...3_650).contains(value) else { throw InvalidInput(field: "settings.\(name)", reason: "must be 0-3650 days (0 = default)") }
      if value > 0 { windows[keyPath: path] = Double(value) }
    }
    guard windows.dormantDays > windows.activeDays else {
      throw InvalidInput(field: "settings.dormant_days", reason: "must be longer than active_days (\(Int(windows.activeDays)))")
    }
    try store.setWindows(windows)
    return ServerResponse(message: Self.wire(windows))
  }

  static func wire(_ reason: RiskReason) -> Sightline_Segmentation_V1_RiskReason {
    .with {
      $0.code = reason.code; $0.points = reason.points; $0.detail = reason.detail
    }
  }

  static func wire(_ windows: SegmentWindows) -> Sightline_Segmentation_V1_SegmentSettings {
    .with {
      $0.newDays = Int32(windows.newDays)
      $0.activeDays = Int32(windows.activeDays)
      $0.atRiskDays = Int32(windows.atRiskDays)
      $0.dormantDays = Int32(windows.dormantDays)
      $0.rfmDays = Int32(windows.rfmDays)
    }
  }

  public func analyzeText(
    request: ServerRequest<Sightline_Segmentation_V1_AnalyzeTextRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Segmentation_V1_AnalyzeTextResponse> {
    _ = try SuiteMetadata.requireTenant(request.metadata)
    guard request.message.texts.count <= 1_000 else { throw InvalidInput(field: "texts", reason: "at most 1,000 texts per call") }
    if let index = request.message.texts.firstIndex(where: { $0.utf8.count > 16_384 }) {
      throw InvalidInput(field: "texts[\(index)]", reason: "longer than 16 KiB")
    }
    return ServerResponse(
      message: .with {
        $0.results = request.message.texts.map { text in
          .with {
            $0.sentiment = Sentiment.score(text)
            $0.label = Sentiment.label(ofScore: $0.sentiment).rawValue
            $0.tokens = Tokenizer.terms(text)
          }
        }
      })
  }
}

extension Sightline_Segmentation_V1_Scorecard {
  func with(_ change: (inout Self) -> Void) -> Self {
    var copy = self
    change(&copy)
    return copy
  }
}
