import Crypto

// `UnsafeRawBufferPointer: DataProtocol`, which `HMAC.update(data:)` takes.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes one STUN message into a caller-provided buffer: the header, then attributes in the
/// order they are appended, then optionally MESSAGE-INTEGRITY and FINGERPRINT, keeping the
/// header's length field up to date after each step.
///
/// The writer borrows the buffer: use it only while the buffer is valid (inside a
/// `withUnsafeMutableBytes` closure). It never allocates. For an array, use
/// ``encode(type:transactionID:padding:capacity:_:)``.
public struct STUNMessageWriter {
    /// The buffer being written.
    public let buffer: UnsafeMutableRawBufferPointer
    /// The bytes written so far: the message is `buffer[0..<count]`.
    public private(set) var count: Int
    /// The byte that pads values to a multiple of 4 (RFC 8489 says any value; RFC 5769's
    /// vectors use 0x20).
    public var padding: UInt8

    /// Starts a message of `type` with `transactionID` at the start of `buffer`.
    public init(buffer: UnsafeMutableRawBufferPointer, type: STUNMessageType, transactionID: STUNTransactionID, padding: UInt8 = 0) throws(STUNEncodeError) {
        guard buffer.count >= STUNMessage.headerLength else { throw .bufferTooSmall }
        self.buffer = buffer
        self.count = 0
        self.padding = padding
        writeUInt16(type.rawValue)
        writeUInt16(0)
        writeUInt32(STUNMessage.magicCookie)
        writeUInt32(transactionID.high)
        writeUInt64(transactionID.low)
    }

    /// The message written so far.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }

    /// Appends an attribute of `type` with the raw `value`, padded to a multiple of 4.
    public mutating func append(_ type: STUNAttributeType, value: UnsafeRawBufferPointer) throws(STUNEncodeError) {
        try beginAttribute(type, length: value.count)
        UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + value.count)]).copyMemory(from: value)
        count += value.count
        finishAttribute()
    }

    /// Appends an attribute of `type` with the raw `value`.
    public mutating func append(_ type: STUNAttributeType, value: [UInt8]) throws(STUNEncodeError) {
        let result: Result<Void, STUNEncodeError> = value.withUnsafeBytes { raw in
            do throws(STUNEncodeError) { try append(type, value: raw) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
    }

    /// Appends a text attribute (USERNAME, SOFTWARE, REALM, NONCE) as UTF-8.
    public mutating func append(_ type: STUNAttributeType, text: String) throws(STUNEncodeError) {
        var text = text
        let result: Result<Void, STUNEncodeError> = text.withUTF8 { utf8 in
            do throws(STUNEncodeError) { try append(type, value: UnsafeRawBufferPointer(utf8)) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
    }

    /// Appends PRIORITY.
    public mutating func appendPriority(_ priority: UInt32) throws(STUNEncodeError) {
        try beginAttribute(.priority, length: 4)
        writeUInt32(priority)
    }

    /// Appends USE-CANDIDATE (no value).
    public mutating func appendUseCandidate() throws(STUNEncodeError) {
        try beginAttribute(.useCandidate, length: 0)
    }

    /// Appends ICE-CONTROLLING with its tiebreaker.
    public mutating func appendICEControlling(tiebreaker: UInt64) throws(STUNEncodeError) {
        try beginAttribute(.iceControlling, length: 8)
        writeUInt64(tiebreaker)
    }

    /// Appends ICE-CONTROLLED with its tiebreaker.
    public mutating func appendICEControlled(tiebreaker: UInt64) throws(STUNEncodeError) {
        try beginAttribute(.iceControlled, length: 8)
        writeUInt64(tiebreaker)
    }

    /// Appends XOR-MAPPED-ADDRESS for `address` (the XOR uses this message's transaction id).
    public mutating func appendXORMappedAddress(_ address: STUNTransportAddress) throws(STUNEncodeError) {
        let transactionHigh = UInt32(buffer.readUInt16(at: 8)) << 16 | UInt32(buffer.readUInt16(at: 10))
        let transactionLow = UInt64(UInt32(buffer.readUInt16(at: 12)) << 16 | UInt32(buffer.readUInt16(at: 14))) << 32
            | UInt64(UInt32(buffer.readUInt16(at: 16)) << 16 | UInt32(buffer.readUInt16(at: 18)))
        switch address.family {
        case .ipv4:
            try beginAttribute(.xorMappedAddress, length: 8)
            writeUInt16(UInt16(address.family.rawValue))
            writeUInt16(address.port ^ UInt16(STUNMessage.magicCookie >> 16))
            writeUInt32(UInt32(truncatingIfNeeded: address.low) ^ STUNMessage.magicCookie)
        case .ipv6:
            try beginAttribute(.xorMappedAddress, length: 20)
            writeUInt16(UInt16(address.family.rawValue))
            writeUInt16(address.port ^ UInt16(STUNMessage.magicCookie >> 16))
            writeUInt64(address.high ^ (UInt64(STUNMessage.magicCookie) << 32 | UInt64(transactionHigh)))
            writeUInt64(address.low ^ transactionLow)
        }
    }

    /// Appends ERROR-CODE with a status code 300–699 and a reason phrase.
    public mutating func appendErrorCode(_ code: Int, reason: String) throws(STUNEncodeError) {
        guard (300...699).contains(code) else { throw .invalidValue(.errorCode) }
        var reason = reason
        let result: Result<Void, STUNEncodeError> = reason.withUTF8 { utf8 in
            do throws(STUNEncodeError) {
                try beginAttribute(.errorCode, length: 4 + utf8.count)
                writeUInt16(0)
                writeUInt8(UInt8(code / 100))
                writeUInt8(UInt8(code % 100))
                UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + utf8.count)]).copyMemory(from: UnsafeRawBufferPointer(utf8))
                count += utf8.count
                finishAttribute()
            } catch {
                return .failure(error)
            }
            return .success(())
        }
        try result.get()
    }

    /// Appends UNKNOWN-ATTRIBUTES listing `types` (for a 420 answer).
    public mutating func appendUnknownAttributes(_ types: [STUNAttributeType]) throws(STUNEncodeError) {
        try beginAttribute(.unknownAttributes, length: 2 * types.count)
        for type in types { writeUInt16(type.rawValue) }
        finishAttribute()
    }

    /// Appends MESSAGE-INTEGRITY: the HMAC-SHA1 under `key` of the message so far, with the
    /// length field already counting this attribute (RFC 8489 §14.5).
    public mutating func appendMessageIntegrity(key: STUNIntegrityKey) throws(STUNEncodeError) {
        try reserve(24)
        let headerOffset = count
        setLengthField(headerOffset + 24 - STUNMessage.headerLength)
        try beginAttribute(.messageIntegrity, length: 20)
        let message = UnsafeRawBufferPointer(rebasing: buffer[0..<headerOffset])
        key.sha1.authenticate(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + 20)])) { $0.update(message) }
        count += 20
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 (the full 32-byte HMAC-SHA256, RFC 8489 §14.6).
    public mutating func appendMessageIntegritySHA256(key: STUNIntegrityKey) throws(STUNEncodeError) {
        try reserve(36)
        let headerOffset = count
        setLengthField(headerOffset + 36 - STUNMessage.headerLength)
        var hmac = HMAC<SHA256>(key: key.symmetricKey)
        hmac.update(data: UnsafeRawBufferPointer(rebasing: buffer[0..<headerOffset]))
        let code = hmac.finalize()
        try beginAttribute(.messageIntegritySHA256, length: 32)
        code.withUnsafeBytes { mac in
            UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + 32)]).copyMemory(from: mac)
        }
        count += 32
    }

    /// Appends FINGERPRINT: the CRC-32 of the message so far, length field included, XOR
    /// 0x5354554E (RFC 8489 §14.7). It must be the last attribute.
    public mutating func appendFingerprint() throws(STUNEncodeError) {
        try reserve(8)
        setLengthField(count + 8 - STUNMessage.headerLength)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) ^ STUNMessage.fingerprintXOR
        try beginAttribute(.fingerprint, length: 4)
        writeUInt32(crc)
    }

    /// Writes a message into a new array of at most `capacity` bytes.
    public static func encode(
        type: STUNMessageType,
        transactionID: STUNTransactionID,
        padding: UInt8 = 0,
        capacity: Int = 1280,
        _ body: (inout STUNMessageWriter) throws(STUNEncodeError) -> Void
    ) throws(STUNEncodeError) -> [UInt8] {
        var storage = [UInt8](repeating: 0, count: max(capacity, STUNMessage.headerLength))
        let result: Result<Int, STUNEncodeError> = storage.withUnsafeMutableBytes { raw in
            do throws(STUNEncodeError) {
                var writer = try STUNMessageWriter(buffer: raw, type: type, transactionID: transactionID, padding: padding)
                try body(&writer)
                return .success(writer.count)
            } catch {
                return .failure(error)
            }
        }
        storage.removeSubrange(try result.get()...)
        return storage
    }

    // MARK: - Low level

    private mutating func reserve(_ bytes: Int) throws(STUNEncodeError) {
        guard count + bytes - STUNMessage.headerLength <= 0xFFFF else { throw .valueTooLong }
        guard buffer.count - count >= bytes else { throw .bufferTooSmall }
    }

    /// Writes an attribute header and reserves the padded value; for fixed-size values that
    /// are a multiple of 4 the caller then writes the value. Updates the length field.
    private mutating func beginAttribute(_ type: STUNAttributeType, length: Int) throws(STUNEncodeError) {
        guard length <= 0xFFFF else { throw .valueTooLong }
        try reserve(4 + ((length + 3) & ~3))
        writeUInt16(type.rawValue)
        writeUInt16(UInt16(length))
        setLengthField(count + ((length + 3) & ~3) - STUNMessage.headerLength)
    }

    /// Pads the value just written to a multiple of 4.
    private mutating func finishAttribute() {
        while count % 4 != 0 { writeUInt8(padding) }
    }

    private func setLengthField(_ length: Int) {
        buffer[2] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: length)
    }

    private mutating func writeUInt8(_ value: UInt8) {
        buffer[count] = value
        count += 1
    }

    private mutating func writeUInt16(_ value: UInt16) {
        writeUInt8(UInt8(truncatingIfNeeded: value >> 8))
        writeUInt8(UInt8(truncatingIfNeeded: value))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(truncatingIfNeeded: value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    private mutating func writeUInt64(_ value: UInt64) {
        writeUInt32(UInt32(truncatingIfNeeded: value >> 32))
        writeUInt32(UInt32(truncatingIfNeeded: value))
    }
}

extension UnsafeMutableRawBufferPointer {
    fileprivate func readUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }
}
