import CSwitchboardOpus
import Glibc
import Media

/// The speech both legs of a transcoded call carry, prepared once in the driver: the browsers'
/// Opus packets (the speech at 48 kHz encoded at 32 kb/s, 20 ms frames) and the call centres'
/// PCMU frames (the same speech resampled to 8 kHz with the project's resampler, µ-law coded).
/// Each call plays them from its own starting frame, so the calls together cover the whole
/// recording, as the bound does.
struct SpeechMedia {
    static let frame48 = 960
    static let frame8 = 160
    static let bitrate = 32_000
    /// A frame whose loudest sample reaches this (about −42 dBFS) carries sound, not silence.
    static let voicedPeak: Int16 = 256

    /// The speech at 48 kHz, whole 20 ms frames.
    let pcm48: [Int16]
    /// The browsers' packets, one per frame.
    let opus: [[UInt8]]
    /// The call centres' payloads, 160 bytes per frame.
    let pcmu: [[UInt8]]
    /// The complexity the browsers' packets were encoded at.
    let browserComplexity: Int

    var frames: Int { min(opus.count, pcmu.count) }
    var seconds: Double { Double(frames) / 50 }

    /// Loads raw signed 16-bit little-endian mono samples at 48 kHz (what `sox … -t raw` writes).
    init(path: String, browserComplexity: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { fail("cannot open the speech file \(path): errno \(errno)") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        let samples = bytes.count / 2
        let whole = samples / Self.frame48 * Self.frame48
        guard whole >= 50 * Self.frame48 else { fail("\(path) holds \(samples) samples; the benchmark wants at least 1 s of 48 kHz speech") }
        pcm48 = (0..<whole).map { Int16(bitPattern: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
        self.browserComplexity = browserComplexity
        do {
            // The browser: Opus at 32 kb/s with in-band FEC (it offered useinbandfec=1).
            let encoder = try OpusEncoder(configuration: .init(bitrate: Self.bitrate, complexity: browserComplexity))
            var buffer = [UInt8](repeating: 0, count: OpusEncoder.maximumPayloadSize)
            var packets: [[UInt8]] = []
            for start in stride(from: 0, to: whole, by: Self.frame48) {
                let count = try pcm48[start..<start + Self.frame48].withUnsafeBufferPointer { pcm in
                    try buffer.withUnsafeMutableBytes { out in try encoder.encode(pcm, into: out) }
                }
                packets.append(Array(buffer[0..<count]))
            }
            opus = packets
            // The call centre: the same speech at 8 kHz, µ-law.
            let down = try Resampler(from: 48_000, to: 8_000)
            var narrow = [Int16](repeating: 0, count: whole / 6 + 16)
            let written = try pcm48.withUnsafeBufferPointer { input in
                try narrow.withUnsafeMutableBufferPointer { output in try down.process(input, into: output) }
            }
            pcmu = stride(from: 0, to: written - Self.frame8 + 1, by: Self.frame8).map { start in
                narrow[start..<start + Self.frame8].map { MuLaw.encode($0) }
            }
        } catch {
            fail("preparing the speech: \(error)")
        }
    }

    /// Whether a PCMU payload carries sound.
    static func isVoiced(pcmu payload: UnsafeRawBufferPointer) -> Bool {
        for byte in payload where abs(Int32(MuLaw.decode(byte))) >= Int32(voicedPeak) { return true }
        return false
    }

    /// Whether decoded PCM carries sound.
    static func isVoiced(_ pcm: UnsafeBufferPointer<Int16>) -> Bool {
        for sample in pcm where abs(Int32(sample)) >= Int32(voicedPeak) { return true }
        return false
    }

    /// The fraction of the call centres' frames that carry sound.
    var voicedPCMUFraction: Double {
        Double(pcmu.filter { payload in payload.withUnsafeBytes { Self.isVoiced(pcmu: $0) } }.count) / Double(pcmu.count)
    }

    /// Payload bytes per browser packet: mean and largest.
    var opusSizes: (mean: Double, largest: Int) {
        (Double(opus.reduce(0) { $0 + $1.count }) / Double(opus.count), opus.map(\.count).max() ?? 0)
    }
}

/// The bound of a transcoded call: the work a gateway cannot avoid for one frame pair, with
/// libopus and the resampler called directly over the same speech frames. Browser → call
/// centre: Opus decode (48 kHz mono) → resample 48 → 8 kHz → µ-law encode; call centre →
/// browser: µ-law decode → resample 8 → 48 kHz → Opus encode at `complexity`, 32 kb/s, with the
/// gateway encoder's settings (in-band FEC, 10 % expected loss, voice). Thread CPU time, best
/// of `passes` passes over all frames, per direction.
struct TranscodeBound {
    var decodeNanoseconds: Double
    var encodeNanoseconds: Double
    var passes: Int

    var pairNanoseconds: Double { decodeNanoseconds + encodeNanoseconds }
    /// One call is 50 frame pairs a second.
    var callsPerCore: Double { 1e9 / (50 * pairNanoseconds) }

    static func measure(_ speech: SpeechMedia, complexity: Int, passes: Int) -> TranscodeBound {
        let frames = speech.frames
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(48_000, 1, &error), let encoder = opus_encoder_create(48_000, 1, OPUS_APPLICATION_VOIP, &error) else {
            fail("libopus: \(error)")
        }
        defer {
            opus_decoder_destroy(decoder)
            opus_encoder_destroy(encoder)
        }
        let defaults = OpusEncoder.Configuration()
        let settings = [
            cswitchboard_opus_set_bitrate(encoder, Int32(SpeechMedia.bitrate)),
            cswitchboard_opus_set_complexity(encoder, Int32(complexity)),
            cswitchboard_opus_set_inband_fec(encoder, defaults.inBandFEC ? 1 : 0),
            cswitchboard_opus_set_packet_loss_perc(encoder, Int32(defaults.expectedPacketLossPercent)),
            cswitchboard_opus_set_dtx(encoder, defaults.discontinuousTransmission ? 1 : 0),
            cswitchboard_opus_set_signal_voice(encoder),
        ]
        guard settings.allSatisfy({ $0 == OPUS_OK }) else { fail("libopus refused the encoder settings") }
        let down: Resampler, up: Resampler
        do {
            down = try Resampler(from: 48_000, to: 8_000)
            up = try Resampler(from: 8_000, to: 48_000)
        } catch {
            fail("resampler: \(error)")
        }
        let pcm48 = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 5_760)
        let pcm8 = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 960)
        let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1_500)
        pcm48.initialize(repeating: 0)
        pcm8.initialize(repeating: 0)
        bytes.initialize(repeating: 0)
        defer {
            pcm48.deallocate()
            pcm8.deallocate()
            bytes.deallocate()
        }
        var sink = 0
        var bestDecode = Int64.max
        var bestEncode = Int64.max
        for _ in 0..<passes {
            var start = threadCPUNanoseconds()
            for frame in 0..<frames {
                let decoded = speech.opus[frame].withUnsafeBufferPointer { packet in
                    opus_decode(decoder, packet.baseAddress, Int32(packet.count), pcm48.baseAddress!, 5_760, 0)
                }
                guard decoded > 0, let narrowed = try? down.process(UnsafeBufferPointer(rebasing: pcm48[0..<Int(decoded)]), into: pcm8) else {
                    fail("bound: decode failed (\(decoded))")
                }
                for index in 0..<narrowed { bytes[index] = MuLaw.encode(pcm8[index]) }
                sink &+= Int(bytes[0])
            }
            bestDecode = min(bestDecode, threadCPUNanoseconds() - start)
            start = threadCPUNanoseconds()
            for frame in 0..<frames {
                let payload = speech.pcmu[frame]
                for index in 0..<SpeechMedia.frame8 { pcm8[index] = MuLaw.decode(payload[index]) }
                guard let widened = try? up.process(UnsafeBufferPointer(rebasing: pcm8[0..<SpeechMedia.frame8]), into: pcm48) else {
                    fail("bound: resample failed")
                }
                let encoded = opus_encode(encoder, pcm48.baseAddress!, Int32(widened), bytes.baseAddress!, Int32(bytes.count))
                guard encoded > 0 else { fail("bound: encode failed (\(encoded))") }
                sink &+= Int(encoded)
            }
            bestEncode = min(bestEncode, threadCPUNanoseconds() - start)
        }
        if sink == 42 { print("") }
        return TranscodeBound(
            decodeNanoseconds: Double(bestDecode) / Double(frames), encodeNanoseconds: Double(bestEncode) / Double(frames), passes: passes
        )
    }

    /// The same work with `calls` calls' codec states (decoder, encoder, both resamplers) taking
    /// frames in turn, one frame pair each, each call playing its own stretch of the recording:
    /// what the bound becomes when the states of that many calls share the caches, as they do in
    /// the gateway. Thread CPU time per frame pair, best of `passes` passes over all frames.
    /// With `pause` (nanoseconds), the thread sleeps that long before each half of a frame pair,
    /// as the gateway's event loop waits for the next packet: what the same work costs when the
    /// thread wakes for every frame (caches and branch predictors left to other processes in
    /// between); only one pass, over at most `limit` frame pairs.
    static func measureInTurn(_ speech: SpeechMedia, complexity: Int, calls: Int, passes: Int, pause: Int = 0, limit: Int = .max) -> Double {
        let frames = speech.frames
        let calls = max(1, min(calls, frames))
        var decoders: [OpaquePointer] = []
        var encoders: [OpaquePointer] = []
        var downs: [Resampler] = []
        var ups: [Resampler] = []
        let defaults = OpusEncoder.Configuration()
        for _ in 0..<calls {
            var error: Int32 = 0
            guard let decoder = opus_decoder_create(48_000, 1, &error), let encoder = opus_encoder_create(48_000, 1, OPUS_APPLICATION_VOIP, &error),
                let down = try? Resampler(from: 48_000, to: 8_000), let up = try? Resampler(from: 8_000, to: 48_000)
            else { fail("libopus or the resampler: \(error)") }
            let settings = [
                cswitchboard_opus_set_bitrate(encoder, Int32(SpeechMedia.bitrate)),
                cswitchboard_opus_set_complexity(encoder, Int32(complexity)),
                cswitchboard_opus_set_inband_fec(encoder, defaults.inBandFEC ? 1 : 0),
                cswitchboard_opus_set_packet_loss_perc(encoder, Int32(defaults.expectedPacketLossPercent)),
                cswitchboard_opus_set_dtx(encoder, defaults.discontinuousTransmission ? 1 : 0),
                cswitchboard_opus_set_signal_voice(encoder),
            ]
            guard settings.allSatisfy({ $0 == OPUS_OK }) else { fail("libopus refused the encoder settings") }
            decoders.append(decoder)
            encoders.append(encoder)
            downs.append(down)
            ups.append(up)
        }
        defer {
            for decoder in decoders { opus_decoder_destroy(decoder) }
            for encoder in encoders { opus_encoder_destroy(encoder) }
        }
        let pcm48 = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 5_760)
        let pcm8 = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 960)
        let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1_500)
        pcm48.initialize(repeating: 0)
        pcm8.initialize(repeating: 0)
        bytes.initialize(repeating: 0)
        defer {
            pcm48.deallocate()
            pcm8.deallocate()
            bytes.deallocate()
        }
        let rounds = min(frames, limit) / calls
        var sink = 0
        var best = Int64.max
        var rest = timespec(tv_sec: 0, tv_nsec: pause)
        for _ in 0..<(pause > 0 ? 1 : passes) {
            let start = threadCPUNanoseconds()
            for round in 0..<rounds {
                for call in 0..<calls {
                    let frame = (call * frames / calls + round) % frames
                    if pause > 0 { nanosleep(&rest, nil) }
                    let decoded = speech.opus[frame].withUnsafeBufferPointer { packet in
                        opus_decode(decoders[call], packet.baseAddress, Int32(packet.count), pcm48.baseAddress!, 5_760, 0)
                    }
                    guard decoded > 0, let narrowed = try? downs[call].process(UnsafeBufferPointer(rebasing: pcm48[0..<Int(decoded)]), into: pcm8) else {
                        fail("bound: decode failed (\(decoded))")
                    }
                    for index in 0..<narrowed { bytes[index] = MuLaw.encode(pcm8[index]) }
                    sink &+= Int(bytes[0])
                    if pause > 0 { nanosleep(&rest, nil) }
                    let payload = speech.pcmu[frame]
                    for index in 0..<SpeechMedia.frame8 { pcm8[index] = MuLaw.decode(payload[index]) }
                    guard let widened = try? ups[call].process(UnsafeBufferPointer(rebasing: pcm8[0..<SpeechMedia.frame8]), into: pcm48) else {
                        fail("bound: resample failed")
                    }
                    let encoded = opus_encode(encoders[call], pcm48.baseAddress!, Int32(widened), bytes.baseAddress!, Int32(bytes.count))
                    guard encoded > 0 else { fail("bound: encode failed (\(encoded))") }
                    sink &+= Int(encoded)
                }
            }
            best = min(best, threadCPUNanoseconds() - start)
        }
        if sink == 42 { print("") }
        return Double(best) / Double(rounds * calls)
    }

    /// The better of two measurements, per direction.
    func best(_ other: TranscodeBound) -> TranscodeBound {
        TranscodeBound(
            decodeNanoseconds: min(decodeNanoseconds, other.decodeNanoseconds), encodeNanoseconds: min(encodeNanoseconds, other.encodeNanoseconds),
            passes: passes + other.passes
        )
    }
}

/// A 12-byte RTP header at `packet` (no CSRC, no extension).
func writeRTPHeader(into packet: UnsafeMutableRawPointer, marker: Bool, sequence: UInt16, timestamp: UInt32, ssrc: UInt32, payloadType: UInt8) {
    packet.storeBytes(of: UInt8(0x80), toByteOffset: 0, as: UInt8.self)
    packet.storeBytes(of: (marker ? 0x80 : 0) | payloadType & 0x7F, toByteOffset: 1, as: UInt8.self)
    packet.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    packet.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    packet.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
}
