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
  private let migrator: DatabaseMigrator
  private let pools = Mutex<[TenantID: DatabasePool]>([:])
  /// Held while a database is opened and migrated (never while one is used).
  private let opening = Mutex(())

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
    // Opening and migrating happen once per tenant, under a lock of their own: an RPC and
    // the log consumer often reach a new tenant at the same moment, and two pools
    // migrating one file at once collide ("table already exists").
    return try opening.withLock { _ in
      if let pool = pools.withLock({ $0[tenant] }) { return pool }
      let path = path(for: tenant)
      let pool = try PrivateFiles.openDatabase(at: path, configuration: Self.configuration())
      try migrator.migrate(pool)
      pools.withLock { $0[tenant] = pool }
      return pool
    }
  }

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
