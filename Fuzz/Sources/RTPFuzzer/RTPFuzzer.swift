import NIOCore
import RTP
import SIPFuzzSupport

/// libFuzzer entry point for the RTP module.
///
/// The input is parsed as an RTP packet (header, CSRCs, RFC 8285 extensions), as an RTCP
/// compound (every packet, report block, SDES chunk, BYE source and feedback entry), as a
/// telephone-event payload, and as a stream of packet events for the receive statistics and the
/// jitter buffer. Properties: nothing traps; a parsed RTP header rebuilt with
/// ``RTPPacketWriter`` and rewritten in place with ``RTPMutablePacket`` re-parses to the same
/// fields, CSRCs, extension elements and payload; reports and NACKs rebuilt with
/// ``RTCPCompoundWriter`` re-parse to the same contents; the jitter buffer's counts stay
/// consistent.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    checkRTP(bytes)
    checkRTCP(bytes)
    checkTelephoneEvent(bytes)
    checkStream(bytes)
    return 0
}

private func hexDump(_ bytes: UnsafeRawBufferPointer) -> String {
    bytes.prefix(256).map { String($0, radix: 16) }.joined(separator: " ")
}

private struct ParsedRTP: Equatable {
    var fields: RTPHeaderFields
    var csrcs: [UInt32]
    var elements: [[UInt8]]
    var elementIDs: [UInt8]
    var payload: [UInt8]
    var paddingLength: Int

    init(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer) {
        fields = header.fields
        csrcs = (0..<header.csrcCount).compactMap { header.csrc(at: $0, in: packet) }
        var elements: [[UInt8]] = []
        var ids: [UInt8] = []
        for element in header.extensionElements(in: packet) {
            guard element.data.lowerBound >= header.extensionData.lowerBound,
                  element.data.upperBound <= header.extensionData.upperBound
            else {
                propertyFailure("extension element outside the extension", hexDump(packet))
            }
            ids.append(element.id)
            elements.append(Array(packet[element.data]))
        }
        self.elements = elements
        self.elementIDs = ids
        guard header.payload.upperBound <= packet.count, header.payload.lowerBound >= RTPHeader.fixedLength else {
            propertyFailure("payload outside the packet", hexDump(packet))
        }
        payload = Array(packet[header.payload])
        paddingLength = header.paddingLength
    }
}

private func checkRTP(_ packet: UnsafeRawBufferPointer) {
    let header: RTPHeader
    do {
        header = try RTPHeader(parsing: packet)
    } catch {
        return
    }
    let original = ParsedRTP(header, packet)
    guard original.csrcs.count == header.csrcCount else { propertyFailure("CSRC accessor lost entries", hexDump(packet)) }
    if let element = original.elementIDs.first, header.extensionElement(id: element, in: packet) == nil {
        propertyFailure("extensionElement(id:) misses a listed element", hexDump(packet))
    }

    // Rebuild with the writer in the extension's own form.
    let form = header.extensionProfile.flatMap(RTPHeaderExtensionForm.init(profile:)) ?? .oneByte
    var rebuilt = [UInt8](repeating: 0, count: packet.count + 300)
    let length: Int
    do {
        length = try rebuilt.withUnsafeMutableBytes { buffer in
            var writer = try RTPPacketWriter(into: buffer, fields: header.fields, extensionForm: form)
            for index in 0..<header.csrcCount {
                try writer.appendCSRC(header.csrc(at: index, in: packet) ?? 0)
            }
            try writer.appendExtensionElements(of: header, in: packet)
            return try writer.finish(payload: UnsafeRawBufferPointer(rebasing: packet[header.payload]), paddingLength: header.paddingLength)
        }
    } catch {
        propertyFailure("a parsed packet cannot be rebuilt: \(error)", hexDump(packet))
    }
    rebuilt.withUnsafeBytes { raw in
        let view = UnsafeRawBufferPointer(rebasing: raw[0..<length])
        do {
            let again = try RTPHeader(parsing: view)
            let parsed = ParsedRTP(again, view)
            guard parsed == original else {
                propertyFailure("rebuilt packet parses differently: \(original) became \(parsed)", hexDump(packet))
            }
        } catch {
            propertyFailure("rebuilt packet does not parse: \(error)", hexDump(packet))
        }
    }

    // Rewrite every field in place; only those fields change.
    var copy = Array(packet)
    let fields = RTPHeaderFields(
        marker: !header.marker,
        payloadType: header.payloadType ^ 0x55,
        sequenceNumber: header.sequenceNumber &+ 1,
        timestamp: ~header.timestamp,
        ssrc: header.ssrc &* 31
    )
    copy.withUnsafeMutableBytes { raw in
        do {
            try RTPMutablePacket(raw).rewrite(fields)
            let again = try RTPHeader(parsing: UnsafeRawBufferPointer(raw))
            var expected = original
            expected.fields = fields
            guard ParsedRTP(again, UnsafeRawBufferPointer(raw)) == expected else {
                propertyFailure("in-place rewrite changed more than the fields", hexDump(packet))
            }
            // Strip the extension: payload, padding and CSRCs stay.
            let stripped = try RTPMutablePacket(raw).removeExtension()
            let view = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[0..<stripped])
            let bare = try RTPHeader(parsing: view)
            var withoutExtension = expected
            withoutExtension.elements = []
            withoutExtension.elementIDs = []
            guard !bare.hasExtension, ParsedRTP(bare, view) == withoutExtension else {
                propertyFailure("removing the extension changed the packet", hexDump(packet))
            }
        } catch {
            propertyFailure("a parsed packet cannot be rewritten: \(error)", hexDump(packet))
        }
    }
}

private func checkRTCP(_ bytes: UnsafeRawBufferPointer) {
    let compound: RTCPCompoundPacket
    do {
        compound = try RTCPCompoundPacket(validating: bytes)
    } catch {
        return
    }
    var seen = 0
    var scratch = [UInt8](repeating: 0, count: bytes.count + 64)
    for packet in compound {
        seen += 1
        _ = packet.senderSSRC
        guard let message = try? packet.message() else { continue }
        switch message {
        case .senderReport(let report):
            let blocks = Array(report.reportBlocks)
            for block in blocks {
                _ = RoundTripTime.from(block, arrival: report.senderInfo.ntpTimestamp)
                let quality = VoiceQualityEstimate(
                    packetLoss: Double(block.fractionLost) / 256,
                    jitter: .nanoseconds(Int64(block.jitter) * 125_000),
                    roundTripTime: .nanoseconds(Int64(block.delaySinceLastSenderReport)),
                    codec: .opus
                )
                guard (1...4.5).contains(quality.meanOpinionScore) else { propertyFailure("MOS out of range", hexDump(bytes)) }
            }
            rebuild(bytes, &scratch) { writer in
                try writer.appendSenderReport(ssrc: report.ssrc, senderInfo: report.senderInfo, reportBlocks: blocks)
            } check: { again in
                guard case .senderReport(let other) = again, other.ssrc == report.ssrc,
                      other.senderInfo == report.senderInfo, Array(other.reportBlocks) == blocks
                else { propertyFailure("rebuilt SR differs", hexDump(bytes)) }
            }
        case .receiverReport(let report):
            let blocks = Array(report.reportBlocks)
            rebuild(bytes, &scratch) { writer in
                try writer.appendReceiverReport(ssrc: report.ssrc, reportBlocks: blocks)
            } check: { again in
                guard case .receiverReport(let other) = again, other.ssrc == report.ssrc,
                      Array(other.reportBlocks) == blocks
                else { propertyFailure("rebuilt RR differs", hexDump(bytes)) }
            }
        case .sourceDescription(let description):
            for chunk in description {
                if let cname = chunk.cname {
                    let name = Array(cname)
                    rebuild(bytes, &scratch) { writer in
                        try writer.appendSourceDescription(ssrc: chunk.ssrc, cname: name)
                    } check: { again in
                        guard case .sourceDescription(let other) = again,
                              let first = Array(other).first, first.ssrc == chunk.ssrc,
                              first.cname.map(Array.init) == name
                        else { propertyFailure("rebuilt SDES differs", hexDump(bytes)) }
                    }
                }
                _ = chunk.item(2)
            }
        case .goodbye(let bye):
            let sources = (0..<bye.sourceCount).compactMap { bye.source(at: $0) }
            guard sources.count == bye.sourceCount else { propertyFailure("BYE source accessor lost entries", hexDump(bytes)) }
            let reason = bye.reason.map(Array.init)
            rebuild(bytes, &scratch) { writer in
                try writer.appendGoodbye(sources: sources, reason: reason)
            } check: { again in
                guard case .goodbye(let other) = again, other.sourceCount == sources.count,
                      (0..<sources.count).compactMap({ other.source(at: $0) }) == sources,
                      other.reason.map(Array.init) == reason
                else { propertyFailure("rebuilt BYE differs", hexDump(bytes)) }
            }
        case .genericNACK(let nack):
            let lost = Array(nack)
            guard lost.count <= nack.entryCount * 17 else { propertyFailure("NACK yields too many numbers", hexDump(bytes)) }
            rebuild(bytes, &scratch) { writer in
                try writer.appendGenericNACK(senderSSRC: nack.senderSSRC, mediaSSRC: nack.mediaSSRC, lostSequenceNumbers: lost)
            } check: { again in
                guard case .genericNACK(let other) = again, other.senderSSRC == nack.senderSSRC,
                      other.mediaSSRC == nack.mediaSSRC, Set(other) == Set(lost)
                else { propertyFailure("rebuilt NACK covers other sequence numbers", hexDump(bytes)) }
            }
        case .pictureLossIndication(let pli):
            rebuild(bytes, &scratch) { writer in
                try writer.appendPictureLossIndication(senderSSRC: pli.senderSSRC, mediaSSRC: pli.mediaSSRC)
            } check: { again in
                guard case .pictureLossIndication(let other) = again, other == pli else { propertyFailure("rebuilt PLI differs", hexDump(bytes)) }
            }
        case .fullIntraRequest(let fir):
            for index in 0..<fir.entryCount {
                guard fir.entry(at: index) != nil else { propertyFailure("FIR entry accessor lost entries", hexDump(bytes)) }
            }
        case .unknown(let other):
            _ = other.bytes.count
        }
    }
    guard seen == compound.packetCount else { propertyFailure("iteration saw \(seen) of \(compound.packetCount) packets", hexDump(bytes)) }

    var copy = Array(bytes)
    copy.withUnsafeMutableBytes { raw in
        do {
            _ = try RTCPCompoundPacket.rewriteSSRCs(in: raw, senderSSRC: 0x1234_5678) { $0 ^ 0xFFFF }
            _ = try RTCPCompoundPacket(validating: UnsafeRawBufferPointer(raw))
        } catch {
            propertyFailure("SSRC rewriting broke a valid compound: \(error)", hexDump(bytes))
        }
    }
}

private func rebuild(
    _ original: UnsafeRawBufferPointer,
    _ scratch: inout [UInt8],
    write: (inout RTCPCompoundWriter) throws -> Void,
    check: (RTCPMessage) -> Void
) {
    scratch.withUnsafeMutableBytes { buffer in
        var writer = RTCPCompoundWriter(into: buffer)
        do {
            try write(&writer)
        } catch {
            propertyFailure("a parsed RTCP packet cannot be rebuilt: \(error)", hexDump(original))
        }
        guard writer.count > 0 else { return }
        let view = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<writer.count])
        do {
            let compound = try RTCPCompoundPacket(validating: view)
            var iterator = compound.makeIterator()
            guard let packet = iterator.next(), compound.packetCount == 1 else { propertyFailure("rebuilt packet count", hexDump(original)) }
            check(try packet.message())
        } catch {
            propertyFailure("rebuilt RTCP packet does not parse: \(error)", hexDump(original))
        }
    }
}

private func checkTelephoneEvent(_ bytes: UnsafeRawBufferPointer) {
    guard let event = try? TelephoneEvent(parsing: bytes), bytes.count >= 12 else { return }
    var buffer = [UInt8](repeating: 0, count: 4)
    _ = buffer.withUnsafeMutableBytes { event.write(into: $0) }
    guard (try? buffer.withUnsafeBytes { try TelephoneEvent(parsing: $0) }) == event else {
        propertyFailure("telephone-event does not round-trip", hexDump(bytes))
    }
    let rates = [8000, 16000, 48000, Int(bytes.readBigEndian(4) | 1)]
    var converter = TelephoneEventRateConverter(
        inputClockRate: rates[Int(bytes[4] % 4)],
        outputClockRate: rates[Int(bytes[5] % 4)],
        anchor: bytes.readBigEndian(6),
        output: bytes.readBigEndian(8)
    )
    _ = converter.convert(timestamp: bytes.readBigEndian(2), marker: bytes[1] & 1 != 0, event: event)
}

extension UnsafeRawBufferPointer {
    /// Up to four bytes at `offset` as a big-endian number (missing bytes are zero).
    fileprivate func readBigEndian(_ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in offset..<(offset + 4) {
            value = value << 8 | UInt32(index < count ? self[index] : 0)
        }
        return value
    }
}

/// The input as 8-byte packet events (sequence, timestamp step, flags, arrival step) for the
/// receive statistics and the jitter buffer, with a playout poll after each.
private func checkStream(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count >= 8 else { return }
    let clockRate = [8000, 16000, 48000, 90000][Int(bytes[0] & 3)]
    var statistics = RTPReceiveStatistics(clockRate: clockRate, minimumSequential: Int(bytes[0] >> 6))
    var buffer = JitterBuffer(configuration: .init(clockRate: clockRate, capacity: 16 + Int(bytes[1] & 31), maximumPayloadSize: 64))
    var sender = RTPSendStatistics(clockRate: clockRate)
    var output = [UInt8](repeating: 0, count: 64)
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var timestamp: UInt32 = 0
    var offset = 0
    while offset + 8 <= bytes.count {
        let sequence = bytes.readUInt16BigEndian(offset)
        timestamp &+= UInt32(bytes.readUInt16BigEndian(offset + 2)) &* 8
        let flags = bytes[offset + 4]
        now = now + .microseconds(Int64(bytes.readUInt16BigEndian(offset + 5)) * 10)
        let payloadLength = Int(bytes[offset + 7] & 0x7F)
        let ssrc: UInt32 = flags & 0x40 != 0 ? 2 : 1
        let available = min(payloadLength, bytes.count - offset)
        let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + available)])
        statistics.record(sequenceNumber: sequence, timestamp: timestamp, payloadLength: available, arrival: now)
        sender.record(payloadLength: available, timestamp: timestamp, at: now)
        _ = buffer.insert(sequenceNumber: sequence, timestamp: timestamp, marker: flags & 0x80 != 0, ssrc: ssrc, payload: payload, arrival: now)
        if flags & 0x01 != 0 {
            statistics.recordSenderReport(NTPTimestamp(rawValue: UInt64(timestamp) << 20), arrival: now)
        }
        if flags & 0x02 != 0 {
            let block = statistics.makeReportBlock(ssrc: ssrc, now: now)
            _ = RoundTripTime.from(block, arrival: NTPTimestamp(rawValue: now.uptimeNanoseconds))
            _ = sender.senderInfo(at: now, wallclock: NTPTimestamp(unixNanoseconds: Int64(now.uptimeNanoseconds)))
        }
        for _ in 0..<Int(flags >> 2 & 3) {
            let played = output.withUnsafeMutableBytes { buffer.playout(at: now, into: $0) }
            if case .frame(let frame) = played, frame.payloadLength > 64 {
                propertyFailure("frame longer than a slot", hexDump(bytes))
            }
        }
        guard (0...buffer.configuration.capacity).contains(buffer.bufferedFrames) else {
            propertyFailure("buffered frame count \(buffer.bufferedFrames) out of range", hexDump(bytes))
        }
        offset += 8
    }
    let counts = buffer.statistics
    let dropped = counts.duplicates + counts.late + counts.oversized
    guard counts.received - dropped == counts.played + counts.discarded + buffer.bufferedFrames else {
        propertyFailure("jitter buffer counts do not add up: \(counts), buffered \(buffer.bufferedFrames)", hexDump(bytes))
    }
    _ = VoiceQualityEstimate(packetLoss: Double(statistics.cumulativeLost) / Double(max(statistics.expectedPackets, 1)), jitter: buffer.jitter, roundTripTime: .zero, codec: .g711)
}

extension UnsafeRawBufferPointer {
    fileprivate func readUInt16BigEndian(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }
}
