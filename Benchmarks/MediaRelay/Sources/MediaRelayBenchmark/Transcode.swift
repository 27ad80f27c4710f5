import CMediaRelaySystem
import Glibc
import SRTP

// Transcoded calls per core through the real sockets, against the bound of the same run.
//
//   MediaRelayBenchmark transcode --speech FILE [--calls N] [--complexity C] [--window S] [--warmup S]
//       [--passes P] [--browser-complexity C] [--threads T] [--ports LOW-HIGH] [--priority NICE]
//
// FILE is raw s16le mono speech at 48 kHz (Benchmarks/media_transcode.sh makes it with
// espeak-ng and sox). The browsers offer Opus only, the trunk's codecs are PCMU, so every call
// takes the transcoding path (the gateway refuses the call otherwise): SRTP unprotect → jitter
// buffer → Opus decode → 48 → 8 kHz → µ-law → RTP to the call centre, and µ-law → 8 → 48 kHz →
// Opus encode at C → SRTP protect to the browser.
//
// 1. The speech: Opus packets at 32 kb/s for the browsers, PCMU for the call centres, made once.
// 2. The bound: bare libopus decode + resample + µ-law, and µ-law + resample + Opus encode at C,
//    over the same frames, in this process (thread CPU time, best of P passes before the
//    gateway runs and P after). For context, the same work with N calls' codec states taking
//    frames in turn (the caches shared as in the gateway), and libsrtp2's cost per pair.
// 3. The gateway process runs the real MediaPlane (`gateway --mode transcode --complexity C`)
//    with N calls; the load generator (this process) plays N browsers (ICE, DTLS, SRTP Opus)
//    and N call centres (PCMU); only the gateway's event-loop thread is timed over the window.

struct TranscodeOptions {
    var calls = 30
    var window = 10.0
    var warmup = 3.0
    var threads = 1
    var complexity = 8
    var browserComplexity = 10
    var passes = 5
    var speech = ""
    var ports: ClosedRange<Int> = 20000...29999
    var priority = 0

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next() else { fail("\(argument) needs a value") }
            switch argument {
            case "--calls": calls = Int(value) ?? 0
            case "--window": window = Double(value) ?? 0
            case "--warmup": warmup = Double(value) ?? -1
            case "--threads": threads = Int(value) ?? 0
            case "--complexity": complexity = Int(value) ?? -1
            case "--browser-complexity": browserComplexity = Int(value) ?? -1
            case "--passes": passes = Int(value) ?? 0
            case "--speech": speech = value
            case "--priority":
                guard let nice = Int32(value), (-20...19).contains(nice) else { fail("--priority wants a nice value, -20...19") }
                priority = Int(nice)
            case "--ports":
                let parts = value.split(separator: "-").compactMap { Int($0) }
                guard parts.count == 2, parts[0] > 1023, parts[0] < parts[1], parts[1] < 65536 else { fail("--ports wants LOW-HIGH") }
                ports = parts[0]...parts[1]
            default: fail("unknown option \(argument)")
            }
        }
        guard !speech.isEmpty else { fail("transcode needs --speech FILE (raw s16le mono, 48 kHz)") }
        guard calls >= 1, window > 0, warmup >= 0, threads >= 1, passes >= 1 else {
            fail("--calls and --passes must be at least 1, --window positive, --warmup not negative, --threads at least 1")
        }
        guard (0...10).contains(complexity), (0...10).contains(browserComplexity) else { fail("Opus complexities are 0...10") }
        guard ports.count >= calls * 3 else { fail("--ports holds \(ports.count) ports; \(calls) calls need \(calls * 3)") }
    }
}

func percent(_ part: Int, _ whole: Int) -> String {
    whole > 0 ? format(100 * Double(part) / Double(whole), 1) + " %" : "-"
}

func runTranscode(_ arguments: [String]) {
    let options = TranscodeOptions(arguments)
    cmr_line_buffer_stdout()
    signal(SIGPIPE, SIG_IGN)
    if options.priority != 0, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(options.priority)) != 0 {
        fail("setpriority \(options.priority): errno \(errno)")
    }
    print(
        "media transcode: \(options.calls) calls, Opus (browser) ↔ PCMU (call centre), gateway Opus complexity \(options.complexity), "
            + "32 kb/s, 50 packets/s each way per call, \(format(options.window, 1)) s window after \(format(options.warmup, 1)) s, "
            + "nice \(options.priority), load \(loadAverages())"
    )

    print("== speech: \(options.speech)")
    let speech = SpeechMedia(path: options.speech, browserComplexity: options.browserComplexity)
    let sizes = speech.opusSizes
    print(
        "  \(speech.frames) frames of 20 ms (\(format(speech.seconds, 1)) s); browsers' Opus at 32 kb/s, complexity \(speech.browserComplexity), in-band FEC: "
            + "\(format(sizes.mean, 1)) bytes a packet on average, largest \(sizes.largest); call centres' PCMU: "
            + "\(format(100 * speech.voicedPCMUFraction, 1)) % of frames carry sound"
    )

    print("== bound: bare libopus + resampler over the same frames (thread CPU time, best of \(options.passes) passes)")
    let before = TranscodeBound.measure(speech, complexity: options.complexity, passes: options.passes)
    print(
        "  before the run: Opus decode + 48→8 kHz + µ-law \(format(before.decodeNanoseconds / 1000, 2)) µs, "
            + "µ-law + 8→48 kHz + Opus encode (c\(options.complexity)) \(format(before.encodeNanoseconds / 1000, 2)) µs a frame "
            + "→ \(format(before.pairNanoseconds / 1000, 2)) µs a frame pair"
    )

    let certificate: DTLSCertificate
    do {
        certificate = try DTLSCertificate.generate(commonName: "browser")
    } catch {
        fail("certificate: \(error)")
    }
    print("== transcode through MediaPlane (\(options.threads) event loop thread(s)), Opus ↔ PCMU, DTLS-SRTP")
    let gateway = ChildProcess(arguments: [
        "gateway", "--threads", String(options.threads), "--ports", "\(options.ports.lowerBound)-\(options.ports.upperBound)",
        "--mode", "transcode", "--complexity", String(options.complexity),
    ])
    guard let ready = gateway.channel.receive(), ready.hasPrefix("READY") else { fail("the transcode gateway process did not start") }
    let gatewayThreads = fields(ready)["threads"] ?? "?"
    print("  gateway process \(gateway.pid), event loop thread(s) \(gatewayThreads)")
    let generator = LoadGenerator(relay: true, certificate: certificate, speech: speech)
    let setupStart = monotonicNanoseconds()
    generator.connect(generator.open(options.calls, at: gateway))
    let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9
    guard let negotiated = generator.profile else { fail("no SRTP profile was negotiated") }
    print("  \(options.calls) calls set up (offer, answer, ICE, DTLS), every one planned as transcode Opus ↔ PCMU, in \(format(setupSeconds, 2)) s; profile \(negotiated.sdesSuiteName)")
    let (window, full) = Window.measure(generator, gateway: gateway, warmup: options.warmup, seconds: options.window)
    gateway.finish()
    report("transcode", window)
    let counters = window.counters
    print(
        "  transcode: browser → call centre: \(counters.sentToBrowserLeg) Opus sent, \(counters.receivedOnCalleeLeg) PCMU of 160 bytes back "
            + "(\(percent(counters.receivedOnCalleeLeg, counters.sentToBrowserLeg))), \(percent(counters.voicedOnCalleeLeg, counters.receivedOnCalleeLeg)) of them "
            + "carrying sound (the speech: \(format(100 * speech.voicedPCMUFraction, 1)) %)"
    )
    print(
        "  transcode: call centre → browser: \(counters.sentToCalleeLeg) PCMU sent, \(counters.receivedOnBrowserLeg) SRTP Opus packets of 20 ms back "
            + "(\(percent(counters.receivedOnBrowserLeg, counters.sentToCalleeLeg))); \(counters.opusDecoded) of them decoded (every fourth call), "
            + "\(percent(counters.opusVoiced, counters.opusDecoded)) carrying sound, \(counters.opusDecodeFailures) refused by libopus"
    )
    let perCall = generator.receivedPerCall
    let starved = generator.starvedCalls
    print("  per call, packets received on its weaker leg: least \(perCall.least), median \(perCall.median), most \(perCall.most); \(starved.count) calls under half the median\(starved.isEmpty ? "" : " (first: \(starved.prefix(8).map(String.init).joined(separator: ", ")))")")
    if full.ended > 0 { print("  warning: \(full.ended) sessions ended on their own during the run") }
    guard counters.receivedOnCalleeLeg > 0, counters.receivedOnBrowserLeg > 0 else { fail("no transcoded media came back on one leg") }
    guard counters.voicedOnCalleeLeg > 0 else { fail("the PCMU from the gateway is all silence") }
    guard counters.opusDecoded > 0, counters.opusVoiced > 0 else { fail("no Opus from the gateway decoded to sound") }
    if counters.authenticationFailures > 0 || counters.wrongPayload > 0 || counters.opusDecodeFailures > 0 {
        print("  warning: media came back damaged (SRTP failures, wrong payloads or undecodable Opus)")
    }

    print("== bound again, after the run (best of \(options.passes) passes)")
    let after = TranscodeBound.measure(speech, complexity: options.complexity, passes: options.passes)
    print(
        "  after the run: \(format(after.decodeNanoseconds / 1000, 2)) µs + \(format(after.encodeNanoseconds / 1000, 2)) µs "
            + "→ \(format(after.pairNanoseconds / 1000, 2)) µs a frame pair"
    )
    let bound = before.best(after)
    let inTurn = TranscodeBound.measureInTurn(speech, complexity: options.complexity, calls: options.calls, passes: options.passes)
    print(
        "  the same work with \(options.calls) calls' codec states in turn (context): \(format(inTurn / 1000, 2)) µs a frame pair "
            + "→ \(format(1e9 / (50 * inTurn), 1)) calls per core"
    )
    // Paced as the gateway sees the frames: N calls, a frame each way every 20 ms.
    let pause = 20_000_000 / (2 * options.calls)
    let paced = TranscodeBound.measureInTurn(speech, complexity: options.complexity, calls: options.calls, passes: 1, pause: pause, limit: 50 * 4 * options.calls)
    print(
        "  the same, sleeping \(format(Double(pause) / 1e6, 2)) ms before each half of a pair as the gateway waits for packets (context, one pass of "
            + "\(4 * 50 * options.calls) pairs): \(format(paced / 1000, 2)) µs a frame pair → \(format(1e9 / (50 * paced), 1)) calls per core"
    )
    let srtp = SRTPCost.measure(profile: negotiated, sessions: options.calls)

    // The gateway sent one packet per frame it transcoded, on either leg: frame pairs are half.
    let pairs = Double(window.relayed) / 2
    let gatewaySecondsPerPair = window.cpuSeconds / pairs
    let gatewayCalls = 1 / (50 * gatewaySecondsPerPair)
    let srtpPairNanoseconds = srtp.protectNanoseconds + srtp.unprotectNanoseconds
    let boundWithSRTPCalls = 1e9 / (50 * (bound.pairNanoseconds + srtpPairNanoseconds))
    print("== result (Opus complexity \(options.complexity), 32 kb/s, \(options.calls) calls)")
    print(
        "  bound: Opus decode + 48→8 kHz + µ-law \(format(bound.decodeNanoseconds / 1000, 2)) µs + µ-law + 8→48 kHz + Opus encode "
            + "\(format(bound.encodeNanoseconds / 1000, 2)) µs = \(format(bound.pairNanoseconds / 1000, 2)) µs per frame pair "
            + "(best of \(bound.passes) passes) → \(format(bound.callsPerCore, 1)) bound calls per core"
    )
    print(
        "  gateway: \(format(window.cpuSeconds, 3)) CPU-s for \(format(pairs, 0)) frame pairs → \(format(gatewaySecondsPerPair * 1e6, 2)) µs per frame pair "
            + "→ \(format(gatewayCalls, 1)) transcoded calls per core"
    )
    print("  ratio to the bound: \(format(gatewayCalls / bound.callsPerCore, 2)) (goal ≥ 0.90)")
    print(
        "  context: against the bound with \(options.calls) calls' states in turn (\(format(inTurn / 1000, 2)) µs, \(format(1e9 / (50 * inTurn), 1)) calls per core): "
            + "ratio \(format(inTurn / 1e9 / gatewaySecondsPerPair, 2)); against it paced (\(format(paced / 1000, 2)) µs): ratio \(format(paced / 1e9 / gatewaySecondsPerPair, 2))"
    )
    print(
        "  context: libsrtp2 \(negotiated.sdesSuiteName), \(options.calls) sessions in turn, 172-byte packet: protect \(format(srtp.protectNanoseconds / 1000, 2)) µs "
            + "+ unprotect \(format(srtp.unprotectNanoseconds / 1000, 2)) µs = \(format(srtpPairNanoseconds / 1000, 2)) µs per pair; "
            + "bound with SRTP \(format(boundWithSRTPCalls, 1)) calls per core (ratio \(format(gatewayCalls / boundWithSRTPCalls, 2))); "
            + "gateway beyond the bound \(format(gatewaySecondsPerPair * 1e6 - bound.pairNanoseconds / 1000, 2)) µs per pair"
    )
    print("  load after the run: \(loadAverages())")
}
