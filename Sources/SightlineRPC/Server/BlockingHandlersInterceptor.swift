public import GRPCCore

/// Runs every handler (and the producer of its streamed response) on
/// `BlockingWork.executor` instead of the cooperative pool.
///
/// The store protocols are synchronous: a handler calls its store and blocks its thread
/// until SQLite or PostgreSQL answers. On the cooperative pool (two threads on two cores)
/// a few such calls waiting on the database stall every other call of the process,
/// health checks included: on PostgreSQL with 10,000 tenants, `bench-tenants` saw thousands
/// of `QueryKpis` and hundreds of health checks waiting in one metrics process. On the
/// executor's own threads a blocked handler holds only its own thread. Health checks stay on the
/// cooperative pool, so a process whose store work queues up still answers them.
///
/// It must come first among the interceptors: gRPC turns an error thrown by an interceptor
/// into UNKNOWN, and `RequestLoggingInterceptor`, next to the handler, is the one that
/// maps the handler's errors to their status (a store that is unavailable to UNAVAILABLE).
public struct BlockingHandlersInterceptor: ServerInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    guard context.descriptor.service.fullyQualifiedService != "grpc.health.v1.Health" else {
      return try await next(request, context)
    }
    var response = try await withTaskExecutorPreference(BlockingWork.executor) { try await next(request, context) }
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in try await withTaskExecutorPreference(BlockingWork.executor) { try await producer(writer) } }
      response.accepted = .success(contents)
    }
    return response
  }
}
