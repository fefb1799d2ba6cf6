import SightlineModel
import SightlineStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Each tenant's customer facts in memory, brought up to date before every read.
///
/// Segments are evaluated as of the query over the whole customer base, so each call needs
/// every customer's facts. Reading them all from the store per call costs seconds at a
/// million customers; instead the first read loads them once, and each later read asks the
/// store only for the customers that batches after the cached offset changed, and merges
/// those in. Answers are therefore exactly those of a full read at the same offset, and this
/// works whichever process folded the batches.
///
/// Memory is bounded: when the cached tenants hold more than `maxCustomers` customers
/// together, the least recently read tenants are dropped (their next read loads them again).
final class CustomerFactsCache: Sendable {
  /// The default bound: about 300 MiB per million customers (docs/performance.md).
  static let defaultMaxCustomers = 3_000_000

  private struct Entry {
    var offset: Int64
    var facts: CustomerTable
    /// When it was last read, in reads of this cache.
    var lastRead: UInt64
  }

  private struct State {
    var entries: [TenantID: Entry] = [:]
    var reads: UInt64 = 0
  }

  private let state = Mutex(State())
  private let maxCustomers: Int

  init(maxCustomers: Int = CustomerFactsCache.defaultMaxCustomers) {
    self.maxCustomers = maxCustomers
  }

  /// The tenants whose facts are held.
  var cachedTenants: Set<TenantID> { state.withLock { Set($0.entries.keys) } }

  /// `tenant`'s customer facts as of the store's applied offset.
  func facts(for tenant: TenantID, store: any SegmentationStore) throws -> CustomerTable {
    let cached = state.withLock { $0.entries[tenant] }
    var entry: Entry
    if let cached, try store.appliedOffset() >= cached.offset {
      let update = try store.customerFacts(changedAfter: cached.offset)
      if update.offset > cached.offset, let changed = update.changedIDs {
        entry = Entry(offset: update.offset, facts: cached.facts.replacing(changed, with: update.customers), lastRead: 0)
      } else {
        entry = cached
      }
    } else {
      // First read, or the store went back (the tenant was deleted or imported).
      let update = try store.customerFacts(changedAfter: nil)
      entry = Entry(offset: update.offset, facts: update.customers, lastRead: 0)
      Self.returnFreedMemory()
    }
    state.withLock { state in
      state.reads += 1
      entry.lastRead = state.reads
      // Two reads may refresh at once; keep the newer.
      if state.entries[tenant].map({ $0.offset <= entry.offset }) ?? true { state.entries[tenant] = entry }
      Self.evict(&state, keeping: tenant, maxCustomers: maxCustomers)
    }
    return entry.facts
  }

  /// Drops the least recently read tenants, other than `kept`, while the cache holds more
  /// than `maxCustomers` customers.
  private static func evict(_ state: inout State, keeping kept: TenantID, maxCustomers: Int) {
    var total = state.entries.values.reduce(0) { $0 + $1.facts.count }
    guard total > maxCustomers else { return }
    for (tenant, entry) in state.entries.sorted(by: { $0.value.lastRead < $1.value.lastRead }) where tenant != kept {
      state.entries[tenant] = nil
      total -= entry.facts.count
      if total <= maxCustomers { return }
    }
  }

  /// A full read's rows are gone once the columns are built: give their pages back to the
  /// system (glibc's `malloc_trim`, which Swift's Glibc module does not declare), so the
  /// resident size is what stays cached.
  private static func returnFreedMemory() {
    #if canImport(Glibc)
    typealias Trim = @convention(c) (Int) -> Int32
    if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }
    #endif
  }

  /// Drops `tenant`'s facts (its data was deleted or replaced).
  func forget(_ tenant: TenantID) {
    _ = state.withLock { $0.entries.removeValue(forKey: tenant) }
  }
}
