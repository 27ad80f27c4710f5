import CSwitchboardSRTP
import Glibc
import Testing

@_spi(Benchmark) @testable import SRTP

/// Bytes from hex digits; spaces and line breaks are ignored.
private func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter(\.isHexDigit))
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// A packet in a buffer with room for what protection appends.
private func withPacket<T>(_ packet: [UInt8], _ body: (UnsafeMutableRawPointer, Int) throws -> T) rethrows -> T {
    var buffer = packet + [UInt8](repeating: 0, count: 64)
    return try buffer.withUnsafeMutableBytes { try body($0.baseAddress!, $0.count) }
}

private func protect(_ packet: [UInt8], rtcp: Bool, with session: SRTPSession) throws -> [UInt8] {
    try withPacket(packet) { pointer, capacity in
        let length =
            rtcp
            ? try session.protectRTCP(pointer, length: packet.count, capacity: capacity)
            : try session.protectRTP(pointer, length: packet.count, capacity: capacity)
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

private func unprotect(_ packet: [UInt8], rtcp: Bool, with session: SRTPSession) throws -> [UInt8] {
    try withPacket(packet) { pointer, _ in
        let length =
            rtcp ? try session.unprotectRTCP(pointer, length: packet.count) : try session.unprotectRTP(pointer, length: packet.count)
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

/// One session both ways with one master key.
private func session(_ profile: SRTPProfile, keyAndSalt: [UInt8], replayWindow: Int = 1024) throws(SRTPError) -> SRTPSession {
    let key = try SRTPMasterKey(profile: profile, keyAndSalt: keyAndSalt)
    return try SRTPSession(keys: SRTPKeys(profile: profile, local: key, remote: key), replayWindow: replayWindow)
}

/// `count` such sessions made with `backend`'s crypto types (one switch of the kernel).
private func sessions(_ profile: SRTPProfile, keyAndSalt: [UInt8], count: Int, backend: SRTPCryptoBackend) throws -> [SRTPSession] {
    var made: [SRTPSession] = []
    try SRTPSession.withCryptoBackend(backend) { () throws(SRTPError) in
        for _ in 0..<count { made.append(try session(profile, keyAndSalt: keyAndSalt)) }
    }
    return made
}

/// libsrtp2's cipher API over one cipher of `type`, as libsrtp2's packet code calls it.
private final class Cipher {
    let cipher: UnsafeMutablePointer<srtp_cipher_t>

    init(type: UnsafePointer<srtp_cipher_type_t>, keyAndSalt: [UInt8], tagLength: Int32 = 0) throws {
        var cipher: UnsafeMutablePointer<srtp_cipher_t>?
        try #require(srtp_cipher_type_alloc(type, &cipher, Int32(keyAndSalt.count), tagLength) == srtp_err_status_ok)
        self.cipher = try #require(cipher)
        try #require(srtp_cipher_init(self.cipher, keyAndSalt) == srtp_err_status_ok)
    }

    deinit { srtp_cipher_dealloc(cipher) }

    func setIV(_ iv: [UInt8], encrypt: Bool) throws {
        var iv = iv
        let direction = encrypt ? srtp_direction_encrypt : srtp_direction_decrypt
        try #require(srtp_cipher_set_iv(cipher, &iv, Int32(direction.rawValue)) == srtp_err_status_ok)
    }

    func addAAD(_ aad: [UInt8]) throws {
        try #require(srtp_cipher_set_aad(cipher, aad, UInt32(aad.count)) == srtp_err_status_ok)
    }

    /// Encrypts in place; with a GCM cipher, the tag follows.
    func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        var buffer = plaintext + [UInt8](repeating: 0, count: 16)
        var length = UInt32(plaintext.count)
        try #require(srtp_cipher_encrypt(cipher, &buffer, &length) == srtp_err_status_ok)
        var tagLength: UInt32 = 0
        if cipher.pointee.algorithm == SRTP_AES_GCM_128 || cipher.pointee.algorithm == SRTP_AES_GCM_256 {
            try buffer.withUnsafeMutableBufferPointer { buffer in
                try #require(srtp_cipher_get_tag(cipher, buffer.baseAddress! + Int(length), &tagLength) == srtp_err_status_ok)
            }
        }
        return Array(buffer[0..<(Int(length) + Int(tagLength))])
    }

    /// Decrypts in place (GCM: checks the tag in the last bytes and takes it off); the status.
    func open(_ ciphertext: [UInt8]) -> (srtp_err_status_t, [UInt8]) {
        var buffer = ciphertext
        var length = UInt32(ciphertext.count)
        let status = srtp_cipher_decrypt(cipher, &buffer, &length)
        return (status, Array(buffer[0..<Int(min(length, UInt32(buffer.count)))]))
    }

    /// `count` bytes of keystream (libsrtp2's key derivation).
    func keystream(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: count)
        var length = UInt32(count)
        try #require(srtp_cipher_output(cipher, &buffer, &length) == srtp_err_status_ok)
        return buffer
    }
}

/// The GCM IV of RFC 7714 §8.1 (SRTP) and §9.1 (SRTCP): two zero bytes, the SSRC, then the
/// ROC and sequence number (or two zero bytes and the 31-bit SRTCP index), XOR the salt.
private func gcmIV(salt: [UInt8], ssrc: UInt32, index: UInt64) -> [UInt8] {
    var block = [UInt8](repeating: 0, count: 12)
    for byte in 0..<4 { block[2 + byte] = UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * UInt32(byte))) }
    for byte in 0..<6 { block[6 + byte] = UInt8(truncatingIfNeeded: index >> (40 - 8 * UInt64(byte))) }
    return zip(block, salt).map { $0 ^ $1 }
}

@Suite struct SRTPCryptoBackendTests {
    @Test func libsrtpUsesTheOpenSSLBackend() throws {
        let requested = SRTPCryptoBackend.requested
        #expect(SRTPLibrary.cryptoBackend == requested)
        _ = try session(.aeadAES128GCM, keyAndSalt: [UInt8](repeating: 1, count: 28))
        #expect(SRTPLibrary.cryptoBackend == requested, "a session switches nothing")
    }

    // MARK: AEAD_AES_128_GCM / AEAD_AES_256_GCM: RFC 7714 §16 and §17

    static let rfc7714Salt = bytes("517569642070726f2071756f")
    static let rfc7714RTPHeader = bytes("8040f17b 8041f8d3 5501a0b2")
    static let rfc7714RTPPayload = bytes("47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573")

    /// §16.1.1 (AES-128) and §16.2.1 (AES-256): the RTP packet with SSRC 0x5501a0b2, sequence
    /// number 0xf17b, ROC 0; the expected payload is the ciphertext then the tag.
    @Test(arguments: [
        (Int32(SRTP_AES_GCM_128), "000102030405060708090a0b0c0d0e0f",
         "f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce"),
        (Int32(SRTP_AES_GCM_256), "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
         "32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13"),
    ])
    func rfc7714RTPPacket(id: Int32, key: String, expected: String) throws {
        let type = try #require(SRTPCryptoBackend.openSSLCipherType(id))
        let cipher = try Cipher(type: type, keyAndSalt: bytes(key) + Self.rfc7714Salt, tagLength: 16)
        let iv = gcmIV(salt: Self.rfc7714Salt, ssrc: 0x5501_a0b2, index: 0xf17b)
        #expect(iv == bytes("51753c6580c2726f20718414"), "RFC 7714 §16.1.1's IV")
        try cipher.setIV(iv, encrypt: true)
        try cipher.addAAD(Self.rfc7714RTPHeader)
        let sealed = try cipher.seal(Self.rfc7714RTPPayload)
        #expect(sealed == bytes(expected))

        try cipher.setIV(iv, encrypt: false)
        try cipher.addAAD(Self.rfc7714RTPHeader)
        let (status, opened) = cipher.open(sealed)
        #expect(status == srtp_err_status_ok)
        #expect(opened == Self.rfc7714RTPPayload, "decrypt takes the tag off the length")

        // A flipped bit in the tag, the ciphertext or the header (AAD) fails the tag check.
        for (flip, aad) in [(sealed.count - 1, Self.rfc7714RTPHeader), (3, Self.rfc7714RTPHeader), (-1, Self.rfc7714RTPHeader.map { $0 ^ 1 })] {
            var forged = sealed
            if flip >= 0 { forged[flip] ^= 0x01 }
            try cipher.setIV(iv, encrypt: false)
            try cipher.addAAD(aad)
            #expect(cipher.open(forged).0 == srtp_err_status_auth_fail)
        }
    }

    /// §17.1.1 (AES-128) and §17.2.1 (AES-256): the SRTCP packet with SSRC 0x4d617273 and SRTCP
    /// index 0x5d4, encrypted. AAD: the 8-byte header, then the E flag and index, in two calls
    /// as libsrtp2 makes them.
    @Test(arguments: [
        (Int32(SRTP_AES_GCM_128), "000102030405060708090a0b0c0d0e0f",
         """
         63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b
         c84aa458 96cf4d2f c5abf872 45d9eade
         """),
        (Int32(SRTP_AES_GCM_256), "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
         """
         d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad
         1d1eb30c 4446839f 57ff6f6c b26ac3be
         """),
    ])
    func rfc7714RTCPPacket(id: Int32, key: String, expected: String) throws {
        let header = bytes("81c8000d 4d617273")
        let body = bytes("4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef")
        let trailer = bytes("800005d4")
        let type = try #require(SRTPCryptoBackend.openSSLCipherType(id))
        let cipher = try Cipher(type: type, keyAndSalt: bytes(key) + Self.rfc7714Salt, tagLength: 16)
        let iv = gcmIV(salt: Self.rfc7714Salt, ssrc: 0x4d61_7273, index: 0x5d4)
        try cipher.setIV(iv, encrypt: true)
        try cipher.addAAD(header)
        try cipher.addAAD(trailer)
        let sealed = try cipher.seal(body)
        #expect(sealed == bytes(expected))

        try cipher.setIV(iv, encrypt: false)
        try cipher.addAAD(header)
        try cipher.addAAD(trailer)
        let (status, opened) = cipher.open(sealed)
        #expect(status == srtp_err_status_ok)
        #expect(opened == body)

        // Another index in the AAD (a replayed packet relabelled) fails.
        try cipher.setIV(iv, encrypt: false)
        try cipher.addAAD(header)
        try cipher.addAAD(bytes("800005d5"))
        #expect(cipher.open(sealed).0 == srtp_err_status_auth_fail)
    }

    // MARK: AES counter mode: RFC 3711 Appendix B

    /// B.2: the keystream of session key 2B7E…3C, salt F0F1…FCFD, packet index 0, SSRC 0.
    @Test func rfc3711CounterModeKeystream() throws {
        let type = try #require(SRTPCryptoBackend.openSSLCipherType(Int32(SRTP_AES_ICM_128)))
        let cipher = try Cipher(type: type, keyAndSalt: bytes("2B7E151628AED2A6ABF7158809CF4F3C F0F1F2F3F4F5F6F7F8F9FAFBFCFD"))
        try cipher.setIV([UInt8](repeating: 0, count: 16), encrypt: true)
        #expect(
            try cipher.keystream(48)
                == bytes("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0"))
        // Encrypting is XOR with the keystream, and so is decrypting.
        try cipher.setIV([UInt8](repeating: 0, count: 16), encrypt: true)
        let plaintext = [UInt8](repeating: 0xAB, count: 20)
        let sealed = try cipher.seal(plaintext)
        #expect(sealed == zip(plaintext, bytes("E03EAD0935C95E80E166B16DD92B4EB4 D2351316")).map { $0 ^ $1 })
        try cipher.setIV([UInt8](repeating: 0, count: 16), encrypt: false)
        #expect(cipher.open(sealed).1 == plaintext)
    }

    /// B.3: the key derivation, as libsrtp2 makes it: counter mode over the master key and
    /// salt, the label in byte 7 of the IV, the keystream as the session key.
    @Test func rfc3711KeyDerivation() throws {
        let type = try #require(SRTPCryptoBackend.openSSLCipherType(Int32(SRTP_AES_ICM_128)))
        let cipher = try Cipher(type: type, keyAndSalt: bytes("E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6"))
        for (label, expected) in [
            (UInt8(0x00), "C61E7A93744F39EE10734AFE3FF7A087"),  // cipher key
            (0x01, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"),  // auth key (first 160 bits)
            (0x02, "30CBBC08863D8C85D49DB34A9AE1"),  // cipher salt
        ] {
            var iv = [UInt8](repeating: 0, count: 16)
            iv[7] = label
            try cipher.setIV(iv, encrypt: true)
            #expect(try cipher.keystream(bytes(expected).count) == bytes(expected), "label \(label)")
        }
    }

    // MARK: HMAC-SHA1: RFC 2202

    private static func hmac(key: [UInt8], data: [[UInt8]], tagLength: Int32 = 20, start: Bool) throws -> [UInt8] {
        let type = try #require(SRTPCryptoBackend.openSSLAuthType)
        var auth: UnsafeMutablePointer<srtp_auth_t>?
        try #require(type.pointee.alloc!(&auth, Int32(key.count), tagLength) == srtp_err_status_ok)
        let unwrapped = try #require(auth)
        defer { _ = type.pointee.dealloc!(unwrapped) }
        #expect(unwrapped.pointee.prefix_len == 0 && unwrapped.pointee.out_len == tagLength)
        try #require(type.pointee.`init`!(unwrapped.pointee.state, key, Int32(key.count)) == srtp_err_status_ok)
        var tag = [UInt8](repeating: 0, count: Int(tagLength))
        // Twice: the second packet with the same key must not see the first.
        for _ in 0..<2 {
            if start { try #require(type.pointee.start!(unwrapped.pointee.state) == srtp_err_status_ok) }
            for part in data.dropLast() {
                try #require(type.pointee.update!(unwrapped.pointee.state, part, Int32(part.count)) == srtp_err_status_ok)
            }
            let last = data.last ?? []
            try #require(type.pointee.compute!(unwrapped.pointee.state, last, Int32(last.count), tagLength, &tag) == srtp_err_status_ok)
            if !start { break }
        }
        return tag
    }

    @Test func rfc2202HMACSHA1() throws {
        // Test case 1: 20 bytes of 0x0b, "Hi There".
        #expect(
            try Self.hmac(key: [UInt8](repeating: 0x0B, count: 20), data: [Array("Hi There".utf8)], start: false)
                == bytes("b617318655057264e28bc0b6fb378c8ef146be00"))
        // Test case 2: "Jefe", in three parts (start, update, update, compute as SRTP does).
        let text = Array("what do ya want for nothing?".utf8)
        #expect(
            try Self.hmac(key: Array("Jefe".utf8), data: [Array(text[0..<5]), Array(text[5..<24]), Array(text[24...])], start: true)
                == bytes("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        // Truncated to SRTP's 80 bits.
        #expect(
            try Self.hmac(key: Array("Jefe".utf8), data: [text], tagLength: 10, start: true) == bytes("effcdf6ae5eb2fa2d274"))
    }

    // MARK: Whole packets through libsrtp2: its own reference vectors (srtp_validate, srtp_validate_gcm)

    static let aesCMMasterKey = bytes("e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6")
    static let gcmMasterKey = bytes("000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaab")
    static let referenceRTP = bytes("800f1234 decafbad cafebabe abababab abababab abababab abababab")
    static let referenceRTCP = bytes("81c8000b cafebabe abababab abababab abababab abababab")

    static let referencePackets: [(SRTPProfile, rtcp: Bool, protected: String)] = [
        (.aes128CMHMACSHA1_80, false, "800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb"),
        (.aes128CMHMACSHA1_32, false, "800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc"),
        (.aes128CMHMACSHA1_80, true, "81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798"),
        (.aes128CMHMACSHA1_32, true, "81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798"),
        (.aeadAES128GCM, false, "800f1234 decafbad cafebabe c5002ede 04cfdd2e b91159e0 880aa06e d2976826 f796b201 df3131a1 27e8a392"),
        (.aeadAES128GCM, true, "81c8000b cafebabe c98b8b5d f0392a55 852b6c21 ac8e7025 c52c6fbe a2b3b446 ea31123b a88ce61e 80000001"),
    ]

    /// The packets libsrtp2's test driver checks, protected and unprotected by sessions made
    /// with each backend: the OpenSSL types give libsrtp2's own answers.
    @Test(arguments: SRTPCryptoBackend.allCases)
    func libsrtpReferencePackets(backend: SRTPCryptoBackend) throws {
        var pairs: [(sender: SRTPSession, receiver: SRTPSession)] = []
        try SRTPSession.withCryptoBackend(backend) { () throws(SRTPError) in
            for (profile, _, _) in Self.referencePackets {
                let key = profile == .aeadAES128GCM ? Self.gcmMasterKey : Self.aesCMMasterKey
                pairs.append((try session(profile, keyAndSalt: key), try session(profile, keyAndSalt: key)))
            }
        }
        for ((profile, rtcp, expected), pair) in zip(Self.referencePackets, pairs) {
            let plain = rtcp ? Self.referenceRTCP : Self.referenceRTP
            #expect(try protect(plain, rtcp: rtcp, with: pair.sender) == bytes(expected), "\(profile) \(rtcp ? "SRTCP" : "SRTP") \(backend)")
            #expect(try unprotect(bytes(expected), rtcp: rtcp, with: pair.receiver) == plain)
        }
    }

    // MARK: Interoperability with the built-in backend

    /// Random keys, packets of every length from a bare header up, RTP and RTCP: the OpenSSL
    /// backend's packets are byte for byte the built-in backend's, and each unprotects the other's.
    @Test(arguments: SRTPProfile.allCases)
    func sameBytesAsTheBuiltinBackend(profile: SRTPProfile) throws {
        let key = try SRTPMasterKey.random(profile: profile)
        let openSSLSessions = try sessions(profile, keyAndSalt: key.keyAndSalt, count: 2, backend: .openSSL)
        let builtinSessions = try sessions(profile, keyAndSalt: key.keyAndSalt, count: 2, backend: .builtin)
        let (openSSL, openSSLReceiver) = (openSSLSessions[0], openSSLSessions[1])
        let (builtin, builtinReceiver) = (builtinSessions[0], builtinSessions[1])
        var generator = SystemRandomNumberGenerator()
        for index in 0..<300 {
            let rtcp = index % 3 == 2
            let sequence = UInt16(truncatingIfNeeded: 65_400 + index)  // across a rollover
            var packet: [UInt8] =
                rtcp
                ? [0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78]
                : [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78]
            packet += (0..<(index % 200)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let fromOpenSSL = try protect(packet, rtcp: rtcp, with: openSSL)
            let fromBuiltin = try protect(packet, rtcp: rtcp, with: builtin)
            #expect(fromOpenSSL == fromBuiltin, "packet \(index)")
            #expect(try unprotect(fromOpenSSL, rtcp: rtcp, with: builtinReceiver) == packet)
            #expect(try unprotect(fromBuiltin, rtcp: rtcp, with: openSSLReceiver) == packet)
        }
    }

    // MARK: Failures through the OpenSSL backend

    @Test(arguments: SRTPProfile.allCases)
    func forgedPacketsAreRejected(profile: SRTPProfile) throws {
        let key = try SRTPMasterKey.random(profile: profile)
        let made = try sessions(profile, keyAndSalt: key.keyAndSalt, count: 2, backend: .openSSL)
        let (sender, receiver) = (made[0], made[1])
        let rtp = bytes("80000005 000003a0 12345678") + [UInt8](repeating: 0x5A, count: 160)
        let rtcp = bytes("80c90001 12345678") + [UInt8](repeating: 0x33, count: 20)
        for (packet, isRTCP) in [(rtp, false), (rtcp, true)] {
            let good = try protect(packet, rtcp: isRTCP, with: sender)
            // The tag's last byte, a payload byte, a header byte (authenticated, in clear).
            for position in [good.count - 1, isRTCP ? 10 : 20, isRTCP ? 1 : 6] {
                var forged = good
                forged[position] ^= 0x40
                #expect(throws: SRTPError.authenticationFailed, "\(profile) \(isRTCP ? "RTCP" : "RTP") byte \(position)") {
                    try unprotect(forged, rtcp: isRTCP, with: receiver)
                }
            }
            // Cut short by one byte of tag.
            #expect(throws: SRTPError.self) { try unprotect(Array(good.dropLast()), rtcp: isRTCP, with: receiver) }
            // The genuine packet is still accepted after the forgeries; then once only.
            #expect(try unprotect(good, rtcp: isRTCP, with: receiver) == packet)
            #expect(throws: SRTPError.replayed) { try unprotect(good, rtcp: isRTCP, with: receiver) }
        }
    }

    /// The replay window still works: in order, out of order within it, a replay, and one
    /// older than the window.
    @Test(arguments: SRTPProfile.allCases)
    func replayProtection(profile: SRTPProfile) throws {
        let key = try SRTPMasterKey.random(profile: profile)
        var made: [SRTPSession] = []
        try SRTPSession.withCryptoBackend(.openSSL) { () throws(SRTPError) in
            made = [try session(profile, keyAndSalt: key.keyAndSalt), try session(profile, keyAndSalt: key.keyAndSalt, replayWindow: 64)]
        }
        let (sender, receiver) = (made[0], made[1])
        func packet(_ sequence: UInt16) -> [UInt8] {
            [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 0, 0xAB, 0xCD, 0xEF, 0x01] + [UInt8](repeating: 7, count: 40)
        }
        let protected = try (1...200).map { try protect(packet(UInt16($0)), rtcp: false, with: sender) }
        #expect(try unprotect(protected[9], rtcp: false, with: receiver) == packet(10))
        #expect(try unprotect(protected[4], rtcp: false, with: receiver) == packet(5))
        #expect(throws: SRTPError.replayed) { try unprotect(protected[4], rtcp: false, with: receiver) }
        #expect(try unprotect(protected[199], rtcp: false, with: receiver) == packet(200))
        #expect(throws: SRTPError.tooOld) { try unprotect(protected[19], rtcp: false, with: receiver) }
    }
}

/// The allocation counter of `Benchmarks/Transcoding/AllocationCounter`, when it is preloaded
/// (`make test` runs `--filter AllocationTests` with it).
private let allocationCount: (@convention(c) () -> Int)? = {
    guard let symbol = dlsym(nil, "switchboard_allocation_count") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
}()

@Suite("SRTP allocations")
struct SRTPAllocationTests {
    /// Protect and unprotect, RTP and RTCP, allocate nothing with the OpenSSL backend (the NSS
    /// one allocated five times per packet).
    @Test(.enabled(if: allocationCount != nil, "needs the allocation counter preloaded"), arguments: SRTPProfile.allCases)
    func protectAndUnprotectAllocateNothing(profile: SRTPProfile) throws {
        let count = try #require(allocationCount)
        let key = try SRTPMasterKey.random(profile: profile)
        let made = try sessions(profile, keyAndSalt: key.keyAndSalt, count: 2, backend: .openSSL)
        let (sender, receiver) = (made[0], made[1])
        let slot = 256
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot, alignment: 16)
        defer { buffer.deallocate() }
        // The counter is process-wide, so another thread may allocate now and then: the
        // quietest run of 1000 packets must show none (a per-packet allocation shows in all).
        var runs: [Int] = []
        var sequence: UInt16 = 1
        for run in 0..<6 {
            var allocations = 0
            for index in 0..<1000 {
                let rtcp = index % 10 == 9
                buffer.initializeMemory(as: UInt8.self, repeating: 0x5A, count: 172)
                if rtcp {
                    buffer.storeBytes(of: UInt32(0x80C9_0001).bigEndian, as: UInt32.self)
                } else {
                    buffer.storeBytes(of: UInt8(0x80), as: UInt8.self)
                    buffer.storeBytes(of: UInt8(0), toByteOffset: 1, as: UInt8.self)
                    buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
                    sequence &+= 1
                }
                let before = count()
                let length = rtcp ? 100 : 172
                let protected =
                    rtcp
                    ? try sender.protectRTCP(buffer, length: length, capacity: slot) : try sender.protectRTP(buffer, length: length, capacity: slot)
                let unprotected =
                    rtcp ? try receiver.unprotectRTCP(buffer, length: protected) : try receiver.unprotectRTP(buffer, length: protected)
                allocations += count() - before
                #expect(unprotected == length)
            }
            // The first run clones each context's stream for the SSRC.
            if run > 0 { runs.append(allocations) }
        }
        #expect(runs.min() == 0, "allocations per 1000 packets (\(profile)): \(runs)")
    }
}
