import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import ServiceLifecycle
public import SightlineModel
public import SightlineRPC
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
  /// Reasons of the backends last seen NOT_SERVING, and the backends whose forwarding
  /// channel has carried a call (a health check) at least once.
  private let state = Mutex(State())

  private struct State {
    var notServing: [SuiteComponent: String] = [:]
    var reached: Set<SuiteComponent> = []
  }

  /// Watches `backends` every `interval`.
  public init(backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>], interval: Duration = .seconds(1)) {
    self.backends = backends
    self.interval = interval
  }

  /// Why `component` is not serving, if it said so at the last check.
  public func problem(of component: SuiteComponent) -> String? { state.withLock { $0.notServing[component] } }

  /// The gateway's own readiness check: not ready until every backend it forwards to has
  /// answered through the very client that forwards to it. Before that, a forwarded call
  /// could meet a channel still connecting (or in its reconnect backoff), and a launcher
  /// that saw SERVING would send calls the gateway cannot yet carry.
  public var connectedCheck: ReadinessMonitor.Check {
    {
      let missing = self.state.withLock { state in self.backends.keys.filter { !state.reached.contains($0) } }
      guard !missing.isEmpty else { return nil }
      let names = missing.map(\.rawValue).sorted().joined(separator: ", ")
      return "not connected yet to the \(names) service\(missing.count == 1 ? "" : "s")"
    }
  }

  public func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await self.refresh()
        try? await Task.sleep(for: self.interval)
      }
    }
  }

  /// Checks every backend once, in parallel. The check waits for a connecting channel
  /// (wait-for-ready) within its one-second bound, so a backend that has just started is
  /// counted as reached as soon as the channel is up.
  public func refresh() async {
    await withTaskGroup(of: Probe.self) { group in
      for (component, client) in backends {
        group.addTask {
          do {
            let (status, reason) = try await HealthService.check(client, timeout: .seconds(1), waitForReady: true)
            return Probe(component: component, status: status, reason: reason)
          } catch {
            return Probe(component: component, status: nil, reason: nil)
          }
        }
      }
      for await probe in group {
        state.withLock { state in
          guard let status = probe.status else {
            // An unreachable backend is left to the transport: its calls fail with
            // UNAVAILABLE as they try to connect.
            state.notServing[probe.component] = nil
            return
          }
          state.reached.insert(probe.component)
          state.notServing[probe.component] = status == .serving ? nil : (probe.reason ?? "it reports \(status)")
        }
      }
    }
  }

  /// One backend's answer: its status and reason, or no status when it could not be asked.
  private struct Probe: Sendable {
    var component: SuiteComponent
    var status: HealthService.Status?
    var reason: String?
  }
}
