import Crypto
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import SightlineModel
public import SightlineWire
import SwiftProtobuf

/// A tenant export on disk (docs/operations.md, "Tenant data lifecycle"): `manifest.json`
/// (the `TenantArchive` in proto3 JSON: the tenant, its keys' hashes, each file's size and
/// SHA-256) and one `<service>.sqlite` per service. The directory is 0700 and its files
/// 0600: it holds the tenant's data.
public enum TenantExportDirectory {
  /// The manifest's file name; it is written last, so a directory without it is an
  /// export that did not finish.
  public static let manifestName = "manifest.json"
  /// Bytes per data message sent on import.
  static let chunkBytes = 256 * 1024

  /// Why an export directory cannot be written or used.
  public struct Problem: Error, CustomStringConvertible {
    /// A sentence naming the file and what is wrong.
    public var description: String
  }

  // MARK: Export

  /// Exports tenant `name` through the gateway into `directory`, which must be new or
  /// empty. Each file is checked against the size and SHA-256 its service sent before it
  /// takes its final name; the manifest comes last.
  public static func export(
    name: String, into directory: String, gateway client: GRPCClient<HTTP2ClientTransport.Posix>, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_TenantArchive {
    try prepare(directory)
    let archive = try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).exportTenant(
      .with { $0.name = name }, metadata: metadata
    ) { response in
      var archive: Sightline_Gateway_V1_TenantArchive?
      var file: IncomingFile?
      for try await message in response.messages {
        switch message.part {
        case .archive(let header): archive = header
        case .chunk(let chunk):
          switch chunk.part {
          case .start(let start):
            guard file == nil, archive != nil else { throw Problem(description: "the export stream is out of order") }
            file = try IncomingFile(directory: directory, service: start.service)
          case .data(let data):
            guard let file else { throw Problem(description: "data outside a file in the export stream") }
            try file.write(data)
          case .end(let end):
            guard let current = file else { throw Problem(description: "a file end outside a file in the export stream") }
            archive?.files.append(try current.finish(expected: end))
            file = nil
          case nil: break
          }
        case nil: break
        }
      }
      guard let archive, file == nil else { throw Problem(description: "the export stream ended early") }
      return archive
    }
    try writeManifest(archive, in: directory)
    return archive
  }

  private static func prepare(_ directory: String) throws {
    let manager = FileManager.default
    if manager.fileExists(atPath: directory) {
      guard (try manager.contentsOfDirectory(atPath: directory)).isEmpty else {
        throw Problem(description: "\(directory) is not empty: export into a new directory")
      }
    }
    try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
  }

  /// One service's file as it arrives: written under a temporary name and hashed.
  private final class IncomingFile {
    let service: String
    let path: String
    let handle: FileHandle
    var hash = SHA256()
    var bytes: Int64 = 0

    init(directory: String, service: String) throws {
      // The name comes from the stream: only the suite's service names make file names.
      guard SuiteComponent.backends.map(\.rawValue).contains(service) else {
        throw Problem(description: "the export stream names an unknown service '\(service)'")
      }
      self.service = service
      path = "\(directory)/\(service).sqlite"
      guard FileManager.default.createFile(atPath: path + ".partial", contents: nil, attributes: [.posixPermissions: 0o600]),
        let handle = FileHandle(forWritingAtPath: path + ".partial")
      else { throw Problem(description: "cannot create \(path).partial") }
      self.handle = handle
    }

    func write(_ data: Data) throws {
      hash.update(data: data)
      bytes += Int64(data.count)
      try handle.write(contentsOf: data)
    }

    func finish(expected end: Sightline_Tenantdata_V1_FileEnd) throws -> Sightline_Gateway_V1_ArchivedFile {
      try handle.synchronize()
      try handle.close()
      let digest = Hex.encode(hash.finalize())
      guard bytes == end.bytes, digest == end.sha256 else {
        throw Problem(
          description:
            "the \(service) file arrived damaged: \(bytes) bytes with SHA-256 \(digest); the service sent \(end.bytes) bytes with \(end.sha256)"
        )
      }
      try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
      return .with {
        $0.service = service
        $0.file = (path as NSString).lastPathComponent
        $0.bytes = bytes
        $0.sha256 = digest
      }
    }
  }

  private static func writeManifest(_ archive: Sightline_Gateway_V1_TenantArchive, in directory: String) throws {
    // Indented for the people who read it; written under a temporary name and renamed, so
    // the manifest exists only once complete.
    let compact = try archive.jsonUTF8Data()
    let object = try JSONSerialization.jsonObject(with: compact)
    let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    let path = "\(directory)/\(manifestName)"
    guard FileManager.default.createFile(atPath: path + ".partial", contents: pretty, attributes: [.posixPermissions: 0o600])
    else { throw Problem(description: "cannot write \(path)") }
    try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
  }

  // MARK: Import

  /// The manifest of the export in `directory`, after checking that every file it lists is
  /// there with its size and SHA-256.
  public static func read(_ directory: String) throws -> Sightline_Gateway_V1_TenantArchive {
    let path = "\(directory)/\(manifestName)"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Problem(description: "no \(manifestName) in \(directory): not an export, or one that did not finish")
    }
    let archive: Sightline_Gateway_V1_TenantArchive
    do {
      archive = try Sightline_Gateway_V1_TenantArchive(jsonUTF8Data: data)
    } catch {
      throw Problem(description: "\(path) is not a tenant export manifest: \(error)")
    }
    for file in archive.files {
      guard !file.file.contains("/"), let handle = FileHandle(forReadingAtPath: "\(directory)/\(file.file)") else {
        throw Problem(description: "\(directory)/\(file.file), listed in the manifest, is missing")
      }
      defer { try? handle.close() }
      var hash = SHA256()
      var bytes: Int64 = 0
      while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        hash.update(data: chunk)
        bytes += Int64(chunk.count)
      }
      let digest = Hex.encode(hash.finalize())
      guard bytes == file.bytes, digest == file.sha256 else {
        throw Problem(
          description:
            "\(directory)/\(file.file) is damaged: \(bytes) bytes with SHA-256 \(digest); the manifest says \(file.bytes) bytes with \(file.sha256)"
        )
      }
    }
    return archive
  }

  /// Imports the export in `directory` through the gateway, after `read` has verified it.
  /// The services verify every file again as they receive it.
  public static func importTenant(
    from directory: String, gateway client: GRPCClient<HTTP2ClientTransport.Posix>, metadata: Metadata
  ) async throws -> Sightline_Gateway_V1_ImportTenantResponse {
    let archive = try read(directory)
    return try await Sightline_Gateway_V1_Gateway.Client(wrapping: client).importTenant(metadata: metadata) { writer in
      try await writer.write(.with { $0.archive = archive })
      for file in archive.files {
        try await writer.write(
          .with {
            $0.chunk = .with {
              $0.start = .with {
                $0.tenantID = archive.tenant.id; $0.service = file.service
              }
            }
          })
        guard let handle = FileHandle(forReadingAtPath: "\(directory)/\(file.file)") else {
          throw Problem(description: "\(directory)/\(file.file) vanished during the import")
        }
        defer { try? handle.close() }
        while let data = try handle.read(upToCount: chunkBytes), !data.isEmpty {
          try await writer.write(.with { $0.chunk = .with { $0.data = data } })
        }
        try await writer.write(
          .with {
            $0.chunk = .with {
              $0.end = .with {
                $0.bytes = file.bytes; $0.sha256 = file.sha256
              }
            }
          })
      }
    }
  }
}
