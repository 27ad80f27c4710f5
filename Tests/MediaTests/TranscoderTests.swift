import Foundation
import Testing
@testable import Media

@Suite struct TranscoderTests {
    /// Encodes `pcm` (at `codec`'s rate) into 20 ms payloads of `codec`.
    static func payloads(_ pcm: [Int16], _ codec: AudioCodec) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        let frame = codec.samplesPerFrame
        var buffer = [UInt8](repeating: 0, count: Transcoder.maximumPayloadSize)
        var g722 = G722Encoder()
        let opus = codec.name == .opus ? try OpusEncoder() : nil
        try pcm.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: all.count - frame + 1, by: frame) {
                let chunk = UnsafeBufferPointer(rebasing: all[start..<start + frame])
                let count = try buffer.withUnsafeMutableBytes { out -> Int in
                    switch codec.name {
                    case .pcmu: return try MuLaw.encode(chunk, into: out)
                    case .pcma: return try ALaw.encode(chunk, into: out)
                    case .g722: return try g722.encode(chunk, into: out)
                    case .opus: return try opus?.encode(chunk, into: out) ?? 0
                    }
                }
                result.append(Array(buffer[0..<count]))
            }
        }
        return result
    }

    /// Decodes payloads of `codec` back to PCM.
    static func pcm(_ payloads: [[UInt8]], _ codec: AudioCodec) throws -> [Int16] {
        var out: [Int16] = []
        var frame = [Int16](repeating: 0, count: OpusDecoder.maximumFrameSize)
        var g722 = G722Decoder()
        let opus = codec.name == .opus ? try OpusDecoder() : nil
        for payload in payloads {
            let count = try payload.withUnsafeBytes { input in
                try frame.withUnsafeMutableBufferPointer { pcm -> Int in
                    switch codec.name {
                    case .pcmu: return try MuLaw.decode(input, into: pcm)
                    case .pcma: return try ALaw.decode(input, into: pcm)
                    case .g722: return try g722.decode(input, into: pcm)
                    case .opus: return try opus?.decode(input, into: pcm) ?? 0
                    }
                }
            }
            out += frame[0..<count]
        }
        return out
    }

    static func transcode(_ transcoder: Transcoder, _ payload: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Transcoder.maximumPayloadSize)
        let count = try payload.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { try transcoder.transcode(input, into: $0) }
        }
        return Array(out[0..<count])
    }

    @Test func codecFigures() {
        #expect(AudioCodec.g722.rtpClockRate == 8_000)
        #expect(AudioCodec.g722.sampleRate == 16_000)
        #expect(AudioCodec.g722.timestampIncrement == 160)
        #expect(AudioCodec.g722.samplesPerFrame == 320)
        #expect(AudioCodec.pcmu.defaultPayloadType == 0)
        #expect(AudioCodec.pcma.defaultPayloadType == 8)
        #expect(AudioCodec.g722.defaultPayloadType == 9)
        #expect(AudioCodec.opus.rtpClockRate == 48_000)
        #expect(AudioCodec.opus.timestampIncrement == 960)
        #expect(AudioCodec.opus.description == "opus/48000")
        #expect(AudioCodec.Name.allCases.allSatisfy { AudioCodec($0).name == $0 && AudioCodec($0).frameDuration == .milliseconds(20) })
    }

    static let pairs: [(AudioCodec.Name, AudioCodec.Name)] = AudioCodec.Name.allCases.flatMap { a in
        AudioCodec.Name.allCases.map { b in (a, b) }
    }

    @Test(arguments: pairs)
    func everyPairCarriesAToneThrough(from a: AudioCodec.Name, to b: AudioCodec.Name) throws {
        let source = AudioCodec(a), destination = AudioCodec(b)
        let tone = Signals.sine(frequency: 600, sampleRate: Double(source.sampleRate), count: source.sampleRate, amplitude: 8_000)
        let transcoder = try Transcoder(from: source, to: destination)
        let output = try Self.payloads(tone, source).map { try Self.transcode(transcoder, $0) }
        #expect(output.count == 50)
        let expectedSize = switch b {
        case .pcmu, .pcma: 160
        case .g722: 160
        case .opus: -1
        }
        if expectedSize > 0 { #expect(output.allSatisfy { $0.count == expectedSize }) }
        let decoded = try Self.pcm(output, destination)
        #expect(decoded.count == destination.sampleRate)
        let steady = decoded[(destination.sampleRate / 5)...]
        let amplitude = Signals.toneAmplitude(steady, frequency: 600, sampleRate: Double(destination.sampleRate))
        #expect(abs(20 * log10(amplitude / 8_000)) < 1, "\(source)→\(destination): 600 Hz at \(amplitude)")
        let other = Signals.toneAmplitude(steady, frequency: 1_800, sampleRate: Double(destination.sampleRate))
        #expect(other < 200, "\(source)→\(destination): 1800 Hz at \(other)")
    }

    @Test func tapObservesDecodedFramesAndProducerReplacesThem() throws {
        var observed: [(Int, PCMFrameOrigin)] = []
        var observedLevel = 0.0
        let tap = PCMTap()
        tap.observe = { frame, origin in
            observed.append((frame.count, origin))
            observedLevel = max(observedLevel, Signals.rms(frame))
        }
        let transcoder = try Transcoder(from: .opus, to: .pcmu, tap: tap)
        #expect(transcoder.tapSampleRate == 48_000)
        let tone = Signals.sine(frequency: 440, sampleRate: 48_000, count: 48_000)
        let packets = try Self.payloads(tone, .opus)
        for packet in packets[0..<25] { _ = try Self.transcode(transcoder, packet) }
        var out = [UInt8](repeating: 0, count: 200)
        let concealed = try out.withUnsafeMutableBytes { try transcoder.transcodeMissingFrame(into: $0) }
        #expect(concealed == 160)
        #expect(observed.count == 26)
        #expect(observed.allSatisfy { $0.0 == 960 })
        #expect(observed.last?.1 == .concealed && observed.first?.1 == .decoded)
        #expect(abs(observedLevel - 7_071) < 1_000)

        // A producer that replaces the frame with silence: what is encoded is silence.
        tap.produce = { frame in frame.update(repeating: 0) }
        var silent: [[UInt8]] = []
        for packet in packets[26..<40] { silent.append(try Self.transcode(transcoder, packet)) }
        let decoded = try Self.pcm(Array(silent.suffix(5)), .pcmu)
        #expect(decoded.allSatisfy { $0 == 0 })
        #expect(observed.count == 40, "the observer still sees the decoded voice")

        // A producer that mixes a second tone in: both tones are in the output.
        let second = Signals.sine(frequency: 1_000, sampleRate: 48_000, count: 960, amplitude: 5_000)
        tap.produce = { frame in second.withUnsafeBufferPointer { PCMTap.mix($0, into: frame) } }
        var mixed: [[UInt8]] = []
        for packet in packets[40..<50] { mixed.append(try Self.transcode(transcoder, packet)) }
        let pcm = try Self.pcm(Array(mixed.suffix(5)), .pcmu)
        let at440 = Signals.toneAmplitude(pcm[...], frequency: 440, sampleRate: 8_000)
        let at1000 = Signals.toneAmplitude(pcm[...], frequency: 1_000, sampleRate: 8_000)
        #expect(at440 > 5_000 && at1000 > 2_500, "440 Hz \(at440), 1 kHz \(at1000)")
    }

    @Test func missingFramesAreConcealedAndFadeForG711() throws {
        let transcoder = try Transcoder(from: .pcmu, to: .pcma)
        let tone = Signals.sine(frequency: 500, sampleRate: 8_000, count: 1_600)
        let packets = try Self.payloads(tone, .pcmu)
        for packet in packets { _ = try Self.transcode(transcoder, packet) }
        var levels: [Double] = []
        for _ in 0..<5 {
            var out = [UInt8](repeating: 0, count: 160)
            let count = try out.withUnsafeMutableBytes { try transcoder.transcodeMissingFrame(into: $0) }
            #expect(count == 160)
            levels.append(Signals.rms(try Self.pcm([out], .pcma)))
        }
        #expect(levels[0] > 3_000 && levels[0] < levels[0] * 2)
        #expect(levels[1] < levels[0] * 0.6 && levels[2] < levels[1] * 0.6)
        #expect(levels[4] < 10, "silence after the fade: \(levels)")
        // A long outage keeps producing silent frames, and the stream resumes after it.
        var out = [UInt8](repeating: 0, count: 160)
        for _ in 0..<40_000 {
            _ = try out.withUnsafeMutableBytes { try transcoder.transcodeMissingFrame(into: $0) }
        }
        #expect(try Self.pcm([out], .pcma).allSatisfy { abs(Int($0)) <= 8 })
        #expect(try Self.transcode(transcoder, packets[0]).count == 160)
    }

    @Test func opusLossIsRecoveredFromTheNextPacketsFEC() throws {
        let sweep = OpusTests.sweep(seconds: 2)
        let packets = try OpusTests.encode(sweep, encoder: OpusEncoder(configuration: .init(complexity: 10, expectedPacketLossPercent: 30)))
        let reference = try Transcoder(from: .opus, to: .pcmu)
        let withFEC = try Transcoder(from: .opus, to: .pcmu)
        let withoutFEC = try Transcoder(from: .opus, to: .pcmu)
        let lost = 60
        var expected: [UInt8] = [], recovered: [UInt8] = [], concealed: [UInt8] = []
        for (index, packet) in packets[0...(lost + 1)].enumerated() {
            let out = try Self.transcode(reference, packet)
            if index == lost { expected = out }
            if index == lost {
                var buffer = [UInt8](repeating: 0, count: 160)
                _ = try packets[lost + 1].withUnsafeBytes { next in
                    try buffer.withUnsafeMutableBytes { try withFEC.transcodeMissingFrame(next: next, into: $0) }
                }
                recovered = buffer
                _ = try buffer.withUnsafeMutableBytes { try withoutFEC.transcodeMissingFrame(into: $0) }
                concealed = buffer
            } else {
                _ = try Self.transcode(withFEC, packet)
                _ = try Self.transcode(withoutFEC, packet)
            }
        }
        let truth = try Self.pcm([expected], .pcmu)
        func snr(_ payload: [UInt8]) throws -> Double {
            let pcm = try Self.pcm([payload], .pcmu)
            let noise = zip(pcm, truth).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
            return 10 * log10(truth.reduce(0.0) { $0 + Double($1) * Double($1) } / max(noise, 1))
        }
        let fec = try snr(recovered), plc = try snr(concealed)
        #expect(fec > plc + 3, "FEC \(fec) dB, PLC \(plc) dB")
    }

    @Test func badPayloadsAreErrorsNotTraps() throws {
        let transcoder = try Transcoder(from: .opus, to: .pcmu)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let packet = (0..<Int.random(in: 0...80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? Self.transcode(transcoder, packet)
        }
        let g711 = try Transcoder(from: .pcmu, to: .opus)
        #expect(throws: MediaError.unsupportedFrameSize(1_440)) { try Self.transcode(g711, [UInt8](repeating: 0xFF, count: 240)) }
        #expect(throws: MediaError.unsupportedFrameSize(2_000)) { try Self.transcode(g711, [UInt8](repeating: 0xFF, count: 2_000)) }
        let toG722 = try Transcoder(from: .pcmu, to: .g722)
        var small = [UInt8](repeating: 0, count: 10)
        #expect(throws: MediaError.outputBufferTooSmall(needed: 160)) {
            try [UInt8](repeating: 0xFF, count: 160).withUnsafeBytes { input in
                try small.withUnsafeMutableBytes { try toG722.transcode(input, into: $0) }
            }
        }
        // A frame of 30 ms towards G.711 is fine: the output has the same duration.
        #expect(try Self.transcode(toG722, [UInt8](repeating: 0xFF, count: 240)).count == 240)
    }

    @Test(arguments: [(AudioCodec.Name.pcma, AudioCodec.Name.g722), (.g722, .pcmu), (.opus, .g722)])
    func resetMakesTheChainRepeatItself(from a: AudioCodec.Name, to b: AudioCodec.Name) throws {
        // (libopus's encoder reset is not bit-exact with a fresh encoder, so Opus is the source here.)
        let source = AudioCodec(a)
        let transcoder = try Transcoder(from: source, to: AudioCodec(b))
        let packets = try Self.payloads(Signals.sine(frequency: 300, sampleRate: Double(source.sampleRate), count: source.sampleRate / 5), source)
        let first = try packets.map { try Self.transcode(transcoder, $0) }
        let carriedOver = try packets.map { try Self.transcode(transcoder, $0) }
        #expect(carriedOver != first, "state carries over between frames")
        transcoder.reset()
        let second = try packets.map { try Self.transcode(transcoder, $0) }
        #expect(first == second)
        #expect(transcoder.resamplingLatency > .zero && transcoder.resamplingLatency < .milliseconds(4))
    }
}
