import Logging
import NIOCore
import NIOPosix
import SIP

/// SIP over TCP (RFC 3261 §18, framed by Content-Length): each accepted connection is a peer of
/// the core; responses and in-dialog requests for it go back over the same connection.
final class SIPStreamConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SIPStreamFramer.Frame

    private let core: SignallingCore
    private let coreLoop: any EventLoop
    /// The number an outbound connection was given before it connected.
    private let presetID: Int?

    init(core: SignallingCore, coreLoop: any EventLoop, presetID: Int? = nil) {
        self.core = core
        self.coreLoop = coreLoop
        self.presetID = presetID
    }

    /// Connects to `address` as connection `id`; messages queued for it meanwhile go out once
    /// it is up, and are dropped (the transactions time out) if it fails.
    static func connect(to address: SocketAddress, id: Int, core: SignallingCore, coreLoop: any EventLoop, group: any EventLoopGroup) {
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamFramer(keepAliveRole: .client)))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamConnection(core: core, coreLoop: coreLoop, presetID: id))
                }
            }
            .connect(to: address)
            .whenFailure { error in
                coreLoop.execute { core.streamConnectFailed(id: id, error: error) }
            }
    }

    static func listen(host: String, port: Int, core: SignallingCore, coreLoop: any EventLoop, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamFramer()))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamConnection(core: core, coreLoop: coreLoop))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let core = self.core
        let presetID = self.presetID
        coreLoop.execute { _ = core.connectStream(channel, id: presetID) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let channel = context.channel
        let core = self.core
        switch frame {
        case .message(let message):
            coreLoop.execute { core.receive(message, fromStream: channel) }
        case .invalidMessage(let error):
            coreLoop.execute { core.receiveUnparsable(error, fromStream: channel) }
        case .keepAlivePing:
            var pong = context.channel.allocator.buffer(capacity: 2)
            pong.writeStaticString("\r\n")
            context.writeAndFlush(NIOAny(pong), promise: nil)
        case .keepAlivePong:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let channel = context.channel
        let core = self.core
        coreLoop.execute { core.disconnectStream(channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A framing error (oversized message, no Content-Length, not SIP) ends the connection.
        context.close(promise: nil)
    }
}

extension SignallingCore {
    func connectStream(_ channel: any Channel, id preset: Int? = nil) -> Int {
        if let existing = streamIDs[ObjectIdentifier(channel)] { return existing }
        if preset == nil, streams.count >= configuration.maxStreamConnections {
            logger.warning("SIP/TCP connection refused: too many connections", metadata: ["limit": "\(configuration.maxStreamConnections)"])
            channel.close(promise: nil)
        }
        let id = preset ?? makeStreamID()
        streams[id] = channel
        streamIDs[ObjectIdentifier(channel)] = id
        for message in pendingStreamMessages.removeValue(forKey: id) ?? [] { sendOnStream(message, id: id) }
        return id
    }

    func makeStreamID() -> Int {
        defer { nextStreamID += 1 }
        return nextStreamID
    }

    /// The connection to `address` for outgoing requests, opening one if there is none.
    func outboundStream(to address: SocketAddress) -> SIPPeer {
        if let id = outboundStreams[address], streams[id] != nil || pendingStreamMessages[id] != nil {
            return .stream(id, remote: address)
        }
        let id = makeStreamID()
        outboundStreams[address] = id
        pendingStreamMessages[id] = []
        if let eventLoop {
            SIPStreamConnection.connect(to: address, id: id, core: self, coreLoop: eventLoop, group: eventLoop)
        }
        return .stream(id, remote: address)
    }

    func streamConnectFailed(id: Int, error: any Error) {
        logger.warning("SIP/TCP connection failed", metadata: ["error": "\(error)"])
        pendingStreamMessages[id] = nil
        outboundStreams = outboundStreams.filter { $0.value != id }
    }

    func receive(_ message: SIPMessage, fromStream channel: any Channel) {
        receive(message, from: .stream(connectStream(channel), remote: channel.remoteAddress))
    }

    func receiveUnparsable(_ error: SIPParseError, fromStream channel: any Channel) {
        receiveUnparsable(error, from: .stream(connectStream(channel), remote: channel.remoteAddress))
    }

    func disconnectStream(_ channel: any Channel) {
        guard let id = streamIDs.removeValue(forKey: ObjectIdentifier(channel)) else { return }
        streams[id] = nil
        outboundStreams = outboundStreams.filter { $0.value != id }
    }

    func sendOnStream(_ message: SIPMessage, id: Int) {
        guard let channel = streams[id] else {
            pendingStreamMessages[id]?.append(message)
            return
        }
        var buffer = channel.allocator.buffer(capacity: 1024)
        message.serialize(into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }
}
