/// Why bytes were rejected as a STUN message (RFC 8489 §5, §14).
///
/// Offsets count from the first byte of the message. The parser throws these and never traps.
public enum STUNParseError: Error, Sendable, Hashable {
    /// Fewer than the 20 bytes of a STUN header.
    case truncatedHeader(count: Int)
    /// One of the two most significant bits of the message type is set: not STUN.
    case reservedTypeBits
    /// The magic cookie is not 0x2112A442.
    case wrongMagicCookie(UInt32)
    /// The message length field is not a multiple of 4.
    case lengthNotMultipleOfFour(Int)
    /// The message length field and the number of bytes after the header disagree.
    case lengthMismatch(declared: Int, available: Int)
    /// An attribute's header or padded value runs past the end of the message.
    case truncatedAttribute(type: UInt16, offset: Int)
    /// An attribute follows FINGERPRINT, which must be the last attribute.
    case attributeAfterFingerprint(offset: Int)
    /// A known attribute has a value of the wrong size or content.
    case invalidAttribute(STUNAttributeType)
}

/// Why a STUN message could not be written.
public enum STUNEncodeError: Error, Sendable, Hashable {
    /// The buffer has no room for the next part of the message.
    case bufferTooSmall
    /// An attribute value longer than 65535 bytes, or a message longer than 65535 + 20.
    case valueTooLong
    /// A value the attribute cannot carry (an ERROR-CODE outside 300–699).
    case invalidValue(STUNAttributeType)
    /// The transport address has no STUN address family (a Unix domain socket).
    case unsupportedAddress
}
