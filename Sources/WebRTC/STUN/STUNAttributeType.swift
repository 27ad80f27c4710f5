/// The type of a STUN attribute (RFC 8489 §14, §18.3; RFC 8445 §16.1).
///
/// Types below 0x8000 are comprehension-required: an agent that does not understand one must
/// reject the message.
public struct STUNAttributeType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The attribute type number.
    public let rawValue: UInt16

    /// An attribute type from its number.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// MAPPED-ADDRESS (0x0001), the pre-XOR address of RFC 3489.
    public static let mappedAddress = STUNAttributeType(rawValue: 0x0001)
    /// USERNAME (0x0006): `localUfrag:remoteUfrag` in ICE.
    public static let username = STUNAttributeType(rawValue: 0x0006)
    /// MESSAGE-INTEGRITY (0x0008): HMAC-SHA1.
    public static let messageIntegrity = STUNAttributeType(rawValue: 0x0008)
    /// ERROR-CODE (0x0009).
    public static let errorCode = STUNAttributeType(rawValue: 0x0009)
    /// UNKNOWN-ATTRIBUTES (0x000A), in a 420 answer.
    public static let unknownAttributes = STUNAttributeType(rawValue: 0x000A)
    /// REALM (0x0014), long-term credentials.
    public static let realm = STUNAttributeType(rawValue: 0x0014)
    /// NONCE (0x0015), long-term credentials.
    public static let nonce = STUNAttributeType(rawValue: 0x0015)
    /// MESSAGE-INTEGRITY-SHA256 (0x001C): HMAC-SHA256, possibly truncated.
    public static let messageIntegritySHA256 = STUNAttributeType(rawValue: 0x001C)
    /// PASSWORD-ALGORITHM (0x001D).
    public static let passwordAlgorithm = STUNAttributeType(rawValue: 0x001D)
    /// USERHASH (0x001E).
    public static let userhash = STUNAttributeType(rawValue: 0x001E)
    /// XOR-MAPPED-ADDRESS (0x0020): the source address the server saw.
    public static let xorMappedAddress = STUNAttributeType(rawValue: 0x0020)
    /// PRIORITY (0x0024), RFC 8445.
    public static let priority = STUNAttributeType(rawValue: 0x0024)
    /// USE-CANDIDATE (0x0025), RFC 8445: the controlling agent nominates.
    public static let useCandidate = STUNAttributeType(rawValue: 0x0025)
    /// PASSWORD-ALGORITHMS (0x8002).
    public static let passwordAlgorithms = STUNAttributeType(rawValue: 0x8002)
    /// ALTERNATE-DOMAIN (0x8003).
    public static let alternateDomain = STUNAttributeType(rawValue: 0x8003)
    /// SOFTWARE (0x8022).
    public static let software = STUNAttributeType(rawValue: 0x8022)
    /// ALTERNATE-SERVER (0x8023).
    public static let alternateServer = STUNAttributeType(rawValue: 0x8023)
    /// FINGERPRINT (0x8028): CRC-32 XOR 0x5354554E.
    public static let fingerprint = STUNAttributeType(rawValue: 0x8028)
    /// ICE-CONTROLLED (0x8029), RFC 8445, with a tiebreaker.
    public static let iceControlled = STUNAttributeType(rawValue: 0x8029)
    /// ICE-CONTROLLING (0x802A), RFC 8445, with a tiebreaker.
    public static let iceControlling = STUNAttributeType(rawValue: 0x802A)

    /// Whether an agent that does not understand this type must reject the message.
    @inlinable
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    /// Whether this module understands the type (the attributes above).
    public var isKnown: Bool {
        switch rawValue {
        case 0x0001, 0x0006, 0x0008, 0x0009, 0x000A, 0x0014, 0x0015, 0x001C, 0x001D, 0x001E, 0x0020,
             0x0024, 0x0025, 0x8002, 0x8003, 0x8022, 0x8023, 0x8028, 0x8029, 0x802A:
            return true
        default:
            return false
        }
    }

    /// The RFC name (`USERNAME`), or the number in hex.
    public var description: String {
        let names: [UInt16: String] = [
            0x0001: "MAPPED-ADDRESS", 0x0006: "USERNAME", 0x0008: "MESSAGE-INTEGRITY", 0x0009: "ERROR-CODE",
            0x000A: "UNKNOWN-ATTRIBUTES", 0x0014: "REALM", 0x0015: "NONCE", 0x001C: "MESSAGE-INTEGRITY-SHA256",
            0x001D: "PASSWORD-ALGORITHM", 0x001E: "USERHASH", 0x0020: "XOR-MAPPED-ADDRESS", 0x0024: "PRIORITY",
            0x0025: "USE-CANDIDATE", 0x8002: "PASSWORD-ALGORITHMS", 0x8003: "ALTERNATE-DOMAIN",
            0x8022: "SOFTWARE", 0x8023: "ALTERNATE-SERVER", 0x8028: "FINGERPRINT", 0x8029: "ICE-CONTROLLED",
            0x802A: "ICE-CONTROLLING",
        ]
        return names[rawValue] ?? "0x" + String(rawValue, radix: 16)
    }
}

/// One attribute of a parsed STUN message: its type and where its value lies in the message
/// bytes (padding excluded).
public struct STUNAttribute: Sendable, Hashable {
    /// What the attribute is.
    public var type: STUNAttributeType
    /// The value's byte offsets, counted from the first byte of the message.
    public var valueRange: Range<Int>

    /// An attribute of `type` whose value occupies `valueRange` of the message.
    public init(type: STUNAttributeType, valueRange: Range<Int>) {
        self.type = type
        self.valueRange = valueRange
    }

    /// The offset of the attribute's 4-byte header.
    public var headerOffset: Int { valueRange.lowerBound - 4 }
}
