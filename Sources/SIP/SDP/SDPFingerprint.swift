/// `a=fingerprint:<hash function> <hex bytes separated by colons>` (RFC 8122 §5), the DTLS
/// certificate fingerprint of a DTLS-SRTP endpoint.
public struct SDPFingerprint: SDPAttributeValue, Hashable {
    public static let attributeName = "fingerprint"

    /// `sha-256`, `sha-1`, ... as written; compare with ``hashFunctionMatches(_:)``.
    public var hashFunction: String
    public var bytes: [UInt8]

    public init(hashFunction: String, bytes: [UInt8]) {
        self.hashFunction = hashFunction
        self.bytes = bytes
    }

    /// Hash function names are case-insensitive (RFC 8122 §5).
    public func hashFunctionMatches(_ name: String) -> Bool {
        SDPGrammar.equalsIgnoringCase(hashFunction, name)
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard fields.count == 2, SDPGrammar.isToken(fields[0]) else {
            throw .invalidAttribute(Self.attributeName)
        }
        let pairs = fields[1].split(separator: ":", omittingEmptySubsequences: false)
        // SHA-512 is the longest hash in use: 64 bytes.
        guard (1...64).contains(pairs.count) else { throw .invalidAttribute(Self.attributeName) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pairs.count)
        for pair in pairs {
            let digits = Array(pair.utf8)
            guard digits.count == 2, let high = Self.hexValue(digits[0]), let low = Self.hexValue(digits[1]) else {
                throw .invalidAttribute(Self.attributeName)
            }
            bytes.append(high << 4 | low)
        }
        self.hashFunction = String(fields[0])
        self.bytes = bytes
    }

    /// Upper-case hex pairs, as browsers write them.
    public var attributeValue: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            if index > 0 {
                hex.append(UInt8(ascii: ":"))
            }
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return "\(hashFunction) \(String(decoding: hex, as: UTF8.self))"
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// `a=setup` (RFC 4145 §4): which side opens the DTLS (or TCP) connection.
public enum SDPSetupRole: String, Hashable, Sendable, CaseIterable {
    /// The endpoint will open the connection (DTLS client).
    case active
    /// The endpoint will accept the connection (DTLS server).
    case passive
    /// Either; offers must use this (RFC 5763 §5).
    case actpass
    /// Do not set up a connection now.
    case holdconn

    /// The role an answerer takes for this offered role, preferring `active` for `actpass`
    /// (RFC 5763 §5: the answerer then starts the DTLS handshake immediately).
    public var answer: SDPSetupRole {
        switch self {
        case .actpass, .passive: .active
        case .active: .passive
        case .holdconn: .holdconn
        }
    }
}
