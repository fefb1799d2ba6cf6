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
final class CustomerFactsCache: Sendable {
  private struct Entry {
    var offset: Int64
    var facts: CustomerTable
  }

  private let entries = Mutex<[TenantID: Entry]>([:])

  init() {}

  /// `tenant`'s customer facts as of the store's applied offset.
  func facts(for tenant: TenantID, store: any SegmentationStore) throws -> CustomerTable {
    let cached = entries.withLock { $0[tenant] }
    let entry: Entry
    if let cached, try store.appliedOffset() >= cached.offset {
      let update = try store.customerFacts(changedAfter: cached.offset)
      guard update.offset > cached.offset, let changed = update.changedIDs else { return cached.facts }
      entry = Entry(offset: update.offset, facts: cached.facts.replacing(changed, with: update.customers))
    } else {
      // First read, or the store went back (the tenant was deleted or imported).
      let update = try store.customerFacts(changedAfter: nil)
      entry = Entry(offset: update.offset, facts: update.customers)
      Self.returnFreedMemory()
    }
    entries.withLock { entries in
      // Two reads may refresh at once; keep the newer.
      if entries[tenant].map({ $0.offset <= entry.offset }) ?? true { entries[tenant] = entry }
    }
    return entry.facts
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
    _ = entries.withLock { $0.removeValue(forKey: tenant) }
  }
}
