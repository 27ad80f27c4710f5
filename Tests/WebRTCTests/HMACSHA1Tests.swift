import Testing
@testable import WebRTC

@Suite("SHA-1 and HMAC-SHA1")
struct HMACSHA1Tests {
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func sha1(_ message: [UInt8], chunk: Int = .max) -> String {
        var hash = SHA1()
        var rest = message[...]
        repeat {
            let part = rest.prefix(chunk)
            Array(part).withUnsafeBytes { hash.update($0) }
            rest = rest.dropFirst(part.count)
        } while !rest.isEmpty
        var output = [UInt8](repeating: 0, count: 20)
        let digest = hash.finalize()
        output.withUnsafeMutableBytes { SHA1.write(digest, to: $0) }
        return hex(output)
    }

    static func hmac(key: [UInt8], message: [UInt8]) -> String {
        let mac = key.withUnsafeBytes { HMACSHA1(key: $0) }
        var output = [UInt8](repeating: 0, count: 20)
        output.withUnsafeMutableBytes { raw in
            mac.authenticate(into: raw) { hash in message.withUnsafeBytes { hash.update($0) } }
        }
        return hex(output)
    }

    /// FIPS 180-2 appendix A and the usual boundary lengths.
    @Test func sha1Vectors() {
        #expect(Self.sha1([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Self.sha1(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Self.sha1(twoBlocks) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // Fed in uneven pieces, the digest is the same.
        for chunk in [1, 3, 7, 55, 64] {
            #expect(Self.sha1(twoBlocks, chunk: chunk) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        }
        #expect(Self.sha1([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000), chunk: 4096) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    /// RFC 2202 §3, cases 1, 2, 3, 6 and 7 (6 and 7 hash the key first).
    @Test func hmacVectors() {
        #expect(Self.hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)) == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(Self.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(Self.hmac(key: [UInt8](repeating: 0xaa, count: 20), message: [UInt8](repeating: 0xdd, count: 50)) == "125d7342b9ac11cd91a39af48aa17b4f63f175d3")
        #expect(Self.hmac(key: [UInt8](repeating: 0xaa, count: 80), message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)) == "aa4ae5e15272d00e95705637ce8a3b55ed402112")
        #expect(Self.hmac(key: [UInt8](repeating: 0xaa, count: 80), message: Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8)) == "e8e99d0f45237d786d6bbaa7965c7808bbff1a91")
    }
}
