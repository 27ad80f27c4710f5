/// Why bytes are not an RTP packet (RFC 3550 §5.1).
public enum RTPParseError: Error, Equatable, Hashable, Sendable {
    /// Fewer bytes than the fixed header, the CSRC list or the extension header need.
    case truncated
    /// The version field is not 2.
    case unsupportedVersion(UInt8)
    /// The extension length runs past the end of the packet.
    case extensionOverrun
    /// The padding count is zero or larger than the bytes after the header.
    case invalidPadding
}

/// The fields of an RTP fixed header (RFC 3550 §5.1) that a sender chooses per packet.
public struct RTPHeaderFields: Equatable, Hashable, Sendable {
    /// The marker bit (start of a talkspurt for audio, end of a frame for video).
    public var marker: Bool
    /// The payload type, 0...127.
    public var payloadType: UInt8
    /// The sequence number.
    public var sequenceNumber: UInt16
    /// The RTP timestamp, in the payload's clock rate.
    public var timestamp: UInt32
    /// The synchronisation source.
    public var ssrc: UInt32

    /// Fields for a new header.
    @inlinable
    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType & 0x7F
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }
}

/// A parsed RTP header: its fields and where the CSRC list, the header extension and the
/// payload lie in the packet. Holds offsets only, never the bytes, so it is a plain value;
/// accessors that read variable parts take the packet bytes again.
public struct RTPHeader: Equatable, Hashable, Sendable {
    /// The length of the fixed header.
    public static let fixedLength = 12

    /// The per-packet fields (marker, payload type, sequence, timestamp, SSRC).
    public var fields: RTPHeaderFields
    /// The padding bit was set; ``paddingLength`` bytes were removed from the payload.
    public var hasPadding: Bool
    /// The number of CSRC identifiers after the fixed header, 0...15.
    public var csrcCount: Int
    /// The extension profile (`0xBEDE` one-byte form, `0x100x` two-byte form), when the
    /// extension bit is set.
    public var extensionProfile: UInt16?
    /// Where the extension data (after the 4-byte extension header) lies in the packet.
    public var extensionData: Range<Int>
    /// Where the payload starts in the packet.
    public var payloadOffset: Int
    /// The payload length, padding removed.
    public var payloadLength: Int
    /// The number of padding bytes at the end of the packet (0 without padding).
    public var paddingLength: Int

    /// The marker bit.
    @inlinable public var marker: Bool { fields.marker }
    /// The payload type.
    @inlinable public var payloadType: UInt8 { fields.payloadType }
    /// The sequence number.
    @inlinable public var sequenceNumber: UInt16 { fields.sequenceNumber }
    /// The RTP timestamp.
    @inlinable public var timestamp: UInt32 { fields.timestamp }
    /// The synchronisation source.
    @inlinable public var ssrc: UInt32 { fields.ssrc }
    /// The extension bit was set.
    @inlinable public var hasExtension: Bool { extensionProfile != nil }
    /// Where the payload (padding removed) lies in the packet.
    @inlinable public var payload: Range<Int> { payloadOffset..<(payloadOffset + payloadLength) }

    /// Parses the header of the RTP packet in `packet`. Does not allocate.
    @inlinable
    public init(parsing packet: UnsafeRawBufferPointer) throws(RTPParseError) {
        guard packet.count >= RTPHeader.fixedLength else { throw .truncated }
        let first = packet[0]
        let version = first >> 6
        guard version == 2 else { throw .unsupportedVersion(version) }
        let second = packet[1]
        let csrcCount = Int(first & 0x0F)
        var offset = RTPHeader.fixedLength + 4 * csrcCount
        guard packet.count >= offset else { throw .truncated }
        var profile: UInt16?
        var extensionData = offset..<offset
        if first & 0x10 != 0 {
            guard packet.count >= offset + 4 else { throw .truncated }
            profile = packet.readUInt16(at: offset)
            let words = Int(packet.readUInt16(at: offset + 2))
            let start = offset + 4
            let end = start + 4 * words
            guard end <= packet.count else { throw .extensionOverrun }
            extensionData = start..<end
            offset = end
        }
        var padding = 0
        let hasPadding = first & 0x20 != 0
        if hasPadding {
            padding = Int(packet[packet.count - 1])
            guard padding > 0, padding <= packet.count - offset else { throw .invalidPadding }
        }
        self.fields = RTPHeaderFields(
            marker: second & 0x80 != 0,
            payloadType: second & 0x7F,
            sequenceNumber: packet.readUInt16(at: 2),
            timestamp: packet.readUInt32(at: 4),
            ssrc: packet.readUInt32(at: 8)
        )
        self.hasPadding = hasPadding
        self.csrcCount = csrcCount
        self.extensionProfile = profile
        self.extensionData = extensionData
        self.payloadOffset = offset
        self.payloadLength = packet.count - offset - padding
        self.paddingLength = padding
    }

    /// The CSRC identifier at `index` (0..<``csrcCount``), read from the packet this header was
    /// parsed from; nil when out of range.
    @inlinable
    public func csrc(at index: Int, in packet: UnsafeRawBufferPointer) -> UInt32? {
        let offset = RTPHeader.fixedLength + 4 * index
        guard index >= 0, index < csrcCount, offset + 4 <= packet.count else { return nil }
        return packet.readUInt32(at: offset)
    }

    /// The header extension elements (RFC 8285) of the packet this header was parsed from.
    /// Empty without an extension or with a profile other than the one- and two-byte forms.
    @inlinable
    public func extensionElements(in packet: UnsafeRawBufferPointer) -> RTPHeaderExtensionElements {
        guard let profile = extensionProfile, extensionData.upperBound <= packet.count else {
            return RTPHeaderExtensionElements(packet: packet, data: 0..<0, form: nil)
        }
        return RTPHeaderExtensionElements(packet: packet, data: extensionData, form: RTPHeaderExtensionForm(profile: profile))
    }

    /// The header extension element with `id` (for example the BUNDLE MID, RFC 8843), if present.
    @inlinable
    public func extensionElement(id: UInt8, in packet: UnsafeRawBufferPointer) -> RTPHeaderExtensionElement? {
        for element in extensionElements(in: packet) where element.id == id {
            return element
        }
        return nil
    }
}
