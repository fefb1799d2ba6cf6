import Foundation
import GRDB
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SightlineDemo
import SightlineLauncher
import SightlineModel
import SightlineRPC
import SightlineStorage
import SightlineTesting
import SightlineWire
import SwiftASN1
import SwiftProtobuf
import Synchronization
import Testing
import X509

/// Captures every log line (message and metadata) at trace level.
struct CapturingLogHandler: LogHandler {
  let lines: Mutex<[String]>.Box
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let all = metadata.merging(event.metadata ?? [:]) { $1 }
    lines.value.withLock { $0.append("\(event.level) \(event.message) \(all) \(event.error.map { "\($0)" } ?? "")") }
  }
}

extension Mutex {
  /// A shareable box around a mutex (LogHandlers are copied).
  final class Box: Sendable where Value: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
  }
}
