public import NIOCore

/// A codec's E-model impairment figures (ITU-T G.107, values from ITU-T G.113 Appendix I).
public struct CodecImpairment: Equatable, Hashable, Sendable {
    /// The equipment impairment factor Ie (coding distortion without loss).
    public var equipmentImpairment: Double
    /// The packet-loss robustness factor Bpl.
    public var packetLossRobustness: Double

    /// Figures for a codec.
    public init(equipmentImpairment: Double, packetLossRobustness: Double) {
        self.equipmentImpairment = equipmentImpairment
        self.packetLossRobustness = packetLossRobustness
    }

    /// G.711 without packet-loss concealment: Ie 0, Bpl 4.3 (G.113 Table I.3).
    public static let g711 = CodecImpairment(equipmentImpairment: 0, packetLossRobustness: 4.3)
    /// G.711 with packet-loss concealment (G.711 Appendix I): Ie 0, Bpl 25.1 (G.113 Table I.3).
    public static let g711WithConcealment = CodecImpairment(equipmentImpairment: 0, packetLossRobustness: 25.1)
    /// Opus. G.113 gives no narrowband figures for Opus; on the narrowband R scale used here it
    /// is rated no worse than G.711 (Ie 0) and, since it always conceals loss, with the
    /// robustness of G.711 with concealment (Bpl 25.1). A conservative choice: Opus' in-band FEC
    /// would justify a higher Bpl.
    public static let opus = CodecImpairment(equipmentImpairment: 0, packetLossRobustness: 25.1)
}

/// A mean opinion score estimate from loss, jitter and round-trip time with the ITU-T G.107
/// E-model simplified as in common practice: R = 93.2 − Id − Ie,eff, with
///
/// - one-way delay d = RTT/2 + 2·jitter + 10 ms (jitter buffer and packetisation allowance),
/// - Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3) (d in ms, H the step function),
/// - Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl) (G.107 §7.4 with random loss, BurstR = 1,
///   Ppl in percent),
/// - MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶, 1 below R 0 and 4.5 above R 100 (G.107 Annex B).
public struct VoiceQualityEstimate: Equatable, Sendable {
    /// The transmission rating factor R.
    public let rating: Double
    /// The estimated MOS (conversational quality), 1...4.5.
    public let meanOpinionScore: Double

    /// The estimate for `packetLoss` (a fraction, 0...1), `jitter` and `roundTripTime`.
    public init(packetLoss: Double, jitter: TimeAmount, roundTripTime: TimeAmount, codec: CodecImpairment) {
        let loss = packetLoss.isFinite ? min(max(packetLoss, 0), 1) * 100 : 0
        let jitterMilliseconds = max(Double(jitter.nanoseconds) / 1e6, 0)
        let rttMilliseconds = max(Double(roundTripTime.nanoseconds) / 1e6, 0)
        let delay = rttMilliseconds / 2 + 2 * jitterMilliseconds + 10
        var delayImpairment = 0.024 * delay
        if delay > 177.3 { delayImpairment += 0.11 * (delay - 177.3) }
        let ie = codec.equipmentImpairment
        let bpl = max(codec.packetLossRobustness, 0.001)
        let equipmentImpairment = ie + (95 - ie) * loss / (loss + bpl)
        let rating = 93.2 - delayImpairment - equipmentImpairment
        self.rating = rating
        self.meanOpinionScore = VoiceQualityEstimate.meanOpinionScore(rating: rating)
    }

    /// The G.107 Annex B mapping from R to MOS.
    public static func meanOpinionScore(rating r: Double) -> Double {
        guard r.isFinite, r > 0 else { return 1 }
        guard r < 100 else { return 4.5 }
        // The cubic dips just below 1 for R under about 6.5: MOS is 1 at worst.
        return max(1, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)
    }
}
