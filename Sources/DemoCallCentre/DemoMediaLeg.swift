import Logging
import Media
import NIOCore
import NIOPosix
import RTP
import SIP

/// The demo agent's audio: one RTP socket that plays the greeting (G.711, 20 ms packets) and
/// then sends every received audio payload straight back.
final class DemoMediaLeg: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    enum OfferError: Error {
        case noAudio
        case noG711
    }

    let loop: any EventLoop
    let logger: Logger
    /// PCMU (0) or PCMA (8), as negotiated.
    let payloadType: UInt8
    private(set) var answer: String = ""
    private var remote: SocketAddress?
    private var latched = false
    private var channel: (any Channel)?
    private var player: RepeatedTask?
    private var greetingOffset = 0
    private var echoing = false
    private var sequence: UInt16
    private var timestamp: UInt32
    private let ssrc: UInt32
    private var closed = false
    /// RFC 4733 telephone events heard, reported once each (at their end).
    var onDigit: ((Character) -> Void)?
    private var lastEventTimestamp: UInt32?

    private init(offer body: ByteBuffer, host: String, loop: any EventLoop, logger: Logger) throws {
        self.loop = loop
        self.logger = logger
        let offer = try SDPSessionDescription(parsing: body.readableBytesView)
        guard let audio = offer.media.first(where: { $0.media == .audio && !$0.isDisabled }) else { throw OfferError.noAudio }
        guard let format = audio.payloadFormats.first(where: { $0.codec.matches(.pcmu) || $0.codec.matches(.pcma) }) else { throw OfferError.noG711 }
        payloadType = format.payloadType
        let event = audio.payloadFormats.first { $0.codec.isTelephoneEvent && $0.codec.clockRate == 8000 }
        if let connection = audio.effectiveConnection(in: offer), let address = try? SocketAddress(ipAddress: connection.address, port: Int(audio.port)) {
            remote = address
        }
        var generator = SystemRandomNumberGenerator()
        sequence = generator.next()
        timestamp = generator.next()
        ssrc = generator.next()
        self.format = format
        self.event = event
        self.host = host
    }

    private let format: SDPPayloadFormat
    private let event: SDPPayloadFormat?
    private let host: String

    /// A leg for `offer` with its RTP socket bound on `host` (any free port) and its answer ready.
    static func open(offer body: ByteBuffer, host: String, loop: any EventLoop, logger: Logger) -> EventLoopFuture<DemoMediaLeg> {
        let leg: DemoMediaLeg
        do {
            leg = try DemoMediaLeg(offer: body, host: host, loop: loop, logger: logger)
        } catch {
            return loop.makeFailedFuture(error)
        }
        return DatagramBootstrap(group: loop)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(leg) } }
            .bind(host: host, port: 0)
            .map { channel in
                leg.describe(port: channel.localAddress?.port ?? 0)
                return leg
            }
    }

    private func describe(port: Int) {
        var lines = [
            "v=0", "o=agent 1 1 IN IP4 \(host)", "s=Switchboard demo call centre", "c=IN IP4 \(host)", "t=0 0",
            "m=audio \(port) RTP/AVP \(payloadType)\(event.map { " \($0.payloadType)" } ?? "")",
            "a=rtpmap:\(payloadType) \(format.codec.rtpMapEncoding)",
        ]
        if let event { lines += ["a=rtpmap:\(event.payloadType) telephone-event/8000", "a=fmtp:\(event.payloadType) 0-16"] }
        lines += ["a=ptime:20", "a=sendrecv", ""]
        answer = lines.joined(separator: "\r\n")
    }

    /// A re-offer: follow a moved address.
    func update(offer body: ByteBuffer) {
        guard let offer = try? SDPSessionDescription(parsing: body.readableBytesView),
            let audio = offer.media.first(where: { $0.media == .audio && !$0.isDisabled }),
            let connection = audio.effectiveConnection(in: offer), !connection.isUnspecifiedAddress,
            let address = try? SocketAddress(ipAddress: connection.address, port: Int(audio.port))
        else { return }
        loop.execute { [self] in if !latched { remote = address } }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
    }

    func start() {
        player = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { [self] _ in playNextFrame() }
    }

    private func playNextFrame() {
        let greeting = PackageResources.greeting_ulaw
        guard greetingOffset < greeting.count else {
            player?.cancel()
            player = nil
            echoing = true
            return
        }
        let end = min(greetingOffset + 160, greeting.count)
        var frame = [UInt8](greeting[greetingOffset..<end])
        frame += [UInt8](repeating: 0xFF, count: 160 - frame.count)
        greetingOffset = end
        if payloadType == 8 { frame = frame.map { ALaw.encode(MuLaw.decode($0)) } }
        sendFrame(frame[...], marker: greetingOffset == 160)
    }

    private func sendFrame(_ payload: ArraySlice<UInt8>, marker: Bool) {
        guard let channel, let remote, !closed else { return }
        var buffer = channel.allocator.buffer(capacity: 12 + payload.count)
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(UInt8(marker ? 0x80 | payloadType : payloadType))
        buffer.writeInteger(sequence)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        buffer.writeBytes(payload)
        sequence &+= 1
        timestamp &+= UInt32(payload.count)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let packet = envelope.data
        // Symmetric RTP: answer where the caller's audio comes from.
        if !latched {
            remote = envelope.remoteAddress
            latched = true
        }
        if let event, let digit = packet.withUnsafeReadableBytes({ bytes in Self.endedDigit(in: bytes, eventType: event.payloadType) }),
            digit.timestamp != lastEventTimestamp
        {
            lastEventTimestamp = digit.timestamp
            onDigit?(digit.character)
        }
        guard echoing else { return }
        let payload = packet.withUnsafeReadableBytes { bytes -> [UInt8]? in
            guard let header = try? RTPHeader(parsing: bytes), header.payloadType == payloadType, header.payloadLength > 0 else { return nil }
            return Array(bytes[header.payload])
        }
        guard let payload else { return }
        sendFrame(payload[...], marker: false)
    }

    /// The digit of a telephone-event packet with the end bit (the three end packets of one event
    /// share its timestamp).
    static func endedDigit(in bytes: UnsafeRawBufferPointer, eventType: UInt8) -> (character: Character, timestamp: UInt32)? {
        guard let header = try? RTPHeader(parsing: bytes), header.payloadType == eventType, header.payloadLength >= 4 else { return nil }
        let event = bytes[header.payloadOffset]
        guard bytes[header.payloadOffset + 1] & 0x80 != 0, event <= 15 else { return nil }
        let characters: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"]
        return (characters[Int(event)], header.timestamp)
    }

    func close() {
        loop.execute { [self] in
            closed = true
            player?.cancel()
            channel?.close(promise: nil)
        }
    }
}
