import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import ServiceLifecycle
public import SightlineModel
import SightlineRPC
import SightlineWire
import Synchronization

/// The gateway's view of each backend's readiness, refreshed every second from its
/// `grpc.health.v1` service: while a backend reports NOT_SERVING, forwarding to it fails
/// fast with UNAVAILABLE and the backend's own reason instead of waiting on a service that
/// said it cannot do its job. An unreachable backend is left to the transport (its calls
/// fail with UNAVAILABLE as they try to connect).
public final class BackendReadiness: Service, Sendable {
  private let backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]
  private let interval: Duration
  /// Reasons of the backends last seen NOT_SERVING.
  private let notServing = Mutex<[SuiteComponent: String]>([:])

  /// Watches `backends` every `interval`.
  public init(backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>], interval: Duration = .seconds(1)) {
    self.backends = backends
    self.interval = interval
  }

  /// Why `component` is not serving, if it said so at the last check.
  public func problem(of component: SuiteComponent) -> String? { notServing.withLock { $0[component] } }

  public func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await self.refresh()
        try? await Task.sleep(for: self.interval)
      }
    }
  }

  /// Checks every backend once, in parallel.
  public func refresh() async {
    await withTaskGroup(of: (SuiteComponent, String?).self) { group in
      for (component, client) in backends {
        group.addTask {
          guard let (status, reason) = try? await HealthService.check(client, timeout: .seconds(1)), status != .serving else {
            return (component, nil)
          }
          return (component, reason ?? "it reports \(status)")
        }
      }
      for await (component, reason) in group {
        notServing.withLock { $0[component] = reason }
      }
    }
  }
}
