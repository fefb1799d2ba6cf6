public import SwiftProtobuf

/// The one conversion between protobuf timestamps and the Unix milliseconds the services
/// compute with (negative times round towards the past, as `Timestamp` requires).
extension Google_Protobuf_Timestamp {
  /// A timestamp at `ms` milliseconds since the Unix epoch.
  public init(unixMilliseconds ms: Int64) {
    let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
    self.init(seconds: seconds, nanos: Int32(ms - seconds * 1000) * 1_000_000)
  }

  /// Milliseconds since the Unix epoch.
  public var unixMilliseconds: Int64 { seconds * 1000 + Int64(nanos / 1_000_000) }
}
