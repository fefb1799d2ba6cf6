import Foundation
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import SightlineLauncher
import SightlineRPC
import SightlineTesting
import SightlineWire
import Testing

/// Hostile gRPC framing that no well-behaved client library sends, written frame by frame
/// with swift-nio-http2: a message shorter than its length prefix, a cut length prefix, a
/// compressed message without an encoding, a 4 GiB length prefix. The gateway must end
/// each with a gRPC status or a stream reset carrying an error code (not hang, not crash),
/// store nothing, and keep serving.
@Suite struct TruncatedFrameTests {
  /// How the server ended the stream.
  enum Outcome: Sendable, CustomStringConvertible {
    /// Trailers with this grpc-status (and message).
    case status(String, String)
    /// RST_STREAM with this HTTP/2 error code.
    case reset(HTTP2ErrorCode)
    /// Neither: the stream just ended.
    case ended

    var description: String {
      switch self {
      case .status(let code, let message): "grpc-status \(code) \(message)"
      case .reset(let code): "RST_STREAM \(code)"
      case .ended: "ended without a status"
      }
    }
  }

  /// Watches a stream until its trailers, a reset, or its end.
  final class Collector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    let done: EventLoopPromise<Outcome>
    init(done: EventLoopPromise<Outcome>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .headers(let frame) where frame.headers.first(name: "grpc-status") != nil:
        done.succeed(.status(frame.headers.first(name: "grpc-status")!, frame.headers.first(name: "grpc-message") ?? ""))
      case .rstStream(let code): done.succeed(.reset(code))
      default: break
      }
    }
    func channelInactive(context: ChannelHandlerContext) { done.succeed(.ended) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      if let closed = error as? NIOHTTP2Errors.StreamClosed { done.succeed(.reset(closed.errorCode)) } else { done.succeed(.ended) }
    }
  }

  /// Sends one request with `body` as its whole DATA and returns how the server ended it.
  static func send(_ body: [UInt8], port: Int, caFile: String, key: String, group: any EventLoopGroup) async throws -> Outcome {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .file(caFile)
    tls.certificateVerification = .noHostnameVerification
    tls.applicationProtocols = ["h2"]
    let context = try NIOSSLContext(configuration: tls)
    let channel = try await ClientBootstrap(group: group).channelInitializer { channel in
      channel.eventLoop.makeCompletedFuture {
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
      }.flatMap {
        channel.configureHTTP2Pipeline(mode: .client, inboundStreamInitializer: nil).map { _ in }
      }
    }.connect(host: "127.0.0.1", port: port).get()
    defer { channel.close(promise: nil) }
    let done = channel.eventLoop.makePromise(of: Outcome.self)
    let stream = try await channel.pipeline.handler(type: HTTP2StreamMultiplexer.self).flatMap { multiplexer in
      let created = channel.eventLoop.makePromise(of: (any Channel).self)
      multiplexer.createStreamChannel(promise: created) { stream in stream.pipeline.addHandler(Collector(done: done)) }
      return created.futureResult
    }.get()
    let headers: HPACKHeaders = [
      ":method": "POST", ":scheme": "https", ":path": "/sightline.ingestion.v1.Ingestion/Ingest",
      ":authority": "127.0.0.1", "content-type": "application/grpc", "te": "trailers", "authorization": "Bearer \(key)",
    ]
    try await stream.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: headers))).get()
    let data = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(bytes: body)), endStream: true))
    try await stream.writeAndFlush(data).get()
    return try await done.futureResult.get()
  }

  @Test(
    arguments: [
      ("a message shorter than its length prefix", [0, 0, 0, 0, 100, 0x0A, 0x03, 0x61]),
      ("a cut length prefix", [0, 0, 0]),
      ("a compressed message without grpc-encoding", [1, 0, 0, 0, 2, 0x0A, 0x00]),
      ("a length prefix of 4 GiB", [0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0A]),
    ] as [(String, [UInt8])])
  func malformedFramingGetsAStatusAndTheGatewayKeepsServing(_ name: String, _ body: [UInt8]) async throws {
    try await InProcessSuite.with { suite in
      let tenant = try await suite.createTenant("frames")
      let outcome = try await Self.send(
        body, port: suite.gatewayPort, caFile: suite.pki.caCertificate, key: tenant.adminKey,
        group: MultiThreadedEventLoopGroup.singleton)
      print("TruncatedFrameTests: \(name) -> \(outcome)")
      switch outcome {
      case .status(let code, _): #expect(code != "0", "\(name): \(outcome)")
      case .reset(let code): #expect(code != .noError, "\(name): \(outcome)")
      case .ended: Issue.record("\(name): the stream ended without a status or a reset")
      }
      // The gateway still serves, and nothing was stored.
      try await suite.withGatewayClient { client in
        let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: client).getStats(
          .init(), metadata: SuiteMetadata.bearer(tenant.adminKey))
        #expect(stats.lastOffset == 0, "\(name)")
      }
    }
  }
}
