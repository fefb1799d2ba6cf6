import Foundation
import SightlineModel
import Synchronization

/// Signed-in browsers. A session holds the API key it was opened with on the server side
/// only (the browser holds a random 256-bit id in an HttpOnly cookie), so the cockpit
/// calls the gateway with the user's own key and the gateway's roles and limits apply
/// unchanged. Sessions live in memory and end on expiry, sign-out or restart.
final class SessionStore: Sendable {
  /// One signed-in browser.
  struct Session: Sendable {
    /// The cookie value.
    let id: String
    /// The API key signed in with.
    let key: String
    /// The tenant, role and key id the gateway reported for it.
    let tenantID: String
    let role: String
    let keyID: String
    /// The token every form of this session must carry (CSRF).
    let csrf: String
    /// When it ends.
    let expires: ContinuousClock.Instant

    var isAdmin: Bool { role == "admin" }
  }

  /// How long a session lasts.
  let lifetime: Duration
  /// Most sessions held; the oldest go first beyond it.
  let capacity: Int
  private let sessions = Mutex<[String: Session]>([:])

  init(lifetime: Duration = .seconds(8 * 3_600), capacity: Int = 10_000) {
    self.lifetime = lifetime
    self.capacity = capacity
  }

  /// Opens a session for `key`.
  func open(key: String, tenantID: String, role: String, keyID: String) -> Session {
    let session = Session(
      id: Self.token(), key: key, tenantID: tenantID, role: role, keyID: keyID, csrf: Self.token(),
      expires: .now + lifetime)
    sessions.withLock { sessions in
      let now = ContinuousClock.now
      sessions = sessions.filter { $0.value.expires > now }
      if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
        sessions[oldest.key] = nil
      }
      sessions[session.id] = session
    }
    return session
  }

  /// The live session with cookie value `id`.
  func session(_ id: String?) -> Session? {
    guard let id else { return nil }
    return sessions.withLock { sessions in
      guard let session = sessions[id] else { return nil }
      guard session.expires > .now else {
        sessions[id] = nil
        return nil
      }
      return session
    }
  }

  /// Ends session `id`.
  func close(_ id: String) {
    _ = sessions.withLock { $0.removeValue(forKey: id) }
  }

  /// 32 random bytes as hex.
  static func token() -> String { Hex.random(bytes: 32) }
}
