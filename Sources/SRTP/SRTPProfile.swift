/// An SRTP protection profile: the cipher, the authentication tag and the master key and salt
/// lengths (RFC 3711, RFC 5764 §4.1.2, RFC 7714 §12).
public enum SRTPProfile: Sendable, Hashable, CaseIterable {
    /// `AEAD_AES_128_GCM` (RFC 7714): AES-128 in GCM, 16-byte tag, 12-byte salt.
    case aeadAES128GCM
    /// `AES_CM_128_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tag, 14-byte salt.
    case aes128CMHMACSHA1_80
    /// `AES_CM_128_HMAC_SHA1_32`: as `_80` with a 32-bit tag on SRTP (SRTCP keeps 80 bits).
    case aes128CMHMACSHA1_32

    /// The crypto-suite name in an SDES `a=crypto` line (RFC 4568, RFC 7714 §14.2).
    public var sdesSuiteName: String {
        switch self {
        case .aeadAES128GCM: "AEAD_AES_128_GCM"
        case .aes128CMHMACSHA1_80: "AES_CM_128_HMAC_SHA1_80"
        case .aes128CMHMACSHA1_32: "AES_CM_128_HMAC_SHA1_32"
        }
    }

    /// The profile named by an SDES crypto-suite, or `nil` when it is not supported.
    public init?(sdesSuiteName: some StringProtocol) {
        guard let profile = Self.allCases.first(where: { $0.sdesSuiteName == sdesSuiteName }) else { return nil }
        self = profile
    }

    /// The DTLS-SRTP protection profile name as OpenSSL spells it (`SRTP_AEAD_AES_128_GCM`, ...).
    public var dtlsProfileName: String {
        switch self {
        case .aeadAES128GCM: "SRTP_AEAD_AES_128_GCM"
        case .aes128CMHMACSHA1_80: "SRTP_AES128_CM_SHA1_80"
        case .aes128CMHMACSHA1_32: "SRTP_AES128_CM_SHA1_32"
        }
    }

    /// The profile with that DTLS-SRTP name, or `nil`.
    public init?(dtlsProfileName: some StringProtocol) {
        guard let profile = Self.allCases.first(where: { $0.dtlsProfileName == dtlsProfileName }) else { return nil }
        self = profile
    }

    /// Master key length in bytes.
    public var masterKeyLength: Int { 16 }

    /// Master salt length in bytes.
    public var masterSaltLength: Int {
        switch self {
        case .aeadAES128GCM: 12
        case .aes128CMHMACSHA1_80, .aes128CMHMACSHA1_32: 14
        }
    }

    /// Length of master key || master salt, the form SDES `inline:` keys and ``SRTPMasterKey`` use.
    public var keyAndSaltLength: Int { masterKeyLength + masterSaltLength }

    /// Bytes that protecting an RTP packet appends (the authentication tag).
    public var rtpOverhead: Int {
        switch self {
        case .aeadAES128GCM: 16
        case .aes128CMHMACSHA1_80: 10
        case .aes128CMHMACSHA1_32: 4
        }
    }

    /// Bytes that protecting an RTCP packet appends (E flag and SRTCP index, then the tag).
    public var rtcpOverhead: Int {
        switch self {
        case .aeadAES128GCM: 4 + 16
        case .aes128CMHMACSHA1_80, .aes128CMHMACSHA1_32: 4 + 10
        }
    }
}
