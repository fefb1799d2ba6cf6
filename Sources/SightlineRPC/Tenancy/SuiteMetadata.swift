public import GRPCCore
public import SightlineModel

/// The metadata keys Sightline adds to calls, and how services read them.
public enum SuiteMetadata {
  /// The tenant a call acts for. Set only by the gateway (after resolving the caller's
  /// API key) and by services calling services, both over mutual TLS.
  public static let tenantKey = "x-sightline-tenant"
  /// A request id for correlating log lines across hops; the gateway sets one if the
  /// caller did not.
  public static let requestIDKey = "x-request-id"
  /// Who made the call: `<key label> (<key id>)`, set only by the gateway (a case's
  /// history records it).
  public static let callerKey = "x-sightline-caller"
  /// The API key header of callers at the gateway.
  public static let authorizationKey = "authorization"

  /// Call metadata carrying an API key, as callers of the gateway send it
  /// (`authorization: Bearer <key>`).
  public static func bearer(_ key: String) -> Metadata {
    var metadata = Metadata()
    metadata.addString("Bearer \(key)", forKey: authorizationKey)
    return metadata
  }

  /// Call metadata acting for `tenant`, as a service calling a service over mutual TLS
  /// sends it, with the request id of the call it serves (if any) for log correlation.
  public static func forTenant(_ tenant: TenantID, requestID: String? = nil) -> Metadata {
    var metadata = Metadata()
    metadata.addString(tenant.rawValue, forKey: tenantKey)
    if let requestID { metadata.addString(requestID, forKey: requestIDKey) }
    return metadata
  }

  /// The tenant in `metadata`, or UNAUTHENTICATED. A service accepts a tenant from
  /// nowhere else: not from a request field, not from a default.
  public static func requireTenant(_ metadata: Metadata) throws -> TenantID {
    let values = Array(metadata[stringValues: tenantKey])
    guard values.count == 1, let tenant = TenantID(values[0]) else {
      throw RPCError(
        code: .unauthenticated,
        message: values.isEmpty
          ? "no tenant in the call's metadata; call services through the gateway"
          : "malformed tenant in the call's metadata")
    }
    return tenant
  }

  /// The caller's name the gateway set in `metadata`, if any.
  public static func caller(_ metadata: Metadata) -> String? {
    metadata[stringValues: callerKey].first(where: { _ in true })
  }

  /// The request id in `metadata`, if any.
  public static func requestID(_ metadata: Metadata) -> String? {
    metadata[stringValues: requestIDKey].first(where: { _ in true })
  }
}
