public import GRPCCore
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// The standard `grpc.health.v1.Health` service (grpc-swift's health package is not
/// available here, so this implements `Check` and `Watch` from the standard proto).
///
/// The process sets statuses with ``setStatus(_:for:)``; the empty service name stands
/// for the whole process. `Watch` streams the current status at once and every change.
public final class HealthService: Sendable {
  public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

  private struct State {
    var statuses: [String: Status] = [:]
    var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
    var nextWatcher = 0
  }

  private let state = Mutex(State())

  /// A health service that reports `initial` for the process and each named service.
  public init(services: [String] = [], initial: Status = .serving) {
    state.withLock { state in
      state.statuses[""] = initial
      for service in services { state.statuses[service] = initial }
    }
  }

  /// Sets the status of `service` ("" = the whole process) and notifies watchers.
  public func setStatus(_ status: Status, for service: String = "") {
    let toNotify = state.withLock { state -> [AsyncStream<Status>.Continuation] in
      state.statuses[service] = status
      return state.watchers.values.filter { $0.service == service }.map(\.continuation)
    }
    for continuation in toNotify { continuation.yield(status) }
  }

  /// Marks every known service NOT_SERVING; called when the process begins to shut down
  /// so that load balancers stop sending new work while in-flight calls drain.
  public func enterShutdown() {
    let services = state.withLock { Array($0.statuses.keys) }
    for service in services { setStatus(.notServing, for: service) }
  }

  /// The current status of `service`, or nil when unknown.
  public func status(of service: String) -> Status? {
    state.withLock { $0.statuses[service] }
  }
}

extension HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  public func check(
    request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    return .with { $0.status = status }
  }

  public func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    let (stream, continuation) = AsyncStream<Status>.makeStream(bufferingPolicy: .bufferingNewest(8))
    let id = state.withLock { state -> Int in
      let id = state.nextWatcher
      state.nextWatcher += 1
      state.watchers[id] = (request.service, continuation)
      continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
      return id
    }
    defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
    // Ends when the caller cancels (the stream's iteration is cancelled with the task).
    var last: Status?
    for await status in stream {
      if status != last {
        try await response.write(.with { $0.status = status })
        last = status
      }
    }
  }
}
