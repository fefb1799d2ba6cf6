import Foundation
public import GRDB
public import SightlineModel
import Synchronization

/// Opens one SQLite database per tenant for one service (the silo model: no query can span tenants):
/// `<root>/tenants/<tenant>/<service>.sqlite`, WAL mode, one `DatabasePool` per file.
/// No query can cross tenants because no connection ever sees two tenants' files.
///
/// Open databases are a bounded cache, not one per tenant for the life of the process: at
/// most `maxOpen` stay open, the least recently used is closed when another must open, and
/// one idle for `idleTimeout` is closed when the next database opens. So open files stay
/// bounded whatever the number of tenants (a pool holds up to about seven descriptors).
/// A closed pool still in use by a call finishes that call: the cache drops its reference,
/// and the pool closes when its last user lets go.
///
/// A new tenant's database is a copy of a migrated empty database made once per process
/// (the template), not a migration run in the first ingest's request path.
public final class TenantDatabases: Sendable {
  /// Databases kept open at most, by default.
  public static let defaultMaxOpen = 128
  /// Reader connections per pool (GRDB's default is five): what a tenant's concurrent
  /// queries share; fewer keeps the descriptors per open tenant low.
  public static let readersPerPool = 2

  private let root: String
  private let service: String
  let migrator: DatabaseMigrator
  /// The most databases kept open, and how long an unused one stays open.
  public let maxOpen: Int
  public let idleTimeout: Duration

  private struct OpenPool {
    let pool: DatabasePool
    var lastUse: ContinuousClock.Instant
  }

  private let pools = Mutex<[TenantID: OpenPool]>([:])
  /// A migrated empty database of this service, copied for each new tenant.
  private let template = Mutex<Data?>(nil)
  /// Held while a tenant's database is opened, installed or removed (never while one is
  /// used): one lock per stripe of tenants, so the log consumer's workers open different
  /// tenants' databases at once, while two opens of one tenant never overlap.
  private let openingStripes: [OpeningLock] = (0..<16).map { _ in OpeningLock() }

  final class OpeningLock: Sendable {
    let mutex = Mutex(())
  }

  /// The opening lock of `tenant`'s stripe.
  func opening(_ tenant: TenantID) -> OpeningLock {
    openingStripes[Int(UInt(bitPattern: tenant.rawValue.hashValue) % UInt(openingStripes.count))]
  }
  /// Tenants whose data this process deleted: nothing may recreate their files (a log
  /// consumer finishing a batch, a late call) until an import brings the tenant back.
  let deleted = Mutex<Set<TenantID>>([])

  /// Databases of `service` under `root`, each migrated with `migrator` when opened; at
  /// most `maxOpen` open at once, each closed after `idleTimeout` unused.
  public init(
    root: String, service: String, migrator: DatabaseMigrator, maxOpen: Int = defaultMaxOpen,
    idleTimeout: Duration = .seconds(60)
  ) {
    self.root = root
    self.service = service
    self.migrator = migrator
    self.maxOpen = max(1, maxOpen)
    self.idleTimeout = idleTimeout
  }

  /// The file holding `tenant`'s data for this service.
  public func path(for tenant: TenantID) -> String {
    "\(root)/tenants/\(tenant.rawValue)/\(service).sqlite"
  }

  /// The tenant's database, created (from the template) and migrated on first use.
  public func database(for tenant: TenantID) throws -> DatabasePool {
    if let pool = cached(tenant) { return pool }
    try requireNotDeleted(tenant)
    // Opening and migrating happen under a lock of their own: an RPC and the log consumer
    // often reach a new tenant at the same moment, and two pools migrating one file at
    // once collide ("table already exists").
    return try opening(tenant).mutex.withLock { _ in
      if let pool = cached(tenant) { return pool }
      try requireNotDeleted(tenant)
      let path = path(for: tenant)
      if !FileManager.default.fileExists(atPath: path) { try createFromTemplate(at: path) }
      let pool = try PrivateFiles.openDatabase(at: path, configuration: Self.configuration())
      try migrator.migrate(pool)
      keep(pool, for: tenant)
      return pool
    }
  }

  /// The open pool of `tenant`, marked as just used.
  private func cached(_ tenant: TenantID) -> DatabasePool? {
    pools.withLock { pools in
      guard var entry = pools[tenant] else { return nil }
      entry.lastUse = .now
      pools[tenant] = entry
      return entry.pool
    }
  }

  /// Caches `pool`, first dropping pools idle too long and, at the bound, the least
  /// recently used.
  private func keep(_ pool: DatabasePool, for tenant: TenantID) {
    let dropped = pools.withLock { pools -> [DatabasePool] in
      let now = ContinuousClock.now
      var dropped: [DatabasePool] = []
      for (key, entry) in pools where now - entry.lastUse > idleTimeout {
        dropped.append(entry.pool)
        pools[key] = nil
      }
      while pools.count >= maxOpen, let oldest = pools.min(by: { $0.value.lastUse < $1.value.lastUse }) {
        dropped.append(oldest.value.pool)
        pools[oldest.key] = nil
      }
      pools[tenant] = OpenPool(pool: pool, lastUse: now)
      return dropped
    }
    // Released outside the lock: a pool no call uses closes here (its deinit).
    _ = dropped
  }

  /// Writes a copy of the template (a migrated empty database) to `path`, durably: a
  /// temporary file, flushed, then renamed into place.
  private func createFromTemplate(at path: String) throws {
    let bytes = try template.withLock { template -> Data in
      if let template { return template }
      let made = try makeTemplate()
      template = made
      return made
    }
    let directory = (path as NSString).deletingLastPathComponent
    try PrivateFiles.createDirectory(directory)
    let temporary = path + ".new"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary]) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    let synced = fsync(descriptor) == 0
    close(descriptor)
    guard written == bytes.count, synced, rename(temporary, path) == 0 else {
      unlink(temporary)
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    Self.syncDirectory(directory)
  }

  /// A migrated empty database of this service, as bytes (built in a scratch file).
  private func makeTemplate() throws -> Data {
    try PrivateFiles.createDirectory(transferDirectory)
    let scratch = "\(transferDirectory)/template-\(service)-\(UUID().uuidString).sqlite"
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let queue = try DatabaseQueue(path: scratch)
    try migrator.migrate(queue)
    // In WAL mode already, so that opening a copy does not convert it (a write and a sync).
    _ = try queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
    try queue.close()
    return try Data(contentsOf: URL(fileURLWithPath: scratch))
  }

  func requireNotDeleted(_ tenant: TenantID) throws {
    if deleted.withLock({ $0.contains(tenant) }) {
      throw TenantDataError(code: .deleted, description: "the data of tenant \(tenant) was deleted")
    }
  }

  /// Removes the open pool of `tenant`, if any (the caller holds its opening lock).
  func takePool(_ tenant: TenantID) -> DatabasePool? {
    pools.withLock { $0.removeValue(forKey: tenant)?.pool }
  }

  /// Whether `tenant`'s database is open in this process.
  func isOpen(_ tenant: TenantID) -> Bool {
    pools.withLock { $0[tenant] != nil }
  }

  /// Databases open now.
  public var openCount: Int { pools.withLock { $0.count } }

  /// The service whose databases these are ("metrics", …).
  public var serviceName: String { service }

  /// The directory for files in transit (exports being streamed, imports being verified):
  /// on the same file system as the tenants, so an import is installed by a rename.
  public var transferDirectory: String { "\(root)/transfers" }

  /// The connection settings every Sightline database uses.
  public static func configuration() -> Configuration {
    var config = Configuration()
    config.busyMode = .timeout(10)
    config.maximumReaderCount = readersPerPool
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
