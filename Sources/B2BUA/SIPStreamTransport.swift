import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SIP

/// SIP over TCP (RFC 3261 §18, framed by Content-Length), and over TLS (§26.2) with a TLS
/// handler in front: each connection is a peer of the core; responses and in-dialog requests
/// for it go back over the same connection.
final class SIPStreamConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SIPStreamFramer.Frame

    /// What an outbound TLS connection needs: the client context (trust settings) and the name
    /// the server's certificate must carry (nil: its address).
    struct ClientTLS: Sendable {
        var context: NIOSSLContext
        var serverHostname: String?
    }

    private let core: SignallingCore
    private let coreLoop: any EventLoop
    /// The number an outbound connection was given before it connected.
    private let presetID: Int?
    /// Whether a TLS handler runs in front of this one.
    private let secure: Bool
    private var handshakeCompleted = false
    private var failureReported = false

    init(core: SignallingCore, coreLoop: any EventLoop, presetID: Int? = nil, secure: Bool = false) {
        self.core = core
        self.coreLoop = coreLoop
        self.presetID = presetID
        self.secure = secure
    }

    /// Connects to `address` as connection `id` (over TLS with `tls`); messages queued for it
    /// meanwhile go out once it is up. If it cannot be opened, or its TLS handshake fails, the
    /// core fails the calls waiting for it.
    static func connect(to address: SocketAddress, id: Int, core: SignallingCore, coreLoop: any EventLoop, group: any EventLoopGroup, tls: ClientTLS? = nil) {
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamFramer(keepAliveRole: .client)))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamConnection(core: core, coreLoop: coreLoop, presetID: id, secure: tls != nil))
                }
            }
            .connect(to: address)
            .whenFailure { error in
                coreLoop.execute { core.streamConnectFailed(id: id, error: error) }
            }
    }

    /// Accepts SIP over TCP on `host:port`, or over TLS with the server context `tls`.
    static func listen(host: String, port: Int, core: SignallingCore, coreLoop: any EventLoop, group: any EventLoopGroup, tls: NIOSSLContext? = nil) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamFramer()))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamConnection(core: core, coreLoop: coreLoop, secure: tls != nil))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let core = self.core
        let presetID = self.presetID
        let secure = self.secure
        coreLoop.execute { _ = core.connectStream(channel, id: presetID, secure: secure) }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(_)? = event as? TLSUserEvent { handshakeCompleted = true }
        context.fireUserInboundEventTriggered(event)
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
        reportHandshakeFailure(context: context, cause: "the connection closed during the TLS handshake")
        coreLoop.execute { core.disconnectStream(channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A framing error (oversized message, no Content-Length, not SIP) or a TLS error ends
        // the connection.
        reportHandshakeFailure(context: context, cause: Self.describe(error))
        context.close(promise: nil)
    }

    /// Tells the core once that an outbound TLS connection never got through its handshake.
    private func reportHandshakeFailure(context: ChannelHandlerContext, cause: String) {
        guard secure, !handshakeCompleted, !failureReported, let id = presetID else { return }
        failureReported = true
        let remote = context.channel.remoteAddress.flatMap { address in
            address.ipAddress.map { ip in ip.contains(":") ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)" }
        } ?? "the peer"
        let core = self.core
        coreLoop.execute { core.streamFailed(id: id, cause: "TLS handshake with \(remote) failed: \(cause)") }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate did not verify against the trusted CAs (CERTIFICATE_VERIFY_FAILED)"
        }
        return text
    }
}

extension SignallingCore {
    func connectStream(_ channel: any Channel, id preset: Int? = nil, secure: Bool = false) -> Int {
        if let existing = streamIDs[ObjectIdentifier(channel)] { return existing }
        if preset == nil, streams.count >= configuration.maxStreamConnections {
            logger.warning("SIP/TCP connection refused: too many connections", metadata: ["limit": "\(configuration.maxStreamConnections)"])
            channel.close(promise: nil)
        }
        let id = preset ?? makeStreamID()
        streams[id] = channel
        streamIDs[ObjectIdentifier(channel)] = id
        if secure { tls.secureStreams.insert(id) }
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
        streamFailed(id: id, cause: "the connection could not be opened: \(error)")
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
        tls.secureStreams.remove(id)
        forgetOutboundStream(id)
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
