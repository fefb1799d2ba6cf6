import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf
import Synchronization

/// The segmentation service's customers at risk, for the case rules of tenants that want
/// them (``CaseRules/atRiskMinScore``): asked at most once an hour per tenant, and again at
/// once when the tenant's case rules change; and its description of the customers on the
/// follow-up list.
final class AtRiskFeed: Sendable {
  let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let asked = Mutex<[TenantID: ContinuousClock.Instant]>([:])

  static let interval: Duration = .seconds(3600)
  /// Customers asked for: the list is ranked, the riskiest first.
  static let limit: Int32 = 200

  init(client: GRPCClient<HTTP2ClientTransport.Posix>) { self.client = client }

  /// Whether `tenant` is due to be asked about (or to have its rules looked at).
  func isDue(_ tenant: TenantID) -> Bool {
    asked.withLock { asked in asked[tenant].map { ContinuousClock.now - $0 >= Self.interval } ?? true }
  }

  /// `tenant` was looked at now: not again for an hour.
  func looked(_ tenant: TenantID) { asked.withLock { $0[tenant] = .now } }

  /// Look at `tenant` in the next round (its case rules changed).
  func forget(_ tenant: TenantID) { _ = asked.withLock { $0.removeValue(forKey: tenant) } }

  /// What the segmentation service knows of `customers` now (risk with reasons, recent
  /// comments and feedback), by customer id; customers it does not know are left out.
  func describe(_ customers: [String], of tenant: TenantID) async throws -> [String: Sightline_Segmentation_V1_CustomerDescription] {
    var options = CallOptions.defaults
    // A listing waits for it: better without the context than slow.
    options.timeout = .seconds(5)
    var described: [String: Sightline_Segmentation_V1_CustomerDescription] = [:]
    // At most 500 customers a call (the RPC's bound).
    for start in stride(from: 0, to: customers.count, by: 500) {
      let chunk = Array(customers[start..<min(start + 500, customers.count)])
      let reply = try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).describeCustomers(
        .with { $0.customerIds = chunk }, metadata: SuiteMetadata.forTenant(tenant), options: options)
      for customer in reply.customers { described[customer.customerID] = customer }
    }
    return described
  }

  /// `tenant`'s customers at risk, riskiest first, with their reasons in words.
  func customers(of tenant: TenantID) async throws -> [AtRiskCustomer] {
    var options = CallOptions.defaults
    options.timeout = .seconds(30)
    let reply = try await Sightline_Segmentation_V1_Segmentation.Client(wrapping: client).listAtRisk(
      .with { $0.limit = Self.limit }, metadata: SuiteMetadata.forTenant(tenant), options: options)
    return reply.customers.map { customer in
      AtRiskCustomer(
        customerID: customer.customerID, score: customer.score,
        reasons: customer.reasons.map { $0.detail.isEmpty ? $0.code : $0.detail })
    }
  }
}
