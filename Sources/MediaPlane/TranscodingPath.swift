import Media
import NIOCore
import RTP
import SIP

/// Both directions of a transcoded call: RTP in, payload through a ``Transcoder``, RTP out with
/// the gateway's own SSRC, sequence numbers and timestamps. Lost packets (sequence gaps) are
/// concealed by the decoder rather than skipped, so the outgoing stream stays continuous.
final class TranscodingPath {
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
        var lastInputSequence: UInt16?
        var lastInputTimestamp: UInt32?
        /// How far the last frame moved ``timestamp``, in output clock ticks.
        var lastAdvance: UInt32 = 0
        var sent = 0
        var marker = true
        /// Preallocated output: RTP header and payload.
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
            if let events {
                self.events = TelephoneEventRateConverter(
                    inputClockRate: Int(events.input.codec.clockRate), outputClockRate: Int(events.output.codec.clockRate),
                    anchor: 0, output: timestamp
                )
            }
        }

        deinit {
            output.deallocate()
            encoded.deallocate()
        }

        /// Transcodes one RTP packet; `emit` gets each outgoing packet.
        func process(_ packet: ByteBuffer, emit: (ByteBuffer) -> Void) {
            packet.withUnsafeReadableBytes { bytes in
                guard let header = try? RTPHeader(parsing: bytes), header.payloadLength > 0 else { return }
                if header.payloadType == inputEventType {
                    relayEvent(header, UnsafeRawBufferPointer(rebasing: bytes[header.payload]), emit: emit)
                    return
                }
                guard header.payloadType == inputPayloadType else { return }
                if let last = lastInputSequence {
                    let gap = header.sequenceNumber &- last
                    // Duplicates and late packets (gap 0 or "negative") are dropped.
                    guard gap != 0, gap < 0x8000 else { return }
                    // Up to three missing frames are concealed; a longer outage restarts the stream
                    // (marker bit) after as much time as the sender's timestamps say went by.
                    if gap > 1 {
                        if gap <= 4 {
                            for _ in 1..<gap { encodeFrame(emit: emit) { try transcoder.transcodeMissingFrame(into: $0) } }
                        } else {
                            marker = true
                            skipOutage(until: header.timestamp)
                        }
                    }
                }
                lastInputSequence = header.sequenceNumber
                lastInputTimestamp = header.timestamp
                // Events that follow line up with the audio they interrupt.
                events?.setAnchor(input: header.timestamp, output: timestamp)
                let payload = UnsafeRawBufferPointer(rebasing: bytes[header.payload])
                encodeFrame(emit: emit) { try transcoder.transcode(payload, into: $0) }
            }
        }

        /// Moves the output timeline over an outage: the input time from the last packet to
        /// this one, on the output clock, less the frame already counted.
        private func skipOutage(until inputTimestamp: UInt32) {
            guard let last = lastInputTimestamp else { return }
            let elapsed = inputTimestamp &- last
            // A timestamp that went backwards, or jumped by more than a minute, is not time.
            guard elapsed < UInt32(inputClockRate) * 60 else { return }
            let scaled = UInt64(elapsed) * UInt64(outputClockRate) / UInt64(max(inputClockRate, 1))
            if scaled > UInt64(lastAdvance) { timestamp &+= UInt32(truncatingIfNeeded: scaled - UInt64(lastAdvance)) }
        }

        /// One telephone-event packet onto the output stream: the output's payload type,
        /// sequence numbers and clock; the end packets stay three.
        private func relayEvent(_ header: RTPHeader, _ payload: UnsafeRawBufferPointer, emit: (ByteBuffer) -> Void) {
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
            var buffer = ByteBuffer()
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: output[..<total]))
            emit(buffer)
        }

        private func encodeFrame(emit: (ByteBuffer) -> Void, _ body: (UnsafeMutableRawBufferPointer) throws -> Int) {
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
            var buffer = ByteBuffer()
            buffer.reserveCapacity(total + 32)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: output[..<total]))
            emit(buffer)
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

    func browserToCallee(_ packet: ByteBuffer, emit: (ByteBuffer) -> Void) {
        toCallee.process(packet, emit: emit)
    }

    func calleeToBrowser(_ packet: ByteBuffer, emit: (ByteBuffer) -> Void) {
        toBrowser.process(packet, emit: emit)
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
