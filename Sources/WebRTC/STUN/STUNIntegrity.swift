import Crypto

// `UnsafeRawBufferPointer: DataProtocol`, which `HMAC.update(data:)` takes.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A key of STUN message integrity (RFC 8489 §9), prepared for HMAC-SHA1 so that
/// verifying and signing a message never allocates.
public struct STUNIntegrityKey: Sendable {
    /// The key bytes.
    public let bytes: [UInt8]
    let sha1: HMACSHA1

    /// A key from its bytes.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
        self.sha1 = bytes.withUnsafeBytes { HMACSHA1(key: $0) }
    }

    /// The key for HMAC-SHA256 (allocates; MESSAGE-INTEGRITY-SHA256 is not on the ICE path).
    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }

    /// The short-term credential key (ICE): the password's UTF-8 bytes. The password is assumed
    /// to be OpaqueString-prepared already; ICE passwords are ASCII.
    public static func shortTerm(password: String) -> STUNIntegrityKey {
        STUNIntegrityKey(bytes: Array(password.utf8))
    }

    /// The long-term credential key for MD5: MD5(username ":" realm ":" password), all already
    /// prepared (RFC 8489 §9.2.2).
    public static func longTerm(username: String, realm: String, password: String) -> STUNIntegrityKey {
        let digest = Insecure.MD5.hash(data: Array("\(username):\(realm):\(password)".utf8))
        return STUNIntegrityKey(bytes: Array(digest))
    }
}

extension STUNMessage {
    /// Whether MESSAGE-INTEGRITY is present and is the HMAC-SHA1, under `key`, of the message
    /// up to that attribute with the length field counting up to its end (RFC 8489 §14.5).
    /// `bytes` must be the buffer this message was parsed from.
    public func verifyMessageIntegrity(in bytes: UnsafeRawBufferPointer, key: STUNIntegrityKey) -> Bool {
        guard let attribute = messageIntegrity, bytes.count == length, attribute.valueRange.upperBound <= bytes.count else { return false }
        var mac: (UInt64, UInt64, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &mac) { output in
            key.sha1.authenticate(into: output) { hash in
                Self.withAdjustedHeader(bytes, lengthField: attribute.valueRange.upperBound - Self.headerLength) { hash.update($0) }
                hash.update(UnsafeRawBufferPointer(rebasing: bytes[Self.headerLength..<attribute.headerOffset]))
            }
        }
        return withUnsafeBytes(of: &mac) { Self.constantTimeEqual($0, UnsafeRawBufferPointer(rebasing: bytes[attribute.valueRange])) }
    }

    /// ``verifyMessageIntegrity(in:key:)`` for a message parsed from an array.
    public func verifyMessageIntegrity(in bytes: [UInt8], key: STUNIntegrityKey) -> Bool {
        bytes.withUnsafeBytes { verifyMessageIntegrity(in: $0, key: key) }
    }

    /// Whether MESSAGE-INTEGRITY-SHA256 is present and is the (possibly truncated)
    /// HMAC-SHA256, under `key`, of the message up to that attribute (RFC 8489 §14.6).
    public func verifyMessageIntegritySHA256(in bytes: UnsafeRawBufferPointer, key: STUNIntegrityKey) -> Bool {
        guard let attribute = messageIntegritySHA256, bytes.count == length, attribute.valueRange.upperBound <= bytes.count else { return false }
        var hmac = HMAC<SHA256>(key: key.symmetricKey)
        Self.withAdjustedHeader(bytes, lengthField: attribute.valueRange.upperBound - Self.headerLength) { hmac.update(data: $0) }
        hmac.update(data: UnsafeRawBufferPointer(rebasing: bytes[Self.headerLength..<attribute.headerOffset]))
        let code = hmac.finalize()
        return code.withUnsafeBytes { mac in
            Self.constantTimeEqual(UnsafeRawBufferPointer(rebasing: mac.prefix(attribute.valueRange.count)), UnsafeRawBufferPointer(rebasing: bytes[attribute.valueRange]))
        }
    }

    /// ``verifyMessageIntegritySHA256(in:key:)`` for a message parsed from an array.
    public func verifyMessageIntegritySHA256(in bytes: [UInt8], key: STUNIntegrityKey) -> Bool {
        bytes.withUnsafeBytes { verifyMessageIntegritySHA256(in: $0, key: key) }
    }

    /// Whether FINGERPRINT is present and equals the CRC-32 of the message before it, XOR
    /// 0x5354554E (RFC 8489 §14.7). `bytes` must be the buffer this message was parsed from.
    public func verifyFingerprint(in bytes: UnsafeRawBufferPointer) -> Bool {
        guard let attribute = fingerprint, bytes.count == length, attribute.valueRange.upperBound <= bytes.count else { return false }
        let expected = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<attribute.headerOffset])) ^ Self.fingerprintXOR
        return bytes.readUInt32(at: attribute.valueRange.lowerBound) == expected
    }

    /// ``verifyFingerprint(in:)`` for a message parsed from an array.
    public func verifyFingerprint(in bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { verifyFingerprint(in: $0) }
    }

    /// Calls `body` with a copy of the header whose length field is `lengthField`.
    static func withAdjustedHeader(_ bytes: UnsafeRawBufferPointer, lengthField: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        var header: (UInt64, UInt64, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &header) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<headerLength]))
            raw[2] = UInt8(truncatingIfNeeded: lengthField >> 8)
            raw[3] = UInt8(truncatingIfNeeded: lengthField)
        }
        withUnsafeBytes(of: &header) { body($0) }
    }

    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
