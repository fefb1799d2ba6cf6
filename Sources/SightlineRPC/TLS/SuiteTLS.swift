public import GRPCNIOTransportHTTP2

/// Builds the transport security of every Sightline endpoint from one PKI directory.
///
/// Service ports use mutual TLS and trust only the suite's CA, so only holders of a client
/// certificate it signed (the gateway, services calling services, operators' tools) get
/// in. The gateway's public port uses plain server-side TLS; clients there authenticate
/// with API keys instead.
public struct SuiteTLS: Sendable {
  /// Where the certificates live.
  public let pki: PKIDirectory

  /// TLS from the files in `pki`.
  public init(pki: PKIDirectory) { self.pki = pki }

  /// Security for a listening port. With `requireClientCertificate`, a client must present
  /// a certificate signed by the suite's CA or the handshake fails.
  public func serverSecurity(requireClientCertificate: Bool) -> HTTP2ServerTransport.Posix.TransportSecurity {
    let chain: [TLSConfig.CertificateSource] = [.file(path: pki.serverCertificate, format: .pem)]
    let key: TLSConfig.PrivateKeySource = .file(path: pki.serverKey, format: .pem)
    if requireClientCertificate {
      let caRoots: TLSConfig.TrustRootsSource = .certificates([.file(path: pki.caCertificate, format: .pem)])
      return .mTLS(certificateChain: chain, privateKey: key) { config in
        config.trustRoots = caRoots
        // Client certificates carry no host names; the CA signature is what we check.
        config.clientCertificateVerification = .noHostnameVerification
        config.requireALPN = false
      }
    }
    return .tls(certificateChain: chain, privateKey: key)
  }

  /// Security for a client that trusts the suite's CA and, when `identity` is given,
  /// presents that client certificate (needed for service ports).
  public func clientSecurity(identity: ClientIdentity?) -> HTTP2ClientTransport.Posix.TransportSecurity {
    Self.clientSecurity(
      caFile: pki.caCertificate,
      identity: identity.map {
        (certificate: pki.clientCertificate($0), key: pki.clientKey($0))
      })
  }

  /// Security for a client trusting the CA in `caFile`, optionally presenting a
  /// client certificate (a pair of PEM file paths).
  public static func clientSecurity(
    caFile: String, identity: (certificate: String, key: String)?
  )
    -> HTTP2ClientTransport.Posix.TransportSecurity
  {
    let roots: TLSConfig.TrustRootsSource = .certificates([.file(path: caFile, format: .pem)])
    if let identity {
      return .mTLS(
        certificateChain: [.file(path: identity.certificate, format: .pem)],
        privateKey: .file(path: identity.key, format: .pem)
      ) { config in
        config.trustRoots = roots
        config.serverCertificateVerification = .fullVerification
      }
    }
    return .tls { config in
      config.trustRoots = roots
      config.serverCertificateVerification = .fullVerification
    }
  }
}
