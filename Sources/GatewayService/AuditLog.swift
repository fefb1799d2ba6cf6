import Foundation
public import GRPCCore
public import Logging
public import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// Records administrative actions in the gateway's store (docs/operations.md, "Audit
/// log"): who (the key's id and label, or the operator), what (the RPC and its request in
/// one line), when, from which address, and how it ended. Attempts that were refused are
/// recorded too, once the caller's key is known; calls without a valid key are not (they
/// have no tenant to file them under, and the gateway's log has them).
///
/// A record is written when the action ends, before its answer leaves: an action whose
/// record cannot be written is logged loudly but not undone.
public struct AuditLog: Sendable {
  let store: any GatewayStore
  let authenticator: Authenticator
  let logger: Logger

  /// An audit log in `store`, identifying callers with `authenticator`.
  public init(store: any GatewayStore, authenticator: Authenticator, logger: Logger) {
    self.store = store
    self.authenticator = authenticator
    self.logger = logger
  }

  /// Who made a call, for the record.
  struct Actor: Sendable {
    var kind: String
    var keyID: String
    var name: String
    /// The key's tenant; nil for the operator.
    var tenant: TenantID?
  }

  /// The caller behind `metadata`'s key, or nil without a valid one.
  func actor(_ metadata: Metadata) -> Actor? {
    guard let (principal, label) = try? authenticator.identify(metadata) else { return nil }
    switch principal {
    case .operator: return Actor(kind: AuditRecord.operatorActor, keyID: "", name: "operator", tenant: nil)
    case .tenantKey(let tenant, _, let keyID): return Actor(kind: AuditRecord.keyActor, keyID: keyID, name: label, tenant: tenant)
    }
  }

  /// Runs `body`, then records `action` as the caller behind `metadata` did it, with how it
  /// ended; rethrows `body`'s error. `tenant` names the tenant acted on once the action
  /// ended (for the operator's actions; a key's is its own tenant).
  func recording<Result>(
    _ action: String, detail: String, metadata: Metadata, context: ServerContext,
    tenant: @escaping @Sendable () -> String? = { nil }, _ body: () async throws -> Result
  ) async throws -> Result {
    let actor = actor(metadata)
    do {
      let result = try await body()
      await write(action, detail: detail, actor: actor, address: context.remotePeer, tenant: tenant, outcome: "ok")
      return result
    } catch {
      await write(action, detail: detail, actor: actor, address: context.remotePeer, tenant: tenant, outcome: Self.outcome(of: error))
      throw error
    }
  }

  /// Appends one record; nothing for a caller without a valid key. The store is called on
  /// `BlockingWork`'s threads, never on the handler's: a synchronous database call there
  /// could wait on the very event loop that must deliver its answer.
  func write(
    _ action: String, detail: String, actor: Actor?, address: String, tenant: @escaping @Sendable () -> String? = { nil },
    outcome: String
  ) async {
    guard let actor else { return }
    let store = self.store
    do {
      try await BlockingWork.run {
        let record = AuditRecord(
          id: "au_" + APIKeys.randomHex(bytes: 8), tenantID: actor.tenant?.rawValue ?? tenant() ?? "", atMs: WallClock.now,
          actorKind: actor.kind, actorKeyID: actor.keyID, actorName: actor.name, action: action, detail: String(detail.prefix(500)),
          address: address, outcome: String(outcome.prefix(500)))
        try store.appendAudit(record)
      }
    } catch {
      logger.error(
        "audit record not written", metadata: ["audit.action": "\(action)", "error": "\(error)"])
    }
  }

  /// An error as the record's outcome: "PERMISSION_DENIED: …".
  static func outcome(of error: any Error) -> String {
    let rpc: RPCError =
      if let error = error as? RPCError { error } else if let error = error as? any RPCErrorConvertible { RPCError(error) } else {
        RPCError(code: .internalError, message: "\(error)")
      }
    // "permissionDenied" → "PERMISSION_DENIED", as gRPC names its codes.
    let code = String(describing: rpc.code).reduce(into: "") { name, character in
      if character.isUppercase { name += "_" }
      name += character.uppercased()
    }
    return "\(code): \(rpc.message)"
  }

  /// A request as the record's detail: its fields in protobuf text format, on one line.
  static func detail(_ message: some SwiftProtobuf.Message) -> String {
    message.textFormatString().split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
      .joined(separator: " ")
  }

  /// The forwarded methods that are administrative, and their request types (to write
  /// their detail): settings, calendars, SLA policies, retention, aliases, redaction, alert
  /// rules, case rules, segments and experiments.
  static let forwarded: [String: any SwiftProtobuf.Message.Type] = [
    "sightline.ingestion.v1.Ingestion/SetAliases": Sightline_Ingestion_V1_SetAliasesRequest.self,
    "sightline.ingestion.v1.Ingestion/SetRetention": Sightline_Ingestion_V1_SetRetentionRequest.self,
    "sightline.ingestion.v1.Ingestion/SetRedaction": Sightline_Ingestion_V1_SetRedactionRequest.self,
    "sightline.metrics.v1.Metrics/SetSettings": Sightline_Metrics_V1_SetSettingsRequest.self,
    "sightline.metrics.v1.Metrics/ChangeCalendar": Sightline_Metrics_V1_ChangeCalendarRequest.self,
    "sightline.metrics.v1.Metrics/SetSlaPolicies": Sightline_Metrics_V1_SetSlaPoliciesRequest.self,
    "sightline.metrics.v1.Metrics/AddAlertRule": Sightline_Metrics_V1_AddAlertRuleRequest.self,
    "sightline.metrics.v1.Metrics/RemoveAlertRule": Sightline_Metrics_V1_RemoveAlertRuleRequest.self,
    "sightline.segmentation.v1.Segmentation/DefineSegment": Sightline_Segmentation_V1_DefineSegmentRequest.self,
    "sightline.segmentation.v1.Segmentation/DeleteSegment": Sightline_Segmentation_V1_DeleteSegmentRequest.self,
    "sightline.segmentation.v1.Segmentation/SetSegmentSettings": Sightline_Segmentation_V1_SetSegmentSettingsRequest.self,
    "sightline.experiments.v1.Experiments/CreateExperiment": Sightline_Experiments_V1_CreateExperimentRequest.self,
    // Case work has its own history on each case; the rules that open cases are the tenant's policy.
    "sightline.cases.v1.Cases/SetCaseRules": Sightline_Cases_V1_SetCaseRulesRequest.self,
    // Where the tenant's messages go (an endpoint's URL and secret are credentials: left out).
    "sightline.cases.v1.Cases/AddEndpoint": Sightline_Cases_V1_AddEndpointRequest.self,
    "sightline.cases.v1.Cases/RemoveEndpoint": Sightline_Cases_V1_RemoveEndpointRequest.self,
    "sightline.cases.v1.Cases/ReplayDeliveries": Sightline_Cases_V1_ReplayDeliveriesRequest.self,
  ]

  /// The short name of a method, "Metrics/SetSettings".
  static func action(_ method: MethodDescriptor) -> String {
    (method.service.fullyQualifiedService.split(separator: ".").last.map(String.init) ?? "") + "/" + method.method
  }

  /// The detail of a forwarded request from its bytes ("" when it does not decode).
  static func detail(method: String, bytes: [UInt8]?) -> String {
    guard let type = forwarded[method], let bytes, var message = try? type.init(serializedBytes: bytes) else { return "" }
    if var endpoint = message as? Sightline_Cases_V1_AddEndpointRequest {
      (endpoint.url, endpoint.secret) = ("", "")
      message = endpoint
    }
    return detail(message)
  }
}

extension Sightline_Gateway_V1_AuditRecord {
  /// A stored record on the wire.
  init(_ record: AuditRecord) {
    self = .with {
      $0.id = record.id
      $0.tenantID = record.tenantID
      $0.at = Google_Protobuf_Timestamp(unixMilliseconds: record.atMs)
      $0.actorKind = record.actorKind
      $0.actorKeyID = record.actorKeyID
      $0.actorName = record.actorName
      $0.action = record.action
      $0.detail = record.detail
      $0.address = record.address
      $0.outcome = record.outcome
    }
  }
}

extension AuditRecord {
  /// A record from the wire (an export's archive).
  init(_ wire: Sightline_Gateway_V1_AuditRecord) {
    self.init(
      id: wire.id, tenantID: wire.tenantID, atMs: wire.at.unixMilliseconds, actorKind: wire.actorKind, actorKeyID: wire.actorKeyID,
      actorName: wire.actorName, action: wire.action, detail: wire.detail, address: wire.address, outcome: wire.outcome)
  }
}
