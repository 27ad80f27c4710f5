/// Why bytes are not a valid RTCP compound packet or RTCP packet (RFC 3550 §6, A.2).
public enum RTCPParseError: Error, Equatable, Hashable, Sendable {
    /// Fewer bytes than a header or a declared length needs.
    case truncated
    /// The version field is not 2.
    case unsupportedVersion(UInt8)
    /// The padding bit is set on a packet that is not the last of the compound, or the padding
    /// count is invalid.
    case invalidPadding
    /// The packet's fields do not fit its length (report blocks, SDES chunks, FCI entries).
    case malformed
}

/// An RTCP packet type (RFC 3550 §12.1, RFC 4585 §6.1).
public enum RTCPPacketType {
    /// Sender report.
    public static let senderReport: UInt8 = 200
    /// Receiver report.
    public static let receiverReport: UInt8 = 201
    /// Source description.
    public static let sourceDescription: UInt8 = 202
    /// Goodbye.
    public static let goodbye: UInt8 = 203
    /// Application-defined.
    public static let application: UInt8 = 204
    /// Transport-layer feedback (generic NACK, transport-wide congestion control).
    public static let transportFeedback: UInt8 = 205
    /// Payload-specific feedback (PLI, FIR, REMB).
    public static let payloadFeedback: UInt8 = 206
}

/// One packet of an RTCP compound packet: its header fields and its bytes (padding removed).
public struct RTCPPacket {
    /// The packet's bytes from its header to the end of its last word, padding removed.
    public let bytes: UnsafeRawBufferPointer
    /// The packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 205 RTPFB, 206 PSFB, ...).
    public let packetType: UInt8
    /// The 5-bit count field: report count, source count, or feedback message type (FMT).
    public let count: UInt8

    @inlinable
    init(bytes: UnsafeRawBufferPointer, packetType: UInt8, count: UInt8) {
        self.bytes = bytes
        self.packetType = packetType
        self.count = count
    }

    /// The first SSRC after the header (the sender's for SR, RR, BYE and feedback), or nil for a
    /// packet without one.
    @inlinable
    public var senderSSRC: UInt32? {
        bytes.count >= 8 ? bytes.readUInt32(at: 4) : nil
    }

    /// The packet decoded by type. Unknown types, and known types with unknown formats, are
    /// ``RTCPMessage/unknown(_:)``.
    @inlinable
    public func message() throws(RTCPParseError) -> RTCPMessage {
        switch packetType {
        case RTCPPacketType.senderReport: .senderReport(try RTCPSenderReport(self))
        case RTCPPacketType.receiverReport: .receiverReport(try RTCPReceiverReport(self))
        case RTCPPacketType.sourceDescription: .sourceDescription(try RTCPSourceDescription(self))
        case RTCPPacketType.goodbye: .goodbye(try RTCPGoodbye(self))
        case RTCPPacketType.transportFeedback where count == RTCPGenericNACK.format:
            .genericNACK(try RTCPGenericNACK(self))
        case RTCPPacketType.payloadFeedback where count == RTCPPictureLossIndication.format:
            .pictureLossIndication(try RTCPPictureLossIndication(self))
        case RTCPPacketType.payloadFeedback where count == RTCPFullIntraRequest.format:
            .fullIntraRequest(try RTCPFullIntraRequest(self))
        default: .unknown(self)
        }
    }
}

/// An RTCP packet decoded by type.
public enum RTCPMessage {
    /// SR (RFC 3550 §6.4.1).
    case senderReport(RTCPSenderReport)
    /// RR (RFC 3550 §6.4.2).
    case receiverReport(RTCPReceiverReport)
    /// SDES (RFC 3550 §6.5).
    case sourceDescription(RTCPSourceDescription)
    /// BYE (RFC 3550 §6.6).
    case goodbye(RTCPGoodbye)
    /// RTPFB generic NACK (RFC 4585 §6.2.1).
    case genericNACK(RTCPGenericNACK)
    /// PSFB picture loss indication (RFC 4585 §6.3.1).
    case pictureLossIndication(RTCPPictureLossIndication)
    /// PSFB full intra request (RFC 5104 §4.3.1).
    case fullIntraRequest(RTCPFullIntraRequest)
    /// Any other packet (APP, REMB, transport-cc, XR, ...), passed through as is.
    case unknown(RTCPPacket)
}

/// An RTCP compound packet (RFC 3550 §6.1), validated as in RFC 3550 A.2: every packet has
/// version 2, only the last may be padded, and the lengths add up to the datagram exactly.
/// Iterating yields each packet. The first packet is not required to be a report, so
/// reduced-size RTCP (RFC 5506) is accepted.
public struct RTCPCompoundPacket: Sequence {
    /// The datagram.
    public let bytes: UnsafeRawBufferPointer
    /// The number of packets in the compound.
    public let packetCount: Int

    /// Validates the compound packet in `bytes`. Does not allocate.
    @inlinable
    public init(validating bytes: UnsafeRawBufferPointer) throws(RTCPParseError) {
        guard bytes.count >= 4 else { throw .truncated }
        var offset = 0
        var packets = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw .truncated }
            let first = bytes[offset]
            let version = first >> 6
            guard version == 2 else { throw .unsupportedVersion(version) }
            let length = 4 * (Int(bytes.readUInt16(at: offset + 2)) + 1)
            guard length <= bytes.count - offset else { throw .truncated }
            if first & 0x20 != 0 {
                guard offset + length == bytes.count else { throw .invalidPadding }
                let padding = Int(bytes[offset + length - 1])
                guard padding > 0, padding <= length - 4 else { throw .invalidPadding }
            }
            offset += length
            packets += 1
        }
        self.bytes = bytes
        self.packetCount = packets
    }

    /// Walks the packets of a validated compound.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let bytes: UnsafeRawBufferPointer
        @usableFromInline var offset: Int

        @inlinable
        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
            self.offset = 0
        }

        /// The next packet.
        @inlinable
        public mutating func next() -> RTCPPacket? {
            guard bytes.count - offset >= 4 else { return nil }
            let first = bytes[offset]
            let length = 4 * (Int(bytes.readUInt16(at: offset + 2)) + 1)
            guard length <= bytes.count - offset else { return nil }
            var end = offset + length
            if first & 0x20 != 0 {
                let padding = Int(bytes[end - 1])
                if padding <= length - 4 { end -= padding }
            }
            let packet = RTCPPacket(
                bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]),
                packetType: bytes[offset + 1],
                count: first & 0x1F
            )
            offset += length
            return packet
        }
    }

    /// An iterator over the packets.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(bytes: bytes)
    }
}
