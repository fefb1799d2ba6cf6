import GRPCCore
import ServiceLifecycle

/// Runs the body of a server stream that never ends by itself (ingestion's `Subscribe`,
/// metrics' `WatchAlerts`, and the gateway relaying them) so that it stops when either
/// - the caller goes away: gRPC signals that through the RPC's cancellation handle, not by
///   cancelling the handler's task, so without this a subscription of a vanished client
///   would wait for events forever; or
/// - the server drains (graceful shutdown): in-flight unary calls may finish, but a live
///   stream would hold shutdown up; the subscriber resumes from its own offset elsewhere.
public func runLiveStream<Result: Sendable>(
  _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
  let task = Task { try await cancelWhenGracefulShutdown { try await body() } }
  return try await withTaskCancellationHandler {
    try await withRPCCancellationHandler {
      try await task.value
    } onCancelRPC: {
      task.cancel()
    }
  } onCancel: {
    task.cancel()
  }
}
