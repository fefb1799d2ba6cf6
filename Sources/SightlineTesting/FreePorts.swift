import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Listening ports for the processes tests and drills start.
///
/// They are taken below the kernel's ephemeral range (32768–60999 on Linux), where
/// outgoing connections get their local ports: a listening port picked in that range can be
/// held by some client's connection at the moment a process binds it (the drills' processes
/// then failed to start, now and then, with the address in use), or while a restarted server
/// is down. Each port of the run is also checked free by binding it.
public enum FreePorts {
  /// The first of `count` consecutive free ports in `range` (the base a random multiple of
  /// `count` from its start, so runs picked by concurrent tests rarely overlap).
  public static func base(count: Int, in range: Range<Int>) -> Int {
    precondition(range.upperBound <= 32_768 && range.count >= count, "ports must lie below the ephemeral range")
    var candidate = range.lowerBound
    for _ in 0..<100 {
      candidate = range.lowerBound + Int.random(in: 0..<(range.count / count)) * count
      if (candidate..<candidate + count).allSatisfy(isFree) { return candidate }
    }
    return candidate
  }

  /// Whether 127.0.0.1:`port` can be bound now.
  static func isFree(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var reuse: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
  }
}
