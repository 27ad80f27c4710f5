/// The state of one G.722 sub-band: its adaptive predictor and quantizer scale factor
/// (ITU-T G.722 blocks 3 and 4), identical in the encoder and the decoder.
struct G722Band {
    /// Predictor output s(n), pole-section output sp, zero-section output sz.
    var s = 0, sp = 0, sz = 0
    /// Reconstructed signal r(n), r(n-1), r(n-2).
    var r: [Int] = [0, 0, 0]
    /// Partially reconstructed signal p(n), p(n-1), p(n-2).
    var p: [Int] = [0, 0, 0]
    /// Pole coefficients a1, a2 (index 0 unused).
    var a: [Int] = [0, 0, 0]
    /// Zero coefficients b1...b6 (index 0 unused).
    var b: [Int] = [0, 0, 0, 0, 0, 0, 0]
    /// Quantized differences d(n)...d(n-6).
    var d: [Int] = [0, 0, 0, 0, 0, 0, 0]
    /// Log scale factor ∇ (nb) and linear scale factor ∆ (det).
    var nb = 0, det: Int

    init(det: Int) { self.det = det }

    @inline(__always)
    static func saturate(_ value: Int) -> Int {
        value > 32767 ? 32767 : value < -32768 ? -32768 : value
    }

    /// LOGSCL/LOGSCH then SCALEL/SCALEH: adapts the scale factor with the weight `w`, the log
    /// factor bounded by `ceiling`, the linear factor shifted by `offset` (8 low band, 10 high).
    @inline(__always)
    mutating func scale(weight w: Int, ceiling: Int, offset: Int) {
        nb = min(max(((nb * 127) >> 7) + w, 0), ceiling)
        let wd1 = (nb >> 6) & 31
        let wd2 = offset - (nb >> 11)
        let base = G722Tables.ilb[wd1]
        det = (wd2 < 0 ? base << -wd2 : base >> wd2) << 2
    }

    /// Block 4: reconstructs, adapts the pole and zero predictors, and predicts the next sample,
    /// from the quantized difference `dq`.
    mutating func adapt(_ dq: Int) {
        let sat = Self.saturate
        // RECONS, PARREC.
        d[0] = dq
        r[0] = sat(s + dq)
        p[0] = sat(sz + dq)
        // UPPOL2.
        let sg0 = p[0] >> 15, sg1 = p[1] >> 15, sg2 = p[2] >> 15
        let wd1 = sat(a[1] << 2)
        let wd2 = min(sg0 == sg1 ? -wd1 : wd1, 32767)
        let ap2 = min(max((wd2 >> 7) + (sg0 == sg2 ? 128 : -128) + ((a[2] * 32512) >> 15), -12288), 12288)
        // UPPOL1.
        var ap1 = sat((sg0 == sg1 ? 192 : -192) + ((a[1] * 32640) >> 15))
        let limit = sat(15360 - ap2)
        ap1 = min(max(ap1, -limit), limit)
        // UPZERO and DELAYA for the zero section.
        let step = dq == 0 ? 0 : 128
        let sgd = dq >> 15
        var i = 6
        while i > 0 {
            let adjust = (d[i] >> 15) == sgd ? step : -step
            b[i] = sat(adjust + ((b[i] * 32640) >> 15))
            d[i] = d[i - 1]
            i -= 1
        }
        // DELAYA for the pole section.
        r[2] = r[1]; r[1] = r[0]
        p[2] = p[1]; p[1] = p[0]
        a[2] = ap2; a[1] = ap1
        // FILTEP.
        sp = sat(((a[1] * sat(r[1] + r[1])) >> 15) + ((a[2] * sat(r[2] + r[2])) >> 15))
        // FILTEZ.
        var zeros = 0
        for k in 1...6 {
            zeros += (b[k] * sat(d[k] + d[k])) >> 15
        }
        sz = sat(zeros)
        // PREDIC.
        s = sat(sp + sz)
    }
}

/// The fixed tables of ITU-T G.722 (quantizers, inverse quantizers, scale-factor adaptation,
/// QMF coefficients).
enum G722Tables {
    /// Low-band decision levels (QUANTL), scaled by ∆/4096.
    static let q6: [Int] = [
        0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
        786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
    ]
    /// Low-band 6-bit codes for negative and positive differences, by decision interval.
    static let iln: [Int] = [
        0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
        18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
    ]
    static let ilp: [Int] = [
        0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
        46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
    ]
    /// Low-band log scale-factor multipliers and the 4-bit code to multiplier index map.
    static let wl: [Int] = [-60, -30, 58, 172, 334, 538, 1198, 3042]
    static let rl42: [Int] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0]
    /// Inverse-log table for the scale factor.
    static let ilb: [Int] = [
        2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
        2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
    ]
    /// Low-band 4-bit inverse quantizer (for prediction).
    static let qm4: [Int] = [
        0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
        20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
    ]
    /// Low-band 6-bit inverse quantizer (for output at 64 kbit/s).
    static let qm6: [Int] = [
        -136, -136, -136, -136, -24808, -21904, -19008, -16704,
        -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
        -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
        -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
        24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
        10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
        4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
        1688, 1360, 1040, 728, 432, 136, -432, -136,
    ]
    /// High-band 2-bit inverse quantizer, codes, multipliers.
    static let qm2: [Int] = [-7408, -1616, 7408, 1616]
    static let ihn: [Int] = [0, 1, 0]
    static let ihp: [Int] = [0, 3, 2]
    static let wh: [Int] = [0, -214, 798]
    static let rh2: [Int] = [2, 1, 2, 1]
    /// The 24-tap QMF, as 12 coefficients applied to even and odd taps.
    static let qmf: [Int] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]

    /// The two QMF sums over the 24-sample history `x`: even taps with the coefficients in
    /// order, odd taps with them reversed.
    @inline(__always)
    static func qmfSums(_ x: UnsafeBufferPointer<Int>) -> (even: Int, odd: Int) {
        // Written out: the coefficients are constants, so this compiles to plain multiply-adds.
        let even = x[0] * 3 + x[2] * -11 + x[4] * 12 + x[6] * 32 + x[8] * -210 + x[10] * 951
            + x[12] * 3876 + x[14] * -805 + x[16] * 362 + x[18] * -156 + x[20] * 53 + x[22] * -11
        let odd = x[1] * -11 + x[3] * 53 + x[5] * -156 + x[7] * 362 + x[9] * -805 + x[11] * 3876
            + x[13] * 951 + x[15] * -210 + x[17] * 32 + x[19] * 12 + x[21] * -11 + x[23] * 3
        return (even, odd)
    }
}

/// A G.722 encoder at 64 kbit/s (mode 1): 16 kHz linear PCM in, one byte per two samples out
/// (6 bits low band, 2 bits high band, high bits first), sub-band ADPCM after a 24-tap QMF.
///
/// Its RTP clock rate is 8000 although it samples at 16 kHz (RFC 3551 §4.5.2). Keeps state
/// across frames; one per stream. Encoding allocates nothing.
public struct G722Encoder: Sendable {
    private var low = G722Band(det: 32)
    private var high = G722Band(det: 8)
    /// QMF input history, oldest first.
    private var history = [Int](repeating: 0, count: 24)

    /// A new encoder, in the reset state.
    public init() {}

    /// Returns to the reset state, as for a new stream.
    public mutating func reset() { self = G722Encoder() }

    /// Encodes `pcm` (16 kHz, an even number of samples) into `payload`; returns the bytes
    /// written, `pcm.count / 2`.
    /// - Throws: `MediaError.unsupportedFrameSize` for an odd sample count,
    ///   `MediaError.outputBufferTooSmall` when `payload` is too short.
    public mutating func encode(
        _ pcm: UnsafeBufferPointer<Int16>,
        into payload: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        guard pcm.count % 2 == 0 else { throw .unsupportedFrameSize(pcm.count) }
        let count = pcm.count / 2
        guard payload.count >= count else { throw .outputBufferTooSmall(needed: count) }
        for index in 0..<count {
            payload[index] = encodePair(Int(pcm[2 * index]), Int(pcm[2 * index + 1]))
        }
        return count
    }

    private mutating func encodePair(_ first: Int, _ second: Int) -> UInt8 {
        let sat = G722Band.saturate
        // Transmit QMF: shift in two samples, keep one low-band and one high-band output.
        let (sumOdd, sumEven) = history.withUnsafeMutableBufferPointer { x in
            _ = x.update(fromContentsOf: x[2..<24])
            x[22] = first
            x[23] = second
            return G722Tables.qmfSums(UnsafeBufferPointer(x))
        }
        let xLow = (sumEven + sumOdd) >> 14
        let xHigh = (sumEven - sumOdd) >> 14

        // Low band: SUBTRA, QUANTL, INVQAL, LOGSCL, SCALEL, then block 4.
        let el = sat(xLow - low.s)
        let magnitude = el >= 0 ? el : -(el + 1)
        var interval = 1
        while interval < 30, magnitude >= (G722Tables.q6[interval] * low.det) >> 12 {
            interval += 1
        }
        let iLow = el < 0 ? G722Tables.iln[interval] : G722Tables.ilp[interval]
        let ril = iLow >> 2
        let dLow = (low.det * G722Tables.qm4[ril]) >> 15
        low.scale(weight: G722Tables.wl[G722Tables.rl42[ril]], ceiling: 18432, offset: 8)
        low.adapt(dLow)

        // High band: SUBTRA, QUANTH, INVQAH, LOGSCH, SCALEH, then block 4.
        let eh = sat(xHigh - high.s)
        let highMagnitude = eh >= 0 ? eh : -(eh + 1)
        let mih = highMagnitude >= (564 * high.det) >> 12 ? 2 : 1
        let iHigh = eh < 0 ? G722Tables.ihn[mih] : G722Tables.ihp[mih]
        let dHigh = (high.det * G722Tables.qm2[iHigh]) >> 15
        high.scale(weight: G722Tables.wh[G722Tables.rh2[iHigh]], ceiling: 22528, offset: 10)
        high.adapt(dHigh)

        return UInt8(truncatingIfNeeded: iHigh << 6 | iLow)
    }
}

/// A G.722 decoder at 64 kbit/s (mode 1): one byte per two 16 kHz output samples. Any byte is a
/// valid code, so decoding cannot fail on content. Keeps state across frames; one per stream.
public struct G722Decoder: Sendable {
    private var low = G722Band(det: 32)
    private var high = G722Band(det: 8)
    /// Receive QMF history, oldest first.
    private var history = [Int](repeating: 0, count: 24)

    /// A new decoder, in the reset state.
    public init() {}

    /// Returns to the reset state, as for a new stream.
    public mutating func reset() { self = G722Decoder() }

    /// Decodes `payload` into `pcm` (16 kHz); returns the samples written, `2 × payload.count`.
    /// - Throws: `MediaError.outputBufferTooSmall` when `pcm` is too short.
    public mutating func decode(
        _ payload: UnsafeRawBufferPointer,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        let count = payload.count * 2
        guard pcm.count >= count else { throw .outputBufferTooSmall(needed: count) }
        for index in 0..<payload.count {
            let (first, second) = decodeCode(payload[index])
            pcm[2 * index] = first
            pcm[2 * index + 1] = second
        }
        return count
    }

    private mutating func decodeCode(_ code: UInt8) -> (Int16, Int16) {
        let sixBits = Int(code & 0x3F)
        let iHigh = Int(code >> 6)

        // Low band: INVQBL, RECONS, LIMIT for the output; INVQAL, LOGSCL, SCALEL, block 4.
        let ril = sixBits >> 2
        let rLow = min(max(low.s + ((low.det * G722Tables.qm6[sixBits]) >> 15), -16384), 16383)
        let dLow = (low.det * G722Tables.qm4[ril]) >> 15
        low.scale(weight: G722Tables.wl[G722Tables.rl42[ril]], ceiling: 18432, offset: 8)
        low.adapt(dLow)

        // High band: INVQAH, RECONS, LIMIT; LOGSCH, SCALEH, block 4.
        let dHigh = (high.det * G722Tables.qm2[iHigh]) >> 15
        let rHigh = min(max(dHigh + high.s, -16384), 16383)
        high.scale(weight: G722Tables.wh[G722Tables.rh2[iHigh]], ceiling: 22528, offset: 10)
        high.adapt(dHigh)

        // Receive QMF.
        let (out2, out1) = history.withUnsafeMutableBufferPointer { x in
            _ = x.update(fromContentsOf: x[2..<24])
            x[22] = rLow + rHigh
            x[23] = rLow - rHigh
            return G722Tables.qmfSums(UnsafeBufferPointer(x))
        }
        return (Int16(G722Band.saturate(out1 >> 11)), Int16(G722Band.saturate(out2 >> 11)))
    }
}
