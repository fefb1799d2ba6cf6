import Foundation

/// Runs a child process to its end and collects its output (stdout and stderr together)
/// without holding a thread of Swift's cooperative pool: tests run in parallel on two
/// cores, and a pool thread blocked on a pipe for the child's whole run starves every
/// in-process suite's RPC handlers meanwhile.
enum ChildProcess {
  /// Whether `arguments` (through /usr/bin/env) exits 0; output discarded. For the
  /// `.enabled(if:)` checks of optional tools.
  static func succeeds(_ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
  }

  static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        continuation.resume(returning: data)
      }
    }
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

/// Everything a pipe delivers, read on a dispatch thread (not a cooperative-pool thread)
/// until its writers close it; `text` is what has arrived so far.
final class CollectedOutput: @unchecked Sendable {
  private let lock = NSLock()
  private var data = Data()

  init(_ handle: FileHandle) {
    DispatchQueue.global().async {
      while true {
        let chunk = handle.availableData
        if chunk.isEmpty { return }
        self.lock.withLock { self.data.append(chunk) }
      }
    }
  }

  var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
