import Foundation
import GRDB
import IngestionService
import SightlineLauncher
import SightlineModel
import SightlineTesting
import Synchronization
import Testing

@testable import SightlineRPC
@testable import SightlineStorage

/// The parts that let one deployment follow many tenants: the change feed, the workers'
/// queue, and the bounded cache of open databases (issue 17).
@Suite struct ChangeFeedTests {
  static let a = TenantID("t_aaaaaaaaaaaaaaaa")!
  static let b = TenantID("t_bbbbbbbbbbbbbbbb")!
  static let c = TenantID("t_cccccccccccccccc")!

  /// The first `count` deliveries of a new watcher of `feed`, after `afterSubscribing` ran.
  static func deliveries(
    _ feed: ChangeFeed, count: Int, limit: Int = 1_000, afterSubscribing: @escaping @Sendable () -> Void = {}
  ) async throws -> [ChangeFeed.Changes] {
    final class Seen: Sendable {
      let changes = Mutex<[ChangeFeed.Changes]>([])
    }
    let seen = Seen()
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        try await feed.watch(limit: limit) { changes in
          let total = seen.changes.withLock { seen in
            seen.append(changes)
            return seen.count
          }
          if total == 1 { afterSubscribing() }
          if total >= count { throw CancellationError() }
        }
      }
      _ = try? await group.next()
      group.cancelAll()
    }
    return seen.changes.withLock { $0 }
  }

  @Test func aWatcherGetsEveryHeadThenTheSnapshotsEndThenCoalescedMoves() async throws {
    let feed = ChangeFeed()
    feed.fill([Self.a: 5, Self.b: 7])
    let seen = try await Self.deliveries(feed, count: 2) {
      feed.completeSnapshot()
      // Three commits of one tenant before the watcher looks again: one entry, the newest.
      feed.moved(Self.c, to: 1)
      feed.moved(Self.c, to: 2)
      feed.moved(Self.c, to: 3)
      feed.moved(Self.a, to: 4)  // older than the head known: not a move
    }
    #expect(seen[0].heads == [Self.a: 5, Self.b: 7])
    #expect(!seen[0].snapshotComplete)
    #expect(seen[1].heads == [Self.c: 3])
    #expect(seen[1].snapshotComplete)
  }

  @Test func aLargeSnapshotComesInChunksWithItsEndOnTheLast() async throws {
    let feed = ChangeFeed()
    var heads: [TenantID: Int64] = [:]
    for index in 0..<25 { heads[TenantID(String(format: "t_%016d", index))!] = Int64(index + 1) }
    feed.fill(heads)
    feed.completeSnapshot()
    let seen = try await Self.deliveries(feed, count: 3, limit: 10)
    #expect(seen.map(\.heads.count) == [10, 10, 5])
    #expect(seen.map(\.snapshotComplete) == [false, false, true])
    #expect(seen.reduce(into: [TenantID: Int64]()) { $0.merge($1.heads) { _, new in new } } == heads)
  }

  @Test func aDeletionTravelsOnTheFeedAndCancelsAPendingMove() async throws {
    let feed = ChangeFeed()
    feed.fill([Self.a: 5])
    feed.completeSnapshot()
    let seen = try await Self.deliveries(feed, count: 2) {
      feed.moved(Self.b, to: 9)
      feed.deleted(Self.b)
    }
    #expect(seen[1].heads.isEmpty)
    #expect(seen[1].deleted == [Self.b])
    #expect(feed.known.tenants == 1)
  }

  @Test func theQueueServesFirstComeAndATenantInATurnGoesToTheBack() async throws {
    let queue = TurnQueue()
    queue.enqueue(Self.a)
    queue.enqueue(Self.b)
    queue.enqueue(Self.a)  // queued already: once only
    #expect(await queue.next() == Self.a)
    queue.enqueue(Self.a)  // due again during its turn: not handed to a second worker
    queue.enqueue(Self.c)
    #expect(await queue.next() == Self.b)
    queue.finished(Self.a, again: false)  // its turn ends: behind C, not ahead
    #expect(await queue.next() == Self.c)
    #expect(await queue.next() == Self.a)
    queue.finished(Self.b, again: true)  // still behind after its turn: to the back
    #expect(await queue.next() == Self.b)
    queue.close()
    #expect(await queue.next() == nil)
  }

  @Test func openDatabasesAreBoundedAndNewOnesComeMigratedFromTheTemplate() throws {
    let directory = InProcessSuite.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let databases = TenantDatabases(root: directory, service: "ingestion", migrator: SQLiteEventLog.migrator, maxOpen: 3)
    let tenants = (0..<10).map { TenantID(String(format: "t_%016d", $0))! }
    for (index, tenant) in tenants.enumerated() {
      let store = SQLiteEventLog(writer: try databases.database(for: tenant))
      _ = try store.append(
        [LogRecord(eventID: "e\(index)", kind: "ticket_event", eventTimeMs: 1, payload: Data([1]), createsTicket: nil)], rejected: 0)
      #expect(databases.openCount <= 3)
    }
    // Every tenant's file is a migrated database of its own, and its data is still there
    // after its handle was closed and the file reopened.
    for tenant in tenants {
      #expect(try SQLiteEventLog(writer: try databases.database(for: tenant)).lastOffset() == 1)
      let mode = try FileManager.default.attributesOfItem(atPath: databases.path(for: tenant))[.posixPermissions] as? Int
      #expect(mode == 0o600)
    }
    #expect(databases.openCount == 3)
  }
}
