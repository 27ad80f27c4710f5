/// A report block of an SR or RR (RFC 3550 §6.4.1): reception statistics about one source.
public struct RTCPReportBlock: Equatable, Hashable, Sendable {
    /// The length of a report block on the wire.
    public static let length = 24

    /// The source the block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, as a fixed-point number with the
    /// binary point at the left (lost / expected × 256).
    public var fractionLost: UInt8
    /// Cumulative number of packets lost (24-bit signed; duplicates can make it negative).
    public var cumulativeLost: Int32
    /// Extended highest sequence number received (cycles in the high 16 bits).
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter, in timestamp units.
    public var jitter: UInt32
    /// The middle 32 bits of the NTP timestamp of the last SR received from the source (LSR).
    public var lastSenderReport: UInt32
    /// The delay since that SR was received, in units of 1/65536 s (DLSR).
    public var delaySinceLastSenderReport: UInt32

    /// A report block with the given fields.
    @inlinable
    public init(
        ssrc: UInt32,
        fractionLost: UInt8,
        cumulativeLost: Int32,
        extendedHighestSequenceNumber: UInt32,
        jitter: UInt32,
        lastSenderReport: UInt32,
        delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a report block at `offset` (the caller has checked that 24 bytes are there).
    @inlinable
    init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        let lost = bytes.readUInt24(at: offset + 5)
        self.ssrc = bytes.readUInt32(at: offset)
        self.fractionLost = bytes[offset + 4]
        self.cumulativeLost = Int32(bitPattern: lost << 8) >> 8  // sign-extend 24 bits
        self.extendedHighestSequenceNumber = bytes.readUInt32(at: offset + 8)
        self.jitter = bytes.readUInt32(at: offset + 12)
        self.lastSenderReport = bytes.readUInt32(at: offset + 16)
        self.delaySinceLastSenderReport = bytes.readUInt32(at: offset + 20)
    }

    /// Writes the block at `offset` (the caller has checked that 24 bytes fit).
    @inlinable
    func write(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        let lost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        bytes.writeUInt32(ssrc, at: offset)
        bytes[offset + 4] = fractionLost
        bytes.writeUInt24(UInt32(bitPattern: lost) & 0xFF_FFFF, at: offset + 5)
        bytes.writeUInt32(extendedHighestSequenceNumber, at: offset + 8)
        bytes.writeUInt32(jitter, at: offset + 12)
        bytes.writeUInt32(lastSenderReport, at: offset + 16)
        bytes.writeUInt32(delaySinceLastSenderReport, at: offset + 20)
    }
}

/// The report blocks of an SR or RR, read lazily.
public struct RTCPReportBlocks: RandomAccessCollection {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let offset: Int
    /// The number of blocks.
    public let count: Int

    @inlinable
    init(bytes: UnsafeRawBufferPointer, offset: Int, count: Int) {
        self.bytes = bytes
        self.offset = offset
        self.count = count
    }

    /// Zero.
    @inlinable public var startIndex: Int { 0 }
    /// The number of blocks.
    @inlinable public var endIndex: Int { count }

    /// The block at `index`. A validated packet holds all `count` blocks; an index out of range
    /// yields an all-zero block rather than trapping.
    @inlinable
    public subscript(index: Int) -> RTCPReportBlock {
        let start = offset + index * RTCPReportBlock.length
        guard index >= 0, index < count, start + RTCPReportBlock.length <= bytes.count else {
            return RTCPReportBlock(ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        }
        return RTCPReportBlock(reading: bytes, at: start)
    }
}

/// The sender information of an SR (RFC 3550 §6.4.1).
public struct RTCPSenderInfo: Equatable, Hashable, Sendable {
    /// The wallclock time when the report was sent.
    public var ntpTimestamp: NTPTimestamp
    /// The RTP timestamp corresponding to the same instant.
    public var rtpTimestamp: UInt32
    /// Packets sent since the start of transmission.
    public var packetCount: UInt32
    /// Payload octets sent since the start of transmission.
    public var octetCount: UInt32

    /// Sender information with the given fields.
    @inlinable
    public init(ntpTimestamp: NTPTimestamp, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32) {
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
    }
}

/// A sender report (RFC 3550 §6.4.1).
public struct RTCPSenderReport {
    /// The sender's SSRC.
    public let ssrc: UInt32
    /// The sender information.
    public let senderInfo: RTCPSenderInfo
    /// The report blocks.
    public let reportBlocks: RTCPReportBlocks

    /// Reads the SR in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        let blocks = Int(packet.count)
        guard bytes.count >= 28 + blocks * RTCPReportBlock.length else { throw .malformed }
        self.ssrc = bytes.readUInt32(at: 4)
        self.senderInfo = RTCPSenderInfo(
            ntpTimestamp: NTPTimestamp(seconds: bytes.readUInt32(at: 8), fraction: bytes.readUInt32(at: 12)),
            rtpTimestamp: bytes.readUInt32(at: 16),
            packetCount: bytes.readUInt32(at: 20),
            octetCount: bytes.readUInt32(at: 24)
        )
        self.reportBlocks = RTCPReportBlocks(bytes: bytes, offset: 28, count: blocks)
    }
}

/// A receiver report (RFC 3550 §6.4.2).
public struct RTCPReceiverReport {
    /// The reporter's SSRC.
    public let ssrc: UInt32
    /// The report blocks.
    public let reportBlocks: RTCPReportBlocks

    /// Reads the RR in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        let blocks = Int(packet.count)
        guard bytes.count >= 8 + blocks * RTCPReportBlock.length else { throw .malformed }
        self.ssrc = bytes.readUInt32(at: 4)
        self.reportBlocks = RTCPReportBlocks(bytes: bytes, offset: 8, count: blocks)
    }
}

/// A source description (RFC 3550 §6.5): chunks of an SSRC and its items.
public struct RTCPSourceDescription: Sequence {
    /// The CNAME item type.
    public static let cnameItem: UInt8 = 1

    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// The number of chunks.
    public let chunkCount: Int

    /// Reads the SDES in `packet`, checking that every chunk and item fits.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        var offset = 4
        for _ in 0..<Int(packet.count) {
            guard offset + 4 <= bytes.count else { throw .malformed }
            offset += 4
            while true {
                guard offset < bytes.count else { throw .malformed }
                let type = bytes[offset]
                if type == 0 {
                    offset += 1
                    offset = (offset + 3) & ~3  // the chunk ends at the next word boundary
                    guard offset <= bytes.count else { throw .malformed }
                    break
                }
                guard offset + 2 <= bytes.count else { throw .malformed }
                offset += 2 + Int(bytes[offset + 1])
                guard offset <= bytes.count else { throw .malformed }
            }
        }
        self.bytes = bytes
        self.chunkCount = Int(packet.count)
    }

    /// One chunk: an SSRC or CSRC and its items.
    public struct Chunk {
        /// The source the items describe.
        public let ssrc: UInt32
        @usableFromInline let bytes: UnsafeRawBufferPointer
        @usableFromInline let items: Range<Int>

        @inlinable
        init(ssrc: UInt32, bytes: UnsafeRawBufferPointer, items: Range<Int>) {
            self.ssrc = ssrc
            self.bytes = bytes
            self.items = items
        }

        /// The text of the first item of `type`, if present.
        @inlinable
        public func item(_ type: UInt8) -> UnsafeRawBufferPointer? {
            var offset = items.lowerBound
            while offset + 2 <= items.upperBound {
                let itemType = bytes[offset]
                if itemType == 0 { return nil }
                let length = Int(bytes[offset + 1])
                let end = offset + 2 + length
                guard end <= items.upperBound else { return nil }
                if itemType == type {
                    return UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<end])
                }
                offset = end
            }
            return nil
        }

        /// The canonical name (CNAME item), if present.
        @inlinable
        public var cname: UnsafeRawBufferPointer? { item(RTCPSourceDescription.cnameItem) }
    }

    /// Walks the chunks.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let bytes: UnsafeRawBufferPointer
        @usableFromInline var offset = 4
        @usableFromInline var remaining: Int

        @inlinable
        init(bytes: UnsafeRawBufferPointer, remaining: Int) {
            self.bytes = bytes
            self.remaining = remaining
        }

        /// The next chunk.
        @inlinable
        public mutating func next() -> Chunk? {
            guard remaining > 0, offset + 4 <= bytes.count else { return nil }
            remaining -= 1
            let ssrc = bytes.readUInt32(at: offset)
            let start = offset + 4
            var cursor = start
            while cursor < bytes.count, bytes[cursor] != 0 {
                guard cursor + 2 <= bytes.count else { break }
                cursor += 2 + Int(bytes[cursor + 1])
            }
            let end = Swift.min(cursor, bytes.count)
            offset = Swift.min((cursor + 1 + 3) & ~3, bytes.count)
            return Chunk(ssrc: ssrc, bytes: bytes, items: start..<end)
        }
    }

    /// An iterator over the chunks.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(bytes: bytes, remaining: chunkCount)
    }
}

/// A goodbye (RFC 3550 §6.6): the sources leaving and an optional reason.
public struct RTCPGoodbye {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// The number of sources.
    public let sourceCount: Int
    /// The reason text, if present.
    public let reason: UnsafeRawBufferPointer?

    /// Reads the BYE in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        let sources = Int(packet.count)
        let end = 4 + 4 * sources
        guard end <= bytes.count else { throw .malformed }
        if end < bytes.count {
            let length = Int(bytes[end])
            guard end + 1 + length <= bytes.count else { throw .malformed }
            self.reason = UnsafeRawBufferPointer(rebasing: bytes[(end + 1)..<(end + 1 + length)])
        } else {
            self.reason = nil
        }
        self.bytes = bytes
        self.sourceCount = sources
    }

    /// The SSRC or CSRC at `index`, or nil when out of range.
    @inlinable
    public func source(at index: Int) -> UInt32? {
        guard index >= 0, index < sourceCount, 4 + 4 * index + 4 <= bytes.count else { return nil }
        return bytes.readUInt32(at: 4 + 4 * index)
    }
}
