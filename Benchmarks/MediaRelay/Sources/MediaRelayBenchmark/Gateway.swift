import CMediaRelaySystem
import Glibc
import Logging
import MediaPlane
import NIOCore
import NIOPosix
import SIP
import Synchronization

/// The gateway process: the real `MediaPlane` (relay and transcode modes) or the bare UDP echo (echo mode),
/// driven over stdin/stdout by the load generator. It measures itself: the CPU time of its
/// media threads (scheduler runtime per thread) and its resident set.
///
/// Control lines (one answer line each):
/// - `CALL ufrag=… pwd=… fingerprint=sha-256/AB:… rtp=<port> rtcp=<port>`: the browser's offer
///   and the call centre's RTP and RTCP ports. Relay: the call is opened with
///   `MediaPlane.openBrowserCall` (trunk codecs PCMU), the call centre's answer (PCMU to `rtp`)
///   is given to `BrowserCallMedia.answer` as the B2BUA does with a 200 OK, and the answer is
///   `OK browser=<port> ufrag=… pwd=… fingerprint=… callee=<port>`. Transcode: the same, but
///   the browser offers Opus only (48000/2, useinbandfec=1), so the plan must transcode Opus ↔
///   PCMU (the call is refused otherwise); the media plane encodes Opus at `--complexity`.
///   Echo: two echo sockets, the answer `OK browser=<port> callee=<port>`.
/// - `STATS`: `STATS cpu=<ns of the media threads> process=<ns> rss=<KiB> heap=<KiB of live
///   allocations> ended=<sessions ended>`
///   (and the heap allocations so far, when the allocation counter is preloaded; see `stats`).
/// - `QUIT`.
enum GatewayProcess {
    static func run(mode: String, threads: Int, ports: ClosedRange<Int>, complexity: Int = 8) {
        let channel = LineChannel(input: 0, output: 1)
        switch mode {
        case "relay": runRelay(channel: channel, threads: threads, ports: ports)
        case "transcode": runRelay(channel: channel, threads: threads, ports: ports, transcode: true, complexity: complexity)
        case "echo": runEcho(channel: channel)
        default: fail("unknown gateway mode \(mode)")
        }
    }

    /// With the allocation counter preloaded, also `allocations=<process> loop-allocations=<media
    /// threads>`, read with the CPU time, after `relayed` was gathered (as the CPU time, a window
    /// includes the gathering of its closing request).
    static func stats(threads: [Int32], ended: Int, relayed: Int, dropped: Int? = nil) -> String {
        var line = dropped.map { " dropped=\($0)" } ?? ""
        if let counter = AllocationCounter.preloaded {
            line += " allocations=\(counter.process) loop-allocations=\(threads.reduce(0) { $0 + counter.thread($1) })"
        }
        let cpu = threads.reduce(Int64(0)) { $0 + threadRuntimeNanoseconds($1) }
        return "STATS cpu=\(cpu) process=\(processCPUNanoseconds()) rss=\(residentKiB()) heap=\(cmr_heap_in_use() / 1024) ended=\(ended) relayed=\(relayed)"
            + line
    }

    /// RTP packets the sessions sent on both legs so far, from their statistics (read on their loops).
    static func packetsSent(_ calls: [BrowserCallMedia]) -> Int {
        relayCounts(calls).sent
    }

    /// RTP packets the sessions sent on both legs so far, and those they dropped because the
    /// kernel did not take them (a full send buffer, or another error), from their statistics.
    static func relayCounts(_ calls: [BrowserCallMedia]) -> (sent: Int, dropped: Int) {
        final class Sum: Sendable {
            let total = Atomic<Int>(0)
            let dropped = Atomic<Int>(0)
            let done = Atomic<Bool>(false)
        }
        let sum = Sum()
        Task {
            // All at once, so the loop answers them in a few wake-ups.
            let (total, dropped) = await withTaskGroup(of: (Int, Int).self) { group in
                for call in calls {
                    group.addTask {
                        let statistics = await call.statistics()
                        let (browser, callee) = (statistics.browser, statistics.callee)
                        return (
                            browser.packetsSent + callee.packetsSent,
                            browser.sendBufferDrops + browser.sendFailures + callee.sendBufferDrops + callee.sendFailures
                        )
                    }
                }
                return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            sum.total.store(total, ordering: .relaxed)
            sum.dropped.store(dropped, ordering: .relaxed)
            sum.done.store(true, ordering: .releasing)
        }
        while !sum.done.load(ordering: .acquiring) { usleep(200) }
        return (sum.total.load(ordering: .relaxed), sum.dropped.load(ordering: .relaxed))
    }

    // MARK: Relay

    static func runRelay(channel: LineChannel, threads: Int, ports: ClosedRange<Int>, transcode: Bool = false, complexity: Int = 8) {
        var logger = Logger(label: "media-relay-gateway")
        logger.logLevel = .warning
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let directory = "/tmp/media-relay-\(getpid())"
        mkdir(directory, 0o700)
        defer {
            unlink(directory + "/dtls-key.pem")
            unlink(directory + "/dtls-certificate.pem")
            rmdir(directory)
        }
        let plane: MediaPlane
        do {
            var configuration = MediaPlaneConfiguration(
                bindHost: "127.0.0.1", advertisedHost: "127.0.0.1", ports: ports, mediaTimeout: .seconds(600),
                iceTimeout: .seconds(60), consentTimeout: .seconds(60), opusComplexity: complexity, certificateDirectory: directory
            )
            // TRANSCODING_TICK_MS: the transcoding playout tick (the server's default otherwise).
            if let text = getenv("TRANSCODING_TICK_MS").map({ String(cString: $0) }), let milliseconds = Int(text), milliseconds > 0 {
                configuration.transcodingTick = .milliseconds(milliseconds)
            }
            // RECEIVE_INTERVAL_US: how often the loop reads its media sockets (the server's
            // default otherwise); 0 has NIO read each socket's datagrams as they come.
            if let text = getenv("RECEIVE_INTERVAL_US").map({ String(cString: $0) }), let microseconds = Int(text), microseconds >= 0 {
                configuration.receiveInterval = microseconds == 0 ? nil : .microseconds(microseconds)
            }
            // RECEIVE_POLL_ABOVE: the datagrams a second above which the loop polls (the server's
            // default otherwise); 0 has it poll whatever the rate.
            if let text = getenv("RECEIVE_POLL_ABOVE").map({ String(cString: $0) }), let rate = Int(text), rate >= 0 {
                configuration.receivePollAbove = rate == 0 ? nil : rate
            }
            plane = try MediaPlane(configuration: configuration, group: group, logger: logger)
        } catch {
            fail("MediaPlane: \(error)")
        }
        var loopThreads: [Int32] = []
        for loop in group.makeIterator() {
            guard let tid = try? loop.submit({ currentThreadID() }).wait() else { fail("event loop did not answer") }
            loopThreads.append(tid)
        }
        let endedBox = EndedCounter()
        var calls: [BrowserCallMedia] = []
        channel.send("READY pid=\(getpid()) threads=\(loopThreads.map(String.init).joined(separator: ","))")
        while let line = channel.receive() {
            if line.hasPrefix("CALL ") {
                let values = fields(line)
                do {
                    let (media, answer) = try openCall(plane: plane, values: values, index: calls.count, ended: endedBox, transcode: transcode)
                    calls.append(media)
                    channel.send(answer)
                } catch {
                    channel.send("ERROR \(error)")
                }
            } else if line == "STATS" {
                let counts = relayCounts(calls)
                channel.send(stats(threads: loopThreads, ended: endedBox.value, relayed: counts.sent, dropped: counts.dropped))
            } else if line == "QUIT" {
                break
            } else {
                channel.send("ERROR unknown request")
            }
        }
        for call in calls { call.close() }
        try? group.syncShutdownGracefully()
    }

    final class EndedCounter: Sendable {
        let ended = Atomic<Int>(0)
        var value: Int { ended.load(ordering: .relaxed) }
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        var description: String
    }

    /// One call as the B2BUA sets it up: the browser's WebRTC offer, the trunk's codecs, the
    /// call centre's answer. With `transcode`, the browser offers Opus only.
    static func openCall(
        plane: MediaPlane, values: [String: String], index: Int, ended: EndedCounter, transcode: Bool = false
    ) throws -> (BrowserCallMedia, String) {
        guard let ufrag = values["ufrag"], let password = values["pwd"], let fingerprint = values["fingerprint"],
            let rtp = values["rtp"], let rtcp = values["rtcp"]
        else { throw BenchmarkError(description: "CALL needs ufrag, pwd, fingerprint, rtp and rtcp") }
        let mediaLine = transcode ? "m=audio 9 UDP/TLS/RTP/SAVPF 111" : "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 126"
        let formats: [String] = transcode
            ? ["a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1"]
            : ["a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:0 PCMU/8000", "a=rtpmap:126 telephone-event/8000"]
        let lines: [String] = [
            "v=0", "o=- \(4_611_686_018_427_387_904 + index) 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
            "a=msid-semantic: WMS browser", mediaLine, "c=IN IP4 0.0.0.0",
            "a=rtcp:9 IN IP4 0.0.0.0", "a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host",
            "a=ice-ufrag:\(ufrag)", "a=ice-pwd:\(password)", "a=ice-options:trickle",
            "a=fingerprint:\(fingerprint.replacing("/", with: " "))", "a=setup:actpass", "a=mid:0",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=sendrecv", "a=msid:browser audio", "a=rtcp-mux",
        ]
        let offerText = (lines + formats + [""]).joined(separator: "\r\n")
        let offer = try BrowserOffer(SDPSessionDescription(parsing: offerText))
        let media = try plane.openBrowserCall(offer: offer, calleeCodecs: [.pcmu], callId: "bench-\(index)") { _ in
            ended.ended.add(1, ordering: .relaxed)
        }
        guard let calleePort = media.calleeOffer.media.first?.port else { throw BenchmarkError(description: "no port in the callee offer") }
        let answerText = [
            "v=0", "o=callcentre \(index + 1) 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            "m=audio \(rtp) RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=rtcp:\(rtcp)", "a=ptime:20", "a=sendrecv", "",
        ].joined(separator: "\r\n")
        let answer = try media.answer(SDPSessionDescription(parsing: answerText))
        guard let audio = answer.media.first, let answerUfrag = audio.attributes.iceUsernameFragment ?? answer.attributes.iceUsernameFragment,
            let answerPassword = audio.attributes.icePassword ?? answer.attributes.icePassword,
            let gatewayFingerprint = audio.attributes.fingerprints.first ?? answer.attributes.fingerprints.first
        else { throw BenchmarkError(description: "the browser answer lacks ICE or DTLS parameters") }
        if transcode {
            guard let plan = media.plan, plan.mode == .transcode else {
                throw BenchmarkError(description: "the call is relayed, not transcoded (plan \(String(describing: media.plan?.mode)))")
            }
            guard plan.browserAudio.codec.matches(.opus), plan.browserAudio.payloadType == 111, plan.calleeAudio.codec.matches(.pcmu) else {
                throw BenchmarkError(description: "the call transcodes \(plan.browserAudio.codec) ↔ \(plan.calleeAudio.codec), not Opus ↔ PCMU")
            }
        } else {
            guard media.plan?.mode == .relay else { throw BenchmarkError(description: "the call is transcoded, not relayed") }
        }
        let fingerprintField = gatewayFingerprint.hashFunction + "/" + gatewayFingerprint.bytes.map { hex($0) }.joined(separator: ":")
        return (
            media,
            "OK browser=\(audio.port) ufrag=\(answerUfrag) pwd=\(answerPassword) fingerprint=\(fingerprintField) callee=\(calleePort)"
        )
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    // MARK: Echo

    static func runEcho(channel: LineChannel) {
        let echo = UDPEcho()
        let tid = echo.start()
        channel.send("READY pid=\(getpid()) threads=\(tid)")
        while let line = channel.receive() {
            if line.hasPrefix("CALL ") {
                let browser = echo.add()
                let callee = echo.add()
                channel.send("OK browser=\(browser) callee=\(callee)")
            } else if line == "STATS" {
                channel.send(stats(threads: [tid], ended: 0, relayed: echo.echoed))
            } else if line == "QUIT" {
                break
            } else {
                channel.send("ERROR unknown request")
            }
        }
    }
}
