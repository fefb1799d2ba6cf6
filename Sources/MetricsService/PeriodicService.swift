import ServiceLifecycle

/// Runs a job every `interval` (after it finishes) until graceful shutdown: the shape of
/// the alert scheduler and the rollup warmer.
struct PeriodicService: Service {
  let interval: Duration
  let job: @Sendable () async -> Void

  func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await job()
        try? await Task.sleep(for: interval)
      }
    }
  }
}
