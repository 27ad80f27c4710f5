import Foundation
import Testing
@testable import Media

@Suite struct ResamplerTests {
    static func run(_ resampler: Resampler, _ input: [Int16], frame: Int) throws -> [Int16] {
        var output: [Int16] = []
        var buffer = [Int16](repeating: 0, count: resampler.outputCount(forInputCount: frame) + 8)
        try input.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                let count = min(frame, all.count - start)
                let written = try buffer.withUnsafeMutableBufferPointer { out in
                    try resampler.process(UnsafeBufferPointer(rebasing: all[start..<start + count]), into: out)
                }
                output += buffer[0..<written]
                start += count
            }
        }
        return output
    }

    static let pairs: [(Int, Int)] = [(48_000, 8_000), (8_000, 48_000), (16_000, 8_000), (8_000, 16_000), (48_000, 16_000), (16_000, 48_000)]

    @Test(arguments: pairs)
    func passBandKeepsLevelWithinHalfADecibel(from input: Int, to output: Int) throws {
        let nyquist = Double(min(input, output)) / 2
        for frequency in [100.0, 300, 1000, 0.5 * nyquist, 0.8 * nyquist, 0.9 * nyquist] {
            let resampler = try Resampler(from: input, to: output)
            let tone = Signals.sine(frequency: frequency.rounded(), sampleRate: Double(input), count: input * 3 / 2)
            let converted = try Self.run(resampler, tone, frame: input / 50)
            #expect(converted.count == output * 3 / 2)
            let steady = converted[(output / 4)..<(output / 4 + output)]
            let amplitude = Signals.toneAmplitude(steady, frequency: frequency.rounded(), sampleRate: Double(output))
            let gain = 20 * log10(amplitude / 10_000)
            #expect(abs(gain) < 0.5, "\(input)→\(output) at \(frequency) Hz: \(gain) dB")
        }
    }

    @Test(arguments: [(48_000, 8_000, 6_000.0, 2_000.0), (48_000, 8_000, 4_500, 3_500), (48_000, 8_000, 20_000, 4_000),
                      (16_000, 8_000, 5_000, 3_000), (48_000, 16_000, 10_000, 6_000), (48_000, 16_000, 9_000, 7_000)])
    func outOfBandToneIsAttenuatedBeforeItAliases(from input: Int, to output: Int, tone frequency: Double, alias: Double) throws {
        let resampler = try Resampler(from: input, to: output)
        let tone = Signals.sine(frequency: frequency, sampleRate: Double(input), count: input * 3 / 2, amplitude: 30_000)
        let converted = try Self.run(resampler, tone, frame: input / 50)
        let steady = converted[(output / 4)..<(output / 4 + output)]
        let amplitude = Signals.toneAmplitude(steady, frequency: alias, sampleRate: Double(output))
        let attenuation = 20 * log10(30_000 / max(amplitude, 1e-9))
        #expect(attenuation >= 55, "\(frequency) Hz aliasing to \(alias) Hz: \(attenuation) dB down")
    }

    @Test(arguments: [(8_000, 48_000), (16_000, 48_000), (8_000, 16_000)])
    func upsamplingImagesAreAttenuated(from input: Int, to output: Int) throws {
        let resampler = try Resampler(from: input, to: output)
        let tone = Signals.sine(frequency: 1_000, sampleRate: Double(input), count: input * 3 / 2, amplitude: 30_000)
        let converted = try Self.run(resampler, tone, frame: input / 50)
        let steady = converted[(output / 4)..<(output / 4 + output)]
        for image in [Double(input) - 1_000, Double(input) + 1_000] where image < Double(output) / 2 {
            let amplitude = Signals.toneAmplitude(steady, frequency: image, sampleRate: Double(output))
            #expect(20 * log10(30_000 / max(amplitude, 1e-9)) >= 55, "image at \(image) Hz")
        }
    }

    @Test(arguments: pairs)
    func framedOutputEqualsOneShotOutput(from input: Int, to output: Int) throws {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<input).map { _ in Int16.random(in: -20_000...20_000, using: &generator) }
        let whole = try Self.run(Resampler(from: input, to: output), noise, frame: noise.count)
        let framed = try Self.run(Resampler(from: input, to: output), noise, frame: input / 50)
        let ragged = try Self.run(Resampler(from: input, to: output), noise, frame: 7)
        #expect(whole.count == output)
        #expect(framed == whole)
        #expect(ragged == whole)
    }

    @Test(arguments: pairs)
    func reportedLatencyMatchesTheImpulseResponse(from input: Int, to output: Int) throws {
        let resampler = try Resampler(from: input, to: output)
        var impulse = [Int16](repeating: 0, count: input / 10)
        impulse[0] = 30_000
        let response = try Self.run(resampler, impulse, frame: input / 50)
        let peak = response.indices.max { abs(Int(response[$0])) < abs(Int(response[$1])) } ?? 0
        #expect(abs(Double(peak) - resampler.latencyInOutputSamples) <= 1, "peak at \(peak), latency \(resampler.latencyInOutputSamples)")
        #expect(resampler.latency < .milliseconds(4))
    }

    @Test func resetForgetsHistoryAndBadRatesAreErrors() throws {
        let resampler = try Resampler(from: 48_000, to: 8_000)
        let tone = Signals.sine(frequency: 1_000, sampleRate: 48_000, count: 960)
        let first = try Self.run(resampler, tone, frame: 960)
        _ = try Self.run(resampler, tone, frame: 960)
        resampler.reset()
        #expect(try Self.run(resampler, tone, frame: 960) == first)
        #expect(throws: MediaError.unsupportedSampleRate(44_100)) { try Resampler(from: 44_100, to: 8_000) }
        var small = [Int16](repeating: 0, count: 100)
        #expect(throws: MediaError.outputBufferTooSmall(needed: 160)) {
            try tone.withUnsafeBufferPointer { pcm in try small.withUnsafeMutableBufferPointer { try resampler.process(pcm, into: $0) } }
        }
        let silence = try Self.run(resampler, [Int16](repeating: 0, count: 4_800), frame: 960)
        #expect(silence.suffix(400).allSatisfy { $0 == 0 })
    }
}
