internal import CSwitchboardOpenSSL
internal import CSwitchboardSRTP
#if canImport(Glibc)
internal import Glibc
#endif

/// Where libsrtp2 does its AES and HMAC-SHA1.
///
/// libsrtp2 stays the SRTP implementation (packet layout, key derivation, replay protection,
/// rollover counter); only its crypto primitives are replaced, through its public plug-in API
/// (`srtp_replace_cipher_type`, `srtp_replace_auth_type`), by the types below, written on
/// OpenSSL EVP. Debian's libsrtp2 does its crypto through NSS, which creates and frees a PK11
/// context and a lock on every `PK11_Encrypt`/`PK11_Decrypt` (five heap allocations per packet)
/// and looks every key up in a softoken hash table.
///
/// Nothing is allocated per packet: each cipher state holds one `EVP_CIPHER_CTX` keyed once at
/// `init`, and every packet only sets its IV (`EVP_CipherInit_ex` with no cipher and no key).
/// HMAC-SHA1 keeps the inner and outer SHA-1 states of its key and copies them per packet.
///
/// Public as SPI for the media benchmark, which measures both backends in one process.
@_spi(Benchmark) public enum SRTPCryptoBackend: String, Sendable, CaseIterable {
    /// The types below, on OpenSSL EVP.
    case openSSL = "openssl"
    /// The types libsrtp2 was built with (NSS on Debian).
    case builtin

    /// The cipher and auth types each backend puts in libsrtp2's crypto kernel.
    private struct Types {
        var icm128: UnsafePointer<srtp_cipher_type_t>
        var icm256: UnsafePointer<srtp_cipher_type_t>
        var gcm128: UnsafePointer<srtp_cipher_type_t>
        var gcm256: UnsafePointer<srtp_cipher_type_t>
        var hmac: UnsafePointer<srtp_auth_type_t>
    }

    nonisolated(unsafe) private static let builtinTypes = Types(
        icm128: cswitchboard_srtp_builtin_aes_icm_128(), icm256: cswitchboard_srtp_builtin_aes_icm_256(),
        gcm128: cswitchboard_srtp_builtin_aes_gcm_128(), gcm256: cswitchboard_srtp_builtin_aes_gcm_256(),
        hmac: cswitchboard_srtp_builtin_hmac()
    )

    /// The OpenSSL types, made once per process and never freed (libsrtp2 keeps pointers to
    /// them in its kernel and in every cipher it allocates); `nil` when OpenSSL lacks a cipher.
    nonisolated(unsafe) private static let openSSLTypes: Types? = {
        guard let icm128 = OpenSSLAES.cipher("AES-128-CTR"), let icm256 = OpenSSLAES.cipher("AES-256-CTR"),
            let gcm128 = OpenSSLAES.cipher("AES-128-GCM"), let gcm256 = OpenSSLAES.cipher("AES-256-GCM")
        else { return nil }
        OpenSSLAES.evpICM128 = icm128
        OpenSSLAES.evpICM256 = icm256
        OpenSSLAES.evpGCM128 = gcm128
        OpenSSLAES.evpGCM256 = gcm256
        OpenSSLAES.icm128 = OpenSSLAES.makeICMType(
            id: SRTP_AES_ICM_128, description: "AES-128 counter mode (OpenSSL EVP)", testData: cswitchboard_srtp_aes_icm_128_test_case())
        OpenSSLAES.icm256 = OpenSSLAES.makeICMType(
            id: SRTP_AES_ICM_256, description: "AES-256 counter mode (OpenSSL EVP)", testData: cswitchboard_srtp_aes_icm_256_test_case())
        OpenSSLAES.gcm128 = OpenSSLAES.makeGCMType(
            id: SRTP_AES_GCM_128, description: "AES-128 GCM (OpenSSL EVP)", testData: cswitchboard_srtp_aes_gcm_128_test_case())
        OpenSSLAES.gcm256 = OpenSSLAES.makeGCMType(
            id: SRTP_AES_GCM_256, description: "AES-256 GCM (OpenSSL EVP)", testData: cswitchboard_srtp_aes_gcm_256_test_case())
        OpenSSLHMAC.type = OpenSSLHMAC.makeType()
        return Types(
            icm128: UnsafePointer(OpenSSLAES.icm128), icm256: UnsafePointer(OpenSSLAES.icm256),
            gcm128: UnsafePointer(OpenSSLAES.gcm128), gcm256: UnsafePointer(OpenSSLAES.gcm256),
            hmac: UnsafePointer(OpenSSLHMAC.type)
        )
    }()

    /// The backend the environment asks for: `SWITCHBOARD_SRTP_BACKEND=builtin` keeps libsrtp2's
    /// own crypto (for comparisons and benchmarks); anything else, or nothing, means OpenSSL.
    static var requested: SRTPCryptoBackend {
        guard let value = getenv("SWITCHBOARD_SRTP_BACKEND") else { return .openSSL }
        return String(cString: value) == SRTPCryptoBackend.builtin.rawValue ? .builtin : .openSSL
    }

    /// Puts this backend's types in libsrtp2's kernel (initialised); each replacement runs the
    /// type's self-test with libsrtp2's test vectors. Returns the backend now in the kernel:
    /// if any OpenSSL type is refused, all of the built-in ones are put back.
    /// Ciphers already allocated keep the type they were made with.
    static func install(_ backend: SRTPCryptoBackend) -> SRTPCryptoBackend {
        if backend == .openSSL, let types = openSSLTypes, replace(with: types) { return .openSSL }
        _ = replace(with: builtinTypes)
        return .builtin
    }

    private static func replace(with types: Types) -> Bool {
        let statuses = [
            srtp_replace_cipher_type(types.icm128, srtp_cipher_type_id_t(SRTP_AES_ICM_128)),
            srtp_replace_cipher_type(types.icm256, srtp_cipher_type_id_t(SRTP_AES_ICM_256)),
            srtp_replace_cipher_type(types.gcm128, srtp_cipher_type_id_t(SRTP_AES_GCM_128)),
            srtp_replace_cipher_type(types.gcm256, srtp_cipher_type_id_t(SRTP_AES_GCM_256)),
            srtp_replace_auth_type(types.hmac, srtp_auth_type_id_t(SRTP_HMAC_SHA1)),
        ]
        return statuses.allSatisfy { $0 == srtp_err_status_ok }
    }

    /// The OpenSSL cipher type for `id` (tests drive it through libsrtp2's cipher API).
    static func openSSLCipherType(_ id: Int32) -> UnsafePointer<srtp_cipher_type_t>? {
        guard let types = openSSLTypes else { return nil }
        switch id {
        case SRTP_AES_ICM_128: return types.icm128
        case SRTP_AES_ICM_256: return types.icm256
        case SRTP_AES_GCM_128: return types.gcm128
        case SRTP_AES_GCM_256: return types.gcm256
        default: return nil
        }
    }

    /// The OpenSSL HMAC-SHA1 auth type (for tests).
    static var openSSLAuthType: UnsafePointer<srtp_auth_type_t>? { openSSLTypes?.hmac }
}

// MARK: - AES: counter mode and GCM

/// The state behind an AES `srtp_cipher_t`.
private struct AESState {
    /// Keyed once at `init`; per packet only its IV is set.
    var context: OpaquePointer
    /// AES key length in bytes (16 or 32).
    var keyLength: Int
    /// GCM tag length in bytes (16 or 8); 0 for counter mode.
    var tagLength: Int
    /// Counter mode: the session salt in the first 14 bytes, then two zero bytes.
    var offset: (UInt64, UInt64) = (0, 0)
    /// Counter mode: the counter block of the current packet (offset XOR IV).
    var counter: (UInt64, UInt64) = (0, 0)
}

private enum OpenSSLAES {
    nonisolated(unsafe) static var evpICM128: OpaquePointer?
    nonisolated(unsafe) static var evpICM256: OpaquePointer?
    nonisolated(unsafe) static var evpGCM128: OpaquePointer?
    nonisolated(unsafe) static var evpGCM256: OpaquePointer?
    nonisolated(unsafe) static var icm128: UnsafeMutablePointer<srtp_cipher_type_t>!
    nonisolated(unsafe) static var icm256: UnsafeMutablePointer<srtp_cipher_type_t>!
    nonisolated(unsafe) static var gcm128: UnsafeMutablePointer<srtp_cipher_type_t>!
    nonisolated(unsafe) static var gcm256: UnsafeMutablePointer<srtp_cipher_type_t>!

    /// Salt length of counter mode (RFC 3711): 112 bits.
    static let saltLength = 14
    /// Salt length of GCM (RFC 7714): 96 bits.
    static let gcmSaltLength = 12

    /// An explicit fetch, once: an implicit one (`EVP_aes_128_gcm()`) looks the provider up again
    /// at every `init`.
    static func cipher(_ name: String) -> OpaquePointer? {
        EVP_CIPHER_fetch(nil, name, nil)
    }

    static func makeType(
        id: Int32, description: String, testData: UnsafePointer<srtp_cipher_test_case_t>, configure: (inout srtp_cipher_type_t) -> Void
    ) -> UnsafeMutablePointer<srtp_cipher_type_t> {
        var type = srtp_cipher_type_t()
        type.description = UnsafePointer(strdup(description))
        type.test_data = testData
        type.id = srtp_cipher_type_id_t(id)
        type.dealloc = { cipher in
            guard let cipher else { return srtp_err_status_bad_param }
            if let state = cipher.pointee.state?.assumingMemoryBound(to: AESState.self) {
                EVP_CIPHER_CTX_free(state.pointee.context)
                state.pointee.offset = (0, 0)
                state.pointee.counter = (0, 0)
                state.deinitialize(count: 1)
                state.deallocate()
            }
            cipher.deinitialize(count: 1)
            cipher.deallocate()
            return srtp_err_status_ok
        }
        configure(&type)
        let pointer = UnsafeMutablePointer<srtp_cipher_type_t>.allocate(capacity: 1)
        pointer.initialize(to: type)
        return pointer
    }

    /// Allocates a cipher of `type` with an unkeyed EVP context.
    static func allocate(
        _ out: UnsafeMutablePointer<srtp_cipher_pointer_t?>?, type: UnsafeMutablePointer<srtp_cipher_type_t>, algorithm: Int32,
        keyLengthWithSalt: Int32, keyLength: Int, tagLength: Int
    ) -> srtp_err_status_t {
        guard let out, let context = EVP_CIPHER_CTX_new() else { return srtp_err_status_alloc_fail }
        let state = UnsafeMutablePointer<AESState>.allocate(capacity: 1)
        state.initialize(to: AESState(context: context, keyLength: keyLength, tagLength: tagLength))
        let cipher = UnsafeMutablePointer<srtp_cipher_t>.allocate(capacity: 1)
        cipher.initialize(to: srtp_cipher_t(type: UnsafePointer(type), state: UnsafeMutableRawPointer(state), key_len: keyLengthWithSalt, algorithm: algorithm))
        out.pointee = cipher
        return srtp_err_status_ok
    }

    // MARK: Counter mode (SRTP_AES_ICM_128/256: the AES-CM profiles and libsrtp2's key derivation)

    static func makeICMType(id: Int32, description: String, testData: UnsafePointer<srtp_cipher_test_case_t>) -> UnsafeMutablePointer<srtp_cipher_type_t> {
        makeType(id: id, description: description, testData: testData) { type in
            // Key lengths include the 14-byte salt: 30 for AES-128, 46 for AES-256.
            type.alloc = { out, keyLength, _ in
                switch Int(keyLength) {
                case 16 + OpenSSLAES.saltLength:
                    return OpenSSLAES.allocate(out, type: OpenSSLAES.icm128, algorithm: SRTP_AES_ICM_128, keyLengthWithSalt: keyLength, keyLength: 16, tagLength: 0)
                case 32 + OpenSSLAES.saltLength:
                    return OpenSSLAES.allocate(out, type: OpenSSLAES.icm256, algorithm: SRTP_AES_ICM_256, keyLengthWithSalt: keyLength, keyLength: 32, tagLength: 0)
                default:
                    return srtp_err_status_bad_param
                }
            }
            // `key` is the key then the salt; the salt is the counter's offset (RFC 3711 §4.1.1).
            type.`init` = { raw, key in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let key else { return srtp_err_status_bad_param }
                let keyLength = state.pointee.keyLength
                var offset: (UInt64, UInt64) = (0, 0)
                withUnsafeMutableBytes(of: &offset) { $0.copyMemory(from: UnsafeRawBufferPointer(start: key + keyLength, count: OpenSSLAES.saltLength)) }
                state.pointee.offset = offset
                let evp = keyLength == 32 ? OpenSSLAES.evpICM256 : OpenSSLAES.evpICM128
                guard EVP_EncryptInit_ex(state.pointee.context, evp, nil, key, nil) == 1 else {
                    ERR_clear_error()
                    return srtp_err_status_init_fail
                }
                return srtp_err_status_ok
            }
            // The 16-byte IV XOR the offset is the first counter block; both directions encrypt.
            type.set_iv = { raw, iv, _ in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let iv else { return srtp_err_status_bad_param }
                let first = UnsafeRawPointer(iv).loadUnaligned(as: UInt64.self)
                let second = UnsafeRawPointer(iv).loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                state.pointee.counter = (state.pointee.offset.0 ^ first, state.pointee.offset.1 ^ second)
                let status = withUnsafeBytes(of: &state.pointee.counter) { counter in
                    EVP_EncryptInit_ex(state.pointee.context, nil, nil, nil, counter.baseAddress?.assumingMemoryBound(to: UInt8.self))
                }
                guard status == 1 else {
                    ERR_clear_error()
                    return srtp_err_status_cipher_fail
                }
                return srtp_err_status_ok
            }
            type.encrypt = OpenSSLAES.icmEncrypt
            type.decrypt = OpenSSLAES.icmEncrypt
        }
    }

    /// XORs the keystream into `length` bytes in place. SRTP's counter is the last 16 bits of
    /// the block; as libsrtp2's own counter mode does, more than it can count is refused.
    static let icmEncrypt: srtp_cipher_encrypt_func_t = { raw, buffer, length in
        guard let state = raw?.assumingMemoryBound(to: AESState.self), let length else { return srtp_err_status_bad_param }
        let octets = Int(length.pointee)
        guard octets > 0 else { return srtp_err_status_ok }
        guard let buffer else { return srtp_err_status_bad_param }
        let blockCounter = Int(UInt16(bigEndian: UInt16(truncatingIfNeeded: state.pointee.counter.1 >> 48)))
        guard (octets + 15) / 16 + blockCounter <= 0x1_0000 else { return srtp_err_status_terminus }
        var written: Int32 = 0
        guard EVP_EncryptUpdate(state.pointee.context, buffer, &written, buffer, Int32(octets)) == 1 else {
            ERR_clear_error()
            return srtp_err_status_cipher_fail
        }
        length.pointee = UInt32(written)
        return srtp_err_status_ok
    }

    // MARK: GCM (SRTP_AES_GCM_128/256: AEAD_AES_128_GCM, AEAD_AES_256_GCM)

    static func makeGCMType(id: Int32, description: String, testData: UnsafePointer<srtp_cipher_test_case_t>) -> UnsafeMutablePointer<srtp_cipher_type_t> {
        makeType(id: id, description: description, testData: testData) { type in
            // Key lengths include the 12-byte salt (28, 44); libsrtp2 computes the IV itself.
            type.alloc = { out, keyLength, tagLength in
                guard tagLength == 16 || tagLength == 8 else { return srtp_err_status_bad_param }
                switch Int(keyLength) {
                case 16 + OpenSSLAES.gcmSaltLength:
                    return OpenSSLAES.allocate(
                        out, type: OpenSSLAES.gcm128, algorithm: SRTP_AES_GCM_128, keyLengthWithSalt: keyLength, keyLength: 16, tagLength: Int(tagLength))
                case 32 + OpenSSLAES.gcmSaltLength:
                    return OpenSSLAES.allocate(
                        out, type: OpenSSLAES.gcm256, algorithm: SRTP_AES_GCM_256, keyLengthWithSalt: keyLength, keyLength: 32, tagLength: Int(tagLength))
                default:
                    return srtp_err_status_bad_param
                }
            }
            type.`init` = { raw, key in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let key else { return srtp_err_status_bad_param }
                let evp = state.pointee.keyLength == 32 ? OpenSSLAES.evpGCM256 : OpenSSLAES.evpGCM128
                guard EVP_CipherInit_ex(state.pointee.context, evp, nil, key, nil, 1) == 1,
                    EVP_CIPHER_CTX_ctrl(state.pointee.context, EVP_CTRL_AEAD_SET_IVLEN, 12, nil) == 1
                else {
                    ERR_clear_error()
                    return srtp_err_status_init_fail
                }
                return srtp_err_status_ok
            }
            // Per packet: the 12-byte IV and the direction; then AAD, then the data.
            type.set_iv = { raw, iv, direction in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let iv else { return srtp_err_status_bad_param }
                let encrypt: Int32
                switch direction {
                case srtp_direction_encrypt: encrypt = 1
                case srtp_direction_decrypt: encrypt = 0
                default: return srtp_err_status_bad_param
                }
                guard EVP_CipherInit_ex(state.pointee.context, nil, nil, nil, iv, encrypt) == 1 else {
                    ERR_clear_error()
                    return srtp_err_status_init_fail
                }
                return srtp_err_status_ok
            }
            // Called once or twice per packet (SRTCP: the header, then the E flag and index).
            type.set_aad = { raw, aad, length in
                guard let state = raw?.assumingMemoryBound(to: AESState.self) else { return srtp_err_status_bad_param }
                guard length > 0 else { return srtp_err_status_ok }
                var written: Int32 = 0
                guard let aad, EVP_CipherUpdate(state.pointee.context, nil, &written, aad, Int32(length)) == 1 else {
                    ERR_clear_error()
                    return srtp_err_status_algo_fail
                }
                return srtp_err_status_ok
            }
            // In place; the tag comes from get_tag. An SRTCP packet sent unencrypted has no data.
            type.encrypt = { raw, buffer, length in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let length else { return srtp_err_status_bad_param }
                let octets = Int32(length.pointee)
                guard octets > 0 else { return srtp_err_status_ok }
                var written: Int32 = 0
                guard let buffer, EVP_CipherUpdate(state.pointee.context, buffer, &written, buffer, octets) == 1 else {
                    ERR_clear_error()
                    return srtp_err_status_cipher_fail
                }
                return srtp_err_status_ok
            }
            // The last tag-length bytes are the tag: checked, then taken off the length.
            type.decrypt = { raw, buffer, length in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let length, let buffer else { return srtp_err_status_bad_param }
                let tagLength = state.pointee.tagLength
                let octets = Int(length.pointee)
                guard octets >= tagLength else { return srtp_err_status_bad_param }
                let context = state.pointee.context
                let dataLength = Int32(octets - tagLength)
                var written: Int32 = 0
                var scratch: (UInt64, UInt64) = (0, 0)
                let verified = withUnsafeMutableBytes(of: &scratch) { scratch in
                    guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tagLength), buffer + Int(dataLength)) == 1 else { return false }
                    if dataLength > 0, EVP_CipherUpdate(context, buffer, &written, buffer, dataLength) != 1 { return false }
                    return EVP_CipherFinal_ex(context, scratch.baseAddress?.assumingMemoryBound(to: UInt8.self), &written) == 1
                }
                guard verified else {
                    ERR_clear_error()
                    return srtp_err_status_auth_fail
                }
                length.pointee = UInt32(dataLength)
                return srtp_err_status_ok
            }
            type.get_tag = { raw, tag, length in
                guard let state = raw?.assumingMemoryBound(to: AESState.self), let tag, let length else { return srtp_err_status_bad_param }
                let context = state.pointee.context
                let tagLength = Int32(state.pointee.tagLength)
                var written: Int32 = 0
                var scratch: (UInt64, UInt64) = (0, 0)
                let done = withUnsafeMutableBytes(of: &scratch) { scratch in
                    EVP_CipherFinal_ex(context, scratch.baseAddress?.assumingMemoryBound(to: UInt8.self), &written) == 1
                        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, tagLength, tag) == 1
                }
                guard done else {
                    ERR_clear_error()
                    return srtp_err_status_algo_fail
                }
                length.pointee = UInt32(tagLength)
                return srtp_err_status_ok
            }
        }
    }
}

// MARK: - HMAC-SHA1

/// The state behind an HMAC-SHA1 `srtp_auth_t`: four SHA-1 states in a row.
private enum OpenSSLHMAC {
    nonisolated(unsafe) static var type: UnsafeMutablePointer<srtp_auth_type_t>!

    static let digestLength = 20
    static let blockLength = 64
    /// The key's inner state (after the ipad block), its outer state (after the opad block),
    /// the packet's inner hash, and the packet's outer hash.
    static let inner = 0, outer = 1, working = 2, finishing = 3

    static func makeType() -> UnsafeMutablePointer<srtp_auth_type_t> {
        var type = srtp_auth_type_t()
        type.description = UnsafePointer(strdup("HMAC-SHA1 (OpenSSL SHA-1 with precomputed pads)"))
        type.test_data = cswitchboard_srtp_hmac_test_case()
        type.id = srtp_auth_type_id_t(SRTP_HMAC_SHA1)
        // SRTP's auth keys are 160 bits; like libsrtp2's own HMAC, no key longer than a digest.
        type.alloc = { out, keyLength, tagLength in
            guard let out else { return srtp_err_status_bad_param }
            guard keyLength >= 0, keyLength <= Int32(OpenSSLHMAC.digestLength), tagLength >= 0, tagLength <= Int32(OpenSSLHMAC.digestLength) else {
                return srtp_err_status_bad_param
            }
            let states = UnsafeMutablePointer<SHA_CTX>.allocate(capacity: 4)
            states.initialize(repeating: SHA_CTX(), count: 4)
            let auth = UnsafeMutablePointer<srtp_auth_t>.allocate(capacity: 1)
            auth.initialize(
                to: srtp_auth_t(
                    type: UnsafePointer(OpenSSLHMAC.type), state: UnsafeMutableRawPointer(states), out_len: tagLength, key_len: keyLength, prefix_len: 0))
            out.pointee = auth
            return srtp_err_status_ok
        }
        type.dealloc = { auth in
            guard let auth else { return srtp_err_status_bad_param }
            if let states = auth.pointee.state?.assumingMemoryBound(to: SHA_CTX.self) {
                UnsafeMutableRawPointer(states).initializeMemory(as: UInt8.self, repeating: 0, count: 4 * MemoryLayout<SHA_CTX>.stride)
                states.deallocate()
            }
            auth.deinitialize(count: 1)
            auth.deallocate()
            return srtp_err_status_ok
        }
        // The pads are hashed once per key; after init the state is ready for a packet (the
        // self-test computes without a start).
        type.`init` = { raw, key, keyLength in
            guard let states = raw?.assumingMemoryBound(to: SHA_CTX.self), keyLength >= 0, keyLength <= Int32(OpenSSLHMAC.blockLength) else {
                return srtp_err_status_bad_param
            }
            var pad = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let ok = withUnsafeMutableBytes(of: &pad) { pad -> Bool in
                if keyLength > 0, let key { pad.copyMemory(from: UnsafeRawBufferPointer(start: key, count: Int(keyLength))) }
                for index in 0..<OpenSSLHMAC.blockLength { pad[index] ^= 0x36 }
                guard cswitchboard_SHA1_Init(states + OpenSSLHMAC.inner) == 1, cswitchboard_SHA1_Update(states + OpenSSLHMAC.inner, pad.baseAddress, OpenSSLHMAC.blockLength) == 1 else {
                    return false
                }
                for index in 0..<OpenSSLHMAC.blockLength { pad[index] ^= 0x36 ^ 0x5C }
                guard cswitchboard_SHA1_Init(states + OpenSSLHMAC.outer) == 1, cswitchboard_SHA1_Update(states + OpenSSLHMAC.outer, pad.baseAddress, OpenSSLHMAC.blockLength) == 1 else {
                    return false
                }
                pad.initializeMemory(as: UInt8.self, repeating: 0)
                return true
            }
            guard ok else { return srtp_err_status_auth_fail }
            states[OpenSSLHMAC.working] = states[OpenSSLHMAC.inner]
            return srtp_err_status_ok
        }
        type.start = { raw in
            guard let states = raw?.assumingMemoryBound(to: SHA_CTX.self) else { return srtp_err_status_bad_param }
            states[OpenSSLHMAC.working] = states[OpenSSLHMAC.inner]
            return srtp_err_status_ok
        }
        type.update = { raw, message, length in
            guard let states = raw?.assumingMemoryBound(to: SHA_CTX.self), length >= 0 else { return srtp_err_status_bad_param }
            guard length > 0 else { return srtp_err_status_ok }
            return cswitchboard_SHA1_Update(states + OpenSSLHMAC.working, message, Int(length)) == 1 ? srtp_err_status_ok : srtp_err_status_auth_fail
        }
        type.compute = { raw, message, length, tagLength, tag in
            guard let states = raw?.assumingMemoryBound(to: SHA_CTX.self), let tag, length >= 0, tagLength >= 0, tagLength <= Int32(OpenSSLHMAC.digestLength)
            else { return srtp_err_status_bad_param }
            var digest = (UInt64(0), UInt64(0), UInt32(0))
            let ok = withUnsafeMutableBytes(of: &digest) { digest -> Bool in
                let bytes = digest.baseAddress!.assumingMemoryBound(to: UInt8.self)
                if length > 0, cswitchboard_SHA1_Update(states + OpenSSLHMAC.working, message, Int(length)) != 1 { return false }
                guard cswitchboard_SHA1_Final(bytes, states + OpenSSLHMAC.working) == 1 else { return false }
                states[OpenSSLHMAC.finishing] = states[OpenSSLHMAC.outer]
                guard cswitchboard_SHA1_Update(states + OpenSSLHMAC.finishing, bytes, OpenSSLHMAC.digestLength) == 1,
                    cswitchboard_SHA1_Final(bytes, states + OpenSSLHMAC.finishing) == 1
                else { return false }
                tag.update(from: bytes, count: Int(tagLength))
                return true
            }
            return ok ? srtp_err_status_ok : srtp_err_status_auth_fail
        }
        let pointer = UnsafeMutablePointer<srtp_auth_type_t>.allocate(capacity: 1)
        pointer.initialize(to: type)
        return pointer
    }
}
