import FSProbePipeline
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `PipelineMetrics` as Prometheus text on `GET /metrics`, over
/// swift-nio's HTTP/1.1 server on one event-loop thread of its own: a
/// scrape never runs on a pipeline thread.
public final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The address and port bound (the port the system chose for port 0).
    public let boundAddress: MetricsAddress

    /// Binds and starts serving.
    /// - Throws: `MetricsServer.BindError` naming the address and why.
    public init(address: MetricsAddress, metrics: PipelineMetrics) throws(BindError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
        do {
            channel = try bootstrap.bind(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw BindError(address: address, reason: "\(error)")
        }
        self.group = group
        boundAddress = MetricsAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
    }

    /// Stops listening and ends the thread; idempotent.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    public struct BindError: Error, CustomStringConvertible {
        public let address: MetricsAddress
        public let reason: String
        public var description: String { "cannot serve metrics on \(address): \(reason)" }
    }
}

extension MetricsAddress {
    init(host: String, port: Int) {
        self = MetricsAddress("\(host.contains(":") ? "[\(host)]" : host):\(port)")!
    }
}

/// One connection: `GET /metrics` answers the exposition; any other path
/// 404, any other method 405. Keep-alive as the client asks.
private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: PipelineMetrics
    // Touched on the channel's event loop only.
    private nonisolated(unsafe) var request: HTTPRequestHead?

    init(metrics: PipelineMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        var body: [UInt8]
        var headers = HTTPHeaders()
        if head.method != .GET && head.method != .HEAD {
            (status, body) = (.methodNotAllowed, Array("only GET /metrics\n".utf8))
            headers.add(name: "Allow", value: "GET, HEAD")
        } else if path != "/metrics" {
            (status, body) = (.notFound, Array("fsprobe serves GET /metrics only\n".utf8))
        } else {
            (status, body) = (.ok, metrics.exposition())
        }
        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        if head.method == .HEAD { body = [] }
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { [context] _ in context.close(promise: nil) } }
    }
}
