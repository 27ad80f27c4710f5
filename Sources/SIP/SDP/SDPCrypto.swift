/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1): SDES key
/// exchange for SRTP on the SIP leg.
///
///     a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
public struct SDPCrypto: SDPAttributeValue, Hashable {
    public static let attributeName = "crypto"

    /// One `<key-method>:<key-info>` entry.
    public struct KeyParameter: Hashable, Sendable {
        /// `inline` is the only method defined.
        public var method: String
        public var info: String

        public init(method: String, info: String) {
            self.method = method
            self.info = info
        }

        /// An inline SRTP key: `inline:<base64 key||salt>[|<lifetime>][|<mki>:<length>]`.
        public init(inline key: SDPCryptoInlineKey) {
            self.method = "inline"
            self.info = key.keyInfo
        }

        /// The parsed key if the method is `inline`.
        public var inlineKey: SDPCryptoInlineKey? {
            guard method == "inline" else { return nil }
            return try? SDPCryptoInlineKey(keyInfo: info[...])
        }
    }

    /// 1 to 9 digits; the answer echoes the tag of the offer entry it accepts.
    public var tag: UInt32
    /// `AES_CM_128_HMAC_SHA1_80`, `AES_CM_128_HMAC_SHA1_32`, `AEAD_AES_256_GCM`, ...
    public var suite: String
    public var keyParameters: [KeyParameter]
    /// Optional session parameters, such as `UNENCRYPTED_SRTCP` or `KDR=1`.
    public var sessionParameters: [String]

    public init(tag: UInt32, suite: String, keyParameters: [KeyParameter], sessionParameters: [String] = []) {
        self.tag = tag
        self.suite = suite
        self.keyParameters = keyParameters
        self.sessionParameters = sessionParameters
    }

    /// The first inline key.
    public var inlineKey: SDPCryptoInlineKey? {
        keyParameters.lazy.compactMap(\.inlineKey).first
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard fields.count >= 3,
            fields[0].utf8.count <= 9,
            let tag = SDPGrammar.decimal(fields[0], as: UInt32.self),
            SDPGrammar.isToken(fields[1])
        else {
            throw .invalidAttribute(Self.attributeName)
        }
        var keyParameters: [KeyParameter] = []
        for item in fields[2].split(separator: ";", omittingEmptySubsequences: false) {
            let (method, info) = SDPGrammar.splitOnce(item, at: ":")
            guard SDPGrammar.isToken(method), let info, !info.isEmpty else {
                throw .invalidAttribute(Self.attributeName)
            }
            if method == "inline" {
                _ = try SDPCryptoInlineKey(keyInfo: info)
            }
            keyParameters.append(KeyParameter(method: String(method), info: String(info)))
        }
        self.tag = tag
        self.suite = String(fields[1])
        self.keyParameters = keyParameters
        self.sessionParameters = fields.dropFirst(3).map(String.init)
    }

    public var attributeValue: String {
        let keys = keyParameters.map { "\($0.method):\($0.info)" }.joined(separator: ";")
        return ([String(tag), suite, keys] + sessionParameters).joined(separator: " ")
    }
}

/// The key info of an `inline` SRTP key parameter (RFC 4568 §6.1).
public struct SDPCryptoInlineKey: Hashable, Sendable {
    /// The concatenated master key and salt, base64-encoded.
    public var keySalt: String
    /// The master key lifetime, such as `2^20` or `1048576`.
    public var lifetime: String?
    /// The master key identifier and its length in bytes, such as `1:32`.
    public var mki: String?

    public init(keySalt: String, lifetime: String? = nil, mki: String? = nil) {
        self.keySalt = keySalt
        self.lifetime = lifetime
        self.mki = mki
    }

    /// Creates an inline key from raw key and salt bytes.
    public init(keySaltBytes: [UInt8], lifetime: String? = nil, mki: String? = nil) {
        self.init(keySalt: SDPBase64.encode(keySaltBytes), lifetime: lifetime, mki: mki)
    }

    /// The decoded master key followed by the master salt (30 bytes for the AES_CM suites).
    public var keySaltBytes: [UInt8]? {
        SDPBase64.decode(keySalt)
    }

    init(keyInfo: Substring) throws(SDPParseError) {
        let parts = keyInfo.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count <= 3, SDPBase64.decode(parts[0]) != nil else {
            throw .invalidAttribute(SDPCrypto.attributeName)
        }
        self.keySalt = String(parts[0])
        self.lifetime = nil
        self.mki = nil
        for part in parts.dropFirst() {
            if part.contains(":") {
                let (value, length) = SDPGrammar.splitOnce(part, at: ":")
                guard mki == nil, SDPGrammar.decimal(value, as: UInt64.self) != nil,
                    let length, SDPGrammar.decimal(length, as: UInt8.self) != nil
                else {
                    throw .invalidAttribute(SDPCrypto.attributeName)
                }
                mki = String(part)
            } else {
                let digits = part.hasPrefix("2^") ? part.dropFirst(2) : part
                guard lifetime == nil, mki == nil, SDPGrammar.decimal(digits, as: UInt64.self) != nil else {
                    throw .invalidAttribute(SDPCrypto.attributeName)
                }
                lifetime = String(part)
            }
        }
    }

    var keyInfo: String {
        var result = keySalt
        if let lifetime {
            result += "|\(lifetime)"
        }
        if let mki {
            result += "|\(mki)"
        }
        return result
    }
}

/// Base64 (RFC 4648 §4) for SDES keys, without Foundation.
enum SDPBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = bytes[index]
            let b1 = remaining > 1 ? bytes[index + 1] : 0
            let b2 = remaining > 2 ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(remaining > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes padded or unpadded base64; nil on any other character or an impossible length.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = sextet(byte) else { return nil }
            values.append(value)
        }
        guard !values.isEmpty, padding <= 2, values.count % 4 != 1 else { return nil }
        if padding > 0, (values.count + padding) % 4 != 0 {
            return nil
        }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let remaining = values.count - index
            let v0 = values[index]
            let v1 = values[index + 1]
            output.append(v0 << 2 | v1 >> 4)
            if remaining > 2 {
                let v2 = values[index + 2]
                output.append((v1 & 0x0F) << 4 | v2 >> 2)
                if remaining > 3 {
                    output.append((v2 & 0x03) << 6 | values[index + 3])
                }
            }
            index += 4
        }
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
