import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf
import Testing

/// Backend handlers block on their stores (synchronous SQLite and PostgreSQL calls). They
/// run on dispatch threads (`BlockingHandlersInterceptor`), so more blocked calls than the
/// machine has cores neither stall each other nor the process's health checks.
@Suite struct BlockingHandlersTests {
  /// A service whose one method blocks its thread until `gate` is signalled (30 s at most,
  /// so a broken build fails instead of hanging).
  struct BlockingService: RegistrableRPCService {
    static let method = MethodDescriptor(fullyQualifiedService: "sightline.test.Blocking", method: "Wait")
    let gate: DispatchSemaphore
    let entered: Counter
    let returned: Counter

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
      router.registerHandler(
        forMethod: Self.method,
        deserializer: ProtobufDeserializer<Grpc_Health_V1_HealthCheckRequest>(),
        serializer: ProtobufSerializer<Grpc_Health_V1_HealthCheckResponse>()
      ) { request, _ in
        for try await _ in request.messages {}
        entered.add(1)
        _ = gate.wait(timeout: .now() + 30)
        returned.add(1)
        return StreamingServerResponse(single: ServerResponse(message: .with { $0.status = .serving }))
      }
    }
  }

  @Test func blockedHandlersHoldNeitherEachOtherNorHealthChecks() async throws {
    let gate = DispatchSemaphore(value: 0)
    let entered = Counter()
    let returned = Counter()
    let server = SuiteServer(
      endpoint: HostAndPort(host: "127.0.0.1", port: 0), security: .plaintext,
      services: [BlockingService(gate: gate, entered: entered, returned: returned)], health: HealthService(services: []),
      blockingHandlers: true, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    try await withThrowingTaskGroup { group in
      group.addTask { try await server.serve() }
      let port = try await server.boundPort()
      try await ClientFactory.withClient(HostAndPort(host: "127.0.0.1", port: port), security: .plaintext) { client in
        // More blocked calls than the cooperative pool has threads.
        let calls = ProcessInfo.processInfo.activeProcessorCount + 2
        let start = ContinuousClock.now
        try await withThrowingTaskGroup { callers in
          for _ in 0..<calls {
            callers.addTask {
              try await client.unary(
                request: ClientRequest(message: Grpc_Health_V1_HealthCheckRequest()), descriptor: BlockingService.method,
                serializer: ProtobufSerializer<Grpc_Health_V1_HealthCheckRequest>(),
                deserializer: ProtobufDeserializer<Grpc_Health_V1_HealthCheckResponse>(), options: .defaults
              ) { _ in }
            }
          }
          // Without the interceptor the calls beyond the cooperative pool's threads reach
          // their handler only once the first ones give up, 30 s later. No time bound
          // tighter than that: a busy CI machine is slow to connect and schedule.
          while entered.value < calls && ContinuousClock.now - start < .seconds(20) {
            try await Task.sleep(for: .milliseconds(20))
          }
          #expect(entered.value == calls, "only \(entered.value) of \(calls) calls reached their handler")
          // Every handler is blocked: health still answers, before any of them returns.
          let (status, _) = try await HealthService.check(client, timeout: .seconds(10))
          #expect(status == .serving)
          #expect(returned.value == 0)
          for _ in 0..<calls { gate.signal() }
          try await callers.waitForAll()
        }
      }
      server.server.beginGracefulShutdown()
      try await group.waitForAll()
    }
  }
}
