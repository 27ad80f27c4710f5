internal import CSwitchboardOpenSSL
import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Why the DTLS certificate could not be made, loaded or stored.
public enum DTLSCertificateError: Error, Hashable, Sendable {
    /// An OpenSSL call failed, with OpenSSL's reason.
    case openSSL(reason: String)
    /// The PEM text does not hold a usable ECDSA key or certificate, or they do not match.
    case invalidPEM(reason: String)
    /// A file or directory operation failed (`errno`).
    case fileSystem(path: String, errno: Int32)
}

/// The gateway's DTLS identity: an ECDSA P-256 key and a self-signed X.509 certificate
/// (RFC 8827 §6.5: the peer authenticates it by the fingerprint in SDP, not by a CA).
///
/// Immutable once made; OpenSSL's key and certificate objects are reference-counted and safe to
/// use from several threads for signing and handshakes, so one certificate serves every call.
public final class DTLSCertificate: @unchecked Sendable {
    /// File name of the private key (PKCS#8 PEM, mode 0600) in the directory.
    public static let privateKeyFileName = "dtls-key.pem"
    /// File name of the certificate (PEM) in the directory.
    public static let certificateFileName = "dtls-certificate.pem"

    /// The `EVP_PKEY`, owned.
    let privateKey: OpaquePointer
    /// The `X509`, owned.
    let certificate: OpaquePointer

    /// The certificate, DER-encoded.
    public let derBytes: [UInt8]
    /// The certificate, PEM.
    public let certificatePEM: String
    /// The private key, PKCS#8 PEM.
    public let privateKeyPEM: String
    /// The SHA-256 fingerprint, what the gateway writes in `a=fingerprint`.
    public let fingerprint: DTLSFingerprint
    /// End of validity, seconds since 1970.
    public let notAfter: Int64

    /// The `SSL_CTX` every DTLS endpoint with this certificate shares (made on first use):
    /// the certificate, key, versions and ciphers are the same for every call, and one context
    /// per call cost more memory than the rest of its DTLS state.
    private let sharedContext = Mutex<SSLContextHandle?>(nil)

    /// The `a=fingerprint` value: `sha-256 AB:CD:...`.
    public var sdpFingerprint: String { fingerprint.sdpValue }

    /// The fingerprint of this certificate with another hash function.
    public func fingerprint(_ algorithm: DTLSFingerprint.Algorithm) throws(DTLSCertificateError) -> DTLSFingerprint {
        try DTLSFingerprint(algorithm: algorithm, certificate: certificate)
    }

    private init(privateKey: OpaquePointer, certificate: OpaquePointer) throws(DTLSCertificateError) {
        self.privateKey = privateKey
        self.certificate = certificate
        do throws(DTLSCertificateError) {
            guard X509_check_private_key(certificate, privateKey) == 1 else {
                throw DTLSCertificateError.invalidPEM(reason: "the private key does not match the certificate")
            }
            guard EVP_PKEY_is_a(privateKey, "EC") == 1 else {
                throw DTLSCertificateError.invalidPEM(reason: "the key is not an ECDSA key")
            }
            derBytes = try Self.der(certificate)
            certificatePEM = try Self.pem { PEM_write_bio_X509($0, certificate) }
            privateKeyPEM = try Self.pem { PEM_write_bio_PrivateKey($0, privateKey, nil, nil, 0, nil, nil) }
            fingerprint = try DTLSFingerprint(algorithm: .sha256, certificate: certificate)
            notAfter = try Self.secondsSince1970(X509_get0_notAfter(certificate))
        } catch {
            // deinit does not run for a partly initialised instance: free here.
            EVP_PKEY_free(privateKey)
            X509_free(certificate)
            throw error
        }
    }

    deinit {
        EVP_PKEY_free(privateKey)
        X509_free(certificate)
        sharedContext.withLock { handle in
            if let handle { SSL_CTX_free(handle.pointer) }
        }
    }

    /// The shared DTLS context, made by `make` the first time.
    func context(orMake make: () throws(DTLSFailure) -> OpaquePointer) throws(DTLSFailure) -> OpaquePointer {
        try sharedContext.withLock { (handle: inout SSLContextHandle?) throws(DTLSFailure) -> OpaquePointer in
            if let handle { return handle.pointer }
            let made = try make()
            handle = SSLContextHandle(pointer: made)
            return made
        }
    }

    // MARK: - Making and loading

    /// A fresh key and self-signed certificate, valid from a day before now for `validityDays`.
    public static func generate(commonName: String = "switchboard", validityDays: Int = 365) throws(DTLSCertificateError) -> DTLSCertificate {
        let now = Int64(time(nil))
        return try generate(commonName: commonName, notBefore: now - 86_400, notAfter: now + Int64(validityDays) * 86_400)
    }

    /// A fresh key and self-signed certificate valid between the two instants (seconds since 1970).
    static func generate(commonName: String, notBefore: Int64, notAfter: Int64) throws(DTLSCertificateError) -> DTLSCertificate {
        OpenSSLErrorQueue.clear()
        let key = try generateKey()
        guard let certificate = X509_new() else {
            EVP_PKEY_free(key)
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "X509_new failed"))
        }
        var serial: UInt64 = 0
        let signed = withUnsafeMutableBytes(of: &serial) { RAND_bytes($0.baseAddress, Int32($0.count)) } == 1
            && X509_set_version(certificate, 2) == 1
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate), serial >> 1) == 1
            && setTime(X509_getm_notBefore(certificate), notBefore)
            && setTime(X509_getm_notAfter(certificate), notAfter)
            && setName(certificate, commonName: commonName)
            && X509_set_pubkey(certificate, key) == 1
            && X509_sign(certificate, key, EVP_sha256()) > 0
        guard signed else {
            EVP_PKEY_free(key)
            X509_free(certificate)
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "could not make the certificate"))
        }
        return try DTLSCertificate(privateKey: key, certificate: certificate)
    }

    /// The key and certificate from their PEM texts.
    public static func load(privateKeyPEM: String, certificatePEM: String) throws(DTLSCertificateError) -> DTLSCertificate {
        OpenSSLErrorQueue.clear()
        let key: OpaquePointer? = withMemoryBIO(privateKeyPEM) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let key else {
            throw .invalidPEM(reason: OpenSSLErrorQueue.drain(fallback: "no private key"))
        }
        let certificate: OpaquePointer? = withMemoryBIO(certificatePEM) { PEM_read_bio_X509($0, nil, nil, nil) }
        guard let certificate else {
            EVP_PKEY_free(key)
            throw .invalidPEM(reason: OpenSSLErrorQueue.drain(fallback: "no certificate"))
        }
        return try DTLSCertificate(privateKey: key, certificate: certificate)
    }

    /// The certificate kept in `directory`, made (and the directory created, mode 0700) when the
    /// files are missing, unreadable, do not match, or the certificate expires within
    /// `renewalMarginDays`. The key is written with mode 0600; files are replaced atomically.
    public static func loadOrCreate(
        directory: String, validityDays: Int = 365, renewalMarginDays: Int = 7
    ) throws(DTLSCertificateError) -> DTLSCertificate {
        try loadOrCreate(
            directory: directory, now: Int64(time(nil)), validityDays: validityDays, renewalMarginDays: renewalMarginDays)
    }

    static func loadOrCreate(
        directory: String, now: Int64, validityDays: Int, renewalMarginDays: Int
    ) throws(DTLSCertificateError) -> DTLSCertificate {
        let keyPath = directory + "/" + privateKeyFileName
        let certificatePath = directory + "/" + certificateFileName
        if let keyPEM = readFile(keyPath), let certificatePEM = readFile(certificatePath),
            let existing = try? load(privateKeyPEM: keyPEM, certificatePEM: certificatePEM),
            existing.notAfter > now + Int64(renewalMarginDays) * 86_400
        {
            _ = chmod(keyPath, 0o600)
            return existing
        }
        let fresh = try generate(commonName: "switchboard", notBefore: now - 86_400, notAfter: now + Int64(validityDays) * 86_400)
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw .fileSystem(path: directory, errno: errno)
        }
        try writeFile(keyPath, contents: fresh.privateKeyPEM, mode: 0o600)
        try writeFile(certificatePath, contents: fresh.certificatePEM, mode: 0o644)
        return fresh
    }

    // MARK: - OpenSSL pieces

    private static func generateKey() throws(DTLSCertificateError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "EVP_PKEY_CTX_new_from_name failed"))
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1,
            EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
            EVP_PKEY_generate(context, &key) == 1,
            let key
        else {
            throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "P-256 key generation failed"))
        }
        return key
    }

    private static func setTime(_ time: UnsafeMutablePointer<ASN1_TIME>?, _ seconds: Int64) -> Bool {
        guard let time else { return false }
        return ASN1_TIME_set(time, time_t(seconds)) != nil
    }

    private static func setName(_ certificate: OpaquePointer, commonName: String) -> Bool {
        guard let name = X509_get_subject_name(certificate) else { return false }
        let added = commonName.withCString { value in
            value.withMemoryRebound(to: UInt8.self, capacity: commonName.utf8.count + 1) {
                X509_NAME_add_entry_by_txt(name, "CN", cswitchboard_MBSTRING_ASC(), $0, -1, -1, 0)
            }
        }
        return added == 1 && X509_set_issuer_name(certificate, name) == 1
    }

    private static func secondsSince1970(_ time: UnsafePointer<ASN1_TIME>?) throws(DTLSCertificateError) -> Int64 {
        var moment = tm()
        guard let time, ASN1_TIME_to_tm(time, &moment) == 1 else {
            throw .invalidPEM(reason: "unreadable validity time")
        }
        return Int64(timegm(&moment))
    }

    private static func der(_ certificate: OpaquePointer) throws(DTLSCertificateError) -> [UInt8] {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "i2d_X509 failed")) }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(certificate, &cursor)
        }
        guard written == length else { throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "i2d_X509 failed")) }
        return bytes
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws(DTLSCertificateError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL(reason: "BIO_new failed") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .openSSL(reason: OpenSSLErrorQueue.drain(fallback: "PEM write failed")) }
        let pending = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
        guard read == pending else { throw .openSSL(reason: "PEM read back failed") }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func withMemoryBIO<T>(_ text: String, _ body: (OpaquePointer) -> T?) -> T? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    // MARK: - Files

    /// The file's text, or `nil` when it cannot be read (or is implausibly large for a PEM).
    private static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while contents.count < 65_536 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return String(decoding: contents, as: UTF8.self) }
            contents += chunk[0..<count]
        }
        return nil
    }

    /// Writes to a temporary file with exactly `mode`, then renames it over `path`.
    private static func writeFile(_ path: String, contents: String, mode: mode_t) throws(DTLSCertificateError) {
        let temporary = path + ".tmp-\(getpid())"
        _ = unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .fileSystem(path: temporary, errno: errno) }
        var failure: Int32 = 0
        if fchmod(descriptor, mode) != 0 { failure = errno }
        let bytes = Array(contents.utf8)
        var offset = 0
        while failure == 0, offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress.map { $0 + offset }, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = errno
            } else {
                offset += written
            }
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        guard failure == 0, rename(temporary, path) == 0 else {
            let code = failure != 0 ? failure : errno
            _ = unlink(temporary)
            throw .fileSystem(path: path, errno: code)
        }
    }
}

/// An `SSL_CTX` pointer that may cross threads: the context is not changed once made, and
/// OpenSSL makes `SSL_new` from one context safe on any thread.
struct SSLContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
