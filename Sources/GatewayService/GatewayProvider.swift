import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
public import SightlineModel
import SightlinePostgres
public import SightlineRPC
public import SightlineStorage
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// The gateway's own API: tenants, keys, identity and suite health.
public struct GatewayProvider: Sendable {
  private let store: any GatewayStore
  /// Which shard each tenant's data lives on.
  private let placement: any TenantPlacement
  private let authenticator: Authenticator
  private let backends: [(SuiteComponent, ReplicaSet, GRPCClient<HTTP2ClientTransport.Posix>)]
  /// The backends' clients by component (the Dashboard's fan-out, the tenant lifecycle).
  private let clients: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]
  private let lifecycle: TenantLifecycle
  private let limiter: TenantLimiter
  /// The gateway's own health (draining, readiness), reported first by SuiteHealth.
  private let health: HealthService
  private let logger: Logger
  /// Where the administrative actions among these RPCs are recorded.
  private let audit: AuditLog

  /// A provider over `store`, checking the health of `backends`; the Dashboard is admitted
  /// under `limiter` like any forwarded call. `health` is the gateway server's own. New
  /// tenants are placed on a shard by `placement`.
  public init(
    store: any GatewayStore, placement: any TenantPlacement = SingleDatabase(), authenticator: Authenticator,
    backends: [(SuiteComponent, ReplicaSet, GRPCClient<HTTP2ClientTransport.Posix>)],
    limiter: TenantLimiter = TenantLimiter(limits: .defaults), health: HealthService, logger: Logger
  ) {
    self.health = health
    self.store = store
    self.placement = placement
    self.authenticator = authenticator
    self.backends = backends
    clients = Dictionary(backends.map { ($0.0, $0.2) }, uniquingKeysWith: { first, _ in first })
    lifecycle = TenantLifecycle(store: store, placement: placement, backends: clients, logger: logger)
    self.limiter = limiter
    self.logger = logger
    audit = AuditLog(store: store, authenticator: authenticator, logger: logger)
  }

  /// The id of the tenant named `name` (live, or deleted last), for the operator's records.
  private func tenantID(named name: String) -> @Sendable () -> String? {
    let store = self.store
    return { try? store.tenant(named: name)?.id }
  }

  static func nowMs() -> Int64 { WallClock.now }

  static func wire(_ tenant: TenantRecord, shard: String = ShardedPools.mainShard) -> Sightline_Gateway_V1_Tenant {
    .with {
      $0.id = tenant.id
      $0.name = tenant.name
      $0.createdAt = Google_Protobuf_Timestamp(unixMilliseconds: tenant.createdAtMs)
      $0.shard = shard
    }
  }

  static func wire(_ key: APIKeyRecord) -> Sightline_Gateway_V1_ApiKey {
    .with {
      $0.id = key.id
      $0.tenantID = key.tenantID
      $0.role = wire(Role(rawValue: key.role) ?? .reader)
      $0.label = key.label
      $0.createdAt = Google_Protobuf_Timestamp(unixMilliseconds: key.createdAtMs)
      if let revoked = key.revokedAtMs { $0.revokedAt = Google_Protobuf_Timestamp(unixMilliseconds: revoked) }
    }
  }

  static func wire(_ role: Role) -> Sightline_Gateway_V1_Role {
    switch role {
    case .reader: .reader
    case .writer: .writer
    case .admin: .admin
    }
  }

  static func role(_ wire: Sightline_Gateway_V1_Role) throws -> Role {
    switch wire {
    case .reader: return .reader
    case .writer: return .writer
    case .admin: return .admin
    default: throw InvalidInput(field: "role", reason: "must be READER, WRITER or ADMIN")
    }
  }

  /// A new key record and its secret.
  static func newKey(tenantID: String, role: Role, label: String) -> (APIKeyRecord, String) {
    let secret = APIKeys.newSecret()
    let record = APIKeyRecord(
      id: "k_" + APIKeys.randomHex(bytes: 8), tenantID: tenantID, role: role.rawValue,
      secretHash: APIKeys.hash(secret), label: label, createdAtMs: nowMs())
    return (record, secret)
  }
}

extension GatewayProvider: Sightline_Gateway_V1_Gateway.ServiceProtocol {
  public func createTenant(
    request: ServerRequest<Sightline_Gateway_V1_CreateTenantRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_CreateTenantResponse> {
    let name = request.message.name.trimmingCharacters(in: .whitespaces)
    return ServerResponse(
      message: try await audit.recording(
        "Gateway/CreateTenant", detail: AuditLog.detail(request.message), metadata: request.metadata, context: context,
        tenant: tenantID(named: name)
      ) { try await handle(request.message, metadata: request.metadata) })
  }

  private func handle(
    _ request: Sightline_Gateway_V1_CreateTenantRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_CreateTenantResponse {
    try authenticator.requireOperator(metadata)
    let name = request.name.trimmingCharacters(in: .whitespaces)
    if let problem = TenantName.problem(with: name) { throw InvalidInput(field: "name", reason: problem) }
    let tenant = TenantRecord(id: "t_" + APIKeys.randomHex(bytes: 8), name: name, createdAtMs: Self.nowMs())
    let (key, secret) = Self.newKey(tenantID: tenant.id, role: .admin, label: "first admin key")
    // Placed first: by the time its key works, every service knows where its data goes.
    let shard: String
    do {
      shard = try placement.place(tenantID: tenant.id, requested: request.shard)
    } catch let error as ShardPlacement.UnknownShard {
      throw InvalidInput(field: "shard", reason: error.description)
    }
    do {
      try store.createTenant(tenant, firstKey: key)
    } catch let error as GatewayStoreError where error.code == .tenantNameTaken {
      throw RPCError(code: .alreadyExists, message: error.description)
    }
    logger.info("tenant created", metadata: ["tenant.id": "\(tenant.id)", "tenant.name": "\(name)", "tenant.shard": "\(shard)"])
    return .with {
      $0.tenant = Self.wire(tenant, shard: shard)
      $0.adminKey = Self.wire(key)
      $0.adminSecret = secret
    }
  }

  public func listTenants(
    request: ServerRequest<Sightline_Gateway_V1_ListTenantsRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_ListTenantsResponse> {
    ServerResponse(message: try await handle(request.message, metadata: request.metadata))
  }

  private func handle(
    _ request: Sightline_Gateway_V1_ListTenantsRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_ListTenantsResponse {
    try authenticator.requireOperator(metadata)
    let tenants = try store.tenants()
    let shards = try placement.shards(of: tenants.map(\.id))
    return .with { $0.tenants = tenants.map { Self.wire($0, shard: shards[$0.id] ?? ShardedPools.mainShard) } }
  }

  public func exportTenant(
    request: ServerRequest<Sightline_Gateway_V1_ExportTenantRequest>, context: ServerContext
  ) async throws -> StreamingServerResponse<Sightline_Gateway_V1_ExportTenantResponse> {
    let name = request.message.name
    let (audit, detail, tenant) = (self.audit, AuditLog.detail(request.message), tenantID(named: name))
    do {
      try authenticator.requireOperator(request.metadata)
    } catch {
      await audit.write(
        "Gateway/ExportTenant", detail: detail, actor: audit.actor(request.metadata), address: context.remotePeer, tenant: tenant,
        outcome: AuditLog.outcome(of: error))
      throw error
    }
    // Recorded when the stream ends: an export that broke off is recorded as failed.
    let (metadata, address) = (request.metadata, context.remotePeer)
    return StreamingServerResponse { writer in
      do {
        try await lifecycle.export(name: name, to: writer)
      } catch {
        await audit.write(
          "Gateway/ExportTenant", detail: detail, actor: audit.actor(metadata), address: address, tenant: tenant,
          outcome: AuditLog.outcome(of: error))
        throw error
      }
      await audit.write(
        "Gateway/ExportTenant", detail: detail, actor: audit.actor(metadata), address: address, tenant: tenant, outcome: "ok")
      return [:]
    }
  }

  public func importTenant(
    request: StreamingServerRequest<Sightline_Gateway_V1_ImportTenantRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_ImportTenantResponse> {
    let imported = Mutex<String?>(nil)
    return ServerResponse(
      message: try await audit.recording(
        "Gateway/ImportTenant", detail: "", metadata: request.metadata, context: context, tenant: { imported.withLock { $0 } }
      ) {
        try authenticator.requireOperator(request.metadata)
        let reply = try await lifecycle.importTenant(request.messages)
        imported.withLock { $0 = reply.tenant.id }
        return reply
      })
  }

  public func deleteTenant(
    request: ServerRequest<Sightline_Gateway_V1_DeleteTenantRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_DeleteTenantResponse> {
    ServerResponse(
      message: try await audit.recording(
        "Gateway/DeleteTenant", detail: AuditLog.detail(request.message), metadata: request.metadata, context: context,
        tenant: tenantID(named: request.message.name)
      ) {
        try authenticator.requireOperator(request.metadata)
        return try await lifecycle.delete(name: request.message.name, confirm: request.message.confirm)
      })
  }

  public func moveTenant(
    request: ServerRequest<Sightline_Gateway_V1_MoveTenantRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_MoveTenantResponse> {
    ServerResponse(
      message: try await audit.recording(
        "Gateway/MoveTenant", detail: AuditLog.detail(request.message), metadata: request.metadata, context: context,
        tenant: tenantID(named: request.message.name)
      ) {
        try authenticator.requireOperator(request.metadata)
        return try await lifecycle.move(name: request.message.name, to: request.message.toShard)
      })
  }

  public func createKey(
    request: ServerRequest<Sightline_Gateway_V1_CreateKeyRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_CreateKeyResponse> {
    ServerResponse(
      message: try await audit.recording(
        "Gateway/CreateKey", detail: AuditLog.detail(request.message), metadata: request.metadata, context: context
      ) { try await handle(request.message, metadata: request.metadata) })
  }

  private func handle(
    _ request: Sightline_Gateway_V1_CreateKeyRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_CreateKeyResponse {
    let (tenant, _, _) = try authenticator.requireTenant(metadata, role: .admin)
    let role = try Self.role(request.role)
    let (key, secret) = Self.newKey(tenantID: tenant.rawValue, role: role, label: String(request.label.prefix(128)))
    try store.insertKey(key)
    logger.info("key created", metadata: ["tenant.id": "\(tenant)", "key.id": "\(key.id)", "key.role": "\(role)"])
    return .with {
      $0.key = Self.wire(key)
      $0.secret = secret
    }
  }

  public func listKeys(
    request: ServerRequest<Sightline_Gateway_V1_ListKeysRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_ListKeysResponse> {
    ServerResponse(message: try await handle(request.message, metadata: request.metadata))
  }

  private func handle(
    _ request: Sightline_Gateway_V1_ListKeysRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_ListKeysResponse {
    let (tenant, _, _) = try authenticator.requireTenant(metadata, role: .admin)
    let keys = try store.keys(tenantID: tenant.rawValue)
    return .with { $0.keys = keys.map(Self.wire) }
  }

  public func revokeKey(
    request: ServerRequest<Sightline_Gateway_V1_RevokeKeyRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_RevokeKeyResponse> {
    ServerResponse(
      message: try await audit.recording(
        "Gateway/RevokeKey", detail: AuditLog.detail(request.message), metadata: request.metadata, context: context
      ) { try await handle(request.message, metadata: request.metadata) })
  }

  public func listAudit(
    request: ServerRequest<Sightline_Gateway_V1_ListAuditRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_ListAuditResponse> {
    let scope: AuditScope
    switch try authenticator.authenticate(request.metadata) {
    case .operator: scope = .operator
    case .tenantKey(let tenant, let role, _):
      guard role.satisfies(.admin) else {
        throw RPCError(code: .permissionDenied, message: "this call needs the admin role; the key has \(role.rawValue)")
      }
      scope = .tenant(tenant.rawValue)
    }
    let limit = request.message.limit
    guard (0...10_000).contains(limit) else { throw InvalidInput(field: "limit", reason: "must be 0 (1,000) to 10,000, got \(limit)") }
    let since = request.message.hasSince ? request.message.since.unixMilliseconds : 0
    let records = try await BlockingWork.run { try store.audit(scope, sinceMs: since, limit: limit == 0 ? 1_000 : Int(limit)) }
    return ServerResponse(message: .with { $0.records = records.map(Sightline_Gateway_V1_AuditRecord.init) })
  }

  private func handle(
    _ request: Sightline_Gateway_V1_RevokeKeyRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_RevokeKeyResponse {
    let (tenant, _, _) = try authenticator.requireTenant(metadata, role: .admin)
    do {
      let key = try store.revokeKey(id: request.id, tenantID: tenant.rawValue, atMs: Self.nowMs())
      logger.info("key revoked", metadata: ["tenant.id": "\(tenant)", "key.id": "\(key.id)"])
      return .with { $0.key = Self.wire(key) }
    } catch let error as GatewayStoreError where error.code == .keyNotFound {
      throw RPCError(code: .notFound, message: error.description)
    }
  }

  public func whoAmI(
    request: ServerRequest<Sightline_Gateway_V1_WhoAmIRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_WhoAmIResponse> {
    ServerResponse(message: try await handle(request.message, metadata: request.metadata))
  }

  private func handle(_ request: Sightline_Gateway_V1_WhoAmIRequest, metadata: Metadata) async throws -> Sightline_Gateway_V1_WhoAmIResponse
  {
    switch try authenticator.authenticate(metadata) {
    case .operator:
      return .with { $0.operator = true }
    case .tenantKey(let tenant, let role, let keyID):
      let record = try store.tenant(id: tenant.rawValue)
      return .with {
        if let record { $0.tenant = Self.wire(record) }
        $0.role = Self.wire(role)
        $0.keyID = keyID
      }
    }
  }

  public func suiteHealth(
    request: ServerRequest<Sightline_Gateway_V1_SuiteHealthRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_SuiteHealthResponse> {
    ServerResponse(message: try await handle(request.message, metadata: request.metadata))
  }

  private func handle(
    _ request: Sightline_Gateway_V1_SuiteHealthRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_SuiteHealthResponse {
    _ = try authenticator.authenticate(metadata)
    // The gateway's own status, as its health service reports it: NOT_SERVING with the
    // reason while it drains or before it can reach every backend.
    let own = health.status(of: "") ?? .notServing
    var results: [Sightline_Gateway_V1_ServiceHealth] = [
      .with {
        $0.name = SuiteComponent.gateway.rawValue
        $0.status = own == .serving ? "SERVING" : "NOT_SERVING"
        if own != .serving { $0.detail = health.reason ?? "" }
      }
    ]
    // Check every backend in parallel, each bounded by 2 s so one hung service cannot
    // hold the answer.
    let checks = await withTaskGroup(of: (Int, Sightline_Gateway_V1_ServiceHealth).self) { group in
      for (index, (component, endpoint, client)) in backends.enumerated() {
        group.addTask {
          let start = ContinuousClock.now
          var entry = Sightline_Gateway_V1_ServiceHealth.with {
            $0.name = component.rawValue
            $0.address = endpoint.description
          }
          do {
            // Wait-for-ready within the bound: a channel reconnecting is not a backend down.
            let (status, reason) = try await HealthService.check(client, timeout: .seconds(2), waitForReady: true)
            entry.status = status == .serving ? "SERVING" : "NOT_SERVING"
            entry.detail = reason ?? ""
          } catch let error as RPCError {
            entry.status = "UNREACHABLE"
            entry.detail = "\(error.code): \(error.message)"
          } catch {
            entry.status = "UNREACHABLE"
            entry.detail = "\(error)"
          }
          entry.latencyMs = Double((ContinuousClock.now - start) / .microseconds(1)) / 1000
          return (index, entry)
        }
      }
      var collected: [(Int, Sightline_Gateway_V1_ServiceHealth)] = []
      for await result in group { collected.append(result) }
      return collected.sorted { $0.0 < $1.0 }.map(\.1)
    }
    results += checks
    return .with { $0.services = results }
  }

  public func dashboard(
    request: ServerRequest<Sightline_Gateway_V1_DashboardRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Gateway_V1_DashboardResponse> {
    ServerResponse(message: try await handle(request.message, metadata: request.metadata))
  }

  private func handle(
    _ request: Sightline_Gateway_V1_DashboardRequest, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_DashboardResponse {
    let (tenant, _, _) = try authenticator.requireTenant(metadata, role: .reader)
    try limiter.admit(tenant, holdsSlot: true)
    defer { limiter.release(tenant) }
    guard (0...366).contains(request.periodDays) else {
      throw InvalidInput(field: "period_days", reason: "must be 1-366 (0 = 30)")
    }
    // Each section call gets the caller's deadline (less a margin to answer in), else 10 s.
    let deadline = ForwardedMetadata.timeout(metadata).map { max($0 - .milliseconds(200), .milliseconds(100)) } ?? .seconds(10)
    let assembler = DashboardAssembler(
      clients: clients)
    return await assembler.assemble(
      tenant: tenant, requestID: SuiteMetadata.requestID(metadata), periodDays: request.periodDays == 0 ? 30 : Int(request.periodDays),
      minOffset: request.minOffset, nowMs: Self.nowMs(), timeout: deadline, hours: request.hours)
  }
}
