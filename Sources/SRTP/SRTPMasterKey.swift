internal import CSwitchboardOpenSSL

/// An SRTP master key and master salt for one direction, as the concatenation key || salt that
/// both DTLS-SRTP (after splitting the exported keying material) and SDES `inline:` keys give.
public struct SRTPMasterKey: Sendable, Hashable, CustomStringConvertible {
    /// The protection profile the key is for.
    public let profile: SRTPProfile
    /// Master key || master salt, ``SRTPProfile/keyAndSaltLength`` bytes.
    public let keyAndSalt: [UInt8]

    /// A key from key || salt bytes; throws when the length does not fit the profile.
    public init(profile: SRTPProfile, keyAndSalt: [UInt8]) throws(SRTPError) {
        guard keyAndSalt.count == profile.keyAndSaltLength else {
            throw .invalidKeyLength(expected: profile.keyAndSaltLength, actual: keyAndSalt.count)
        }
        self.profile = profile
        self.keyAndSalt = keyAndSalt
    }

    /// A fresh random key for an SDES offer or answer on the SIP leg (RFC 4568 §6.1).
    public static func random(profile: SRTPProfile) throws(SRTPError) -> SRTPMasterKey {
        var bytes = [UInt8](repeating: 0, count: profile.keyAndSaltLength)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            RAND_bytes(buffer.baseAddress, Int32(buffer.count))
        }
        guard status == 1 else { throw .randomGenerationFailed }
        return try SRTPMasterKey(profile: profile, keyAndSalt: bytes)
    }

    /// Names the profile only: key bytes never go to logs.
    public var description: String { "SRTPMasterKey(\(profile.sdesSuiteName), \(keyAndSalt.count) bytes)" }
}

/// The two keys of an SRTP session: what this side protects with and what the peer protects with.
public struct SRTPKeys: Sendable, Hashable {
    /// The negotiated profile (both keys use it).
    public let profile: SRTPProfile
    /// Protects what this side sends.
    public let local: SRTPMasterKey
    /// Unprotects what the peer sends.
    public let remote: SRTPMasterKey

    /// Keys for one session; both must be for `profile`.
    public init(profile: SRTPProfile, local: SRTPMasterKey, remote: SRTPMasterKey) throws(SRTPError) {
        guard local.profile == profile, remote.profile == profile else { throw .profileMismatch }
        self.profile = profile
        self.local = local
        self.remote = remote
    }
}
