/// The two header extension forms of RFC 8285.
public enum RTPHeaderExtensionForm: Equatable, Hashable, Sendable {
    /// Profile `0xBEDE`: ids 1...14, 1...16 data bytes per element.
    case oneByte
    /// Profile `0x100x`: ids 1...255, 0...255 data bytes per element; `appBits` are the low
    /// four bits of the profile.
    case twoByte(appBits: UInt8)

    /// The one-byte form's profile value.
    public static let oneByteProfile: UInt16 = 0xBEDE

    /// The form an extension profile value announces, or nil for other profiles.
    @inlinable
    public init?(profile: UInt16) {
        if profile == RTPHeaderExtensionForm.oneByteProfile {
            self = .oneByte
        } else if profile & 0xFFF0 == 0x1000 {
            self = .twoByte(appBits: UInt8(profile & 0x0F))
        } else {
            return nil
        }
    }

    /// The profile value written in the extension header.
    @inlinable
    public var profile: UInt16 {
        switch self {
        case .oneByte: RTPHeaderExtensionForm.oneByteProfile
        case .twoByte(let appBits): 0x1000 | UInt16(appBits & 0x0F)
        }
    }
}

/// One header extension element: its id and where its data lies in the packet.
public struct RTPHeaderExtensionElement: Equatable, Hashable, Sendable {
    /// The extension id negotiated with `a=extmap`.
    public var id: UInt8
    /// Where the element's data lies in the packet.
    public var data: Range<Int>

    /// An element with `id` whose data is at `data`.
    @inlinable
    public init(id: UInt8, data: Range<Int>) {
        self.id = id
        self.data = data
    }
}

/// The elements of an RFC 8285 header extension, read lazily from the packet bytes. Stops at
/// the first malformed element (and, in the one-byte form, at id 15) without trapping.
public struct RTPHeaderExtensionElements: Sequence {
    @usableFromInline let packet: UnsafeRawBufferPointer
    @usableFromInline let data: Range<Int>
    @usableFromInline let form: RTPHeaderExtensionForm?

    @inlinable
    init(packet: UnsafeRawBufferPointer, data: Range<Int>, form: RTPHeaderExtensionForm?) {
        self.packet = packet
        self.data = data
        self.form = form
    }

    /// Walks the elements.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let packet: UnsafeRawBufferPointer
        @usableFromInline var offset: Int
        @usableFromInline let end: Int
        @usableFromInline let twoByte: Bool

        @inlinable
        init(packet: UnsafeRawBufferPointer, offset: Int, end: Int, twoByte: Bool) {
            self.packet = packet
            self.offset = offset
            self.end = end
            self.twoByte = twoByte
        }

        /// The next element, or nil at the end or at a malformed element.
        @inlinable
        public mutating func next() -> RTPHeaderExtensionElement? {
            while offset < end {
                let id = packet[offset]
                if id == 0 {
                    offset += 1  // padding
                    continue
                }
                let start: Int
                let length: Int
                if twoByte {
                    guard offset + 2 <= end else { offset = end; return nil }
                    length = Int(packet[offset + 1])
                    start = offset + 2
                    guard start + length <= end else { offset = end; return nil }
                    offset = start + length
                    return RTPHeaderExtensionElement(id: id, data: start..<(start + length))
                } else {
                    let elementID = id >> 4
                    guard elementID != 15 else { offset = end; return nil }
                    if elementID == 0 {
                        offset += 1  // padding with a nonzero length nibble
                        continue
                    }
                    length = Int(id & 0x0F) + 1
                    start = offset + 1
                    guard start + length <= end else { offset = end; return nil }
                    offset = start + length
                    return RTPHeaderExtensionElement(id: elementID, data: start..<(start + length))
                }
            }
            return nil
        }
    }

    /// An iterator over the elements.
    @inlinable
    public func makeIterator() -> Iterator {
        switch form {
        case .none: Iterator(packet: packet, offset: 0, end: 0, twoByte: false)
        case .oneByte: Iterator(packet: packet, offset: data.lowerBound, end: data.upperBound, twoByte: false)
        case .twoByte: Iterator(packet: packet, offset: data.lowerBound, end: data.upperBound, twoByte: true)
        }
    }
}
