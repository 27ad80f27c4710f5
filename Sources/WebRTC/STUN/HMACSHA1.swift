/// SHA-1 (FIPS 180-4) over fixed-size state, for HMAC-SHA1 without heap allocation.
///
/// STUN's MESSAGE-INTEGRITY is HMAC-SHA1 (RFC 8489 §14.5); every connectivity check verifies
/// one and signs another, so this runs per check on the event loop. SHA-1 is used only as
/// HMAC, where its collision weakness does not matter.
struct SHA1 {
    typealias Digest = (UInt32, UInt32, UInt32, UInt32, UInt32)

    private var state: Digest = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var blockCount = 0
    private var totalLength: UInt64 = 0

    init() {}

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var remaining = bytes[...]
        while !remaining.isEmpty {
            let take = min(64 - blockCount, remaining.count)
            let chunk = remaining.prefix(take)
            let offset = blockCount
            withUnsafeMutableBytes(of: &block) { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + take)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk))
            }
            blockCount += take
            totalLength &+= UInt64(take)
            remaining = remaining.dropFirst(take)
            if blockCount == 64 {
                compressBlock()
                blockCount = 0
            }
        }
    }

    mutating func finalize() -> Digest {
        let bitLength = totalLength &* 8
        var padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0x80, 0, 0, 0, 0, 0, 0, 0, 0)
        let padCount = blockCount < 56 ? 56 - blockCount : 120 - blockCount
        withUnsafeBytes(of: &padding) { raw in update(UnsafeRawBufferPointer(rebasing: raw[0..<padCount])) }
        var lengthBytes = bitLength.bigEndian
        withUnsafeBytes(of: &lengthBytes) { raw in update(raw) }
        return state
    }

    /// The digest's 20 bytes, in order, written to `output`.
    static func write(_ digest: Digest, to output: UnsafeMutableRawBufferPointer) {
        var words = (digest.0.bigEndian, digest.1.bigEndian, digest.2.bigEndian, digest.3.bigEndian, digest.4.bigEndian)
        withUnsafeBytes(of: &words) { output.copyMemory(from: $0) }
    }

    private mutating func compressBlock() {
        var schedule: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                       UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var (a, b, c, d, e) = state
        withUnsafeBytes(of: &block) { input in
            withUnsafeMutableBytes(of: &schedule) { raw in
                let w = raw.bindMemory(to: UInt32.self)
                for index in 0..<16 { w[index] = UInt32(bigEndian: input.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)) }
                for round in 0..<80 {
                    let slot = round & 15
                    if round >= 16 {
                        let mixed = w[(round - 3) & 15] ^ w[(round - 8) & 15] ^ w[(round - 14) & 15] ^ w[slot]
                        w[slot] = mixed << 1 | mixed >> 31
                    }
                    let f: UInt32
                    let k: UInt32
                    switch round {
                    case 0..<20:
                        f = (b & c) | (~b & d)
                        k = 0x5A82_7999
                    case 20..<40:
                        f = b ^ c ^ d
                        k = 0x6ED9_EBA1
                    case 40..<60:
                        f = (b & c) | (b & d) | (c & d)
                        k = 0x8F1B_BCDC
                    default:
                        f = b ^ c ^ d
                        k = 0xCA62_C1D6
                    }
                    let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[slot]
                    e = d
                    d = c
                    c = b << 30 | b >> 2
                    b = a
                    a = temp
                }
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }
}

/// HMAC-SHA1 (RFC 2104) with the key's inner and outer pads hashed once, up front.
struct HMACSHA1: Sendable {
    private let inner: SHA1
    private let outer: SHA1

    /// Prepares `key` (hashed first when longer than the 64-byte block).
    init(key: UnsafeRawBufferPointer) {
        var padded: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &padded) { raw in
            if key.count > 64 {
                var hash = SHA1()
                hash.update(key)
                SHA1.write(hash.finalize(), to: UnsafeMutableRawBufferPointer(rebasing: raw[0..<20]))
            } else {
                UnsafeMutableRawBufferPointer(rebasing: raw[0..<key.count]).copyMemory(from: key)
            }
        }
        var inner = SHA1()
        var outer = SHA1()
        var pad = padded
        withUnsafeMutableBytes(of: &pad) { raw in
            for index in 0..<64 { raw[index] ^= 0x36 }
            inner.update(UnsafeRawBufferPointer(raw))
        }
        pad = padded
        withUnsafeMutableBytes(of: &pad) { raw in
            for index in 0..<64 { raw[index] ^= 0x5C }
            outer.update(UnsafeRawBufferPointer(raw))
        }
        self.inner = inner
        self.outer = outer
    }

    /// The MAC of the bytes `feed` passes to the hash, written as 20 bytes to `output`.
    func authenticate(into output: UnsafeMutableRawBufferPointer, _ feed: (inout SHA1) -> Void) {
        var hash = inner
        feed(&hash)
        var innerDigest = hash.finalize()
        var outerHash = outer
        var bytes = (innerDigest.0.bigEndian, innerDigest.1.bigEndian, innerDigest.2.bigEndian, innerDigest.3.bigEndian, innerDigest.4.bigEndian)
        withUnsafeBytes(of: &bytes) { outerHash.update($0) }
        innerDigest = outerHash.finalize()
        SHA1.write(innerDigest, to: output)
    }
}
