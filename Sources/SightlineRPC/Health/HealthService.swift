public import GRPCCore
public import SightlineWire
import SwiftProtobuf
import Synchronization

/// The standard `grpc.health.v1.Health` service (grpc-swift's health package is not
/// available here, so this implements `Check` and `Watch` from the standard proto).
///
/// The process sets statuses with ``setStatus(_:for:)``; the empty service name stands
/// for the whole process. `Watch` streams the current status at once and every change.
/// A NOT_SERVING status can carry a reason (``setReadiness(problem:)``), which `Check`
/// returns in the `sightline-health-reason` response header, so that the gateway and
/// `sightline health` can say why.
public final class HealthService: Sendable {
  public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

  /// The response header carrying the reason of a NOT_SERVING status.
  public static let reasonKey = "sightline-health-reason"
  /// The response header carrying what a SERVING process reports about itself (a log
  /// consumer: how many tenants it follows and how many are behind).
  public static let detailKey = "sightline-health-detail"

  private struct State {
    var statuses: [String: Status] = [:]
    var reason: String?
    var shuttingDown = false
    var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
    var nextWatcher = 0
  }

  private let state = Mutex(State())
  private let detail = Mutex<(@Sendable () -> String?)?>(nil)

  /// Reports `provider`'s sentence with every SERVING answer of `Check`.
  public func setDetail(_ provider: @escaping @Sendable () -> String?) { detail.withLock { $0 = provider } }

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
  /// so that load balancers stop sending new work while in-flight calls drain. Readiness
  /// changes after this are ignored.
  public func enterShutdown() {
    let services = state.withLock { state in
      state.shuttingDown = true
      state.reason = "shutting down"
      return Array(state.statuses.keys)
    }
    for service in services { setStatus(.notServing, for: service) }
  }

  /// Sets every known service SERVING (`problem` nil) or NOT_SERVING with `problem` as the
  /// reason, unless the process is shutting down.
  public func setReadiness(problem: String?) {
    let services = state.withLock { state -> [String] in
      guard !state.shuttingDown else { return [] }
      state.reason = problem
      return Array(state.statuses.keys)
    }
    for service in services { setStatus(problem == nil ? .serving : .notServing, for: service) }
  }

  /// Why the process is NOT_SERVING, if it said.
  public var reason: String? { state.withLock { $0.reason } }

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

  /// `Check` with the reason of a NOT_SERVING status in the response header.
  public func check(
    request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
  ) async throws -> ServerResponse<Grpc_Health_V1_HealthCheckResponse> {
    let message: Grpc_Health_V1_HealthCheckResponse = try await check(request: request.message, context: context)
    var metadata: Metadata = [:]
    if message.status != .serving, let reason { metadata.addString(reason, forKey: Self.reasonKey) }
    if message.status == .serving, let text = detail.withLock({ $0 })?() { metadata.addString(text, forKey: Self.detailKey) }
    return ServerResponse(message: message, metadata: metadata)
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

extension HealthService {
  /// Checks a process's readiness through `client` (its whole-process status): the status
  /// and, when not serving, the reason it gave in the `sightline-health-reason` header, or
  /// when serving, what it reports about itself (`sightline-health-detail`), if anything.
  /// With `waitForReady`, a channel still connecting is waited for within `timeout`
  /// instead of failing the check at once.
  public static func check(
    _ client: GRPCClient<some ClientTransport>, timeout: Duration, waitForReady: Bool = false
  ) async throws -> (status: Status, reason: String?) {
    var options = CallOptions.defaults
    options.timeout = timeout
    options.waitForReady = waitForReady
    return try await Grpc_Health_V1_Health.Client(wrapping: client).check(
      Grpc_Health_V1_HealthCheckRequest(), options: options
    ) { response in
      let status = try response.message.status
      let header = status == .serving ? detailKey : reasonKey
      return (status, response.metadata[stringValues: header].first { _ in true })
    }
  }
}
