import Crypto
import Foundation
public import GRPCCore
public import Logging
public import SightlineModel
import SightlineRPC
public import SightlineStorage
public import SightlineWire
import SwiftProtobuf

/// One backend's part of the tenant data lifecycle (docs/operations.md): streams a
/// consistent copy of a tenant's database out, installs a verified one, deletes one for
/// good. Every backend serves it on its mutual-TLS port; only the gateway calls it.
public struct TenantDataProvider: Sightline_Tenantdata_V1_TenantData.ServiceProtocol {
  /// Bytes per data message: well under every message size limit of the suite.
  public static let chunkBytes = 256 * 1024

  private let store: any TenantDataStore
  private let beforeDelete: @Sendable (TenantID) -> Void
  private let afterImport: @Sendable (TenantID) -> Void
  private let logger: Logger

  /// The lifecycle of the tenants in `store`. `beforeDelete` runs first when a tenant is
  /// deleted: it stops what would touch the data (log consumers, live streams).
  /// `afterImport` runs once an imported tenant's file is installed (ingestion announces
  /// the tenant's log on its change feed).
  public init(
    store: any TenantDataStore, logger: Logger, beforeDelete: @escaping @Sendable (TenantID) -> Void = { _ in },
    afterImport: @escaping @Sendable (TenantID) -> Void = { _ in }
  ) {
    self.store = store
    self.logger = logger
    self.beforeDelete = beforeDelete
    self.afterImport = afterImport
  }

  private var service: String { store.serviceName }

  public func exportData(
    request: ServerRequest<Sightline_Tenantdata_V1_ExportDataRequest>, context: ServerContext
  ) async throws -> StreamingServerResponse<Sightline_Tenantdata_V1_DataChunk> {
    let tenant = try Self.tenant(request.message.tenantID)
    let copy = "\(store.transferDirectory)/export-\(tenant)-\(service)-\(UUID().uuidString).sqlite"
    do {
      try store.backup(tenant, to: copy)
    } catch {
      try? FileManager.default.removeItem(atPath: copy)
      throw Self.rpcError(error)
    }
    let service = self.service
    return StreamingServerResponse { writer in
      defer { try? FileManager.default.removeItem(atPath: copy) }
      try await writer.write(
        .with {
          $0.start = .with {
            $0.tenantID = tenant.rawValue; $0.service = service
          }
        })
      guard let file = FileHandle(forReadingAtPath: copy) else {
        throw RPCError(code: .internalError, message: "the copy of the \(service) database vanished")
      }
      defer { try? file.close() }
      var hash = SHA256()
      var bytes: Int64 = 0
      while let chunk = try file.read(upToCount: Self.chunkBytes), !chunk.isEmpty {
        hash.update(data: chunk)
        bytes += Int64(chunk.count)
        try await writer.write(.with { $0.data = chunk })
      }
      let digest = Hex.encode(hash.finalize())
      try await writer.write(
        .with {
          $0.end = .with {
            $0.bytes = bytes; $0.sha256 = digest
          }
        })
      self.logger.notice(
        "tenant data exported", metadata: ["tenant": "\(tenant)", "bytes": "\(bytes)", "sha256": "\(digest)"])
      return [:]
    }
  }

  public func importData(
    request: StreamingServerRequest<Sightline_Tenantdata_V1_DataChunk>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Tenantdata_V1_ImportDataResponse> {
    var messages = request.messages.makeAsyncIterator()
    do {
      return try await receive(&messages)
    } catch {
      // Answer a refusal only once the caller has finished sending: answering mid-stream
      // makes HTTP/2 reset the connection, and the caller would never read the reason.
      while (try? await messages.next()) != nil {}
      throw error
    }
  }

  private func receive(
    _ messages: inout RPCAsyncSequence<Sightline_Tenantdata_V1_DataChunk, any Error>.AsyncIterator
  ) async throws -> ServerResponse<Sightline_Tenantdata_V1_ImportDataResponse> {
    guard case .start(let start)? = try await messages.next()?.part else {
      throw InvalidInput(field: "start", reason: "an import begins with a FileStart")
    }
    let tenant = try Self.tenant(start.tenantID)
    guard start.service == service else {
      throw InvalidInput(field: "start.service", reason: "this is the \(service) service; the file holds \(start.service) data")
    }
    let candidate = "\(store.transferDirectory)/import-\(tenant)-\(service)-\(UUID().uuidString).sqlite"
    defer { try? FileManager.default.removeItem(atPath: candidate) }
    try PrivateFiles.createDirectory(store.transferDirectory)
    guard FileManager.default.createFile(atPath: candidate, contents: nil, attributes: [.posixPermissions: 0o600]),
      let file = FileHandle(forWritingAtPath: candidate)
    else { throw RPCError(code: .internalError, message: "cannot create \(candidate)") }
    var hash = SHA256()
    var bytes: Int64 = 0
    var end: Sightline_Tenantdata_V1_FileEnd?
    do {
      defer { try? file.close() }
      while end == nil, let message = try await messages.next() {
        switch message.part {
        case .data(let data):
          hash.update(data: data)
          bytes += Int64(data.count)
          try file.write(contentsOf: data)
        case .end(let last): end = last
        case .start, nil: throw InvalidInput(field: "start", reason: "a second FileStart in one import")
        }
      }
      try file.synchronize()
    }
    guard let end else {
      throw InvalidInput(field: "end", reason: "the \(service) file ended after \(bytes) bytes without its FileEnd")
    }
    let digest = Hex.encode(hash.finalize())
    guard end.bytes == bytes, end.sha256 == digest else {
      throw RPCError(
        code: .dataLoss,
        message:
          "the \(service) file arrived damaged: \(bytes) bytes with SHA-256 \(digest), expected \(end.bytes) bytes with \(end.sha256)")
    }
    do {
      try store.install(tenant, from: candidate)
    } catch {
      throw Self.rpcError(error)
    }
    afterImport(tenant)
    logger.notice("tenant data imported", metadata: ["tenant": "\(tenant)", "bytes": "\(bytes)", "sha256": "\(digest)"])
    return ServerResponse(
      message: .with {
        $0.service = service
        $0.bytes = bytes
      })
  }

  public func deleteData(
    request: ServerRequest<Sightline_Tenantdata_V1_DeleteDataRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Tenantdata_V1_DeleteDataResponse> {
    let tenant = try Self.tenant(request.message.tenantID)
    beforeDelete(tenant)
    let removed = try store.remove(tenant)
    TenantSeries.forget(tenant)
    logger.notice(
      "tenant data deleted", metadata: ["tenant": "\(tenant)", "files": "\(removed.files)", "bytes": "\(removed.bytes)"])
    return ServerResponse(
      message: .with {
        $0.service = service
        $0.filesRemoved = Int32(removed.files)
        $0.bytesRemoved = removed.bytes
      })
  }

  public func moveData(
    request: ServerRequest<Sightline_Tenantdata_V1_MoveDataRequest>, context: ServerContext
  ) async throws -> ServerResponse<Sightline_Tenantdata_V1_MoveDataResponse> {
    let tenant = try Self.tenant(request.message.tenantID)
    let target = request.message.toShard
    guard let moves = store as? any TenantMoves else {
      throw RPCError(code: .failedPrecondition, message: "moving a tenant needs PostgreSQL with several shards (--shard)")
    }
    let rows: Int64
    do {
      switch request.message.step {
      case .copy: rows = try moves.copy(tenant, to: target)
      case .finish: rows = try moves.finishMove(tenant, to: target)
      case .abort: rows = try moves.abortMove(tenant, to: target)
      case .unspecified, .UNRECOGNIZED: throw InvalidInput(field: "step", reason: "must be COPY, FINISH or ABORT")
      }
    } catch {
      throw Self.rpcError(error)
    }
    logger.notice(
      "tenant data move step", metadata: ["tenant": "\(tenant)", "to": "\(target)", "step": "\(request.message.step)", "rows": "\(rows)"])
    return ServerResponse(
      message: .with {
        $0.service = service
        $0.rows = rows
      })
  }

  static func tenant(_ id: String) throws -> TenantID {
    guard let tenant = TenantID(id) else { throw InvalidInput(field: "tenant_id", reason: "'\(id)' is not a tenant id") }
    return tenant
  }

  static func rpcError(_ error: any Error) -> any Error {
    guard let error = error as? TenantDataError else { return error }
    switch error.code {
    case .deleted: return RPCError(code: .notFound, message: error.description)
    case .alreadyExists: return RPCError(code: .alreadyExists, message: error.description)
    case .invalidFile: return RPCError(code: .invalidArgument, message: error.description)
    }
  }
}
