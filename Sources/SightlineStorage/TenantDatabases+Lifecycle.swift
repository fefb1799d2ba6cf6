import Foundation
public import GRDB
public import SightlineModel
import Synchronization

/// Why a tenant's data could not be exported, installed or opened.
public struct TenantDataError: Error, Equatable, CustomStringConvertible {
  /// What went wrong.
  public enum Code: Sendable, Equatable {
    /// The tenant's data was deleted in this process.
    case deleted
    /// An import found data of the tenant already in place.
    case alreadyExists
    /// An imported file is not a sound database of this service.
    case invalidFile
  }
  /// The code.
  public var code: Code
  /// A sentence.
  public var description: String

  /// An error.
  public init(code: Code, description: String) {
    self.code = code
    self.description = description
  }
}

/// What removing a tenant's data removed.
public struct RemovedFiles: Sendable, Equatable {
  /// Files removed (database, -wal, -shm).
  public var files: Int
  /// Their bytes.
  public var bytes: Int64
  /// Rows deleted (PostgreSQL, where a tenant has no files of its own).
  public var rows: Int64 = 0

  /// What a removal removed.
  public init(files: Int, bytes: Int64, rows: Int64 = 0) {
    self.files = files
    self.bytes = bytes
    self.rows = rows
  }
}

/// A tenant export or import file: a SQLite database of one service's schema.
public enum SQLiteExportFile {
  /// Opens the file at `path` after checking it: SQLite's integrity check must pass, and its
  /// schema must be one `migrator` made (none at all is not one of the service's databases;
  /// a migration it does not know comes from a newer version, or another service). An older
  /// schema is migrated.
  public static func open(_ path: String, migrator: DatabaseMigrator, service: String) throws -> DatabaseQueue {
    do {
      let queue = try DatabaseQueue(path: path)
      do {
        let integrity = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        guard integrity == ["ok"] else {
          throw TenantDataError(
            code: .invalidFile, description: "SQLite's integrity check failed: \(integrity.prefix(3).joined(separator: "; "))")
        }
        let applied = try queue.read { db in try migrator.appliedIdentifiers(db) }
        guard !applied.isEmpty else {
          throw TenantDataError(code: .invalidFile, description: "the file is not a database of the \(service) service")
        }
        let unknown = applied.subtracting(migrator.migrations).sorted()
        guard unknown.isEmpty else {
          throw TenantDataError(
            code: .invalidFile,
            description:
              "the file's schema has migrations this \(service) service does not know (\(unknown.joined(separator: ", "))): it comes from a newer version, or another service"
          )
        }
        try migrator.migrate(queue)
        return queue
      } catch {
        try? queue.close()
        throw error
      }
    } catch let error as DatabaseError {
      throw TenantDataError(code: .invalidFile, description: "the file is not a sound SQLite database: \(error.message ?? "\(error)")")
    }
  }
}

/// The tenant data lifecycle (docs/operations.md): consistent copies while the service runs,
/// verified installs, irreversible removal.
extension TenantDatabases {
  /// Writes a consistent copy of `tenant`'s database to a new file at `destination`, with
  /// SQLite's online backup API: the copy is read in one read transaction, so it is the
  /// database as of one commit while writers carry on. The copy is a self-contained
  /// rollback-journal database, mode 0600.
  public func backup(_ tenant: TenantID, to destination: String) throws {
    let source = try database(for: tenant)
    try PrivateFiles.createDirectory((destination as NSString).deletingLastPathComponent)
    guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
    }
    let copy = try DatabaseQueue(path: destination)
    try source.backup(to: copy)
    try copy.close()
  }

  /// Installs the database file at `candidate` as `tenant`'s, after checking it: SQLite's
  /// integrity check must pass and its schema must be one this service knows (an older
  /// one is migrated). Refused when the tenant has data here. Clears a deletion of the
  /// tenant in this process. The candidate is moved (a rename), not copied.
  public func install(_ tenant: TenantID, from candidate: String) throws {
    try verify(candidate)
    try opening(tenant).mutex.withLock { _ in
      let destination = path(for: tenant)
      if isOpen(tenant) || FileManager.default.fileExists(atPath: destination) {
        throw TenantDataError(
          code: .alreadyExists, description: "tenant \(tenant) already has \(serviceName) data; delete it first")
      }
      try PrivateFiles.createDirectory((destination as NSString).deletingLastPathComponent)
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: candidate)
      guard rename(candidate, destination) == 0 else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
      }
      Self.syncDirectory((destination as NSString).deletingLastPathComponent)
      _ = deleted.withLock { $0.remove(tenant) }
    }
  }

  private func verify(_ candidate: String) throws {
    try SQLiteExportFile.open(candidate, migrator: migrator, service: serviceName).close()
  }

  /// Removes `tenant`'s data for good: closes its database (after the accesses in
  /// progress finish) and deletes the file with its -wal and -shm. From then on nothing in
  /// this process can reopen or recreate it, until an import installs it again.
  @discardableResult
  public func remove(_ tenant: TenantID) -> RemovedFiles {
    opening(tenant).mutex.withLock { _ in
      _ = deleted.withLock { $0.insert(tenant) }
      // Closing waits for the reads and writes in progress; one still holding a statement
      // keeps the connection open, and the files go anyway (their inode with it).
      try? takePool(tenant)?.close()
      let database = path(for: tenant)
      var removed = RemovedFiles(files: 0, bytes: 0)
      for file in [database, database + "-wal", database + "-shm", database + "-journal"] {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber else { continue }
        if (try? FileManager.default.removeItem(atPath: file)) != nil {
          removed.files += 1
          removed.bytes += size.int64Value
        }
      }
      // The directory goes with its last service's file (services may share a data root).
      let directory = (database as NSString).deletingLastPathComponent
      if (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true {
        try? FileManager.default.removeItem(atPath: directory)
      }
      return removed
    }
  }

  /// Makes a rename in `directory` durable.
  static func syncDirectory(_ directory: String) {
    let descriptor = open(directory, O_RDONLY)
    guard descriptor >= 0 else { return }
    _ = fsync(descriptor)
    _ = close(descriptor)
  }
}
