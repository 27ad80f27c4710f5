import Foundation
import Testing
@testable import Media

@Suite struct G722Tests {
    static func encode(_ pcm: [Int16], _ encoder: inout G722Encoder, frame: Int = 320) throws -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: pcm.count / 2)
        try pcm.withUnsafeBufferPointer { all in
            try payload.withUnsafeMutableBytes { out in
                for start in stride(from: 0, to: all.count, by: frame) {
                    let end = min(start + frame, all.count)
                    _ = try encoder.encode(
                        UnsafeBufferPointer(rebasing: all[start..<end]),
                        into: UnsafeMutableRawBufferPointer(rebasing: out[(start / 2)..<(end / 2)]))
                }
            }
        }
        return payload
    }

    static func decode(_ payload: [UInt8], _ decoder: inout G722Decoder) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: payload.count * 2)
        _ = try payload.withUnsafeBytes { input in
            try pcm.withUnsafeMutableBufferPointer { try decoder.decode(input, into: $0) }
        }
        return pcm
    }

    static func roundTrip(_ pcm: [Int16]) throws -> [Int16] {
        var encoder = G722Encoder(), decoder = G722Decoder()
        return try decode(encode(pcm, &encoder), &decoder)
    }

    @Test(arguments: [200.0, 500, 1_000, 2_000, 3_400, 5_000, 6_500])
    func toneKeepsLevelAndFrequency(frequency: Double) throws {
        let tone = Signals.sine(frequency: frequency, sampleRate: 16_000, count: 16_000, amplitude: 8_000)
        let decoded = try Self.roundTrip(tone)
        let (snr, delay) = Signals.snr(reference: tone, test: decoded, maxDelay: 40, skip: 1_600)
        // G.722 at 64 kbit/s on a steady tone: low band ≈ 6-bit ADPCM, well above 25 dB.
        let required = frequency < 4_000 ? 30.0 : 18.0
        #expect(snr > required, "\(frequency) Hz: SNR \(snr) dB at delay \(delay)")
        let steady = decoded[(1_600 + delay)..<(1_600 + delay + 8_000)]
        let amplitude = Signals.toneAmplitude(steady, frequency: frequency, sampleRate: 16_000)
        #expect(abs(20 * log10(amplitude / 8_000)) < 0.5, "\(frequency) Hz level \(amplitude)")
    }

    @Test func codecDelayIsTheTwoQMFs() throws {
        // Three incommensurate tones: no period short enough to alias the delay search.
        let a = Signals.sine(frequency: 311, sampleRate: 16_000, count: 16_000, amplitude: 4_000)
        let b = Signals.sine(frequency: 1_237, sampleRate: 16_000, count: 16_000, amplitude: 3_000)
        let c = Signals.sine(frequency: 2_719, sampleRate: 16_000, count: 16_000, amplitude: 2_000)
        let mix = (0..<16_000).map { a[$0] &+ b[$0] &+ c[$0] }
        let (snr, delay) = Signals.snr(reference: mix, test: try Self.roundTrip(mix), maxDelay: 60, skip: 1_600)
        #expect(delay == 22, "transmit + receive QMF delay, 23 taps... \(delay)")
        #expect(snr > 25, "\(snr) dB")
    }

    @Test func silenceStaysSilent() throws {
        let decoded = try Self.roundTrip([Int16](repeating: 0, count: 16_000))
        #expect(decoded.allSatisfy { abs(Int($0)) <= 8 }, "peak \(decoded.map { abs(Int($0)) }.max() ?? 0)")
    }

    @Test func resetRestoresTheInitialState() throws {
        let speechLike = Signals.sine(frequency: 700, sampleRate: 16_000, count: 3_200)
        var encoder = G722Encoder(), decoder = G722Decoder()
        let first = try Self.encode(speechLike, &encoder)
        let firstPCM = try Self.decode(first, &decoder)
        let second = try Self.encode(speechLike, &encoder)
        #expect(second != first, "state carries over between calls")
        encoder.reset()
        decoder.reset()
        #expect(try Self.encode(speechLike, &encoder) == first)
        #expect(try Self.decode(first, &decoder) == firstPCM)
    }

    @Test func framingDoesNotChangeTheBitstream() throws {
        let tone = Signals.sine(frequency: 1_234, sampleRate: 16_000, count: 16_000)
        var whole = G722Encoder(), framed = G722Encoder()
        #expect(try Self.encode(tone, &whole, frame: 16_000) == Self.encode(tone, &framed, frame: 320))
    }

    @Test func badSizesAreErrors() throws {
        var encoder = G722Encoder()
        var decoder = G722Decoder()
        let odd = [Int16](repeating: 0, count: 321)
        var payload = [UInt8](repeating: 0, count: 200)
        #expect(throws: MediaError.unsupportedFrameSize(321)) {
            try odd.withUnsafeBufferPointer { pcm in try payload.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) } }
        }
        var pcm = [Int16](repeating: 0, count: 100)
        #expect(throws: MediaError.outputBufferTooSmall(needed: 400)) {
            try payload.withUnsafeBytes { input in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(input, into: $0) } }
        }
        // Every code is valid input.
        let all = (0..<4_096).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        _ = try Self.decode(all, &decoder)
    }

    static let ffmpeg: String? = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func runFFmpeg(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg ?? "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-loglevel", "error", "-y"] + arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Cross-check against FFmpeg's independent adpcm_g722 codec, when FFmpeg is installed.
    @Test(.enabled(if: ffmpeg != nil, "needs ffmpeg"))
    func matchesFFmpeg() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("g722-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var pcm = Signals.sine(frequency: 440, sampleRate: 16_000, count: 16_000, amplitude: 6_000)
        let sweep = Signals.sine(frequency: 5_100, sampleRate: 16_000, count: 16_000, amplitude: 3_000)
        for n in pcm.indices { pcm[n] = pcm[n] &+ sweep[n] }
        var encoder = G722Encoder(), decoder = G722Decoder()
        let ours = try Self.encode(pcm, &encoder)
        let ourPCM = try Self.decode(ours, &decoder)

        let bitstream = directory.appendingPathComponent("ours.g722")
        try Data(ours).write(to: bitstream)
        let theirPCMFile = directory.appendingPathComponent("theirs.raw")
        #expect(try Self.runFFmpeg(["-f", "g722", "-i", bitstream.path, "-f", "s16le", "-acodec", "pcm_s16le", theirPCMFile.path]) == 0)
        let theirPCM = try Data(contentsOf: theirPCMFile).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(theirPCM.count == ourPCM.count)
        let maxDifference = zip(theirPCM, ourPCM).map { abs(Int($0) - Int($1)) }.max() ?? .max
        #expect(maxDifference <= 1, "FFmpeg decodes our bitstream to within \(maxDifference)")

        let rawInput = directory.appendingPathComponent("input.raw")
        try pcm.withUnsafeBytes { try Data($0).write(to: rawInput) }
        let theirBitstream = directory.appendingPathComponent("theirs.g722")
        #expect(try Self.runFFmpeg(["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", rawInput.path, "-acodec", "adpcm_g722", "-f", "g722", theirBitstream.path]) == 0)
        let theirs = try [UInt8](Data(contentsOf: theirBitstream))
        let differing = zip(theirs, ours).filter { $0 != $1 }.count
        #expect(theirs.count == ours.count)
        #expect(differing == 0, "\(differing) of \(ours.count) codes differ from FFmpeg's encoder")
    }
}
