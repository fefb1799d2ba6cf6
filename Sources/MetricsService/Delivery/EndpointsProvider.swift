import Foundation
public import GRPCCore
import SightlineModel
import SightlineRPC
public import SightlineWire
import SwiftProtobuf

/// The endpoint and delivery RPCs of the cases service (docs/delivery.md): endpoints live
/// in the tenant's metrics database beside the outbox their messages come from.
extension CasesProvider {
  public func listEndpoints(
    request wrapped: ServerRequest<Sightline_Cases_V1_ListEndpointsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_ListEndpointsResponse> {
    let (store, _) = try deliveries(wrapped.metadata)
    let endpoints = try store.endpoints()
    return ServerResponse(message: .with { $0.endpoints = endpoints.map(DeliveryWire.endpoint) })
  }

  public func addEndpoint(
    request wrapped: ServerRequest<Sightline_Cases_V1_AddEndpointRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_AddEndpointResponse> {
    let request = wrapped.message
    let (store, tenant) = try deliveries(wrapped.metadata)
    guard let kind = DeliveryWire.kind(request.kind) else {
      throw InvalidInput(field: "kind", reason: "name a kind: DINGTALK, WECOM, SLACK or WEBHOOK")
    }
    var events: Set<DeliveryEventKind> = []
    for (index, name) in request.events.enumerated() {
      guard let event = DeliveryEventKind(rawValue: name) else {
        throw InvalidInput(
          field: "events[\(index)]",
          reason: "'\(name)' is not an event; choose from \(DeliveryEventKind.subscribable.map(\.rawValue).joined(separator: ", "))")
      }
      events.insert(event)
    }
    guard let language = request.language.isEmpty ? .en : MessageLanguage(rawValue: request.language) else {
      throw InvalidInput(field: "language", reason: "must be en or zh, got '\(request.language)'")
    }
    let generated = kind == .webhook && request.secret.isEmpty ? WebhookSecret.generate() : ""
    let endpoint: DeliveryEndpoint
    do {
      endpoint = try DeliveryEndpoint(
        id: "ep-" + UUID().uuidString.lowercased().prefix(8), name: request.name, kind: kind, url: request.url,
        secret: generated.isEmpty ? request.secret : generated, events: events, language: language, createdMs: metrics.clock()
      ).validated()
    } catch .invalid(let field, let reason) {
      throw InvalidInput(field: field, reason: reason)
    }
    guard try store.addEndpoint(endpoint) else { throw RPCError(code: .aborted, message: "endpoint id taken; add it again") }
    metrics.casesChanged(tenant)
    return ServerResponse(
      message: .with {
        $0.endpoint = DeliveryWire.endpoint(endpoint)
        $0.generatedSecret = generated
      })
  }

  public func removeEndpoint(
    request wrapped: ServerRequest<Sightline_Cases_V1_RemoveEndpointRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_RemoveEndpointResponse> {
    let (store, _) = try deliveries(wrapped.metadata)
    guard try store.removeEndpoint(id: wrapped.message.id) else {
      throw RPCError(code: .notFound, message: "no endpoint has id \(wrapped.message.id)")
    }
    return ServerResponse(message: .init())
  }

  public func testEndpoint(
    request wrapped: ServerRequest<Sightline_Cases_V1_TestEndpointRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_TestEndpointResponse> {
    let (store, tenant) = try deliveries(wrapped.metadata)
    guard let endpoint = try store.endpoints().first(where: { $0.id == wrapped.message.id }) else {
      throw RPCError(code: .notFound, message: "no endpoint has id \(wrapped.message.id)")
    }
    guard endpoint.enabled else {
      throw RPCError(
        code: .failedPrecondition,
        message: "endpoint \(endpoint.id) is disabled (\(endpoint.disabledReason)); replay its dead letter to enable it again")
    }
    let now = metrics.clock()
    var facts = DeliveryFacts()
    facts.subject = endpoint.id
    facts.summary = "test message to \(endpoint.name)"
    let event = DeliveryEvent(id: "test-\(endpoint.id)-\(now)", kind: .test, atMs: now, facts: facts)
    try store.enqueue(event, endpointID: endpoint.id, nowMs: now)
    metrics.casesChanged(tenant)
    return ServerResponse(message: .with { $0.eventID = event.id })
  }

  public func listDeliveries(
    request wrapped: ServerRequest<Sightline_Cases_V1_ListDeliveriesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_ListDeliveriesResponse> {
    let request = wrapped.message
    let (store, _) = try deliveries(wrapped.metadata)
    let filter = DeliveryFilter(
      status: DeliveryWire.status(request.status), endpointID: request.endpointID.isEmpty ? nil : request.endpointID,
      eventID: request.eventID.isEmpty ? nil : request.eventID, limit: Self.limit(request.limit))
    let deliveries = try store.deliveries(filter)
    return ServerResponse(message: .with { $0.deliveries = deliveries.map(DeliveryWire.delivery) })
  }

  public func replayDeliveries(
    request wrapped: ServerRequest<Sightline_Cases_V1_ReplayDeliveriesRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Cases_V1_ReplayDeliveriesResponse> {
    let request = wrapped.message
    let (store, tenant) = try deliveries(wrapped.metadata)
    let replayed = try store.replay(
      endpointID: request.endpointID.isEmpty ? nil : request.endpointID, eventID: request.eventID.isEmpty ? nil : request.eventID,
      nowMs: metrics.clock())
    if replayed > 0 { metrics.casesChanged(tenant) }
    return ServerResponse(message: .with { $0.replayed = Int32(clamping: replayed) })
  }

  /// The calling tenant's endpoints and outbox.
  private func deliveries(_ metadata: Metadata) throws -> (store: any DeliveryStore, tenant: TenantID) {
    let (tenant, _) = try metrics.context(metadata)
    return (try metrics.state.deliveries(for: tenant), tenant)
  }
}

/// Endpoints and deliveries between the model and cases.proto.
enum DeliveryWire {
  static func kind(_ kind: Sightline_Cases_V1_EndpointKind) -> EndpointKind? { CaseWireNames.kind(kind) }

  static func kind(_ kind: EndpointKind) -> Sightline_Cases_V1_EndpointKind { CaseWireNames.kind(kind) }

  static func status(_ status: Sightline_Cases_V1_DeliveryStatus) -> DeliveryStatus? { CaseWireNames.deliveryStatus(status) }

  static func status(_ status: DeliveryStatus) -> Sightline_Cases_V1_DeliveryStatus { CaseWireNames.deliveryStatus(status) }

  static func endpoint(_ endpoint: DeliveryEndpoint) -> Sightline_Cases_V1_Endpoint {
    .with {
      $0.id = endpoint.id
      $0.name = endpoint.name
      $0.kind = kind(endpoint.kind)
      $0.url = redactedURL(endpoint)
      $0.maskedSecret = endpoint.maskedSecret
      $0.events = endpoint.events.map(\.rawValue).sorted()
      $0.language = endpoint.language.rawValue
      $0.enabled = endpoint.enabled
      $0.disabledReason = endpoint.disabledReason
      $0.createdAt = .init(unixMilliseconds: endpoint.createdMs)
    }
  }

  static func delivery(_ record: DeliveryRecord) -> Sightline_Cases_V1_Delivery {
    .with {
      $0.eventID = record.eventID
      $0.endpointID = record.endpointID
      $0.event = record.kind
      $0.summary = record.summary
      $0.status = status(record.status)
      $0.attempts = Int32(clamping: record.attempts)
      $0.createdAt = .init(unixMilliseconds: record.createdMs)
      if record.status == .pending { $0.nextAttemptAt = .init(unixMilliseconds: record.nextMs) }
      if let last = record.lastAttemptMs { $0.lastAttemptAt = .init(unixMilliseconds: last) }
      $0.lastError = record.lastError
      if let delivered = record.deliveredMs { $0.deliveredAt = .init(unixMilliseconds: delivered) }
      $0.foldedInto = record.foldedInto
    }
  }

  /// The URL as listings show it: robots' and Slack's URLs are their credentials (an
  /// access token, a key, a secret path), so only the scheme, host and path's start show.
  static func redactedURL(_ endpoint: DeliveryEndpoint) -> String {
    guard endpoint.kind != .webhook, let parts = URLComponents(string: endpoint.url) else { return endpoint.url }
    let path = parts.path.count > 12 ? String(parts.path.prefix(12)) + "…" : parts.path
    return "\(parts.scheme ?? "https")://\(parts.host ?? "")\(parts.port.map { ":\($0)" } ?? "")\(path)\(parts.query == nil ? "" : "?…")"
  }
}
