internal import CSwitchboardOpenSSL

/// A certificate fingerprint as SDP `a=fingerprint` carries it (RFC 8122 §5): a hash function
/// name and the digest of the DER certificate, written as upper-case hex pairs joined by colons.
public struct DTLSFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The hash functions the gateway computes.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case sha1 = "sha-1"
        case sha224 = "sha-224"
        case sha256 = "sha-256"
        case sha384 = "sha-384"
        case sha512 = "sha-512"

        /// The algorithm for an SDP hash function token (case-insensitive), or `nil`.
        public init?(sdpName: some StringProtocol) {
            guard let algorithm = Self(rawValue: sdpName.lowercased()) else { return nil }
            self = algorithm
        }

        /// Digest length in bytes.
        public var digestLength: Int {
            switch self {
            case .sha1: 20
            case .sha224: 28
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }

        var messageDigest: OpaquePointer? {
            switch self {
            case .sha1: EVP_sha1()
            case .sha224: EVP_sha224()
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        }
    }

    /// The hash function.
    public let algorithm: Algorithm
    /// The digest, ``Algorithm/digestLength`` bytes.
    public let digest: [UInt8]

    /// A fingerprint from raw digest bytes; `nil` when the length does not fit the algorithm.
    public init?(algorithm: Algorithm, digest: [UInt8]) {
        guard digest.count == algorithm.digestLength else { return nil }
        self.algorithm = algorithm
        self.digest = digest
    }

    /// A fingerprint from its SDP hex form (`AB:CD:...`, either case); `nil` when malformed.
    public init?(algorithm: Algorithm, hex: some StringProtocol) {
        var digest: [UInt8] = []
        digest.reserveCapacity(algorithm.digestLength)
        for pair in hex.split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.utf8.count == 2, let byte = UInt8(pair, radix: 16) else { return nil }
            digest.append(byte)
        }
        self.init(algorithm: algorithm, digest: digest)
    }

    /// A fingerprint from a whole `a=fingerprint` value (`sha-256 AB:CD:...`); `nil` when malformed
    /// or the hash function is not one of ``Algorithm``.
    public init?(sdpValue: some StringProtocol) {
        let fields = sdpValue.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, let algorithm = Algorithm(sdpName: fields[0]) else { return nil }
        self.init(algorithm: algorithm, hex: fields[1])
    }

    /// The fingerprint of a DER-encoded certificate.
    public init(algorithm: Algorithm, derCertificate: [UInt8]) throws(DTLSCertificateError) {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status = derCertificate.withUnsafeBytes { der in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(der.baseAddress, der.count, out.baseAddress, &length, algorithm.messageDigest, nil)
            }
        }
        guard status == 1, Int(length) == algorithm.digestLength else {
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "EVP_Digest failed"))
        }
        self.algorithm = algorithm
        self.digest = Array(digest.prefix(Int(length)))
    }

    /// The fingerprint of an OpenSSL certificate object.
    init(algorithm: Algorithm, certificate: OpaquePointer) throws(DTLSCertificateError) {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status = digest.withUnsafeMutableBufferPointer { out in
            X509_digest(certificate, algorithm.messageDigest, out.baseAddress, &length)
        }
        guard status == 1, Int(length) == algorithm.digestLength else {
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "X509_digest failed"))
        }
        self.algorithm = algorithm
        self.digest = Array(digest.prefix(Int(length)))
    }

    /// Upper-case hex pairs joined by colons, as `a=fingerprint` writes them.
    public var hex: String {
        let digits: [Character] = Array("0123456789ABCDEF")
        var text = ""
        text.reserveCapacity(digest.count * 3)
        for (index, byte) in digest.enumerated() {
            if index > 0 { text.append(":") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The whole `a=fingerprint` value: `sha-256 AB:CD:...`.
    public var sdpValue: String { "\(algorithm.rawValue) \(hex)" }

    /// The `a=fingerprint` value.
    public var description: String { sdpValue }
}
