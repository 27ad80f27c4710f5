import Media
import NIOCore
import RTP
import SIP

/// Both directions of a transcoded call: RTP in through an adaptive ``JitterBuffer``, payload
/// through a ``Transcoder`` at its playout time, RTP out with the gateway's own SSRC, sequence
/// numbers and timestamps. The buffer puts reordered packets back in order and absorbs
/// arrival jitter (its delay follows the measured jitter, changed only at talkspurt starts);
/// lost packets are concealed by the decoder (from Opus FEC in the next packet when it is
/// there) rather than skipped, so the outgoing stream stays continuous.
///
/// A packet that arrives only goes into its direction's buffer (``Direction/insert(_:at:emit:)``;
/// telephone events go out at once); the caller plays each direction out with
/// ``Direction/drain(at:emit:)`` from a periodic tick (the event loop's ``TranscodingTicker``),
/// so that a frame plays at the first tick at or after its playout time.
///
/// Outgoing packets are built in the direction's own buffer and handed to `emit` as that buffer
/// and the packet's length: the buffer has room after the packet for an SRTP trailer, so the
/// caller protects in place and sends from there.
final class TranscodingPath {
    /// Gets each outgoing packet: the buffer it is in (from its start, with room after it) and its length.
    typealias Emit = (UnsafeMutableRawBufferPointer, Int) -> Void

    /// One direction.
    final class Direction {
        let transcoder: Transcoder
        let inputPayloadType: UInt8
        let outputPayloadType: UInt8
        let inputClockRate: Int
        let outputClockRate: Int
        let ssrc: UInt32
        var sequence: UInt16
        /// The next output timestamp: each frame moves it on by the time the frame covers.
        var timestamp: UInt32
        /// Received frames until their playout time.
        var jitter: JitterBuffer
        /// A played-out payload, and the payload after a gap (for FEC).
        let playout: UnsafeMutableRawBufferPointer
        let following: UnsafeMutableRawBufferPointer
        /// How far the last frame moved ``timestamp``, in output clock ticks.
        var lastAdvance: UInt32 = 0
        var sent = 0
        var marker = true
        /// Preallocated output: RTP header and payload, and room after them for the SRTP trailer.
        let output: UnsafeMutableRawBufferPointer
        /// The encoder's output, before the header goes in front of it.
        let encoded: UnsafeMutableRawBufferPointer

        /// The MID extension to add (towards the browser), as id and value.
        let mid: (id: UInt8, value: String)?
        /// telephone-event (RFC 4733) in and out, moved onto the output's clock and timeline.
        let inputEventType: UInt8?
        let outputEventType: UInt8?
        var events: TelephoneEventRateConverter?

        init(
            transcoder: Transcoder, input: SDPPayloadFormat, output format: SDPPayloadFormat,
            events: (input: SDPPayloadFormat, output: SDPPayloadFormat)? = nil, ssrc: UInt32? = nil, mid: (id: UInt8, value: String)? = nil
        ) {
            self.transcoder = transcoder
            self.mid = mid
            inputEventType = events?.input.payloadType
            outputEventType = events?.output.payloadType
            inputPayloadType = input.payloadType
            outputPayloadType = format.payloadType
            inputClockRate = Int(input.codec.clockRate)
            outputClockRate = Int(format.codec.clockRate)
            var generator = SystemRandomNumberGenerator()
            self.ssrc = ssrc ?? generator.next()
            sequence = generator.next()
            timestamp = generator.next()
            output = .allocate(byteCount: 1600, alignment: 8)
            encoded = .allocate(byteCount: Transcoder.maximumPayloadSize, alignment: 8)
            jitter = JitterBuffer(configuration: JitterBuffer.Configuration(clockRate: Int(input.codec.clockRate), maximumPayloadSize: Self.maximumPayload))
            playout = .allocate(byteCount: Self.maximumPayload, alignment: 8)
            following = .allocate(byteCount: Self.maximumPayload, alignment: 8)
            if let events {
                self.events = TelephoneEventRateConverter(
                    inputClockRate: Int(events.input.codec.clockRate), outputClockRate: Int(events.output.codec.clockRate),
                    anchor: 0, output: timestamp
                )
            }
        }

        static let maximumPayload = 1500

        deinit {
            output.deallocate()
            encoded.deallocate()
            playout.deallocate()
            following.deallocate()
        }

        /// Takes one RTP packet in at `now`: audio into the jitter buffer, to be played out by
        /// ``drain(at:emit:)``; a telephone event out at once through `emit`.
        func insert(_ packet: ByteBuffer, at now: NIODeadline, emit: Emit) {
            packet.withUnsafeReadableBytes { bytes in
                guard let header = try? RTPHeader(parsing: bytes), header.payloadLength > 0 else { return }
                if header.payloadType == inputEventType {
                    // Events go at once: they carry their own timing.
                    relayEvent(header, UnsafeRawBufferPointer(rebasing: bytes[header.payload]), emit: emit)
                    return
                }
                guard header.payloadType == inputPayloadType else { return }
                // Into an empty buffer, this packet plays next: events line up with it.
                if jitter.bufferedFrames == 0 { events?.setAnchor(input: header.timestamp, output: timestamp) }
                let outcome = jitter.insert(
                    sequenceNumber: header.sequenceNumber, timestamp: header.timestamp, marker: header.marker, ssrc: header.ssrc,
                    payload: UnsafeRawBufferPointer(rebasing: bytes[header.payload]), arrival: now
                )
                // A new stream (SSRC, or a jump) restarts the outgoing one: marker bit.
                if outcome == .resynchronised { marker = true }
            }
        }

        /// Transcodes every frame whose playout time has come, concealing the missing ones.
        /// Returns when the next one is due (nil: nothing buffered).
        func drain(at now: NIODeadline, emit: Emit) -> NIODeadline? {
            // Gaps found overdue together (an outage that ended): up to three are concealed, the
            // rest only keep the timeline, and the stream restarts with the marker bit.
            var overdue = 0
            while true {
                switch jitter.playout(at: now, into: playout) {
                case .frame(let frame):
                    overdue = 0
                    // Events that follow line up with the audio they interrupt.
                    events?.setAnchor(input: frame.timestamp, output: timestamp)
                    let payload = UnsafeRawBufferPointer(rebasing: playout[..<min(frame.payloadLength, playout.count)])
                    encodeFrame(emit: emit) { try transcoder.transcode(payload, into: $0) }
                case .missing where overdue >= 3:
                    timestamp &+= lastAdvance
                    marker = true
                case .missing(let gap):
                    overdue += 1
                    var next: UnsafeRawBufferPointer?
                    if gap.nextPacketAvailable, let length = jitter.copyPayload(sequenceNumber: gap.sequenceNumber &+ 1, into: following) {
                        next = UnsafeRawBufferPointer(rebasing: following[..<min(length, following.count)])
                    }
                    encodeFrame(emit: emit) { try transcoder.transcodeMissingFrame(next: next, into: $0) }
                case .waiting(let until):
                    return until
                case .empty:
                    return nil
                }
            }
        }

        /// One telephone-event packet onto the output stream: the output's payload type,
        /// sequence numbers and clock; the end packets stay three.
        private func relayEvent(_ header: RTPHeader, _ payload: UnsafeRawBufferPointer, emit: Emit) {
            guard let outputEventType, var events, let event = try? TelephoneEvent(parsing: payload) else { return }
            let converted = events.convert(timestamp: header.timestamp, marker: header.marker, event: event)
            self.events = events
            let fields = RTPHeaderFields(
                marker: converted.marker, payloadType: outputEventType, sequenceNumber: sequence, timestamp: converted.timestamp, ssrc: ssrc
            )
            let eventBytes = UnsafeMutableRawBufferPointer(rebasing: encoded[..<TelephoneEvent.length])
            guard converted.event.write(into: eventBytes) != nil, var writer = try? RTPPacketWriter(into: output, fields: fields) else { return }
            if let mid { try? writer.appendExtensionElement(id: mid.id, bytes: mid.value.utf8) }
            guard let total = try? writer.finish(payload: UnsafeRawBufferPointer(eventBytes)) else { return }
            sequence &+= 1
            sent += 1
            emit(output, total)
        }

        private func encodeFrame(emit: Emit, _ body: (UnsafeMutableRawBufferPointer) throws -> Int) {
            let payloadArea = encoded
            guard let length = try? body(payloadArea), length > 0 else { return }
            let fields = RTPHeaderFields(marker: marker, payloadType: outputPayloadType, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
            guard var writer = try? RTPPacketWriter(into: output, fields: fields) else { return }
            if let mid { try? writer.appendExtensionElement(id: mid.id, bytes: mid.value.utf8) }
            guard let total = try? writer.finish(payload: UnsafeRawBufferPointer(rebasing: payloadArea[..<length])) else { return }
            marker = false
            sequence &+= 1
            // The frame lasts as long as the input frame (or the made-up one): 20 ms, or 60 ms
            // from a call centre that packs three frames a packet.
            let samples = UInt64(transcoder.lastFrameSamples)
            lastAdvance = UInt32(truncatingIfNeeded: samples * UInt64(outputClockRate) / UInt64(max(transcoder.source.sampleRate, 1)))
            timestamp &+= lastAdvance
            sent += 1
            emit(output, total)
        }
    }

    let toCallee: Direction
    let toBrowser: Direction

    /// - Parameter calleeSSRC: the SSRC towards the call centre (random when nil).
    init(plan: MediaBridgePlan, opus: OpusEncoder.Configuration, calleeSSRC: UInt32? = nil) throws {
        guard let browserCodec = AudioCodec(plan.browserAudio.codec), let calleeCodec = AudioCodec(plan.calleeAudio.codec) else {
            throw MediaPlanError.noCodecInCommon
        }
        let browserEvent = plan.browserTelephoneEvent, calleeEvent = plan.calleeTelephoneEvent
        toCallee = Direction(
            transcoder: try Transcoder(from: browserCodec, to: calleeCodec, opus: opus),
            input: plan.browserAudio, output: plan.calleeAudio,
            events: browserEvent.flatMap { input in calleeEvent.map { (input, $0) } }, ssrc: calleeSSRC
        )
        let mid = plan.midExtensionID.flatMap { id in plan.audioMid.map { (id: UInt8(clamping: id), value: $0) } }
        toBrowser = Direction(
            transcoder: try Transcoder(from: calleeCodec, to: browserCodec, opus: opus),
            input: plan.calleeAudio, output: plan.browserAudio,
            events: calleeEvent.flatMap { input in browserEvent.map { (input, $0) } }, ssrc: plan.browserSSRC, mid: mid.flatMap { $0.id < 15 ? $0 : nil }
        )
    }

    var sentToCallee: Int { toCallee.sent }
    var sentToBrowser: Int { toBrowser.sent }

    /// A packet from the browser at `now`, into the direction to the call centre.
    func browserToCallee(_ packet: ByteBuffer, at now: NIODeadline = .now(), emit: Emit) {
        toCallee.insert(packet, at: now, emit: emit)
    }

    /// A packet from the call centre at `now`, into the direction to the browser.
    func calleeToBrowser(_ packet: ByteBuffer, at now: NIODeadline = .now(), emit: Emit) {
        toBrowser.insert(packet, at: now, emit: emit)
    }
}

extension AudioCodec {
    /// The codec an SDP format names, when the gateway can decode and encode it.
    init?(_ codec: SDPCodec) {
        if codec.matches(.opus) { self = .opus }
        else if codec.matches(.pcmu) { self = .pcmu }
        else if codec.matches(.pcma) { self = .pcma }
        else if codec.matches(.g722) { self = .g722 }
        else { return nil }
    }
}
