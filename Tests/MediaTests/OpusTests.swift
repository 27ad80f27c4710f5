import Foundation
import Testing
@testable import Media

@Suite struct OpusTests {
    /// Encodes `pcm` (mono, or interleaved for `channels` 2) in 20 ms frames.
    static func encode(_ pcm: [Int16], encoder: OpusEncoder, channels: Int = 1) throws -> [[UInt8]] {
        let frame = 960 * channels
        var packets: [[UInt8]] = []
        var payload = [UInt8](repeating: 0, count: OpusEncoder.maximumPayloadSize)
        try pcm.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: all.count - frame + 1, by: frame) {
                let count = try payload.withUnsafeMutableBytes { output in
                    try encoder.encode(UnsafeBufferPointer(rebasing: all[start..<start + frame]), into: output)
                }
                packets.append(Array(payload[0..<count]))
            }
        }
        return packets
    }

    static func decode(_ packet: [UInt8], decoder: OpusDecoder) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: OpusDecoder.maximumFrameSize)
        let count = try packet.withUnsafeBytes { input in
            try pcm.withUnsafeMutableBufferPointer { try decoder.decode(input, into: $0) }
        }
        return Array(pcm[0..<count])
    }

    /// A sweep from 300 Hz to 3 kHz and back every second: hard for concealment to extrapolate.
    static func sweep(seconds: Double) -> [Int16] {
        let count = Int(48_000 * seconds)
        var phase = 0.0
        return (0..<count).map { n in
            let t = Double(n) / 48_000
            let frequency = 1650 + 1350 * sin(2 * Double.pi * t)
            phase += 2 * Double.pi * frequency / 48_000
            return Int16(8000 * sin(phase) * (0.6 + 0.4 * sin(2 * Double.pi * 3 * t)))
        }
    }

    @Test func toneSurvivesEncodeAndDecodeAtItsLevelAndFrequency() throws {
        let encoder = try OpusEncoder(configuration: .init(bitrate: 32_000, complexity: 5))
        let decoder = try OpusDecoder()
        let tone = Signals.sine(frequency: 440, sampleRate: 48_000, count: 48_000)
        let packets = try Self.encode(tone, encoder: encoder)
        #expect(packets.count == 50)
        let mean = Double(packets.reduce(0) { $0 + $1.count }) / Double(packets.count)
        #expect(mean > 40 && mean < 120, "mean packet \(mean) bytes at 32 kb/s (80 expected)")
        var decoded: [Int16] = []
        for packet in packets {
            let pcm = try Self.decode(packet, decoder: decoder)
            #expect(pcm.count == 960)
            decoded += pcm
        }
        // Skip the first 200 ms (start-up); compare levels and the 440 Hz component.
        let input = tone[9600...], output = decoded[9600...]
        #expect(abs(Signals.levelDifference(reference: input, test: output)) < 1)
        let at440 = Signals.toneAmplitude(output, frequency: 440, sampleRate: 48_000)
        let at880 = Signals.toneAmplitude(output, frequency: 880, sampleRate: 48_000)
        #expect(abs(at440 - 10_000) < 1_200, "440 Hz amplitude \(at440)")
        #expect(at880 < 300, "880 Hz amplitude \(at880)")
    }

    @Test func stereoStreamDecodesToMono() throws {
        let encoder = try OpusEncoder(configuration: .init(bitrate: 64_000), channels: 2)
        let decoder = try OpusDecoder()
        let left = Signals.sine(frequency: 500, sampleRate: 48_000, count: 24_000)
        var interleaved = [Int16](repeating: 0, count: 48_000)
        for n in 0..<24_000 {
            interleaved[2 * n] = left[n]
            interleaved[2 * n + 1] = left[n]
        }
        let packets = try Self.encode(interleaved, encoder: encoder, channels: 2)
        #expect(packets.count == 25)
        var decoded: [Int16] = []
        for packet in packets {
            #expect(packet[0] & 0x04 != 0, "TOC stereo flag")
            decoded += try Self.decode(packet, decoder: decoder)
        }
        #expect(decoded.count == 24_000)
        #expect(abs(Signals.levelDifference(reference: left[4800...], test: decoded[4800...])) < 1.5)
    }

    @Test func missingFrameIsConcealedAndRecoveredFromFEC() throws {
        let configuration = OpusEncoder.Configuration(bitrate: 32_000, complexity: 10, inBandFEC: true, expectedPacketLossPercent: 30)
        let packets = try Self.encode(Self.sweep(seconds: 2), encoder: OpusEncoder(configuration: configuration))
        let lost = 60
        let reference = try OpusDecoder()
        var expected: [Int16] = []
        for packet in packets[0...lost] { expected = try Self.decode(packet, decoder: reference) }

        func error(_ recovered: [Int16]) -> Double {
            zip(recovered, expected).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
        }
        var pcm = [Int16](repeating: 0, count: 960)
        let concealing = try OpusDecoder(), recovering = try OpusDecoder()
        for packet in packets[0..<lost] {
            _ = try Self.decode(packet, decoder: concealing)
            _ = try Self.decode(packet, decoder: recovering)
        }
        let concealed = try pcm.withUnsafeMutableBufferPointer { try concealing.concealLoss(frameSize: 960, into: $0) }
        #expect(concealed == 960)
        let plc = pcm
        let recovered = try packets[lost + 1].withUnsafeBytes { next in
            try pcm.withUnsafeMutableBufferPointer { try recovering.recoverLoss(frameSize: 960, fromNext: next, into: $0) }
        }
        #expect(recovered == 960)
        let fec = pcm
        let energy = expected.reduce(0.0) { $0 + Double($1) * Double($1) }
        let plcSNR = 10 * log10(energy / error(plc)), fecSNR = 10 * log10(energy / error(fec))
        #expect(Signals.rms(plc) > 100, "concealment is not silence")
        #expect(fecSNR > plcSNR + 3, "FEC \(fecSNR) dB vs PLC \(plcSNR) dB")
        // The stream goes on after the loss.
        #expect(try Self.decode(packets[lost + 1], decoder: recovering).count == 960)
    }

    @Test func discontinuousTransmissionSendsTinyFramesInSilence() throws {
        let encoder = try OpusEncoder(configuration: .init(discontinuousTransmission: true))
        let packets = try Self.encode([Int16](repeating: 0, count: 48_000), encoder: encoder)
        // After the hang-over, silence is 1-byte frames, with a comfort-noise refresh every 400 ms.
        let tiny = packets.suffix(25).filter { $0.count <= 2 }.count
        #expect(tiny >= 22, "\(packets.suffix(25).map(\.count))")
        let continuous = try Self.encode([Int16](repeating: 0, count: 48_000), encoder: OpusEncoder())
        #expect(continuous.suffix(25).allSatisfy { $0.count > 2 })
    }

    @Test func badInputIsAnErrorNotATrap() throws {
        let decoder = try OpusDecoder()
        // Code 3 (arbitrary frame count) claiming 0 frames is invalid.
        #expect(throws: MediaError.self) { try Self.decode([0x03, 0x00], decoder: decoder) }
        #expect(throws: MediaError.self) { try Self.decode([], decoder: decoder) }
        var small = [Int16](repeating: 0, count: 960)
        // Random bytes: decoded or refused, never a crash.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let packet = (0..<Int.random(in: 1...60, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? packet.withUnsafeBytes { input in try small.withUnsafeMutableBufferPointer { try decoder.decode(input, into: $0) } }
        }
        #expect(throws: MediaError.unsupportedFrameSize(100)) {
            try small.withUnsafeMutableBufferPointer { try decoder.concealLoss(frameSize: 100, into: $0) }
        }
        #expect(throws: MediaError.outputBufferTooSmall(needed: 1920)) {
            try small.withUnsafeMutableBufferPointer { try decoder.concealLoss(frameSize: 1920, into: $0) }
        }
        let encoder = try OpusEncoder()
        #expect(throws: MediaError.unsupportedFrameSize(100)) {
            var payload = [UInt8](repeating: 0, count: 100)
            return try small[0..<100].withUnsafeBufferPointer { pcm in
                try payload.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) }
            }
        }
        #expect(throws: MediaError.self) { try OpusEncoder(configuration: .init(complexity: 11)) }
        #expect(OpusDecoder.sampleCount(of: UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }
}
