import Foundation
public import GRDB
public import SightlineModel
import Synchronization

/// Opens and keeps one SQLite database per tenant for one service (the silo model of
/// DESIGN.md): `<root>/tenants/<tenant>/<service>.sqlite`, WAL mode, one `DatabasePool`
/// per file for the life of the process. No query can cross tenants because no
/// connection ever sees two tenants' files.
public final class TenantDatabases: Sendable {
  private let root: String
  private let service: String
  let migrator: DatabaseMigrator
  private let pools = Mutex<[TenantID: DatabasePool]>([:])
  /// Held while a database is opened, installed or removed (never while one is used).
  let opening = Mutex(())
  /// Tenants whose data this process deleted: nothing may recreate their files (a log
  /// consumer finishing a batch, a late call) until an import brings the tenant back.
  let deleted = Mutex<Set<TenantID>>([])

  /// Databases of `service` under `root`, each migrated with `migrator` when opened.
  public init(root: String, service: String, migrator: DatabaseMigrator) {
    self.root = root
    self.service = service
    self.migrator = migrator
  }

  /// The file holding `tenant`'s data for this service.
  public func path(for tenant: TenantID) -> String {
    "\(root)/tenants/\(tenant.rawValue)/\(service).sqlite"
  }

  /// The tenant's database, created and migrated on first use.
  public func database(for tenant: TenantID) throws -> DatabasePool {
    if let pool = pools.withLock({ $0[tenant] }) { return pool }
    try requireNotDeleted(tenant)
    // Opening and migrating happen once per tenant, under a lock of their own: an RPC and
    // the log consumer often reach a new tenant at the same moment, and two pools
    // migrating one file at once collide ("table already exists").
    return try opening.withLock { _ in
      if let pool = pools.withLock({ $0[tenant] }) { return pool }
      try requireNotDeleted(tenant)
      let path = path(for: tenant)
      let pool = try PrivateFiles.openDatabase(at: path, configuration: Self.configuration())
      try migrator.migrate(pool)
      pools.withLock { $0[tenant] = pool }
      return pool
    }
  }

  func requireNotDeleted(_ tenant: TenantID) throws {
    if deleted.withLock({ $0.contains(tenant) }) {
      throw TenantDataError(code: .deleted, description: "the data of tenant \(tenant) was deleted")
    }
  }

  /// Removes the open pool of `tenant`, if any (the caller holds `opening`).
  func takePool(_ tenant: TenantID) -> DatabasePool? {
    pools.withLock { $0.removeValue(forKey: tenant) }
  }

  /// Whether `tenant`'s database is open in this process.
  func isOpen(_ tenant: TenantID) -> Bool {
    pools.withLock { $0[tenant] != nil }
  }

  /// The service whose databases these are ("metrics", …).
  public var serviceName: String { service }

  /// The directory for files in transit (exports being streamed, imports being verified):
  /// on the same file system as the tenants, so an import is installed by a rename.
  public var transferDirectory: String { "\(root)/transfers" }

  /// The connection settings every Sightline database uses.
  public static func configuration() -> Configuration {
    var config = Configuration()
    config.busyMode = .timeout(10)
    config.prepareDatabase { db in
      // WAL is set by DatabasePool; FULL sync makes a committed batch survive power loss,
      // which is what "acknowledged only after its transaction commits" promises.
      try db.execute(sql: "PRAGMA synchronous = FULL")
      // Queries scan a tenant's ticket state: let SQLite map the file and keep a real page
      // cache (the default 2 MB cache turns every scan into system calls).
      try db.execute(sql: "PRAGMA mmap_size = 1073741824")
      try db.execute(sql: "PRAGMA cache_size = -65536")
    }
    return config
  }
}

extension TenantDatabases {
  /// Tenants that have a database file for this service, sorted.
  public func tenants() -> [TenantID] {
    let directory = "\(root)/tenants"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.sorted().compactMap { name in
      guard let tenant = TenantID(name), FileManager.default.fileExists(atPath: path(for: tenant)) else { return nil }
      return tenant
    }
  }
}
