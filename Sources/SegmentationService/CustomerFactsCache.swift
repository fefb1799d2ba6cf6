import SightlineModel
import SightlineStorage
import Synchronization

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
    var facts: [CustomerFacts]
  }

  private let entries = Mutex<[TenantID: Entry]>([:])

  init() {}

  /// `tenant`'s customer facts, sorted by id, as of the store's applied offset.
  func facts(for tenant: TenantID, store: any SegmentationStore) throws -> [CustomerFacts] {
    let cached = entries.withLock { $0[tenant] }
    let entry: Entry
    if let cached, try store.appliedOffset() >= cached.offset {
      let update = try store.customerFacts(changedAfter: cached.offset)
      guard update.offset > cached.offset, let changed = update.changedIDs else { return cached.facts }
      entry = Entry(offset: update.offset, facts: Self.merge(cached.facts, changed: changed, fresh: update.customers))
    } else {
      // First read, or the store went back (the tenant was deleted or imported).
      let update = try store.customerFacts(changedAfter: nil)
      entry = Entry(offset: update.offset, facts: update.customers)
    }
    entries.withLock { entries in
      // Two reads may refresh at once; keep the newer.
      if entries[tenant].map({ $0.offset <= entry.offset }) ?? true { entries[tenant] = entry }
    }
    return entry.facts
  }

  /// Drops `tenant`'s facts (its data was deleted or replaced).
  func forget(_ tenant: TenantID) {
    _ = entries.withLock { $0.removeValue(forKey: tenant) }
  }

  /// `old` with the customers in `changed` replaced by their `fresh` facts (dropped when
  /// they have none), all sorted by id.
  static func merge(_ old: [CustomerFacts], changed: [String], fresh: [CustomerFacts]) -> [CustomerFacts] {
    var result: [CustomerFacts] = []
    result.reserveCapacity(old.count + fresh.count)
    var o = 0
    var f = 0
    for id in changed {
      while o < old.count, old[o].customerID < id {
        result.append(old[o])
        o += 1
      }
      if o < old.count, old[o].customerID == id { o += 1 }
      while f < fresh.count, fresh[f].customerID < id { f += 1 }
      if f < fresh.count, fresh[f].customerID == id { result.append(fresh[f]) }
    }
    result.append(contentsOf: old[o...])
    return result
  }
}
