import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SightlineModel
import SightlinePostgres
import SightlineRPC
import SightlineStorage
import SightlineWire
import SwiftProtobuf

/// The operator's tenant data lifecycle across the suite (docs/operations.md): export,
/// import and delete, each orchestrated over every backend's `TenantData` service.
struct TenantLifecycle: Sendable {
  /// The format of an export directory this version writes and reads.
  static let format = "sightline-tenant-export/1"

  /// Export and import order. The log's consumers go before the log: on export, the
  /// offsets their copies have applied can then never pass the copied log (they catch up
  /// after an import); on import, their data is in place before the log makes the tenant
  /// discoverable, so no consumer starts it afresh.
  static let transferOrder: [SuiteComponent] = [.experiments, .segmentation, .metrics, .ingestion]

  /// Delete order: the log first, which ends its consumers' streams, then the consumers.
  static let deleteOrder: [SuiteComponent] = [.ingestion, .metrics, .segmentation, .experiments]

  let store: any GatewayStore
  let placement: any TenantPlacement
  let backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]
  let logger: Logger

  private func tenantData(_ component: SuiteComponent) throws -> Sightline_Tenantdata_V1_TenantData.Client<HTTP2ClientTransport.Posix> {
    guard let client = backends[component] else {
      throw RPCError(code: .internalError, message: "the gateway has no client for the \(component) service")
    }
    return Sightline_Tenantdata_V1_TenantData.Client(wrapping: client)
  }

  private func liveTenant(named name: String) throws -> TenantRecord {
    guard let tenant = try store.tenant(named: name), tenant.deletedAtMs == nil else {
      throw RPCError(code: .notFound, message: "no tenant named '\(name)'")
    }
    return tenant
  }

  // MARK: Export

  /// Streams `name`'s archive (record and keys), then every service's database in
  /// `transferOrder`.
  func export(name: String, to writer: RPCWriter<Sightline_Gateway_V1_ExportTenantResponse>) async throws {
    let tenant = try liveTenant(named: name)
    let keys = try store.keys(tenantID: tenant.id)
    let audit = try store.audit(.tenant(tenant.id), sinceMs: 0, limit: .max)
    try await writer.write(
      .with {
        $0.archive = .with {
          $0.format = Self.format
          $0.tenant = GatewayProvider.wire(tenant)
          $0.keys = keys.map { key in
            .with {
              $0.key = GatewayProvider.wire(key); $0.secretHash = key.secretHash
            }
          }
          $0.exportedAt = Google_Protobuf_Timestamp(unixMilliseconds: WallClock.now)
          $0.audit = audit.map(Sightline_Gateway_V1_AuditRecord.init)
        }
      })
    var bytes: Int64 = 0
    for component in Self.transferOrder {
      do {
        bytes += try await tenantData(component).exportData(.with { $0.tenantID = tenant.id }) { response in
          var bytes: Int64 = 0
          for try await chunk in response.messages {
            if case .end(let end) = chunk.part { bytes = end.bytes }
            try await writer.write(.with { $0.chunk = chunk })
          }
          return bytes
        }
      } catch {
        throw Self.relayed(error)
      }
    }
    logger.notice("tenant exported", metadata: ["tenant.id": "\(tenant.id)", "tenant.name": "\(tenant.name)", "bytes": "\(bytes)"])
  }

  // MARK: Import

  /// Restores the tenant of an import stream: checks the archive, has each service verify
  /// and install its file, and restores the tenant and its keys once all are in place. If
  /// a service refuses its file, what the others installed is deleted again.
  func importTenant(
    _ messages: RPCAsyncSequence<Sightline_Gateway_V1_ImportTenantRequest, any Error>
  ) async throws -> Sightline_Gateway_V1_ImportTenantResponse {
    let inbound = Inbound(messages.makeAsyncIterator())
    guard case .archive(let archive)? = try await inbound.next()?.part else {
      await inbound.drain()
      throw InvalidInput(field: "archive", reason: "an import begins with the export's archive (manifest.json)")
    }
    let (tenant, keys): (TenantRecord, [APIKeyRecord])
    do {
      (tenant, keys) = try Self.check(archive)
      try refuseExisting(tenant)
    } catch {
      await inbound.drain()
      throw error
    }
    var installed: [SuiteComponent] = []
    do {
      // Placed before any service installs: each installs on the tenant's shard.
      _ = try placement.place(tenantID: tenant.id, requested: nil)
      for file in archive.files {
        let component = SuiteComponent(rawValue: file.service)!
        _ = try await tenantData(component).importData { writer in
          try await Self.forward(file, tenantID: tenant.id, from: inbound, to: writer)
        }
        installed.append(component)
      }
      try store.restore(tenant, keys: keys, audit: try Self.auditRecords(archive, tenant: tenant))
    } catch {
      for component in installed {
        _ = try? await tenantData(component).deleteData(.with { $0.tenantID = tenant.id })
      }
      await inbound.drain()
      if let error = error as? GatewayStoreError { throw RPCError(code: .alreadyExists, message: error.description) }
      throw Self.relayed(error)
    }
    logger.notice(
      "tenant imported",
      metadata: [
        "tenant.id": "\(tenant.id)", "tenant.name": "\(tenant.name)", "keys": "\(keys.count)",
        "bytes": "\(archive.files.reduce(0) { $0 + $1.bytes })",
      ])
    return .with {
      $0.tenant = GatewayProvider.wire(tenant)
      $0.keys = Int32(keys.count)
      $0.files = archive.files
    }
  }

  /// A backend's error as the gateway may answer it: the backend's response headers
  /// (`:status`, …) ride in the error's metadata and must not become the gateway's trailers
  /// (an invalid trailer block resets the caller's connection).
  static func relayed(_ error: any Error) -> any Error {
    guard let error = error as? RPCError else { return error }
    return RPCError(code: error.code, message: error.message, metadata: ForwardedMetadata.trailers(error.metadata))
  }

  private func refuseExisting(_ tenant: TenantRecord) throws {
    if let existing = try store.tenant(id: tenant.id), existing.deletedAtMs == nil {
      throw RPCError(code: .alreadyExists, message: "tenant \(tenant.id) ('\(existing.name)') exists in this deployment")
    }
    if let named = try store.tenant(named: tenant.name), named.deletedAtMs == nil {
      throw RPCError(code: .alreadyExists, message: "a tenant named '\(tenant.name)' exists in this deployment")
    }
  }

  /// The archive's audit records, each checked to be the tenant's.
  static func auditRecords(_ archive: Sightline_Gateway_V1_TenantArchive, tenant: TenantRecord) throws -> [AuditRecord] {
    try archive.audit.enumerated().map { index, wire in
      guard wire.tenantID == tenant.id, wire.id.hasPrefix("au_") else {
        throw InvalidInput(field: "archive.audit[\(index)]", reason: "is not an audit record of tenant \(tenant.id)")
      }
      return AuditRecord(wire)
    }
  }

  /// The archive's tenant and keys, after checking what an import relies on.
  static func check(_ archive: Sightline_Gateway_V1_TenantArchive) throws -> (TenantRecord, [APIKeyRecord]) {
    guard archive.format == format else {
      throw InvalidInput(field: "archive.format", reason: "'\(archive.format)' is not '\(format)', the format this version reads")
    }
    guard TenantID(archive.tenant.id) != nil else {
      throw InvalidInput(field: "archive.tenant.id", reason: "'\(archive.tenant.id)' is not a tenant id")
    }
    if let problem = TenantName.problem(with: archive.tenant.name) {
      throw InvalidInput(field: "archive.tenant.name", reason: problem)
    }
    let services = archive.files.map(\.service)
    let expected = transferOrder.map(\.rawValue)
    guard services == expected else {
      throw InvalidInput(
        field: "archive.files",
        reason:
          "an export holds one file per service in the order \(expected.joined(separator: ", ")); this one has \(services.joined(separator: ", "))"
      )
    }
    let tenant = TenantRecord(
      id: archive.tenant.id, name: archive.tenant.name, createdAtMs: archive.tenant.createdAt.unixMilliseconds)
    let keys = try archive.keys.enumerated().map { index, archived in
      let key = archived.key
      guard key.tenantID == tenant.id, key.id.hasPrefix("k_"), archived.secretHash.count == 64 else {
        throw InvalidInput(field: "archive.keys[\(index)]", reason: "is not a key of tenant \(tenant.id) with its secret's hash")
      }
      return APIKeyRecord(
        id: key.id, tenantID: key.tenantID, role: try GatewayProvider.role(key.role).rawValue,
        secretHash: archived.secretHash, label: key.label, createdAtMs: key.createdAt.unixMilliseconds,
        revokedAtMs: key.hasRevokedAt ? key.revokedAt.unixMilliseconds : nil)
    }
    return (tenant, keys)
  }

  /// Forwards one file of the import stream to a service: its start, its data, its end,
  /// checked against the archive on the way (the service checks the bytes themselves).
  private static func forward(
    _ file: Sightline_Gateway_V1_ArchivedFile, tenantID: String, from inbound: Inbound,
    to writer: RPCWriter<Sightline_Tenantdata_V1_DataChunk>
  ) async throws {
    var started = false
    while let message = try await inbound.next() {
      guard case .chunk(let chunk) = message.part else {
        throw InvalidInput(field: "chunk", reason: "the archive came twice")
      }
      switch chunk.part {
      case .start(let start):
        guard !started, start.service == file.service, start.tenantID == tenantID else {
          throw InvalidInput(
            field: "chunk.start", reason: "expected the \(file.service) file of \(tenantID), got \(start.service) of \(start.tenantID)")
        }
        started = true
      case .end(let end):
        guard end.bytes == file.bytes, end.sha256 == file.sha256 else {
          throw RPCError(
            code: .dataLoss,
            message:
              "the \(file.service) file sent does not match the manifest (\(end.bytes) bytes, SHA-256 \(end.sha256); manifest \(file.bytes) bytes, \(file.sha256))"
          )
        }
      case .data, nil:
        guard started else { throw InvalidInput(field: "chunk", reason: "data before the \(file.service) file's start") }
      }
      try await writer.write(chunk)
      if case .end = chunk.part { return }
    }
    throw InvalidInput(field: "chunk", reason: "the import stream ended inside the \(file.service) file")
  }

  /// The import stream's iterator, shared by the sequential forwarding of each file: the
  /// per-service request producers are `@Sendable`, but run one after the other, never at
  /// once, so the iterator is never used concurrently.
  private final class Inbound: @unchecked Sendable {
    private var iterator: RPCAsyncSequence<Sightline_Gateway_V1_ImportTenantRequest, any Error>.AsyncIterator
    init(_ iterator: RPCAsyncSequence<Sightline_Gateway_V1_ImportTenantRequest, any Error>.AsyncIterator) {
      self.iterator = iterator
    }
    func next() async throws -> Sightline_Gateway_V1_ImportTenantRequest? { try await iterator.next() }
    /// Reads what the caller is still sending. A refusal is answered only after the
    /// request stream has ended: answering while a client is mid-stream makes HTTP/2 reset
    /// the connection under it ("Stream unexpectedly closed"), and the caller would never
    /// read the reason.
    func drain() async {
      while (try? await iterator.next()) != nil {}
    }
  }

  // MARK: Delete

  // MARK: Move

  /// Moves tenant `name`'s data to shard `target`: each service pauses the tenant's writes,
  /// copies and verifies its rows (consumers first, as for an export); then the map points
  /// at the target, and only then does each service remove the old rows. A copy that fails
  /// is undone everywhere and the tenant stays where it was.
  func move(name: String, to target: String) async throws -> Sightline_Gateway_V1_MoveTenantResponse {
    guard let tenant = try store.tenant(named: name), tenant.deletedAtMs == nil else {
      throw RPCError(code: .notFound, message: "no tenant named '\(name)'")
    }
    guard placement.shards.contains(target) else {
      throw InvalidInput(field: "to_shard", reason: ShardPlacement.UnknownShard(name: target, known: placement.shards).description)
    }
    let source = try placement.shards(of: [tenant.id])[tenant.id] ?? ShardedPools.mainShard
    func step(
      _ component: SuiteComponent, _ step: Sightline_Tenantdata_V1_MoveDataRequest.Step
    ) async throws
      -> Sightline_Tenantdata_V1_MoveDataResponse
    {
      try await tenantData(component).moveData(
        .with {
          $0.tenantID = tenant.id
          $0.toShard = target
          $0.step = step
        })
    }
    var copied: [Sightline_Tenantdata_V1_MoveDataResponse] = []
    var pausedFor = Duration.zero
    // Already there: only what an interrupted move left to remove is removed.
    if source != target {
      logger.notice("tenant move started", metadata: ["tenant.id": "\(tenant.id)", "from": "\(source)", "to": "\(target)"])
      let paused = ContinuousClock.now
      do {
        for component in Self.transferOrder { copied.append(try await step(component, .copy)) }
        try placement.move(tenantID: tenant.id, to: target)
      } catch {
        // Undo every copy (one that never started has nothing to undo); the tenant stays.
        for component in Self.transferOrder { _ = try? await step(component, .abort) }
        logger.error("tenant move failed and was undone", metadata: ["tenant.id": "\(tenant.id)", "error": "\(error)"])
        throw Self.relayed(error)
      }
      pausedFor = ContinuousClock.now - paused
    }
    for component in Self.transferOrder {
      do {
        _ = try await step(component, .finish)
      } catch {
        throw RPCError(
          code: .unavailable,
          message:
            "tenant '\(name)' now lives on shard '\(target)', but removing its old \(component) rows on '\(source)' failed (\(error)); run the move again to finish"
        )
      }
    }
    logger.notice(
      "tenant moved",
      metadata: [
        "tenant.id": "\(tenant.id)", "from": "\(source)", "to": "\(target)", "rows": "\(copied.reduce(0) { $0 + $1.rows })",
        "paused_ms": "\(Self.milliseconds(pausedFor))",
      ])
    return .with {
      $0.tenant = GatewayProvider.wire(tenant, shard: target)
      $0.fromShard = source
      $0.copied = copied
      $0.pausedMs = Self.milliseconds(pausedFor)
    }
  }

  static func milliseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
  }

  /// Deletes `name` for good: marks it deleted and revokes its keys in one commit (no call
  /// of it is admitted from then on), then removes its data on every service. Finishes an
  /// interrupted delete when called again.
  func delete(name: String, confirm: String) async throws -> Sightline_Gateway_V1_DeleteTenantResponse {
    guard confirm == name else {
      throw InvalidInput(field: "confirm", reason: "must repeat the tenant's name ('\(name)') to confirm the irreversible delete")
    }
    guard let tenant = try store.tenant(named: name) else {
      throw RPCError(code: .notFound, message: "no tenant named '\(name)'")
    }
    let revoked = try store.markDeleted(id: tenant.id, atMs: WallClock.now)
    logger.notice(
      "tenant deletion started: keys revoked",
      metadata: ["tenant.id": "\(tenant.id)", "tenant.name": "\(tenant.name)", "keys": "\(revoked)"])
    var removed: [Sightline_Tenantdata_V1_DeleteDataResponse] = []
    for component in Self.deleteOrder {
      do {
        removed.append(try await tenantData(component).deleteData(.with { $0.tenantID = tenant.id }))
      } catch {
        throw RPCError(
          code: .unavailable,
          message:
            "tenant \(tenant.id) is deleted and its keys revoked, but removing its \(component) data failed (\(error)); run the delete again to finish"
        )
      }
    }
    logger.notice(
      "tenant deleted",
      metadata: [
        "tenant.id": "\(tenant.id)", "tenant.name": "\(tenant.name)",
        "files": "\(removed.reduce(0) { $0 + $1.filesRemoved })",
        "bytes": "\(removed.reduce(0) { $0 + $1.bytesRemoved })",
      ])
    return .with {
      $0.tenant = GatewayProvider.wire(tenant)
      $0.keysRevoked = Int32(revoked)
      $0.services = removed
    }
  }
}
