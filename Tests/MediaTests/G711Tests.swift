import Testing
@testable import Media

@Suite struct G711Tests {
    @Test func muLawEveryCodeSurvivesDecodeThenEncode() {
        for code in 0...255 {
            let sample = MuLaw.decode(UInt8(code))
            let again = MuLaw.encode(sample)
            // 0x7F and 0xFF both decode to 0 (positive and negative zero); G.711 encodes 0 as 0xFF.
            if code == 0x7F {
                #expect(again == 0xFF)
            } else {
                #expect(again == UInt8(code), "code \(code) decoded to \(sample) re-encoded to \(again)")
            }
        }
    }

    @Test func aLawEveryCodeSurvivesDecodeThenEncode() {
        for code in 0...255 {
            let sample = ALaw.decode(UInt8(code))
            #expect(ALaw.encode(sample) == UInt8(code), "code \(code) decoded to \(sample)")
        }
    }

    @Test func muLawKnownValues() {
        // Values from the G.711 tables (16-bit scale): codes for silence and the extremes.
        #expect(MuLaw.encode(0) == 0xFF)
        #expect(MuLaw.decode(0xFF) == 0)
        #expect(MuLaw.decode(0x80) == 32124)
        #expect(MuLaw.decode(0x00) == -32124)
        #expect(MuLaw.encode(32767) == 0x80)
        #expect(MuLaw.encode(-32768) == 0x00)
        #expect(MuLaw.decode(0xFE) == 8)
        #expect(MuLaw.decode(0x7E) == -8)
        #expect(MuLaw.encode(1000) == 0xCE)
        #expect(MuLaw.decode(0xCE) == 988)
    }

    @Test func aLawKnownValues() {
        #expect(ALaw.encode(0) == 0xD5)
        #expect(ALaw.decode(0xD5) == 8)
        #expect(ALaw.decode(0x55) == -8)
        #expect(ALaw.decode(0xAA) == 32256)
        #expect(ALaw.decode(0x2A) == -32256)
        #expect(ALaw.encode(32767) == 0xAA)
        #expect(ALaw.encode(-32768) == 0x2A)
        #expect(ALaw.encode(1000) == 0xFA)
        #expect(ALaw.decode(0xFA) == 1008)
    }

    @Test func muLawDecodeIsMonotonicAndOddSymmetric() {
        // Codes 0xFF down to 0x80 are the positive values in increasing order.
        var previous = Int16.min
        for code in stride(from: 0xFF, through: 0x80, by: -1) {
            let value = MuLaw.decode(UInt8(code))
            #expect(value > previous || code == 0xFF)
            #expect(MuLaw.decode(UInt8(code) & 0x7F) == -value)
            previous = value
        }
    }

    @Test(arguments: [("µ-law", 0), ("A-law", 1)])
    func sineSignalToNoiseRatio(name: String, law: Int) throws {
        // A 1 kHz tone at -10 dBFS through G.711 gives about 38 dB SNR (the companding limit).
        let tone = Signals.sine(frequency: 1000, sampleRate: 8000, count: 8000, amplitude: 10_362)
        var codes = [UInt8](repeating: 0, count: tone.count)
        var decoded = [Int16](repeating: 0, count: tone.count)
        try tone.withUnsafeBufferPointer { pcm in
            try codes.withUnsafeMutableBytes { payload in
                _ = law == 0 ? try MuLaw.encode(pcm, into: payload) : try ALaw.encode(pcm, into: payload)
            }
        }
        try codes.withUnsafeBytes { payload in
            try decoded.withUnsafeMutableBufferPointer { pcm in
                _ = law == 0 ? try MuLaw.decode(payload, into: pcm) : try ALaw.decode(payload, into: pcm)
            }
        }
        let snr = Signals.snr(reference: tone, test: decoded).snr
        #expect(snr > 35, "\(name) SNR \(snr) dB")
        #expect(snr < 45, "\(name) SNR \(snr) dB")
    }

    @Test func shortOutputBufferIsAnError() {
        let pcm = [Int16](repeating: 0, count: 160)
        var payload = [UInt8](repeating: 0, count: 100)
        pcm.withUnsafeBufferPointer { pcm in
            _ = payload.withUnsafeMutableBytes { payload in
                #expect(throws: MediaError.outputBufferTooSmall(needed: 160)) {
                    try MuLaw.encode(pcm, into: payload)
                }
            }
        }
    }
}
