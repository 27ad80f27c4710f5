/// Why an RTCP packet cannot be written.
public enum RTCPWriteError: Error, Equatable, Hashable, Sendable {
    /// The buffer has no room for the packet.
    case bufferTooSmall
    /// More than 31 report blocks, BYE sources or FIR entries for one packet.
    case tooManyEntries
    /// An SDES item or BYE reason longer than 255 bytes.
    case textTooLong
}

/// Appends RTCP packets to a caller-owned buffer, building a compound packet (RFC 3550 §6.1):
/// SR or RR first, then SDES CNAME, then feedback or BYE. Each append either writes a whole packet
/// or, when it does not fit, writes nothing and throws. Does not allocate.
public struct RTCPCompoundWriter {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    @usableFromInline var written = 0

    /// A writer that starts at the beginning of `buffer`.
    @inlinable
    public init(into buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The length of the compound packet written so far.
    @inlinable public var count: Int { written }

    @inlinable
    mutating func writeHeader(count: Int, packetType: UInt8, length: Int) {
        buffer[written] = 0x80 | UInt8(truncatingIfNeeded: count & 0x1F)
        buffer[written + 1] = packetType
        buffer.writeUInt16(UInt16(truncatingIfNeeded: length / 4 - 1), at: written + 2)
    }

    /// Writes the first `min(blocks.count, 31)` blocks, walking indices (no iterator or slice,
    /// so unspecialised code allocates nothing either).
    @inlinable
    mutating func writeReportBlocks(_ blocks: some Collection<RTCPReportBlock>, at start: Int) {
        var offset = start
        var index = blocks.startIndex
        for _ in 0..<Swift.min(blocks.count, 31) {
            blocks[index].write(into: buffer, at: offset)
            offset += RTCPReportBlock.length
            blocks.formIndex(after: &index)
        }
    }

    /// Appends a sender report with up to 31 report blocks.
    @inlinable
    public mutating func appendSenderReport(
        ssrc: UInt32,
        senderInfo: RTCPSenderInfo,
        reportBlocks: some Collection<RTCPReportBlock>
    ) throws(RTCPWriteError) {
        guard reportBlocks.count <= 31 else { throw .tooManyEntries }
        let length = 28 + RTCPReportBlock.length * reportBlocks.count
        guard buffer.count - written >= length else { throw .bufferTooSmall }
        writeHeader(count: reportBlocks.count, packetType: RTCPPacketType.senderReport, length: length)
        buffer.writeUInt32(ssrc, at: written + 4)
        buffer.writeUInt32(senderInfo.ntpTimestamp.seconds, at: written + 8)
        buffer.writeUInt32(senderInfo.ntpTimestamp.fraction, at: written + 12)
        buffer.writeUInt32(senderInfo.rtpTimestamp, at: written + 16)
        buffer.writeUInt32(senderInfo.packetCount, at: written + 20)
        buffer.writeUInt32(senderInfo.octetCount, at: written + 24)
        writeReportBlocks(reportBlocks, at: written + 28)
        written += length
    }

    /// Appends a receiver report with up to 31 report blocks (none is valid: an empty RR heads a
    /// compound when there is nothing to report).
    @inlinable
    public mutating func appendReceiverReport(ssrc: UInt32, reportBlocks: some Collection<RTCPReportBlock>) throws(RTCPWriteError) {
        guard reportBlocks.count <= 31 else { throw .tooManyEntries }
        let length = 8 + RTCPReportBlock.length * reportBlocks.count
        guard buffer.count - written >= length else { throw .bufferTooSmall }
        writeHeader(count: reportBlocks.count, packetType: RTCPPacketType.receiverReport, length: length)
        buffer.writeUInt32(ssrc, at: written + 4)
        writeReportBlocks(reportBlocks, at: written + 8)
        written += length
    }

    /// Appends an SDES packet with one chunk: `ssrc` and its CNAME (for example a String's `utf8`).
    @inlinable
    public mutating func appendSourceDescription(ssrc: UInt32, cname: some Collection<UInt8>) throws(RTCPWriteError) {
        let nameLength = cname.count
        guard nameLength <= 255 else { throw .textTooLong }
        // header, SSRC, CNAME item, at least one null octet, padded to a word
        let length = (4 + 4 + 2 + nameLength + 1 + 3) & ~3
        guard buffer.count - written >= length else { throw .bufferTooSmall }
        writeHeader(count: 1, packetType: RTCPPacketType.sourceDescription, length: length)
        buffer.writeUInt32(ssrc, at: written + 4)
        buffer[written + 8] = RTCPSourceDescription.cnameItem
        buffer[written + 9] = UInt8(nameLength)
        var offset = written + 10
        for byte in cname.prefix(nameLength) {
            buffer[offset] = byte
            offset += 1
        }
        while offset < written + length {
            buffer[offset] = 0
            offset += 1
        }
        written += length
    }

    /// Appends a BYE for up to 31 sources with an optional reason.
    @inlinable
    public mutating func appendGoodbye(sources: some Collection<UInt32>, reason: (some Collection<UInt8>)? = [UInt8]?.none) throws(RTCPWriteError) {
        guard sources.count <= 31 else { throw .tooManyEntries }
        let reasonLength = reason?.count ?? 0
        guard reasonLength <= 255 else { throw .textTooLong }
        let reasonBytes = reason == nil ? 0 : (1 + reasonLength + 3) & ~3
        let length = 4 + 4 * sources.count + reasonBytes
        guard buffer.count - written >= length else { throw .bufferTooSmall }
        writeHeader(count: sources.count, packetType: RTCPPacketType.goodbye, length: length)
        var offset = written + 4
        for source in sources.prefix(31) {
            buffer.writeUInt32(source, at: offset)
            offset += 4
        }
        if let reason {
            buffer[offset] = UInt8(reasonLength)
            offset += 1
            for byte in reason.prefix(reasonLength) {
                buffer[offset] = byte
                offset += 1
            }
            while offset < written + length {
                buffer[offset] = 0
                offset += 1
            }
        }
        written += length
    }

    /// Appends a picture loss indication (PSFB FMT 1).
    @inlinable
    public mutating func appendPictureLossIndication(senderSSRC: UInt32, mediaSSRC: UInt32) throws(RTCPWriteError) {
        guard buffer.count - written >= 12 else { throw .bufferTooSmall }
        writeHeader(count: Int(RTCPPictureLossIndication.format), packetType: RTCPPacketType.payloadFeedback, length: 12)
        buffer.writeUInt32(senderSSRC, at: written + 4)
        buffer.writeUInt32(mediaSSRC, at: written + 8)
        written += 12
    }

    /// Appends a full intra request (PSFB FMT 4) asking `mediaSSRC` for a decoder refresh with
    /// command sequence number `sequenceNumber` (RFC 5104 §4.3.1.1: incremented per new request).
    @inlinable
    public mutating func appendFullIntraRequest(senderSSRC: UInt32, mediaSSRC: UInt32, sequenceNumber: UInt8) throws(RTCPWriteError) {
        guard buffer.count - written >= 20 else { throw .bufferTooSmall }
        writeHeader(count: Int(RTCPFullIntraRequest.format), packetType: RTCPPacketType.payloadFeedback, length: 20)
        buffer.writeUInt32(senderSSRC, at: written + 4)
        buffer.writeUInt32(0, at: written + 8)  // media source SSRC is unused in FIR
        buffer.writeUInt32(mediaSSRC, at: written + 12)
        buffer.writeUInt32(UInt32(sequenceNumber) << 24, at: written + 16)
        written += 20
    }

    /// Appends a generic NACK (RTPFB FMT 1) for `lostSequenceNumbers` (best in ascending order:
    /// each number that is not within 16 after the current entry's PID starts a new entry).
    /// Writes nothing when the list is empty.
    @inlinable
    public mutating func appendGenericNACK(
        senderSSRC: UInt32,
        mediaSSRC: UInt32,
        lostSequenceNumbers: some Sequence<UInt16>
    ) throws(RTCPWriteError) {
        let start = written
        var offset = start + 12
        var packetID: UInt16 = 0
        var bitmask: UInt16 = 0
        var open = false
        for sequence in lostSequenceNumbers {
            let distance = sequence &- packetID
            if open, distance >= 1, distance <= 16 {
                bitmask |= 1 << (distance - 1)
                continue
            }
            if open {
                guard buffer.count - offset >= 4 else { throw .bufferTooSmall }
                buffer.writeUInt16(packetID, at: offset)
                buffer.writeUInt16(bitmask, at: offset + 2)
                offset += 4
            }
            packetID = sequence
            bitmask = 0
            open = true
        }
        guard open else { return }
        guard buffer.count - offset >= 4, buffer.count - start >= 12 else { throw .bufferTooSmall }
        buffer.writeUInt16(packetID, at: offset)
        buffer.writeUInt16(bitmask, at: offset + 2)
        offset += 4
        let length = offset - start
        guard length / 4 - 1 <= Int(UInt16.max) else { throw .tooManyEntries }
        writeHeader(count: Int(RTCPGenericNACK.format), packetType: RTCPPacketType.transportFeedback, length: length)
        buffer.writeUInt32(senderSSRC, at: start + 4)
        buffer.writeUInt32(mediaSSRC, at: start + 8)
        written = offset
    }
}

extension RTCPCompoundPacket {
    /// Rewrites SSRCs in place in the compound packet in `bytes`, for a relay that maps SSRCs
    /// between legs: the sender SSRC of every SR, RR and feedback packet becomes `senderSSRC`
    /// (when given), and each nonzero media source SSRC (feedback media source, FIR entries, REMB
    /// SSRCs, report block sources) becomes `mediaSSRC(old)`. SDES, BYE and unknown packet types are left alone.
    /// Returns the number of packets changed.
    @inlinable
    @discardableResult
    public static func rewriteSSRCs(
        in bytes: UnsafeMutableRawBufferPointer,
        senderSSRC: UInt32?,
        mediaSSRC: (UInt32) -> UInt32
    ) throws(RTCPParseError) -> Int {
        let compound = try RTCPCompoundPacket(validating: UnsafeRawBufferPointer(bytes))
        var changed = 0
        var offset = 0
        for packet in compound {
            defer { offset += 4 * (Int(UnsafeRawBufferPointer(bytes).readUInt16(at: offset + 2)) + 1) }
            let length = packet.bytes.count
            func remap(at position: Int) {
                let old = UnsafeRawBufferPointer(bytes).readUInt32(at: offset + position)
                if old != 0 { bytes.writeUInt32(mediaSSRC(old), at: offset + position) }
            }
            func replaceSender() {
                if let senderSSRC { bytes.writeUInt32(senderSSRC, at: offset + 4) }
            }
            switch packet.packetType {
            case RTCPPacketType.senderReport, RTCPPacketType.receiverReport:
                let first = packet.packetType == RTCPPacketType.senderReport ? 28 : 8
                guard length >= first else { continue }
                replaceSender()
                var block = first
                for _ in 0..<Int(packet.count) where block + RTCPReportBlock.length <= length {
                    remap(at: block)
                    block += RTCPReportBlock.length
                }
                changed += 1
            case RTCPPacketType.transportFeedback, RTCPPacketType.payloadFeedback:
                guard length >= 12 else { continue }
                replaceSender()
                if packet.packetType == RTCPPacketType.payloadFeedback, packet.count == RTCPFullIntraRequest.format {
                    var entry = 12
                    while entry + 8 <= length {
                        remap(at: entry)
                        entry += 8
                    }
                } else if packet.packetType == RTCPPacketType.payloadFeedback, packet.count == 15,
                    length >= 20, UnsafeRawBufferPointer(bytes).readUInt32(at: offset + 12) == 0x5245_4D42
                {
                    // REMB (draft-alvestrand-rmcat-remb): the SSRCs follow the bitrate.
                    let sources = Int(bytes[offset + 16])
                    var entry = 20
                    for _ in 0..<sources where entry + 4 <= length {
                        remap(at: entry)
                        entry += 4
                    }
                } else {
                    remap(at: 8)
                }
                changed += 1
            default:
                continue
            }
        }
        return changed
    }
}
