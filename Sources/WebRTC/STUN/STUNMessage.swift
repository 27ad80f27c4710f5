/// A parsed STUN message (RFC 8489): header fields, the list of attributes as types and value
/// ranges, and the attributes ICE uses, decoded.
///
/// The message does not own its bytes: ranges count from the first byte of the buffer it was
/// parsed from, and the accessors that return text take that buffer again. Parsing never traps;
/// malformed input throws ``STUNParseError``. Only the first occurrence of an attribute is
/// decoded, and attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
/// FINGERPRINT are listed but not decoded (RFC 8489 §14.5). FINGERPRINT must be the last
/// attribute.
///
/// To parse without allocating, keep one message and call ``parse(_:)`` on it for each
/// datagram: the attribute list keeps its capacity.
public struct STUNMessage: Sendable, Hashable {
    /// The size of the STUN header.
    public static let headerLength = 20
    /// The magic cookie of RFC 5389 and later.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The value XORed into a CRC-32 to form FINGERPRINT.
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    /// The method and class.
    public private(set) var type: STUNMessageType
    /// The transaction id.
    public private(set) var transactionID: STUNTransactionID
    /// The size of the whole message, header included.
    public private(set) var length: Int
    /// Every attribute, in order.
    public private(set) var attributes: [STUNAttribute]

    /// USERNAME's value range.
    public private(set) var usernameRange: Range<Int>?
    /// SOFTWARE's value range.
    public private(set) var softwareRange: Range<Int>?
    /// PRIORITY (RFC 8445 §7.1.1).
    public private(set) var priority: UInt32?
    /// Whether USE-CANDIDATE is present (RFC 8445 §7.1.2).
    public private(set) var useCandidate: Bool
    /// The tiebreaker of ICE-CONTROLLING (RFC 8445 §7.1.3).
    public private(set) var iceControlling: UInt64?
    /// The tiebreaker of ICE-CONTROLLED.
    public private(set) var iceControlled: UInt64?
    /// XOR-MAPPED-ADDRESS, with the XOR undone.
    public private(set) var xorMappedAddress: STUNTransportAddress?
    /// ERROR-CODE.
    public private(set) var errorCode: STUNErrorCode?
    /// MESSAGE-INTEGRITY (its value is the 20-byte HMAC-SHA1).
    public private(set) var messageIntegrity: STUNAttribute?
    /// MESSAGE-INTEGRITY-SHA256 (its value is the 16- to 32-byte truncated HMAC-SHA256).
    public private(set) var messageIntegritySHA256: STUNAttribute?
    /// FINGERPRINT (its value is the CRC-32 XOR 0x5354554E).
    public private(set) var fingerprint: STUNAttribute?
    /// The number of comprehension-required attributes this module does not understand
    /// (RFC 8489 §6.3.1: a request carrying one is answered with 420).
    public private(set) var unknownComprehensionRequiredCount: Int

    /// An empty binding request, to be filled by ``parse(_:)``.
    public init() {
        type = .bindingRequest
        transactionID = STUNTransactionID(high: 0, low: 0)
        length = Self.headerLength
        attributes = []
        usernameRange = nil
        softwareRange = nil
        priority = nil
        useCandidate = false
        iceControlling = nil
        iceControlled = nil
        xorMappedAddress = nil
        errorCode = nil
        messageIntegrity = nil
        messageIntegritySHA256 = nil
        fingerprint = nil
        unknownComprehensionRequiredCount = 0
    }

    /// Parses `bytes`, which must be exactly one STUN message.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(STUNParseError) {
        self.init()
        try parse(bytes)
    }

    /// Parses `bytes`, which must be exactly one STUN message.
    public init(parsing bytes: [UInt8]) throws(STUNParseError) {
        self.init()
        let result: Result<Void, STUNParseError> = bytes.withUnsafeBytes { raw in
            do throws(STUNParseError) { try self.parse(raw) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
    }

    /// Whether `bytes` starts like a STUN message: at least a header, the two top bits clear
    /// and the magic cookie in place (RFC 7983 and RFC 8489 §7).
    @inlinable
    public static func looksLikeSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= headerLength && bytes[0] & 0xC0 == 0
            && bytes[4] == 0x21 && bytes[5] == 0x12 && bytes[6] == 0xA4 && bytes[7] == 0x42
    }

    /// Replaces this message with the one in `bytes`, reusing the attribute list's storage.
    /// After a throw the message is in an unspecified but valid state.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(STUNParseError) {
        attributes.removeAll(keepingCapacity: true)
        usernameRange = nil
        softwareRange = nil
        priority = nil
        useCandidate = false
        iceControlling = nil
        iceControlled = nil
        xorMappedAddress = nil
        errorCode = nil
        messageIntegrity = nil
        messageIntegritySHA256 = nil
        fingerprint = nil
        unknownComprehensionRequiredCount = 0

        guard bytes.count >= Self.headerLength else { throw .truncatedHeader(count: bytes.count) }
        guard let type = STUNMessageType(rawValue: bytes.readUInt16(at: 0)) else { throw .reservedTypeBits }
        let cookie = bytes.readUInt32(at: 4)
        guard cookie == Self.magicCookie else { throw .wrongMagicCookie(cookie) }
        let declared = Int(bytes.readUInt16(at: 2))
        guard declared % 4 == 0 else { throw .lengthNotMultipleOfFour(declared) }
        guard declared == bytes.count - Self.headerLength else {
            throw .lengthMismatch(declared: declared, available: bytes.count - Self.headerLength)
        }
        self.type = type
        self.transactionID = STUNTransactionID(high: bytes.readUInt32(at: 8), low: bytes.readUInt64(at: 12))
        self.length = bytes.count

        var offset = Self.headerLength
        let end = bytes.count
        var seenIntegrity = false
        while offset < end {
            // Both offset and end are multiples of 4, so the 4-byte header fits.
            let rawType = bytes.readUInt16(at: offset)
            let valueLength = Int(bytes.readUInt16(at: offset + 2))
            let valueStart = offset + 4
            let paddedEnd = valueStart + ((valueLength + 3) & ~3)
            guard paddedEnd <= end else { throw .truncatedAttribute(type: rawType, offset: offset) }
            guard fingerprint == nil else { throw .attributeAfterFingerprint(offset: offset) }
            let attribute = STUNAttribute(type: STUNAttributeType(rawValue: rawType), valueRange: valueStart..<(valueStart + valueLength))
            attributes.append(attribute)
            if !seenIntegrity || attribute.type == .messageIntegritySHA256 || attribute.type == .fingerprint {
                try decode(attribute, in: bytes, seenIntegrity: &seenIntegrity)
            }
            offset = paddedEnd
        }
    }

    private mutating func decode(_ attribute: STUNAttribute, in bytes: UnsafeRawBufferPointer, seenIntegrity: inout Bool) throws(STUNParseError) {
        let range = attribute.valueRange
        let start = range.lowerBound
        let count = range.count
        switch attribute.type {
        case .username:
            guard usernameRange == nil else { return }
            guard count <= 513 else { throw .invalidAttribute(.username) }
            usernameRange = range
        case .software:
            guard softwareRange == nil else { return }
            guard count <= 763 else { throw .invalidAttribute(.software) }
            softwareRange = range
        case .priority:
            guard priority == nil else { return }
            guard count == 4 else { throw .invalidAttribute(.priority) }
            priority = bytes.readUInt32(at: start)
        case .useCandidate:
            guard count == 0 else { throw .invalidAttribute(.useCandidate) }
            useCandidate = true
        case .iceControlling:
            guard iceControlling == nil else { return }
            guard count == 8 else { throw .invalidAttribute(.iceControlling) }
            iceControlling = bytes.readUInt64(at: start)
        case .iceControlled:
            guard iceControlled == nil else { return }
            guard count == 8 else { throw .invalidAttribute(.iceControlled) }
            iceControlled = bytes.readUInt64(at: start)
        case .xorMappedAddress:
            guard xorMappedAddress == nil else { return }
            guard count >= 4 else { throw .invalidAttribute(.xorMappedAddress) }
            let port = bytes.readUInt16(at: start + 2) ^ UInt16(Self.magicCookie >> 16)
            switch bytes[start + 1] {
            case STUNTransportAddress.Family.ipv4.rawValue where count == 8:
                xorMappedAddress = STUNTransportAddress(ipv4: bytes.readUInt32(at: start + 4) ^ Self.magicCookie, port: port)
            case STUNTransportAddress.Family.ipv6.rawValue where count == 20:
                let mask = UInt64(Self.magicCookie) << 32 | UInt64(transactionID.high)
                xorMappedAddress = STUNTransportAddress(
                    ipv6High: bytes.readUInt64(at: start + 4) ^ mask,
                    low: bytes.readUInt64(at: start + 12) ^ transactionID.low,
                    port: port
                )
            default:
                throw .invalidAttribute(.xorMappedAddress)
            }
        case .errorCode:
            guard errorCode == nil else { return }
            guard count >= 4, count <= 4 + 763 else { throw .invalidAttribute(.errorCode) }
            let errorClass = Int(bytes[start + 2] & 0x07)
            let number = Int(bytes[start + 3])
            guard (3...6).contains(errorClass), number < 100 else { throw .invalidAttribute(.errorCode) }
            errorCode = STUNErrorCode(code: errorClass * 100 + number, reasonRange: (start + 4)..<range.upperBound)
        case .messageIntegrity:
            guard !seenIntegrity else { return }
            guard count == 20 else { throw .invalidAttribute(.messageIntegrity) }
            messageIntegrity = attribute
            seenIntegrity = true
        case .messageIntegritySHA256:
            guard messageIntegritySHA256 == nil else { return }
            guard count >= 16, count <= 32, count % 4 == 0 else { throw .invalidAttribute(.messageIntegritySHA256) }
            messageIntegritySHA256 = attribute
            seenIntegrity = true
        case .fingerprint:
            guard count == 4 else { throw .invalidAttribute(.fingerprint) }
            fingerprint = attribute
        default:
            if attribute.type.isComprehensionRequired && !attribute.type.isKnown {
                unknownComprehensionRequiredCount += 1
            }
        }
    }

    /// The comprehension-required attribute types this module does not understand, in order
    /// (for UNKNOWN-ATTRIBUTES in a 420 answer).
    public var unknownComprehensionRequiredAttributes: [STUNAttributeType] {
        guard unknownComprehensionRequiredCount > 0 else { return [] }
        var seenIntegrity = false
        var result: [STUNAttributeType] = []
        for attribute in attributes {
            if attribute.type == .messageIntegrity || attribute.type == .messageIntegritySHA256 { seenIntegrity = true }
            if !seenIntegrity, attribute.type.isComprehensionRequired, !attribute.type.isKnown, !result.contains(attribute.type) {
                result.append(attribute.type)
            }
        }
        return result
    }

    /// The first attribute of `type`, if any.
    public func first(_ type: STUNAttributeType) -> STUNAttribute? {
        attributes.first { $0.type == type }
    }
}

// MARK: - Text accessors

extension STUNMessage {
    /// The bytes of `range` in `bytes` as UTF-8 text (invalid sequences repaired); empty when the
    /// range does not fit.
    public static func text(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> String {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// USERNAME as text, read from the bytes the message was parsed from.
    public func username(in bytes: [UInt8]) -> String? {
        usernameRange.map { range in bytes.withUnsafeBytes { Self.text(range, in: $0) } }
    }

    /// SOFTWARE as text, read from the bytes the message was parsed from.
    public func software(in bytes: [UInt8]) -> String? {
        softwareRange.map { range in bytes.withUnsafeBytes { Self.text(range, in: $0) } }
    }

    /// The ERROR-CODE reason phrase, read from the bytes the message was parsed from.
    public func errorReason(in bytes: [UInt8]) -> String? {
        errorCode.map { code in bytes.withUnsafeBytes { Self.text(code.reasonRange, in: $0) } }
    }

    /// The value bytes of `attribute`, read from the bytes the message was parsed from.
    public static func value(of attribute: STUNAttribute, in bytes: [UInt8]) -> [UInt8] {
        guard attribute.valueRange.lowerBound >= 0, attribute.valueRange.upperBound <= bytes.count else { return [] }
        return Array(bytes[attribute.valueRange])
    }
}

// MARK: - Big-endian reads

extension UnsafeRawBufferPointer {
    /// Callers guarantee `offset + 2 <= count`; the subscripts check it again in debug builds.
    @inlinable
    func readUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inlinable
    func readUInt32(at offset: Int) -> UInt32 {
        UInt32(readUInt16(at: offset)) << 16 | UInt32(readUInt16(at: offset + 2))
    }

    @inlinable
    func readUInt64(at offset: Int) -> UInt64 {
        UInt64(readUInt32(at: offset)) << 32 | UInt64(readUInt32(at: offset + 4))
    }
}
