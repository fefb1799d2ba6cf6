import Dispatch
public import Logging
import NIOCore
import NIOPosix
public import PostgresNIO
public import ServiceLifecycle
public import SightlineModel
import Synchronization

/// A bounded pool of PostgreSQL connections for synchronous callers: the stores, whose
/// protocols are synchronous like their SQLite twins.
///
/// Why not `PostgresClient` (docs/architecture.md, "PostgreSQL"): the stores are called
/// from gRPC handlers on Swift's cooperative pool, which has one thread per core. Blocking
/// such a thread on `PostgresClient`, whose own pool runs as tasks on that same cooperative
/// pool, deadlocks as soon as every thread waits. These connections are driven by
/// NIO's event-loop futures instead, on NIO's threads, so a caller that blocks on them
/// waits only for the database, never for another cooperative thread.
///
/// It runs as a `Service` in the process's `ServiceGroup`: at shutdown it closes its idle
/// connections and refuses new work.
public final class PostgresPool: Service, Sendable {
  /// The URL connected to (its role is the one the work runs as).
  public let url: DatabaseURL
  private let configuration: PostgresConnection.Configuration
  private let logger: Logger
  private let eventLoops: any EventLoopGroup
  /// Caps the connections open at once; a caller over the cap waits for one to be returned.
  private let slots: DispatchSemaphore
  private let state = Mutex<State>(State())

  private struct State {
    var idle: [PostgresConnection] = []
    var nextID = 1
    var closed = false
  }

  /// Connections kept at most.
  public let maxConnections: Int
  /// How long one statement may take before its connection is given up as broken (every
  /// big read goes through a cursor in pages, so no statement of the services' work comes
  /// near the default; migrations get longer).
  public let statementTimeout: Duration
  /// The PostgreSQL schema (namespace) the connections work in, before `public`: each
  /// service's tables live in a schema named after it.
  public let schema: String?

  /// A pool for `url` working in `schema` (nil: `public` only), at most `maxConnections`
  /// connections open at once.
  public init(
    url: DatabaseURL, schema: String? = nil, maxConnections: Int = 8, statementTimeout: Duration = .seconds(15), logger: Logger
  ) throws {
    self.url = url
    self.statementTimeout = statementTimeout
    self.schema = schema
    self.logger = logger
    self.maxConnections = maxConnections
    configuration = try url.connectionConfiguration()
    eventLoops = MultiThreadedEventLoopGroup.singleton
    slots = DispatchSemaphore(value: maxConnections)
  }

  /// Waits for graceful shutdown, then closes the idle connections.
  public func run() async throws {
    try? await gracefulShutdown()
    close()
  }

  /// Closes every idle connection; later calls fail.
  public func close() {
    let idle = state.withLock { state in
      state.closed = true
      defer { state.idle = [] }
      return state.idle
    }
    for connection in idle { Self.closeQuietly(connection) }
  }

  /// Runs `body` on a connection of the pool (opened if none is idle). A connection that
  /// failed is dropped, not returned, so the next caller opens a fresh one: that is how the
  /// pool recovers when the database restarts.
  public func withSession<R>(_ body: (PostgresSession) throws -> R) throws -> R {
    slots.wait()
    defer { slots.signal() }
    let connection: PostgresConnection
    do {
      connection = try checkOut()
    } catch let error as PoolClosed {
      throw error
    } catch {
      throw DatabaseUnavailable(error, url: url)
    }
    let session = PostgresSession(connection: connection, logger: logger, timeout: statementTimeout)
    do {
      let result = try body(session)
      checkIn(connection, broken: session.broken)
      return result
    } catch {
      checkIn(connection, broken: session.broken)
      // A connection that died under the work (the server restarting, the network gone)
      // is a passing failure; the next call opens a fresh one.
      if connection.isClosed || session.broken, !(error is DatabaseUnavailable) { throw DatabaseUnavailable(error, url: url) }
      throw error
    }
  }

  /// Runs `body` in a transaction; commits when it returns, rolls back when it throws. The
  /// caller is answered only after the commit.
  @discardableResult
  public func transaction<R>(_ body: (PostgresSession) throws -> R) throws -> R {
    try withSession { session in
      try session.execute("BEGIN")
      let result: R
      do {
        result = try body(session)
      } catch {
        // A rollback that fails leaves the connection closed, and it is dropped.
        _ = try? session.execute("ROLLBACK")
        throw error
      }
      try session.execute("COMMIT")
      return result
    }
  }

  /// Runs `body` in a transaction in which row-level security admits only `tenant`'s rows
  /// (docs/architecture.md, "PostgreSQL").
  @discardableResult
  public func transaction<R>(tenant: TenantID, _ body: (PostgresSession) throws -> R) throws -> R {
    try transaction { session in
      // `set_config(…, true)` is `SET LOCAL`: it ends with the transaction, so a pooled
      // connection never carries a tenant into the next one.
      try session.execute("SELECT set_config('sightline.tenant', \(tenant.rawValue), true)")
      return try body(session)
    }
  }

  /// Checks that the database answers as this URL's role; throws what to fix.
  /// Runs `body` in a read-only transaction of `tenant` that sees one snapshot throughout
  /// (repeatable read), for reads that must agree with each other.
  public func snapshot<R>(tenant: TenantID, _ body: (PostgresSession) throws -> R) throws -> R {
    try withSession { session in
      try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      do {
        try session.execute("SELECT set_config('sightline.tenant', \(tenant.rawValue), true)")
        let result = try body(session)
        try session.execute("COMMIT")
        return result
      } catch {
        _ = try? session.execute("ROLLBACK")
        throw error
      }
    }
  }

  public func checkReachable() throws(DatabaseStartupError) {
    do {
      _ = try withSession { session in try session.execute("SELECT 1") }
    } catch let error as DatabaseUnavailable {
      throw error.cause
    } catch {
      throw DatabaseStartupError(error, url: url)
    }
  }

  private func checkOut() throws -> PostgresConnection {
    let (reused, id): (PostgresConnection?, Int) = try state.withLock { state in
      guard !state.closed else { throw PoolClosed() }
      while let connection = state.idle.popLast() {
        if !connection.isClosed { return (connection, 0) }
      }
      state.nextID += 1
      return (nil, state.nextID)
    }
    if let reused { return reused }
    let connection = try PostgresConnection.connect(on: eventLoops.any(), configuration: configuration, id: id, logger: logger).wait()
    if let schema {
      do {
        _ = try connection.query(PostgresQuery(unsafeSQL: "SET search_path TO \(PostgresMigrator.quoted(schema)), public"), logger: logger)
          .wait()
      } catch {
        Self.closeQuietly(connection)
        throw error
      }
    }
    return connection
  }

  private func checkIn(_ connection: PostgresConnection, broken: Bool) {
    let keep = state.withLock { state in
      guard !state.closed, !connection.isClosed, !broken else { return false }
      state.idle.append(connection)
      return true
    }
    if !keep { Self.closeQuietly(connection) }
  }

  /// Closes `connection` without waiting; the callback holds it until the channel is
  /// closed (postgres-nio asserts that a connection is closed before it is freed).
  private static func closeQuietly(_ connection: PostgresConnection) {
    let closing: EventLoopFuture<Void> = connection.close()
    closing.whenComplete { _ in withExtendedLifetime(connection) {} }
  }

  deinit { close() }

  /// The database cannot be reached, or the connection died under the work: a failure that
  /// will likely pass (callers get UNAVAILABLE and retry).
  public struct DatabaseUnavailable: StoreUnavailable {
    /// What failed, explained.
    public let cause: DatabaseStartupError
    public var description: String { "the database is unavailable, retry later: \(cause)" }

    init(_ error: any Error, url: DatabaseURL) { cause = DatabaseStartupError(error, url: url) }
  }

  /// The pool was closed (the process is shutting down).
  public struct PoolClosed: Error, CustomStringConvertible {
    public var description: String { "the database pool is closed: the process is shutting down" }
  }
}

/// One connection checked out of a ``PostgresPool``: blocking queries.
public struct PostgresSession {
  /// The connection (for what the helpers here do not cover).
  public let connection: PostgresConnection
  let logger: Logger
  let timeout: Duration
  private let brokenFlag = BrokenFlag()

  /// Set once a statement timed out (a class: the session is a value passed around).
  private final class BrokenFlag: Sendable {
    let value = Atomic<Bool>(false)
  }

  init(connection: PostgresConnection, logger: Logger, timeout: Duration) {
    self.connection = connection
    self.logger = logger
    self.timeout = timeout
  }

  /// Whether a statement outlived the timeout: the connection is closed, not reused.
  var broken: Bool { brokenFlag.value.load(ordering: .relaxed) }

  /// Every row of `query`.
  @discardableResult
  public func query(_ query: PostgresQuery) throws -> [PostgresRow] {
    try result(query).rows
  }

  /// Runs `query` and returns how many rows it changed (its command tag's count).
  @discardableResult
  public func execute(_ query: PostgresQuery) throws -> Int {
    try result(query).metadata.rows ?? 0
  }

  /// Runs `query` and waits for its result, at most `timeout`: a connection that stops
  /// answering (seen once after a server crash: a query written as the server went away
  /// that was never failed) is closed and the caller told the database is unavailable,
  /// rather than blocking its thread for ever.
  private func result(_ query: PostgresQuery) throws -> PostgresQueryResult {
    let future = connection.query(query, logger: logger)
    let done = DispatchSemaphore(value: 0)
    let outcome = Mutex<Result<PostgresQueryResult, any Error>?>(nil)
    future.whenComplete { result in
      outcome.withLock { $0 = result }
      done.signal()
    }
    let (seconds, attoseconds) = timeout.components
    let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    if done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut {
      brokenFlag.value.store(true, ordering: .relaxed)
      let closing: EventLoopFuture<Void> = connection.close()
      closing.whenComplete { [connection] _ in withExtendedLifetime(connection) {} }
      throw StatementTimedOut(timeout: timeout, statement: query.sql)
    }
    return try outcome.withLock { $0! }.get()
  }

  /// A statement that did not answer within the session's timeout.
  struct StatementTimedOut: Error, CustomStringConvertible {
    let timeout: Duration
    /// The statement's text (placeholders, never values), so the error says what hung.
    let statement: String
    var description: String {
      let text = statement.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      let shown = text.count > 160 ? text.prefix(160) + "…" : Substring(text)
      return "no answer from the database within \(timeout) to \"\(shown)\"; the connection was closed"
    }
  }

  /// The single value of the first row of `query`, or nil when it returned no row.
  public func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) throws -> T? {
    guard let row = try self.query(query).first else { return nil }
    return try row.decode(T.self)
  }

  /// Calls `body` with each row of `query`, fetched in pages of `pageSize` through a
  /// cursor, so a read of millions of rows never holds them all. Must run in a transaction.
  public func forEachRow(
    paging query: PostgresQuery, pageSize: Int = 10_000, _ body: (PostgresRandomAccessRow) throws -> Void
  ) throws {
    try execute(PostgresQuery(unsafeSQL: "DECLARE paged_rows NO SCROLL CURSOR FOR " + query.sql, binds: query.binds))
    while true {
      let page = try self.query(PostgresQuery(unsafeSQL: "FETCH \(pageSize) FROM paged_rows"))
      for row in page { try body(row.makeRandomAccess()) }
      if page.count < pageSize { break }
    }
    try execute("CLOSE paged_rows")
  }
}
