import Crypto
import Foundation
import SightlineModel
import SightlineWire

/// A tenant's redaction policy applied to the free text of validated events: survey
/// comments, feedback texts and the values of free profile attributes. Runs before an
/// event is serialized, so the original never reaches the log, a database file, a backup
/// or a downstream service.
struct EventRedaction {
  let redactor: Redactor

  /// The policy and key of `settings`. A pseudonym is the first 5 bytes of
  /// HMAC-SHA256(key, kind ":" canonical value), in hex: the same value gives the same
  /// pseudonym within the tenant, and without the key neither the value nor a link to
  /// another tenant's pseudonyms can be derived.
  init(_ settings: RedactionSettings) {
    let key = SymmetricKey(data: settings.key)
    redactor = Redactor(policy: settings.policy) { kind, value in
      let code = HMAC<SHA256>.authenticationCode(for: Data((kind.rawValue + ":" + value).utf8), using: key)
      return Hex.encode(code.prefix(5))
    }
  }

  /// Redacts `event`'s free text in place; returns what was redacted, one entry per value.
  func apply(_ event: inout Sightline_Ingestion_V1_Event) -> [PersonalDataKind] {
    guard redactor.policy != .off else { return [] }
    var found: [PersonalDataKind] = []
    func redact(_ text: inout String) {
      let result = redactor.redact(text)
      guard !result.found.isEmpty else { return }
      text = result.text
      found += result.found
    }
    switch event.record {
    case .surveyResponse(var survey):
      redact(&survey.comment)
      if !found.isEmpty { event.record = .surveyResponse(survey) }
    case .feedback(var feedback):
      redact(&feedback.text)
      if !found.isEmpty { event.record = .feedback(feedback) }
    case .customerProfile(var profile):
      for key in profile.attributes.keys { redact(&profile.attributes[key]!) }
      if !found.isEmpty { event.record = .customerProfile(profile) }
    default:
      break
    }
    return found
  }
}
