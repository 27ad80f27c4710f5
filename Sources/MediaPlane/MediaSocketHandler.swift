import NIOCore

/// The channel handler of one media socket. While the channel reads (no ``MediaReceiver`` on
/// the loop, or one that leaves the reads to the channels) it hands each datagram to the
/// session that owns the socket; while the receiver polls, the channel's `autoRead` is off and
/// the receiver hands them over. Either way, what the session wrote on the channel (STUN, DTLS,
/// RTCP; relayed RTP is sent with `sendto(2)` at once) is flushed after each read.
final class MediaSocketHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let session: MediaSession
    let leg: MediaSession.Socket
    /// The socket's place in the loop's receiver, once it has one.
    var registration: (receiver: MediaReceiver<MediaSession>, MediaReceiver<MediaSession>.Registration)?

    init(session: MediaSession, leg: MediaSession.Socket) {
        self.session = session
        self.leg = leg
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        registration?.receiver.countChannelRead()
        var envelope = unwrapInboundIn(data)
        session.receive(&envelope.data, from: envelope.remoteAddress, on: leg)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.flush(leg)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // The descriptor is still open: the receiver takes it off its epoll set before it closes
        // (and before its number can be a new socket's).
        if mode == .all { unregister(descriptorOpen: true) }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The socket's descriptor is closed by now: relayed packets must not be sent to it.
        unregister(descriptorOpen: false)
        session.detach(leg)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like surface here; media keeps flowing.
    }

    private func unregister(descriptorOpen: Bool) {
        guard let (receiver, registration) = registration else { return }
        self.registration = nil
        receiver.remove(registration, descriptorOpen: descriptorOpen)
    }
}
