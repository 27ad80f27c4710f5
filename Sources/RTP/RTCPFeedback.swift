/// A generic NACK (RFC 4585 §6.2.1, RTPFB FMT 1): the media sender's lost packets as
/// (PID, BLP) pairs.
public struct RTCPGenericNACK: Sequence {
    /// The feedback message type.
    public static let format: UInt8 = 1

    /// The SSRC of the packet's sender.
    public let senderSSRC: UInt32
    /// The SSRC of the media source whose packets are missing.
    public let mediaSSRC: UInt32
    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// The number of (PID, BLP) entries.
    public let entryCount: Int

    /// Reads the NACK in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        guard bytes.count >= 16, (bytes.count - 12) % 4 == 0 else { throw .malformed }
        self.senderSSRC = bytes.readUInt32(at: 4)
        self.mediaSSRC = bytes.readUInt32(at: 8)
        self.bytes = bytes
        self.entryCount = (bytes.count - 12) / 4
    }

    /// The entry at `index`: the packet id and the bitmask of the 16 following lost packets.
    @inlinable
    public func entry(at index: Int) -> (packetID: UInt16, bitmask: UInt16)? {
        let offset = 12 + 4 * index
        guard index >= 0, index < entryCount, offset + 4 <= bytes.count else { return nil }
        return (bytes.readUInt16(at: offset), bytes.readUInt16(at: offset + 2))
    }

    /// Walks the lost sequence numbers in the order the entries list them.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let nack: RTCPGenericNACK
        @usableFromInline var entry = 0
        @usableFromInline var bit = -1

        @inlinable
        init(nack: RTCPGenericNACK) {
            self.nack = nack
        }

        /// The next lost sequence number.
        @inlinable
        public mutating func next() -> UInt16? {
            while let (packetID, bitmask) = nack.entry(at: entry) {
                if bit < 0 {
                    bit = 0
                    return packetID
                }
                while bit < 16 {
                    let current = bit
                    bit += 1
                    if bitmask & (1 << current) != 0 {
                        return packetID &+ UInt16(current + 1)
                    }
                }
                entry += 1
                bit = -1
            }
            return nil
        }
    }

    /// An iterator over the lost sequence numbers.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(nack: self)
    }
}

/// A picture loss indication (RFC 4585 §6.3.1, PSFB FMT 1).
public struct RTCPPictureLossIndication: Equatable, Hashable, Sendable {
    /// The feedback message type.
    public static let format: UInt8 = 1

    /// The SSRC of the packet's sender.
    public var senderSSRC: UInt32
    /// The SSRC of the media source asked for a key frame.
    public var mediaSSRC: UInt32

    /// Reads the PLI in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        guard packet.bytes.count >= 12 else { throw .malformed }
        self.senderSSRC = packet.bytes.readUInt32(at: 4)
        self.mediaSSRC = packet.bytes.readUInt32(at: 8)
    }
}

/// A full intra request (RFC 5104 §4.3.1, PSFB FMT 4): entries of a media source SSRC and a
/// command sequence number.
public struct RTCPFullIntraRequest {
    /// The feedback message type.
    public static let format: UInt8 = 4

    /// The SSRC of the packet's sender.
    public let senderSSRC: UInt32
    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// The number of FCI entries.
    public let entryCount: Int

    /// Reads the FIR in `packet`.
    @inlinable
    public init(_ packet: RTCPPacket) throws(RTCPParseError) {
        let bytes = packet.bytes
        guard bytes.count >= 20, (bytes.count - 12) % 8 == 0 else { throw .malformed }
        self.senderSSRC = bytes.readUInt32(at: 4)
        self.bytes = bytes
        self.entryCount = (bytes.count - 12) / 8
    }

    /// The entry at `index`: the SSRC asked for a decoder refresh and the command sequence number.
    @inlinable
    public func entry(at index: Int) -> (ssrc: UInt32, sequenceNumber: UInt8)? {
        let offset = 12 + 8 * index
        guard index >= 0, index < entryCount, offset + 8 <= bytes.count else { return nil }
        return (bytes.readUInt32(at: offset), bytes[offset + 4])
    }
}
