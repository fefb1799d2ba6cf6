import Foundation
public import GRDB

/// Directories and database files that hold tenants' data: directories 0700 and databases
/// 0600 (with their -wal and -shm files), whatever the process umask, so another local
/// user can read neither.
public enum PrivateFiles {
  /// Creates `path` and any missing parents with mode 0700; tightens an existing one.
  public static func createDirectory(_ path: String) throws {
    try FileManager.default.createDirectory(
      atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
  }

  /// Opens (creating) the SQLite database at `path` in a private directory. The file is
  /// created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
  /// database file's mode.
  public static func openDatabase(at path: String, configuration: Configuration) throws -> DatabasePool {
    try createDirectory((path as NSString).deletingLastPathComponent)
    if !FileManager.default.fileExists(atPath: path) {
      _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
    }
    for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
    }
    return try DatabasePool(path: path, configuration: configuration)
  }
}
