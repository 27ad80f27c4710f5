import CMediaRelaySystem
import Glibc
@_spi(Benchmark) import SRTP

// Relayed calls per core through the real sockets, against the bound of the same run.
//
//   MediaRelayBenchmark [--calls N] [--window S] [--warmup S] [--threads T] [--ports LOW-HIGH]
//                       [--allocation-counter LIBRARY]
//
// 1. libsrtp2's protect and unprotect of a 172-byte packet, both DTLS-SRTP profiles.
// 2. The bound's echo: a gateway process running the bare recvmmsg/sendmmsg echo on 2N sockets,
//    driven with the relay's traffic; packets per CPU-second of the echo thread.
// 3. The relay: a gateway process running the real MediaPlane with N relayed calls (PCMU on
//    both legs, DTLS-SRTP with the profile the handshake picks); packets per CPU-second of its
//    event-loop thread(s), heap allocations per packet (with `--allocation-counter`, the
//    library of `AllocationCounter/counter.c`, preloaded into the gateway), and resident memory
//    per call.
// The gateway process is this executable with `gateway --mode relay|echo|transcode` (see Gateway.swift).
//
//   MediaRelayBenchmark srtp-memory [N]
//
// prints the live heap one SRTP session holds (two batches of N sessions, both profiles).
//
//   MediaRelayBenchmark srtp N...
//
// prints libsrtp2's cost per protect and unprotect with N sessions taking packets in turn.
//
// The SRTP figures are given for both of libsrtp2's crypto backends (OpenSSL, the process's
// default; `builtin`, NSS on Debian), and the bound both ways. The gateway process uses the
// process's backend: `SWITCHBOARD_SRTP_BACKEND=builtin` in the environment (inherited by the
// gateway) runs the relay on libsrtp2's built-in crypto.
//
//   MediaRelayBenchmark transcode --speech FILE [--calls N] [--complexity C] ...
//
// runs the transcoded calls instead (Opus ↔ PCMU, speech on both legs; see Transcode.swift).

struct Options {
    var calls = 500
    var window = 10.0
    var warmup = 3.0
    var threads = 1
    var ports: ClosedRange<Int> = 20000...29999
    /// The nice value of the run (the load generator and the gateway process inherit it).
    var priority = 0
    var mode = "driver"
    var gatewayMode = "relay"
    /// The gateway's Opus complexity (transcode mode).
    var complexity = 8
    /// The allocation counter library preloaded into the gateway process (`LD_PRELOAD`).
    var allocationCounter: String?

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        if let first = arguments.first, first == "gateway" {
            mode = "gateway"
            _ = iterator.next()
        }
        while let argument = iterator.next() {
            guard let value = iterator.next() else { fail("\(argument) needs a value") }
            switch argument {
            case "--calls": calls = Int(value) ?? 0
            case "--window": window = Double(value) ?? 0
            case "--warmup": warmup = Double(value) ?? -1
            case "--threads": threads = Int(value) ?? 0
            case "--mode": gatewayMode = value
            case "--complexity": complexity = Int(value) ?? -1
            case "--allocation-counter": allocationCounter = value
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
        guard calls >= 10, window > 0, warmup >= 0, threads >= 1 else {
            fail("--calls must be at least 10, --window positive, --warmup not negative, --threads at least 1")
        }
        guard ports.count >= calls * 3 else { fail("--ports holds \(ports.count) ports; \(calls) calls need \(calls * 3)") }
    }
}

struct GatewayStats {
    var cpu: Int64
    var process: Int64
    var rss: Int
    /// KiB of live heap allocations (mallinfo2), when reported.
    var heap: Int?
    var ended: Int
    /// Packets the gateway sent: relay, RTP sent on both legs (the sessions' statistics); echo, datagrams echoed.
    var relayed: Int
    /// Heap allocations so far in the whole process and on its media threads, when counted.
    var allocations: (process: Int, loop: Int)?
    /// Relayed packets the sessions dropped (the kernel did not take them), relay mode.
    var dropped: Int?

    init(_ gateway: ChildProcess) {
        let values = gateway.request("STATS")
        guard let cpu = values["cpu"].flatMap({ Int64($0) }), let process = values["process"].flatMap({ Int64($0) }),
            let rss = values["rss"].flatMap({ Int($0) }), let ended = values["ended"].flatMap({ Int($0) }),
            let relayed = values["relayed"].flatMap({ Int($0) })
        else { fail("bad STATS answer \(values)") }
        self.relayed = relayed
        if let process = values["allocations"].flatMap({ Int($0) }), let loop = values["loop-allocations"].flatMap({ Int($0) }) {
            allocations = (process, loop)
        }
        self.cpu = cpu
        self.process = process
        self.rss = rss
        heap = values["heap"].flatMap { Int($0) }
        dropped = values["dropped"].flatMap { Int($0) }
        self.ended = ended
    }
}

/// One steady window: what the load generator counted and what the gateway's threads spent.
struct Window {
    var seconds: Double
    var counters: LoadGenerator.Counters
    var cpuSeconds: Double
    var processSeconds: Double
    var generatorSeconds: Double
    /// Packets the gateway sent in the window, by its own count.
    var relayed: Int
    /// Heap allocations in the window (whole gateway process, its media threads), when counted.
    var allocations: (process: Int, loop: Int)?
    /// Relayed packets the gateway dropped in the window because the kernel did not take them.
    var dropped: Int?

    /// Packets through the gateway per CPU-second of its media thread(s).
    var packetsPerCPUSecond: Double { Double(relayed) / cpuSeconds }
    var load: Double { cpuSeconds / seconds }

    static func measure(_ generator: LoadGenerator, gateway: ChildProcess, warmup: Double, seconds: Double) -> (Window, GatewayStats) {
        generator.stream(seconds: warmup)
        generator.settle()
        let before = GatewayStats(gateway)
        let countersBefore = generator.counters
        let start = monotonicNanoseconds()
        let generatorStart = processCPUNanoseconds()
        generator.stream(seconds: seconds)
        let generatorSeconds = Double(processCPUNanoseconds() - generatorStart) / 1e9
        generator.settle()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let statsStart = monotonicNanoseconds()
        let after = GatewayStats(gateway)
        let statsSeconds = Double(monotonicNanoseconds() - statsStart) / 1e9
        if statsSeconds > 0.05 { print("  (the gateway took \(format(statsSeconds * 1000)) ms to report its counters)") }
        return (
            Window(
                seconds: elapsed, counters: generator.counters - countersBefore, cpuSeconds: Double(after.cpu - before.cpu) / 1e9,
                processSeconds: Double(after.process - before.process) / 1e9, generatorSeconds: generatorSeconds,
                relayed: after.relayed - before.relayed,
                allocations: after.allocations.flatMap { after in
                    before.allocations.map { (after.process - $0.process, after.loop - $0.loop) }
                },
                dropped: after.dropped.flatMap { after in before.dropped.map { after - $0 } }
            ),
            after
        )
    }
}

func format(_ value: Double, _ decimals: Int = 0) -> String {
    var text = ""
    let scaled = (value * pow(10, Double(decimals))).rounded() / pow(10, Double(decimals))
    let integer = Int(scaled.rounded(.towardZero))
    var digits = String(abs(integer))
    var grouped = ""
    while digits.count > 3 {
        grouped = "," + digits.suffix(3) + grouped
        digits.removeLast(3)
    }
    text = (scaled < 0 ? "-" : "") + digits + grouped
    if decimals > 0 {
        let fraction = Int((abs(scaled - Double(integer)) * pow(10, Double(decimals))).rounded())
        let padded = String(fraction)
        text += "." + String(repeating: "0", count: max(0, decimals - padded.count)) + padded
    }
    return text
}

func report(_ name: String, _ window: Window) {
    let counters = window.counters
    print(
        "  \(name): \(format(Double(counters.sent) / window.seconds)) packets/s sent, \(format(Double(window.relayed) / window.seconds)) sent on by the gateway, "
            + "\(format(Double(counters.received) / window.seconds)) received back intact; media thread(s) \(format(window.cpuSeconds, 3)) CPU-s "
            + "in \(format(window.seconds, 2)) s (\(format(window.load * 100, 1)) % of a core), process \(format(window.processSeconds, 3)) CPU-s"
    )
    print(
        "  \(name): \(format(window.packetsPerCPUSecond)) packets per CPU-second (\(format(1e6 / window.packetsPerCPUSecond, 2)) µs a packet); "
            + "RTCP \(counters.rtcp), STUN \(counters.stun), SRTP failures \(counters.authenticationFailures), wrong payload \(counters.wrongPayload), "
            + "unknown source \(counters.unknownSource), refused by the load generator's kernel \(counters.refused)"
    )
    if let allocations = window.allocations, window.relayed > 0 {
        print(
            "  \(name): heap allocations \(format(Double(allocations.loop) / Double(window.relayed), 2)) per packet on the media thread(s), "
                + "\(format(Double(allocations.process) / Double(window.relayed), 2)) in the whole gateway process "
                + "(\(allocations.loop) and \(allocations.process) for \(window.relayed) packets)"
        )
    }
    if let dropped = window.dropped {
        print("  \(name): relayed packets the gateway dropped (send buffer full, or refused by its kernel): \(dropped)")
    }
    if Double(window.relayed) < 0.97 * Double(counters.sent) {
        print("  \(name): warning: the gateway passed on only \(format(100 * Double(window.relayed) / Double(counters.sent), 1)) % of what was sent: it fell behind (not scheduled enough?), so this window is not steady")
    }
    print(
        "  \(name): per leg sent browser \(counters.sentToBrowserLeg) call centre \(counters.sentToCalleeLeg), back on the browser socket "
            + "\(counters.receivedOnBrowserLeg), on the call-centre socket \(counters.receivedOnCalleeLeg); load generator \(format(window.generatorSeconds, 3)) CPU-s"
    )
}

if CommandLine.arguments.dropFirst().first == "srtp" {
    cmr_line_buffer_stdout()
    // libsrtp2's cost against the number of sessions taking packets in turn.
    print("process backend: \(SRTPSession.cryptoBackend.rawValue), load \(loadAverages())")
    for sessions in CommandLine.arguments.dropFirst(2).compactMap({ Int($0) }) {
        for profile in [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
            for backend in [SRTPCryptoBackend.builtin, .openSSL] {
                let cost = SRTPCost.measure(profile: profile, sessions: sessions, backend: backend)
                print(
                    "\(sessions) sessions, \(profile.sdesSuiteName), \(backend.rawValue): protect \(format(cost.protectNanoseconds / 1000, 2)) µs, "
                        + "unprotect \(format(cost.unprotectNanoseconds / 1000, 2)) µs"
                )
            }
        }
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "srtp-memory" {
    cmr_line_buffer_stdout()
    // The live heap per session, as a relayed call holds one for the browser leg.
    let sessions = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 300
    // The process's backend first (what NSS keeps after its first batch counts there).
    let backend = SRTPSession.cryptoBackend
    print("backend: \(backend.rawValue) (SWITCHBOARD_SRTP_BACKEND=builtin for libsrtp2's own)")
    for profile in [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
        for batch in ["first", "second"] {
            let memory = srtpMemory(profile: profile, sessions: sessions)
            print(
                "\(profile.sdesSuiteName), \(backend.rawValue), \(batch) batch of \(sessions): \(format(memory.made, 1)) KiB a session made, "
                    + "\(format(memory.used, 1)) KiB after a packet each way"
            )
        }
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "transcode" {
    runTranscode(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
let options = Options(Array(CommandLine.arguments.dropFirst()))
if options.mode == "gateway" {
    GatewayProcess.run(mode: options.gatewayMode, threads: options.threads, ports: options.ports, complexity: options.complexity)
    exit(0)
}

cmr_line_buffer_stdout()
signal(SIGPIPE, SIG_IGN)
if options.priority != 0, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(options.priority)) != 0 {
    fail("setpriority \(options.priority): errno \(errno)")
}
print(
    "media relay: \(options.calls) calls, 50 packets/s each way per call, \(format(options.window, 1)) s window after \(format(options.warmup, 1)) s, "
        + "nice \(options.priority), load \(loadAverages())"
)

let gatewayBackend = SRTPSession.cryptoBackend
print("== libsrtp2, 172-byte RTP packet (thread CPU time, best of 5 × 20,000); the gateway's crypto backend: \(gatewayBackend.rawValue)")
var costs: [SRTPCryptoBackend: [SRTPProfile: SRTPCost]] = [:]
for backend in [SRTPCryptoBackend.builtin, .openSSL] {
    for profile in [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
        let single = SRTPCost.measure(profile: profile, backend: backend)
        let cost = SRTPCost.measure(profile: profile, sessions: options.calls, backend: backend)
        costs[backend, default: [:]][profile] = cost
        print(
            "  \(profile.sdesSuiteName), \(backend.rawValue): one session: protect \(format(single.protectNanoseconds / 1000, 2)) µs, unprotect \(format(single.unprotectNanoseconds / 1000, 2)) µs; "
                + "\(options.calls) sessions in turn: protect \(format(cost.protectNanoseconds / 1000, 2)) µs, unprotect \(format(cost.unprotectNanoseconds / 1000, 2)) µs"
        )
    }
}

let certificate: DTLSCertificate
do {
    certificate = try DTLSCertificate.generate(commonName: "browser")
} catch {
    fail("certificate: \(error)")
}
let gatewayArguments = ["gateway", "--threads", String(options.threads), "--ports", "\(options.ports.lowerBound)-\(options.ports.upperBound)"]

print("== bare UDP echo (epoll, recvmmsg/sendmmsg of up to 16), \(2 * options.calls) sockets, the relay's traffic")
let gatewayEnvironment = options.allocationCounter.map { ["LD_PRELOAD=\($0)"] } ?? []
let echoGateway = ChildProcess(arguments: gatewayArguments + ["--mode", "echo"], environment: gatewayEnvironment)
guard echoGateway.channel.receive()?.hasPrefix("READY") == true else { fail("the echo process did not start") }
let echoGenerator = LoadGenerator(relay: false, certificate: certificate)
_ = echoGenerator.open(options.calls, at: echoGateway)
let (echo, _) = Window.measure(echoGenerator, gateway: echoGateway, warmup: options.warmup, seconds: options.window)
echoGateway.finish()
report("echo", echo)

print("== relay through MediaPlane (\(options.threads) event loop thread(s)), PCMU ↔ PCMU, DTLS-SRTP")
let relayGateway = ChildProcess(arguments: gatewayArguments + ["--mode", "relay"], environment: gatewayEnvironment)
guard let relayReady = relayGateway.channel.receive(), relayReady.hasPrefix("READY") else { fail("the relay process did not start") }
print("  gateway process \(relayGateway.pid), event loop thread(s) \(fields(relayReady)["threads"] ?? "?")")
let relayGenerator = LoadGenerator(relay: true, certificate: certificate)
// Memory: the resident set with a tenth of the calls up and streaming, then with all of them.
let warmCalls = max(1, options.calls / 10)
relayGenerator.connect(relayGenerator.open(warmCalls, at: relayGateway))
relayGenerator.stream(seconds: 2)
let warm = GatewayStats(relayGateway)
let setupStart = monotonicNanoseconds()
relayGenerator.connect(relayGenerator.open(options.calls - warmCalls, at: relayGateway))
let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9
guard let negotiated = relayGenerator.profile, let builtinCost = costs[.builtin]?[negotiated], let openSSLCost = costs[.openSSL]?[negotiated] else {
    fail("no SRTP profile was negotiated")
}
print("  \(options.calls - warmCalls) calls set up (offer, answer, ICE, DTLS) in \(format(setupSeconds, 2)) s; profile \(negotiated.sdesSuiteName)")
let (relay, full) = Window.measure(relayGenerator, gateway: relayGateway, warmup: options.warmup, seconds: options.window)
relayGateway.finish()
report("relay", relay)
let perCall = relayGenerator.receivedPerCall
let starved = relayGenerator.starvedCalls
print("  per call, packets received on its weaker leg: least \(perCall.least), median \(perCall.median), most \(perCall.most); \(starved.count) calls under half the median\(starved.isEmpty ? "" : " (first: \(starved.prefix(8).map(String.init).joined(separator: ", ")))")")
if full.ended > 0 { print("  warning: \(full.ended) sessions ended on their own during the run") }

// One relayed call: 50 packet pairs a second, each pair one packet in and out per direction
// (two echoes) plus one unprotect (browser → call centre) and one protect (the way back).
// The bound is given with libsrtp2's cost on each backend: the built-in one (NSS on Debian) is
// the issue's definition, the OpenSSL one what libsrtp2 costs now.
let echoSecondsPerPacket = 1 / echo.packetsPerCPUSecond
func bound(_ cost: SRTPCost) -> (secondsPerPair: Double, calls: Double) {
    let secondsPerPair = 2 * echoSecondsPerPacket + (cost.protectNanoseconds + cost.unprotectNanoseconds) / 1e9
    return (secondsPerPair, 1 / (50 * secondsPerPair))
}
let relayCalls = relay.packetsPerCPUSecond / 100
let memoryPerCall = Double(full.rss - warm.rss) / Double(options.calls - warmCalls)

print("== result (the gateway's crypto backend: \(gatewayBackend.rawValue))")
for cost in [builtinCost, openSSLCost] {
    let (secondsPerPair, calls) = bound(cost)
    print("  bound (libsrtp2 \(cost.backend.rawValue)): 2 × \(format(echoSecondsPerPacket * 1e6, 2)) µs echo + \(format(cost.protectNanoseconds / 1000, 2)) µs protect + \(format(cost.unprotectNanoseconds / 1000, 2)) µs unprotect = \(format(secondsPerPair * 1e6, 2)) µs per relayed pair → \(format(calls)) calls per core")
}
print("  relay: \(format(relay.packetsPerCPUSecond)) packets per CPU-second (\(format(1e6 / relay.packetsPerCPUSecond, 2)) µs a packet) → \(format(relayCalls)) relayed calls per core")
if let allocations = relay.allocations, relay.relayed > 0 {
    print("  allocations: \(format(Double(allocations.loop) / Double(relay.relayed), 2)) per relayed packet on the event loop, \(format(Double(allocations.process) / Double(relay.relayed), 2)) in the gateway process")
} else {
    print("  allocations: not counted (no --allocation-counter)")
}
print("  ratio to the bound (libsrtp2 builtin): \(format(relayCalls / bound(builtinCost).calls, 2)) (goal ≥ 0.80)")
print("  ratio to the bound (libsrtp2 openssl): \(format(relayCalls / bound(openSSLCost).calls, 2))")
print("  memory: \(format(memoryPerCall, 1)) KiB resident per relayed call (\(options.calls - warmCalls) calls, \(warm.rss) → \(full.rss) KiB; goal ≤ 64 KiB)")
if let warmHeap = warm.heap, let fullHeap = full.heap {
    // Resident memory also holds what was freed but not returned (the DTLS handshakes of calls set up together).
    print("  heap: \(format(Double(fullHeap - warmHeap) / Double(options.calls - warmCalls), 1)) KiB of live allocations per relayed call (\(warmHeap) → \(fullHeap) KiB)")
}
print("  load after the run: \(loadAverages())")
