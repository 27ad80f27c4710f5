/// G.711 µ-law (PCMU): 14-bit linear PCM companded to 8-bit codes, as in ITU-T G.711 (the
/// segment-and-bias formulation, with bit inversion). Stateless; 8000 samples/s.
public enum MuLaw {
    private static let bias: Int32 = 0x84
    private static let clip: Int32 = 32635

    /// The µ-law code for one 16-bit linear sample.
    @inlinable
    public static func encode(_ sample: Int16) -> UInt8 {
        encodeSample(sample)
    }

    /// The 16-bit linear sample for one µ-law code.
    @inlinable
    public static func decode(_ code: UInt8) -> Int16 {
        decodeCode(code)
    }

    @usableFromInline
    static func encodeSample(_ sample: Int16) -> UInt8 {
        var value = Int32(sample)
        let sign: UInt8 = value < 0 ? 0x80 : 0x00
        if value < 0 { value = -value }
        if value > clip { value = clip }
        value += bias
        // The segment is the position of the highest set bit, counted from bit 7 (0...7).
        let segment = UInt8(truncatingIfNeeded: 24 - UInt32(value).leadingZeroBitCount)
        let mantissa = UInt8(truncatingIfNeeded: (value >> (Int32(segment) + 3)) & 0x0F)
        return ~(sign | segment << 4 | mantissa)
    }

    @usableFromInline
    static func decodeCode(_ code: UInt8) -> Int16 {
        let inverted = ~code
        let segment = Int32((inverted >> 4) & 0x07)
        let mantissa = Int32(inverted & 0x0F)
        let magnitude = ((mantissa << 3) + 0x84) << segment - 0x84
        return Int16(truncatingIfNeeded: inverted & 0x80 != 0 ? -magnitude : magnitude)
    }

    /// Encodes `pcm` into `payload`, one code per sample; returns the number of bytes written.
    /// - Throws: `MediaError.outputBufferTooSmall` when `payload` is shorter than `pcm`.
    public static func encode(
        _ pcm: UnsafeBufferPointer<Int16>,
        into payload: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        guard payload.count >= pcm.count else { throw .outputBufferTooSmall(needed: pcm.count) }
        for index in 0..<pcm.count {
            payload[index] = encodeSample(pcm[index])
        }
        return pcm.count
    }

    /// Decodes `payload` into `pcm`, one sample per code; returns the number of samples written.
    /// - Throws: `MediaError.outputBufferTooSmall` when `pcm` is shorter than `payload`.
    public static func decode(
        _ payload: UnsafeRawBufferPointer,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        guard pcm.count >= payload.count else { throw .outputBufferTooSmall(needed: payload.count) }
        for index in 0..<payload.count {
            pcm[index] = decodeCode(payload[index])
        }
        return payload.count
    }
}

/// G.711 A-law (PCMA): 13-bit linear PCM companded to 8-bit codes, as in ITU-T G.711, with the
/// even bits inverted (XOR 0x55). Stateless; 8000 samples/s.
public enum ALaw {
    /// The A-law code for one 16-bit linear sample.
    @inlinable
    public static func encode(_ sample: Int16) -> UInt8 {
        encodeSample(sample)
    }

    /// The 16-bit linear sample for one A-law code.
    @inlinable
    public static func decode(_ code: UInt8) -> Int16 {
        decodeCode(code)
    }

    @usableFromInline
    static func encodeSample(_ sample: Int16) -> UInt8 {
        // Work on the 13-bit magnitude; A-law's sign bit is set for positive values.
        var value = Int32(sample) >> 3
        let sign: UInt8
        if value >= 0 {
            sign = 0x80
        } else {
            sign = 0x00
            value = -value - 1
        }
        if value > 0xFFF { value = 0xFFF }
        let code: UInt8
        if value < 32 {
            code = UInt8(truncatingIfNeeded: value >> 1)
        } else {
            // Segment 1...7 is the position of the highest set bit, from bit 5 to bit 11.
            let segment = Int32(32 - UInt32(value).leadingZeroBitCount) - 5
            let mantissa = (value >> segment) & 0x0F
            code = UInt8(truncatingIfNeeded: segment << 4 | mantissa)
        }
        return (sign | code) ^ 0x55
    }

    @usableFromInline
    static func decodeCode(_ code: UInt8) -> Int16 {
        let value = code ^ 0x55
        let segment = Int32((value >> 4) & 0x07)
        let mantissa = Int32(value & 0x0F)
        var magnitude = mantissa << 4 + 8
        if segment > 0 {
            magnitude = (magnitude + 0x100) << (segment - 1)
        }
        return Int16(truncatingIfNeeded: value & 0x80 != 0 ? magnitude : -magnitude)
    }

    /// Encodes `pcm` into `payload`, one code per sample; returns the number of bytes written.
    /// - Throws: `MediaError.outputBufferTooSmall` when `payload` is shorter than `pcm`.
    public static func encode(
        _ pcm: UnsafeBufferPointer<Int16>,
        into payload: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        guard payload.count >= pcm.count else { throw .outputBufferTooSmall(needed: pcm.count) }
        for index in 0..<pcm.count {
            payload[index] = encodeSample(pcm[index])
        }
        return pcm.count
    }

    /// Decodes `payload` into `pcm`, one sample per code; returns the number of samples written.
    /// - Throws: `MediaError.outputBufferTooSmall` when `pcm` is shorter than `payload`.
    public static func decode(
        _ payload: UnsafeRawBufferPointer,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        guard pcm.count >= payload.count else { throw .outputBufferTooSmall(needed: payload.count) }
        for index in 0..<payload.count {
            pcm[index] = decodeCode(payload[index])
        }
        return payload.count
    }
}
