import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import Logging
public import SightlineModel
import SightlineRPC
import Synchronization

/// Passes message bytes through unchanged: the gateway never decodes a forwarded RPC.
struct RawBytesCoder: MessageSerializer, MessageDeserializer {
  typealias Message = [UInt8]
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
    bytes.withUnsafeBytes { Array($0) }
  }
}

/// Registers a pass-through handler for every method of every backend service
/// (docs/architecture.md): authenticate the key, check the method's role, then call the
/// backend over mTLS with the same method descriptor, the tenant in metadata, and the
/// caller's remaining deadline. Cancellation crosses with the task: when the caller goes
/// away, the handler's task and with it the backend call are cancelled.
public struct ForwardingService: RegistrableRPCService {
  private let authenticator: Authenticator
  private let backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>]
  private let limiter: TenantLimiter
  private let readiness: BackendReadiness?
  private let audit: AuditLog?

  /// Forwards to `backends` after authenticating with `authenticator` and admitting the call
  /// under the tenant's limits; fails fast while `readiness` says the backend is not
  /// serving. Administrative calls (``AuditLog/forwarded``) are recorded in `audit`.
  public init(
    authenticator: Authenticator, backends: [SuiteComponent: GRPCClient<HTTP2ClientTransport.Posix>],
    limiter: TenantLimiter = TenantLimiter(limits: .defaults), readiness: BackendReadiness? = nil, audit: AuditLog? = nil
  ) {
    self.authenticator = authenticator
    self.backends = backends
    self.limiter = limiter
    self.readiness = readiness
    self.audit = audit
  }

  public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    for (component, methods) in MethodPolicy.services {
      guard let client = backends[component] else { continue }
      for method in methods {
        let role = MethodPolicy.role(for: method)
        let (authenticator, limiter, readiness) = (self.authenticator, self.limiter, self.readiness)
        let audit = AuditLog.forwarded[method.fullyQualifiedMethod] == nil ? nil : self.audit
        router.registerHandler(forMethod: method, deserializer: RawBytesCoder(), serializer: RawBytesCoder()) {
          request, context in
          let record = audit.map { AuditedCall(log: $0, method: method, metadata: request.metadata, address: context.remotePeer) }
          do {
            if let reason = readiness?.problem(of: component) {
              throw RPCError(
                code: .unavailable, message: "the \(component.rawValue) service is not serving: \(reason); retry later")
            }
            return try Self.admit(
              request, method: method, role: role, authenticator: authenticator, limiter: limiter, client: client, audit: record)
          } catch {
            await record?.finish(error)
            throw error
          }
        }
      }
    }
  }

  /// Authenticates, checks the role, admits the call under the tenant's limits, and
  /// forwards it.
  static func admit(
    _ request: StreamingServerRequest<[UInt8]>, method: MethodDescriptor, role: Role?, authenticator: Authenticator,
    limiter: TenantLimiter, client: GRPCClient<HTTP2ClientTransport.Posix>, audit: AuditedCall? = nil
  ) throws -> StreamingServerResponse<[UInt8]> {
    guard let role else {
      throw RPCError(code: .permissionDenied, message: "\(method) has no access policy; refusing to forward it")
    }
    let (tenant, _, caller) = try authenticator.requireTenant(request.metadata, role: role)
    SpanExport.noteTenant(tenant)
    let live = MethodPolicy.liveStreams.contains(method.fullyQualifiedMethod)
    try limiter.admit(tenant, holdsSlot: !live)
    let slot = live ? nil : AdmissionSlot(limiter: limiter, tenant: tenant)
    return forward(
      request, method: method, tenant: tenant, caller: caller, client: client, slot: slot, waitForReady: role == .reader, audit: audit)
  }

  /// Forwards one call. With `waitForReady` (idempotent reads), a backend channel that is
  /// still connecting or in its reconnect backoff is waited for within the caller's
  /// deadline rather than failing the call at once: nothing has reached the backend yet,
  /// and a read can safely wait for it.
  static func forward(
    _ request: StreamingServerRequest<[UInt8]>, method: MethodDescriptor, tenant: TenantID, caller: String? = nil,
    client: GRPCClient<HTTP2ClientTransport.Posix>, slot: AdmissionSlot? = nil, waitForReady: Bool = false,
    audit: AuditedCall? = nil
  ) -> StreamingServerResponse<[UInt8]> {
    let metadata = ForwardedMetadata.outgoing(from: request.metadata, tenant: tenant, caller: caller)
    var callOptions = CallOptions.defaults
    callOptions.timeout = ForwardedMetadata.timeout(request.metadata)
    // Only within a deadline: a read without one would wait forever for a backend that is down.
    callOptions.waitForReady = waitForReady && callOptions.timeout != nil
    let options = callOptions
    // A message over the limit ends the request stream; the caller gets this error rather
    // than the backend call's cancellation.
    let refusal = Mutex<RPCError?>(nil)
    let outgoing = StreamingClientRequest<[UInt8]>(metadata: metadata) { writer in
      for try await message in request.messages {
        guard message.count <= SuiteServer.maxRequestBytes else {
          let error = RPCError(
            code: .resourceExhausted,
            message:
              "the request message is \(message.count) bytes; the limit is \(SuiteServer.maxRequestBytes) bytes (16 MiB): send smaller batches"
          )
          refusal.withLock { $0 = error }
          throw error
        }
        audit?.saw(message)
        try await writer.write(message)
      }
    }
    let live = MethodPolicy.liveStreams.contains(method.fullyQualifiedMethod)
    return StreamingServerResponse<[UInt8]> { writer in
      // The slot is freed when the call ends (or when the response is dropped unrun).
      defer { withExtendedLifetime(slot) {} }
      do {
        if live {
          return try await runLiveStream {
            try await relay(outgoing, method: method, options: options, client: client, to: writer)
          }
        }
        let trailers = try await relay(outgoing, method: method, options: options, client: client, to: writer)
        await audit?.finish(nil)
        return trailers
      } catch {
        let thrown = refusal.withLock({ $0 }) ?? error
        await audit?.finish(thrown)
        throw thrown
      }
    }
  }

  /// Calls the backend and relays its messages and trailers (or its error) to `writer`.
  private static func relay(
    _ outgoing: StreamingClientRequest<[UInt8]>, method: MethodDescriptor, options: CallOptions,
    client: GRPCClient<HTTP2ClientTransport.Posix>, to writer: RPCWriter<[UInt8]>
  ) async throws -> Metadata {
    do {
      return try await client.bidirectionalStreaming(
        request: outgoing, descriptor: method, serializer: RawBytesCoder(), deserializer: RawBytesCoder(),
        options: options
      ) { response in
        let contents = try response.accepted.get()
        var trailers: Metadata = [:]
        for try await part in contents.bodyParts {
          switch part {
          case .message(let bytes): try await writer.write(bytes)
          case .trailingMetadata(let metadata): trailers = ForwardedMetadata.trailers(metadata)
          }
        }
        return trailers
      }
    } catch let error as RPCError {
      // Keep the backend's code, message and structured details; drop transport-level keys.
      throw RPCError(code: error.code, message: error.message, metadata: ForwardedMetadata.trailers(error.metadata))
    } catch {
      // Anything else failed on the hop itself (gRPC would send UNKNOWN with an empty
      // message): say what, as a passing failure, since the backend may not have answered.
      throw RPCError(code: .unavailable, message: "the call to \(method.service) failed on its way: \(error)", cause: error)
    }
  }
}

/// One administrative call on its way through the gateway: remembers its request, and
/// writes its audit record once, when it ends.
final class AuditedCall: Sendable {
  let log: AuditLog
  let method: MethodDescriptor
  let actor: AuditLog.Actor?
  let address: String
  private let request = Mutex<[UInt8]?>(nil)
  private let written = Mutex(false)

  init(log: AuditLog, method: MethodDescriptor, metadata: Metadata, address: String) {
    self.log = log
    self.method = method
    actor = log.actor(metadata)
    self.address = address
  }

  /// The request's first message (a unary call's only one).
  func saw(_ message: [UInt8]) {
    request.withLock { if $0 == nil { $0 = message } }
  }

  /// Records the call as ended with `error` (nil: ok); later calls do nothing.
  func finish(_ error: (any Error)?) async {
    guard
      written.withLock({ done in
        defer { done = true }; return !done
      })
    else { return }
    let detail = AuditLog.detail(method: method.fullyQualifiedMethod, bytes: request.withLock { $0 })
    await log.write(
      AuditLog.action(method), detail: detail, actor: actor, address: address, outcome: error.map(AuditLog.outcome(of:)) ?? "ok")
  }
}

/// An admitted call's in-flight slot, freed when the last reference goes (the call ended,
/// or its response was never run).
final class AdmissionSlot: Sendable {
  let limiter: TenantLimiter
  let tenant: TenantID

  init(limiter: TenantLimiter, tenant: TenantID) {
    self.limiter = limiter
    self.tenant = tenant
  }

  deinit { limiter.release(tenant) }
}

extension Metadata {
  /// Adds a value of either kind under `key`.
  mutating func add(_ value: Metadata.Value, forKey key: String) {
    switch value {
    case .string(let text): addString(text, forKey: key)
    case .binary(let bytes): addBinary(bytes, forKey: key)
    }
  }
}

/// Which metadata crosses the gateway.
enum ForwardedMetadata {
  /// Keys never copied to a backend: transport headers, the caller's key, and any tenant
  /// the caller tried to set itself.
  static func isReserved(_ key: String) -> Bool {
    let key = key.lowercased()
    return key.hasPrefix(":") || key.hasPrefix("grpc-") || key == "content-type" || key == "te"
      || key == "user-agent" || key == SuiteMetadata.authorizationKey || key == SuiteMetadata.tenantKey
      || key == SuiteMetadata.callerKey
  }

  /// The metadata sent to the backend: the caller's own keys plus the tenant, the caller's
  /// name (its key's label and id) and a request id (the caller's, or a new one).
  static func outgoing(from incoming: Metadata, tenant: TenantID, caller: String? = nil) -> Metadata {
    var metadata: Metadata = [:]
    for (key, value) in incoming where !isReserved(key) {
      metadata.add(value, forKey: key)
    }
    metadata.addString(tenant.rawValue, forKey: SuiteMetadata.tenantKey)
    if let caller { metadata.addString(caller, forKey: SuiteMetadata.callerKey) }
    if SuiteMetadata.requestID(incoming) == nil {
      metadata.addString(UUID().uuidString.lowercased(), forKey: SuiteMetadata.requestIDKey)
    }
    return metadata
  }

  /// Trailers returned to the caller: everything but the keys the transport writes itself.
  /// A backend error that arrives as a trailers-only response carries its HTTP/2 pseudo
  /// headers (`:status`) in the error's metadata; copying one into our own trailers would
  /// be an HTTP/2 protocol error that drops the caller's connection.
  static func trailers(_ metadata: Metadata) -> Metadata {
    var result: Metadata = [:]
    for (key, value) in metadata {
      let lower = key.lowercased()
      if lower.hasPrefix(":") || lower == "grpc-status" || lower == "grpc-message" || lower == "content-type" { continue }
      result.add(value, forKey: key)
    }
    return result
  }

  /// The caller's deadline from its `grpc-timeout` header (gRPC over HTTP/2 spec:
  /// up to 8 digits and a unit H, M, S, m, u or n), or nil when it set none.
  static func timeout(_ metadata: Metadata) -> Duration? {
    guard let text = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }), text.count >= 2,
      let amount = Int64(text.dropLast())
    else { return nil }
    switch text.last {
    case "H": return .seconds(amount * 3600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
  }
}
