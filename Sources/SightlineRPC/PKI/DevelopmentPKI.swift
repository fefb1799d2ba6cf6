import Crypto
import Foundation
import SwiftASN1
import X509

/// The files of a Sightline PKI in one directory.
///
/// Layout (all PEM): `ca.pem` / `ca-key.pem` (the suite's internal CA), `server.pem` /
/// `server-key.pem` (one certificate every process serves, with SANs for `localhost`,
/// `127.0.0.1`, `::1` and each component's name), and one client certificate per
/// caller role: `gateway`, `service` (service-to-service calls) and `operator`
/// (operators' tools). Keys are written with mode 0600.
public struct PKIDirectory: Sendable, Hashable {
  /// The directory holding the files.
  public let path: String

  /// A PKI rooted at `path`.
  public init(path: String) { self.path = path }

  /// The CA certificate every party trusts.
  public var caCertificate: String { file("ca.pem") }
  /// The CA's private key; only needed to issue certificates.
  public var caKey: String { file("ca-key.pem") }
  /// The server certificate chain every process presents.
  public var serverCertificate: String { file("server.pem") }
  /// The server certificate's key.
  public var serverKey: String { file("server-key.pem") }
  /// A client certificate issued to `identity`.
  public func clientCertificate(_ identity: ClientIdentity) -> String { file("client-\(identity.rawValue).pem") }
  /// The key of the client certificate issued to `identity`.
  public func clientKey(_ identity: ClientIdentity) -> String { file("client-\(identity.rawValue)-key.pem") }

  /// True when every file of the PKI exists.
  public var isComplete: Bool {
    var files = [caCertificate, caKey, serverCertificate, serverKey]
    for identity in ClientIdentity.allCases {
      files += [clientCertificate(identity), clientKey(identity)]
    }
    return files.allSatisfy { FileManager.default.fileExists(atPath: $0) }
  }

  private func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// Who holds a client certificate. The identity is the certificate's common name.
public enum ClientIdentity: String, Sendable, CaseIterable {
  /// The gateway, calling the backend services.
  case gateway
  /// A service calling another service (metrics and segmentation tail ingestion).
  case service
  /// Operators' tools (`sightline` with `--data-dir`, the tests).
  case `operator`
}

/// Generates a development PKI with swift-certificates: a P-256 CA and certificates it
/// signs, valid for one year. Production deployments point at their own files instead.
public enum DevelopmentPKI {
  /// The DNS names every server certificate carries, besides `localhost`.
  public static let serviceNames = [
    "sightline-gateway", "sightline-ingestion", "sightline-metrics",
    "sightline-segmentation", "sightline-experiments",
    "gateway", "ingestion", "metrics", "segmentation", "experiments",
  ]

  /// Creates the PKI in `directory` unless it is already complete. Returns true when it
  /// generated new files. Writing is atomic per file; keys get mode 0600.
  @discardableResult
  public static func ensure(_ directory: PKIDirectory, extraDNSNames: [String] = []) throws -> Bool {
    if directory.isComplete { return false }
    try FileManager.default.createDirectory(
      atPath: directory.path, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700])
    let now = Date()
    let notBefore = now.addingTimeInterval(-3600)
    let notAfter = now.addingTimeInterval(365 * 24 * 3600)

    let caKey = P256.Signing.PrivateKey()
    let caName = try DistinguishedName {
      OrganizationName("Sightline")
      CommonName("Sightline development CA")
    }
    let caCert = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
      notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey))
      },
      issuerPrivateKey: .init(caKey))

    func issue(
      commonName: String, usage: [ExtendedKeyUsage.Usage], names: [GeneralName]
    ) throws
      -> (Certificate, P256.Signing.PrivateKey)
    {
      let key = P256.Signing.PrivateKey()
      let subject = try DistinguishedName {
        OrganizationName("Sightline")
        CommonName(commonName)
      }
      let cert = try Certificate(
        version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
        notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: subject,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.notCertificateAuthority)
          Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
          try ExtendedKeyUsage(usage)
          AuthorityKeyIdentifier(keyIdentifier: try caCert.extensions.subjectKeyIdentifier?.keyIdentifier)
          if !names.isEmpty { SubjectAlternativeNames(names) }
        },
        issuerPrivateKey: .init(caKey))
      return (cert, key)
    }

    var sans: [GeneralName] = (["localhost"] + serviceNames + extraDNSNames).map { .dnsName($0) }
    sans.append(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])))
    sans.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))))
    let (serverCert, serverKey) = try issue(commonName: "sightline-server", usage: [.serverAuth, .clientAuth], names: sans)

    try write(pem(caCert), to: directory.caCertificate, secret: false)
    try write(caKey.pemRepresentation, to: directory.caKey, secret: true)
    try write(pem(serverCert), to: directory.serverCertificate, secret: false)
    try write(serverKey.pemRepresentation, to: directory.serverKey, secret: true)
    for identity in ClientIdentity.allCases {
      let (cert, key) = try issue(commonName: "sightline-\(identity.rawValue)", usage: [.clientAuth], names: [])
      try write(pem(cert), to: directory.clientCertificate(identity), secret: false)
      try write(key.pemRepresentation, to: directory.clientKey(identity), secret: true)
    }
    return true
  }

  private static func pem(_ certificate: Certificate) throws -> String {
    try certificate.serializeAsPEM().pemString
  }

  /// Writes through a temporary file and a rename so a crash never leaves half a key;
  /// secrets are created with 0600 before any byte is written.
  static func write(_ text: String, to path: String, secret: Bool) throws {
    let temporary = path + ".tmp-\(getpid())"
    let mode: Int = secret ? 0o600 : 0o644
    guard
      FileManager.default.createFile(
        atPath: temporary, contents: Data(text.utf8),
        attributes: [.posixPermissions: mode])
    else { throw PKIError(path: path, reason: "cannot create the file") }
    if rename(temporary, path) != 0 {
      throw PKIError(path: path, reason: String(cString: strerror(errno)))
    }
  }
}

/// A PKI file could not be written.
public struct PKIError: Error, CustomStringConvertible {
  /// The file concerned.
  public let path: String
  /// Why.
  public let reason: String
  public var description: String { "cannot write \(path): \(reason)" }

  /// An error about `path`.
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }
}
