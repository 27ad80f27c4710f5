// Transcoding benchmark.
//
//   TranscodingBenchmark speed <speech-48k-s16le.raw>
//       ns per 20 ms frame for the resampler, G.711, G.722, and for both directions of an
//       Opus ↔ PCMU call, bare (libopus + resampler called directly) and through `Transcoder`,
//       at Opus complexity 0, 5, 6, 8 and 10, 32 kb/s; calls per core for each.
//   TranscodingBenchmark allocations <speech-48k-s16le.raw>
//       heap allocations per frame through several chains, with 10 % loss; needs the
//       AllocationCounter library preloaded (LD_PRELOAD), as `Benchmarks/transcoding.sh` does.
//   TranscodingBenchmark pesq-material <speech-48k-s16le.raw> <directory>
//       writes 8 kHz s16le files for PESQ: reference.raw (the speech resampled to 8 kHz),
//       pcmu.raw (speech → PCMU → PCM), opus-c<N>.raw (speech → Opus at 48 kHz, complexity N
//       → decode → 8 kHz → PCMU → PCM) and gateway-c<N>.raw (the direction the gateway's own
//       encoder serves: speech → PCMU → Transcoder to Opus at complexity N → decode → 8 kHz),
//       for N in `complexities`.

import CSwitchboardOpus
import Foundation
import Media

let frame48 = 960
let frame8 = 160
let bitrate = 32_000
/// The Opus complexities measured, from the cheapest to the best.
let complexities = [0, 5, 6, 8, 10]

enum BenchmarkFailure: Error { case usage, unreadable(String), media(MediaError) }

func readSpeech(_ path: String) throws -> [Int16] {
    guard let data = FileManager.default.contents(atPath: path) else { throw BenchmarkFailure.unreadable(path) }
    let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
    return Array(samples.prefix(samples.count / frame48 * frame48))
}

func write(_ samples: [Int16], to path: String) throws {
    try samples.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
}

/// The speech as 20 ms frames of 8 kHz PCM and of PCMU, resampled with the project resampler.
func narrowBand(_ speech: [Int16]) throws -> [Int16] {
    let resampler = try Resampler(from: 48_000, to: 8_000)
    var out = [Int16](repeating: 0, count: speech.count / 6)
    _ = try speech.withUnsafeBufferPointer { input in
        try out.withUnsafeMutableBufferPointer { output in try resampler.process(input, into: output) }
    }
    return out
}

/// Packets of `speech` (48 kHz) encoded with Opus at `complexity`.
func opusPackets(_ speech: [Int16], complexity: Int) throws -> [[UInt8]] {
    let encoder = try OpusEncoder(configuration: .init(bitrate: bitrate, complexity: complexity))
    var packets: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: OpusEncoder.maximumPayloadSize)
    for start in stride(from: 0, to: speech.count, by: frame48) {
        let count = try speech[start..<start + frame48].withUnsafeBufferPointer { pcm in
            try buffer.withUnsafeMutableBytes { out in try encoder.encode(pcm, into: out) }
        }
        packets.append(Array(buffer[0..<count]))
    }
    return packets
}

func pcmuPayloads(_ narrow: [Int16]) -> [[UInt8]] {
    stride(from: 0, to: narrow.count - frame8 + 1, by: frame8).map { start in
        narrow[start..<start + frame8].map { MuLaw.encode($0) }
    }
}

/// CPU time of the calling thread, in ns (unaffected by other processes sharing the core).
func threadCPUTime() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

/// Best (lowest) thread CPU ns per frame over `rounds` passes of `body`, which processes
/// `frames` frames.
func measure(frames: Int, rounds: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = threadCPUTime()
        try body()
        best = min(best, (threadCPUTime() - start) / Double(frames))
    }
    return best
}

/// Keeps results alive so the optimiser cannot drop the work.
nonisolated(unsafe) var sink = 0

func speed(_ speech: [Int16]) throws {
    let narrow = try narrowBand(speech)
    let pcmu = pcmuPayloads(narrow)
    let frames = min(pcmu.count, speech.count / frame48)
    print("speech: \(frames) frames of 20 ms (\(Double(frames) / 50) s); thread CPU time, best of 5 passes")

    // Resampler and the simple codecs alone.
    var pcm48 = [Int16](repeating: 0, count: 5_760)
    var pcm8 = [Int16](repeating: 0, count: 960)
    var bytes = [UInt8](repeating: 0, count: 1_500)
    let down = try Resampler(from: 48_000, to: 8_000), up = try Resampler(from: 8_000, to: 48_000)
    let downNs = try measure(frames: frames) {
        try speech.withUnsafeBufferPointer { all in
            try pcm8.withUnsafeMutableBufferPointer { out in
                for f in 0..<frames { sink &+= try down.process(UnsafeBufferPointer(rebasing: all[f * frame48..<(f + 1) * frame48]), into: out) }
            }
        }
    }
    let upNs = try measure(frames: frames) {
        try narrow.withUnsafeBufferPointer { all in
            try pcm48.withUnsafeMutableBufferPointer { out in
                for f in 0..<frames { sink &+= try up.process(UnsafeBufferPointer(rebasing: all[f * frame8..<(f + 1) * frame8]), into: out) }
            }
        }
    }
    print(String(format: "resampler 48→8 kHz: %8.0f ns/frame   8→48 kHz: %8.0f ns/frame   (latency %.2f ms)",
                 downNs, upNs, Double(down.latencyInOutputSamples) / 8))
    let g711Ns = try measure(frames: frames) {
        try narrow.withUnsafeBufferPointer { all in
            try bytes.withUnsafeMutableBytes { out in
                for f in 0..<frames { sink &+= try MuLaw.encode(UnsafeBufferPointer(rebasing: all[f * frame8..<(f + 1) * frame8]), into: out) }
            }
        }
    }
    var g722 = G722Encoder()
    let wide = try Resampler(from: 48_000, to: 16_000)
    var pcm16 = [Int16](repeating: 0, count: speech.count / 3)
    _ = try speech.withUnsafeBufferPointer { i in try pcm16.withUnsafeMutableBufferPointer { try wide.process(i, into: $0) } }
    let g722Ns = try measure(frames: frames) {
        try pcm16.withUnsafeBufferPointer { all in
            try bytes.withUnsafeMutableBytes { out in
                for f in 0..<frames { sink &+= try g722.encode(UnsafeBufferPointer(rebasing: all[f * 320..<(f + 1) * 320]), into: out) }
            }
        }
    }
    print(String(format: "G.711 µ-law encode: %8.0f ns/frame   G.722 encode: %8.0f ns/frame", g711Ns, g722Ns))

    for complexity in complexities {
        let packets = try opusPackets(speech, complexity: complexity)

        // (a) The bound: libopus and the resampler called directly, G.711 inline.
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(48_000, 1, &error),
              let encoder = opus_encoder_create(48_000, 1, OPUS_APPLICATION_VOIP, &error)
        else { throw BenchmarkFailure.media(.opus(code: error)) }
        defer { opus_decoder_destroy(decoder); opus_encoder_destroy(encoder) }
        _ = cswitchboard_opus_set_bitrate(encoder, Int32(bitrate))
        _ = cswitchboard_opus_set_complexity(encoder, Int32(complexity))
        _ = cswitchboard_opus_set_inband_fec(encoder, 1)
        _ = cswitchboard_opus_set_packet_loss_perc(encoder, 10)
        _ = cswitchboard_opus_set_signal_voice(encoder)
        let bareDown = try Resampler(from: 48_000, to: 8_000), bareUp = try Resampler(from: 8_000, to: 48_000)
        let bareOpusToPCMU = try measure(frames: frames) {
            try pcm48.withUnsafeMutableBufferPointer { decoded in
                guard let target = decoded.baseAddress else { return }
                try pcm8.withUnsafeMutableBufferPointer { narrowed in
                    for f in 0..<frames {
                        let n = packets[f].withUnsafeBufferPointer { p in
                            opus_decode(decoder, p.baseAddress, Int32(p.count), target, 5_760, 0)
                        }
                        let m = try bareDown.process(UnsafeBufferPointer(rebasing: decoded[0..<Int(max(n, 0))]), into: narrowed)
                        var code = 0
                        for i in 0..<m { code &+= Int(MuLaw.encode(narrowed[i])) }
                        sink &+= code
                    }
                }
            }
        }
        let barePCMUToOpus = try measure(frames: frames) {
            try pcm8.withUnsafeMutableBufferPointer { narrowed in
                try pcm48.withUnsafeMutableBufferPointer { widened in
                    try bytes.withUnsafeMutableBufferPointer { out in
                        guard let source = widened.baseAddress, let target = out.baseAddress else { return }
                        for f in 0..<frames {
                            for i in 0..<frame8 { narrowed[i] = MuLaw.decode(pcmu[f][i]) }
                            let m = try bareUp.process(UnsafeBufferPointer(rebasing: narrowed[0..<frame8]), into: widened)
                            sink &+= Int(opus_encode(encoder, source, Int32(m), target, Int32(out.count)))
                        }
                    }
                }
            }
        }

        // (b) Through the Transcoder chain.
        let opusToPCMU = try Transcoder(from: .opus, to: .pcmu)
        let pcmuToOpus = try Transcoder(from: .pcmu, to: .opus, opus: .init(bitrate: bitrate, complexity: complexity))
        let chainOpusToPCMU = try measure(frames: frames) {
            try bytes.withUnsafeMutableBytes { out in
                for f in 0..<frames {
                    sink &+= try packets[f].withUnsafeBytes { try opusToPCMU.transcode($0, into: out) }
                }
            }
        }
        let chainPCMUToOpus = try measure(frames: frames) {
            try bytes.withUnsafeMutableBytes { out in
                for f in 0..<frames {
                    sink &+= try pcmu[f].withUnsafeBytes { try pcmuToOpus.transcode($0, into: out) }
                }
            }
        }
        let bareCall = bareOpusToPCMU + barePCMUToOpus, chainCall = chainOpusToPCMU + chainPCMUToOpus
        // A call is 50 frames per second in each direction.
        let bareCalls = 1e9 / (50 * bareCall), chainCalls = 1e9 / (50 * chainCall)
        print(String(format: "complexity %2d, %d kb/s:", complexity, bitrate / 1000))
        print(String(format: "  (a) bare      Opus→PCMU %7.0f ns/frame  PCMU→Opus %7.0f ns/frame  call %7.0f ns/frame-pair  %6.0f calls/core",
                     bareOpusToPCMU, barePCMUToOpus, bareCall, bareCalls))
        print(String(format: "  (b) Transcoder Opus→PCMU %7.0f ns/frame  PCMU→Opus %7.0f ns/frame  call %7.0f ns/frame-pair  %6.0f calls/core",
                     chainOpusToPCMU, chainPCMUToOpus, chainCall, chainCalls))
        print(String(format: "  (b)/(a) time ratio %.3f", chainCall / bareCall))
    }
    if sink == 42 { print("") }
}

func pesqMaterial(_ speech: [Int16], directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let narrow = try narrowBand(speech)
    try write(narrow, to: directory + "/reference.raw")
    // Speech sent straight to PCMU and decoded.
    try write(narrow.map { MuLaw.decode(MuLaw.encode($0)) }, to: directory + "/pcmu.raw")
    for complexity in complexities {
        let transcoder = try Transcoder(from: .opus, to: .pcmu)
        var out = [UInt8](repeating: 0, count: Transcoder.maximumPayloadSize)
        var degraded: [Int16] = []
        for packet in try opusPackets(speech, complexity: complexity) {
            let count = try packet.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try transcoder.transcode(input, into: $0) } }
            degraded += out[0..<count].map { MuLaw.decode($0) }
        }
        try write(degraded, to: directory + "/opus-c\(complexity).raw")

        // The call centre's PCMU transcoded to Opus by the gateway, decoded as a browser would.
        let toOpus = try Transcoder(from: .pcmu, to: .opus, opus: .init(bitrate: bitrate, complexity: complexity))
        let decoder = try OpusDecoder(), down = try Resampler(from: 48_000, to: 8_000)
        var wide = [Int16](repeating: 0, count: OpusDecoder.maximumFrameSize), narrowed = [Int16](repeating: 0, count: 960)
        var received: [Int16] = []
        for payload in pcmuPayloads(narrow) {
            let count = try payload.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try toOpus.transcode(input, into: $0) } }
            let samples = try out.withUnsafeBytes { packet in
                try wide.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeRawBufferPointer(rebasing: packet[0..<count]), into: $0) }
            }
            let written = try wide.withUnsafeBufferPointer { pcm in
                try narrowed.withUnsafeMutableBufferPointer { try down.process(UnsafeBufferPointer(rebasing: pcm[0..<samples]), into: $0) }
            }
            received += narrowed[0..<written]
        }
        try write(received, to: directory + "/gateway-c\(complexity).raw")
    }
}

/// Heap allocations per frame on the per-frame path of each chain, counted by the
/// AllocationCounter library preloaded into the process (see `Benchmarks/transcoding.sh`).
func allocations(_ speech: [Int16]) throws {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "switchboard_allocation_count") else {
        print("allocation counter not preloaded (LD_PRELOAD=libAllocationCounter.so)")
        return
    }
    let allocationCount = unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
    let narrow = try narrowBand(speech)
    let packets = try opusPackets(speech, complexity: 8)
    let pcmu = pcmuPayloads(narrow)
    var g722Encoder = G722Encoder()
    var g722: [[UInt8]] = []
    var wide = [Int16](repeating: 0, count: speech.count / 3)
    let toWide = try Resampler(from: 48_000, to: 16_000)
    _ = try speech.withUnsafeBufferPointer { i in try wide.withUnsafeMutableBufferPointer { try toWide.process(i, into: $0) } }
    var buffer = [UInt8](repeating: 0, count: 160)
    for start in stride(from: 0, to: wide.count - 319, by: 320) {
        _ = try wide[start..<start + 320].withUnsafeBufferPointer { pcm in try buffer.withUnsafeMutableBytes { try g722Encoder.encode(pcm, into: $0) } }
        g722.append(buffer)
    }
    var heard = 0
    let tap = PCMTap(observe: { frame, _ in heard &+= Int(frame[0]) }, produce: { frame in frame[0] = frame[0] / 2 })
    let setUpStart = allocationCount()
    let chains: [(String, Transcoder, [[UInt8]])] = [
        ("Opus→PCMU", try Transcoder(from: .opus, to: .pcmu), packets),
        ("PCMU→Opus", try Transcoder(from: .pcmu, to: .opus), pcmu),
        ("Opus→PCMA with tap", try Transcoder(from: .opus, to: .pcma, tap: tap), packets),
        ("PCMU→G.722", try Transcoder(from: .pcmu, to: .g722), pcmu),
        ("G.722→Opus", try Transcoder(from: .g722, to: .opus), g722),
    ]
    print("  setting up the five chains: \(allocationCount() - setUpStart) allocations (the counter works)")
    var out = [UInt8](repeating: 0, count: Transcoder.maximumPayloadSize)
    for (label, transcoder, payloads) in chains {
        let frames = min(payloads.count, 1_000)
        func run(_ range: Range<Int>) throws {
            try out.withUnsafeMutableBytes { output in
                for f in range {
                    if f % 10 == 9 {
                        // Every tenth frame is lost; from Opus the next packet's FEC recovers it.
                        sink &+= try payloads[f + 1].withUnsafeBytes { try transcoder.transcodeMissingFrame(next: $0, into: output) }
                    } else {
                        sink &+= try payloads[f].withUnsafeBytes { try transcoder.transcode($0, into: output) }
                    }
                }
            }
        }
        try run(0..<50)
        let before = allocationCount()
        try run(50..<(frames - 1))
        let after = allocationCount()
        let name = label.padding(toLength: 20, withPad: " ", startingAt: 0)
        print("  \(name) \(frames - 51) frames (10 % lost): \(after - before) allocations")
    }
    sink &+= heard
}

let arguments = CommandLine.arguments
do {
    switch arguments.count > 2 ? arguments[1] : "" {
    case "speed": try speed(readSpeech(arguments[2]))
    case "allocations": try allocations(readSpeech(arguments[2]))
    case "pesq-material" where arguments.count > 3: try pesqMaterial(readSpeech(arguments[2]), directory: arguments[3])
    default: throw BenchmarkFailure.usage
    }
} catch {
    FileHandle.standardError.write(Data("TranscodingBenchmark: \(error)\nusage: TranscodingBenchmark speed FILE | allocations FILE | pesq-material FILE DIR\n".utf8))
    exit(1)
}
