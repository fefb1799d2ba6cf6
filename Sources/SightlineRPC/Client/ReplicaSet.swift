import Foundation
import GRPCCore
public import GRPCNIOTransportCore

#if canImport(Glibc)
import Glibc
#endif

/// The replicas of one service: several `HOST:PORT` addresses, each of which may be a DNS
/// name with several records (docs/scaling.md). Written `HOST:PORT,HOST:PORT`.
///
/// A client of a replica set spreads its calls over every address it resolves to (one
/// connection each, round robin over those that are up), unlike a plain DNS target, which
/// gRPC treats as one endpoint and sends everything to the first address that answers.
public struct ReplicaSet: ResolvableTarget, Sendable, Hashable, CustomStringConvertible {
  /// The addresses as given.
  public var addresses: [HostAndPort]

  /// A set of `addresses` (at least one).
  public init(_ addresses: [HostAndPort]) {
    self.addresses = addresses
  }

  /// Parses `HOST:PORT[,HOST:PORT…]`; nil when empty or an address is malformed.
  public init?(_ text: String) {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty else { return nil }
    var addresses: [HostAndPort] = []
    for part in parts {
      guard let address = HostAndPort(part) else { return nil }
      addresses.append(address)
    }
    self.init(addresses)
  }

  public var description: String { addresses.map(\.description).joined(separator: ",") }

  /// Replicas listening on loopback at `ports`.
  public static func local(_ ports: Int...) -> ReplicaSet {
    ReplicaSet(ports.map { HostAndPort(host: "127.0.0.1", port: $0) })
  }

  /// The first address (where a single one is needed: a health probe's label, a launcher).
  public var first: HostAndPort { addresses[0] }

  /// Every socket address the set resolves to now, in order, without repeats: literals as
  /// they are, names through the system resolver.
  func resolve() throws -> [SocketAddress] {
    var resolved: [SocketAddress] = []
    for address in addresses {
      let found =
        address.isIPLiteral
        ? [
          address.host.contains(":")
            ? SocketAddress.ipv6(host: address.host, port: address.port) : .ipv4(host: address.host, port: address.port)
        ]
        : try Self.lookUp(address)
      for socket in found where !resolved.contains(socket) { resolved.append(socket) }
    }
    return resolved
  }

  /// The addresses `address`'s host name has (getaddrinfo, TCP).
  static func lookUp(_ address: HostAndPort) throws -> [SocketAddress] {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(address.host, String(address.port), &hints, &list)
    guard status == 0 else {
      throw RPCError(code: .unavailable, message: "cannot resolve \(address): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(list) }
    var addresses: [SocketAddress] = []
    var entry = list
    while let info = entry?.pointee {
      var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
      if let socket = info.ai_addr,
        getnameinfo(socket, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
      {
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        addresses.append(info.ai_family == AF_INET6 ? .ipv6(host: host, port: address.port) : .ipv4(host: host, port: address.port))
      }
      entry = info.ai_next
    }
    return addresses
  }

  /// The resolver of replica sets: every resolved address is an endpoint of its own, so the
  /// round-robin balancer spreads calls over them all. Resolved again whenever the
  /// balancer asks (a connection failed), so a DNS name that gains or loses records is
  /// followed.
  public struct Resolver: NameResolverFactory, Sendable {
    public typealias Target = ReplicaSet

    public init() {}

    public func resolver(for target: ReplicaSet) -> NameResolver {
      let results = AsyncThrowingStream<NameResolutionResult, any Error>(unfolding: {
        let addresses = try await BlockingWork.run { try target.resolve() }
        return NameResolutionResult(endpoints: addresses.map { Endpoint(addresses: [$0]) }, serviceConfig: nil)
      })
      return NameResolver(names: RPCAsyncSequence(wrapping: results), updateMode: .pull, authority: target.first.host)
    }
  }
}
