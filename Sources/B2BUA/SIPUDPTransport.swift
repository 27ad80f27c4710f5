import Logging
import NIOCore
import NIOPosix
import SIP

/// SIP over UDP: one bound socket; datagrams are parsed and handed to the core on the socket's
/// event loop, and the core's messages are written back out of the same socket.
///
/// With several cores (``SIPShard``), each has a socket of its own on the same port
/// (`SO_REUSEPORT`; the kernel spreads datagrams over them by source address). A datagram whose
/// Call-ID another core owns is handed to that core's transport, in one batch per read batch,
/// and what a core sends leaves through its own socket, from the same port.
final class SIPUDPTransport: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let core: SignallingCore
    let shard: SIPShard
    /// The loop the socket and the core run on.
    let eventLoop: any EventLoop
    private var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    /// Inside a batch of reads: what the core sends meanwhile is flushed once at the end of the
    /// batch (one sendmmsg for many datagrams) instead of one sendmsg per message.
    private var reading = false
    private var unflushed = false
    /// Every core's transport by shard index (this one included); set before any socket binds.
    private var peers: [SIPUDPTransport] = []
    /// Messages read here for other cores, by shard index, until the end of the read batch.
    private var handoffs: [[(message: SIPMessage, from: SocketAddress)]] = []

    init(core: SignallingCore, shard: SIPShard = .single, eventLoop: any EventLoop) {
        self.core = core
        self.shard = shard
        self.eventLoop = eventLoop
    }

    /// Connects the transports of all the cores (each gets the same array, in shard order).
    static func connect(_ transports: [SIPUDPTransport]) {
        for transport in transports {
            transport.peers = transports
            transport.handoffs = Array(repeating: [], count: transports.count)
        }
    }

    /// The receive and send buffer asked for on the SIP socket.
    static let socketBufferBytes: SocketOptionValue = 8 << 20

    /// `SO_REUSEPORT`, which NIO does not name.
    static let reusePort = NIOBSDSocket.Option(rawValue: 15)

    /// Binds `transport`'s socket on its event loop; `sharingPort` when other cores bind the same port.
    static func bind(host: String, port: Int, transport: SIPUDPTransport, sharingPort: Bool = false) async throws -> any Channel {
        let channel = try await DatagramBootstrap(group: transport.eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(Self.reusePort), value: sharingPort ? 1 : 0)
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
        // The transports hold each other; the cycle ends with the socket.
        peers = []
        handoffs = []
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
        if peers.count > 1 { handOff() }
        context.fireChannelReadComplete()
    }

    /// Sends what this read batch found for other cores to them, one task per core.
    private func handOff() {
        for index in handoffs.indices where !handoffs[index].isEmpty {
            let batch = handoffs[index]
            handoffs[index].removeAll(keepingCapacity: true)
            let peer = peers[index]
            peer.eventLoop.execute { peer.receive(handedOff: batch) }
        }
    }

    /// Messages another core's socket read for this core's dialogs (on this core's loop).
    private func receive(handedOff batch: [(message: SIPMessage, from: SocketAddress)]) {
        batching {
            for (message, address) in batch { core.receive(message, from: .udp(address)) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let envelope = unwrapInboundIn(data)
        let buffer = envelope.data
        // CRLF keep-alives on UDP are ignored.
        if buffer.readableBytes <= 4, buffer.readableBytesView.allSatisfy({ $0 == 13 || $0 == 10 || $0 == 0 }) { return }
        do throws(SIPParseError) {
            let message = try SIPMessage.parse(datagram: buffer)
            if shard.count > 1, let callID = message.callID {
                let owner = SIPShard.owner(ofCallID: callID, count: shard.count)
                if owner != shard.index, owner < handoffs.count {
                    handoffs[owner].append((message, envelope.remoteAddress))
                    return
                }
            }
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
