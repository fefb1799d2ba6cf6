import SightlineModel
import Synchronization

/// Each stored text's sentiment score, remembered: scoring every text of a tenant took most
/// of a themes call (the cockpit's voice page makes thirteen), and a stored text does not
/// change. Keyed by tenant, text id and a hash of the text, so a text rewritten under the
/// same id is scored again. Bounded: past `capacity` scores it starts over.
final class SentimentScores: Sendable {
  private let scores = Mutex<[Key: Double]>([:])
  private let capacity: Int

  private struct Key: Hashable {
    var tenant: String
    var id: String
    var text: Int
  }

  init(capacity: Int = 500_000) {
    self.capacity = capacity
  }

  /// `document`'s score (``Sentiment/score(_:)``), of `tenant`.
  func score(_ document: FeedbackDocument, tenant: TenantID) -> Double {
    let key = Key(tenant: tenant.rawValue, id: document.id, text: document.text.hashValue)
    if let known = scores.withLock({ $0[key] }) { return known }
    let score = Sentiment.score(document.text)
    scores.withLock { scores in
      if scores.count >= capacity { scores.removeAll(keepingCapacity: true) }
      scores[key] = score
    }
    return score
  }

  /// Forgets `tenant`'s scores (after its data was deleted or replaced).
  func forget(_ tenant: TenantID) {
    scores.withLock { scores in scores = scores.filter { $0.key.tenant != tenant.rawValue } }
  }
}
