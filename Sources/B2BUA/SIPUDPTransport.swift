import Logging
import NIOCore
import NIOPosix
import SIP

/// SIP over UDP: one bound socket; datagrams are parsed and handed to the core on the socket's
/// event loop, and the core's messages are written back out of the same socket.
final class SIPUDPTransport: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let core: SignallingCore
    private var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    /// Inside a batch of reads: what the core sends meanwhile is flushed once at the end of the
    /// batch (one sendmmsg for many datagrams) instead of one sendmsg per message.
    private var reading = false
    private var unflushed = false

    init(core: SignallingCore) {
        self.core = core
    }

    /// The receive and send buffer asked for on the SIP socket.
    static let socketBufferBytes: SocketOptionValue = 8 << 20

    static func bind(host: String, port: Int, core: SignallingCore, group: any EventLoopGroup) async throws -> any Channel {
        let transport = SIPUDPTransport(core: core)
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // One socket takes every trunk's traffic: at a few thousand calls a second the
            // default buffer (about 90 datagrams) overflows in the time of one timer tick, and
            // every lost request costs the caller a 500 ms retransmission. The kernel caps the
            // size at net.core.rmem_max / wmem_max.
            .channelOption(.socketOption(.so_rcvbuf), value: Self.socketBufferBytes)
            .channelOption(.socketOption(.so_sndbuf), value: Self.socketBufferBytes)
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.pipeline.addHandler(transport)
            }
            .bind(host: host, port: port)
            .get()
        return channel
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        self.context = context
        core.attach(udp: self, eventLoop: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Runs `body` (timers of one tick) with its sends flushed once at the end.
    func batching(_ body: () -> Void) {
        guard !reading, let context else { return body() }
        reading = true
        body()
        reading = false
        if unflushed {
            unflushed = false
            context.flush()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let envelope = unwrapInboundIn(data)
        let buffer = envelope.data
        // CRLF keep-alives on UDP are ignored.
        if buffer.readableBytes <= 4, buffer.readableBytesView.allSatisfy({ $0 == 13 || $0 == 10 || $0 == 0 }) { return }
        do throws(SIPParseError) {
            let message = try SIPMessage.parse(datagram: buffer)
            core.receive(message, from: .udp(envelope.remoteAddress))
        } catch {
            core.receiveUnparsable(error, from: .udp(envelope.remoteAddress))
        }
    }

    func send(_ message: SIPMessage, to address: SocketAddress) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 1024)
        message.serialize(into: &buffer)
        let envelope = wrapOutboundOut(AddressedEnvelope(remoteAddress: address, data: buffer))
        if reading {
            context.write(envelope, promise: nil)
            unflushed = true
        } else {
            context.writeAndFlush(envelope, promise: nil)
        }
    }
}
