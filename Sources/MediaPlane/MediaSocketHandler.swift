import NIOCore

/// The channel handler of one media socket: hands each datagram to the session that owns the
/// socket and flushes the session's channel writes (STUN, DTLS, RTCP; relayed RTP is sent with
/// `sendto(2)` at once) after each read.
final class MediaSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let session: MediaSession
    let leg: MediaSession.Socket

    init(session: MediaSession, leg: MediaSession.Socket) {
        self.session = session
        self.leg = leg
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        session.receive(&envelope.data, from: envelope.remoteAddress, on: leg)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.flush(leg)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The socket's descriptor is closed by now: relayed packets must not be sent to it.
        session.detach(leg)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like surface here; media keeps flowing.
    }
}
