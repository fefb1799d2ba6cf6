/// What an API key may do within its tenant. Roles are ordered: each includes the
/// rights of the ones below it.
public enum Role: String, Sendable, CaseIterable, Codable, Comparable {
  /// Reads KPIs, segments and experiments.
  case reader
  /// Reader, plus ingest and define rules, segments and experiments.
  case writer
  /// Writer, plus manage the tenant's keys and settings.
  case admin

  private var rank: Int {
    switch self {
    case .reader: 0
    case .writer: 1
    case .admin: 2
    }
  }

  /// True when a key with this role may call a method that requires `required`.
  public func satisfies(_ required: Role) -> Bool { self >= required }

  public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
