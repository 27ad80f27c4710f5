import Glibc
import Media
import NIOCore
import RTP
import SRTP
import WebRTC

/// The browsers and call centres of N calls, in the driver process (its CPU is not counted).
///
/// All browsers share one UDP socket and all call centres one RTP and one RTCP socket: each
/// gateway session has its own sockets and latches the source address per session, so this
/// changes nothing on the gateway's side and keeps the load generator cheap (`sendmmsg` to
/// many destinations, large `recvmmsg` batches). Each browser runs ICE (binding requests with
/// USE-CANDIDATE, consent every 5 s) and a DTLS handshake as the server (`DTLSEndpoint`),
/// then sends SRTP-protected PCMU at 50 packets/s; each call centre sends plain PCMU at 50
/// packets/s. Calls are spread evenly over the 20 ms of a packet interval. What comes back is
/// checked: SRTP authenticates (browser side), the payload is the one sent on the other leg.
///
/// With `speech` (the transcode run), the browsers send Opus (payload type 111, 20 ms frames of
/// speech at 32 kb/s, encoded once in ``SpeechMedia``) and the call centres PCMU of the same
/// speech; each call starts at its own frame of the recording. What comes back is checked as
/// what the gateway transcoded: PCMU of 160 bytes on the call-centre socket (and how many of
/// those carry sound), authenticated Opus of 20 ms on the browser socket, every packet of every
/// fourth call decoded with libopus.
final class LoadGenerator {
    final class Call {
        let index: Int
        let ufrag: String
        let password: String
        var gatewayBrowserPort: UInt16 = 0
        var gatewayCalleePort: UInt16 = 0
        var gatewayUfrag = ""
        var gatewayKey = STUNIntegrityKey(bytes: [])
        var dtls: DTLSEndpoint?
        var dtlsTimer: NIODeadline?
        var srtp: SRTPSession?
        var lastCheck: Int64 = 0
        var browserSequence: UInt16
        var calleeSequence: UInt16
        var browserTimestamp: UInt32
        var calleeTimestamp: UInt32
        let browserSSRC: UInt32
        let calleeSSRC: UInt32
        /// RTP received for this call on the browser socket and on the call-centre socket.
        var receivedOnBrowserLeg = 0
        var receivedOnCalleeLeg = 0
        /// Transcode run: the next frame of the speech each leg sends, whether the next packet
        /// starts the talkspurt (marker bit), and the decoder that checks what comes back.
        var speechFrame = 0
        var browserMarker = true
        var calleeMarker = true
        var opusDecoder: OpusDecoder?

        init(index: Int) {
            self.index = index
            let credentials = ICECredentials.random()
            ufrag = credentials.usernameFragment
            password = credentials.password
            browserSequence = UInt16.random(in: 0...0x7FFF)
            calleeSequence = UInt16.random(in: 0...0x7FFF)
            browserTimestamp = UInt32.random(in: 0...UInt32.max)
            calleeTimestamp = UInt32.random(in: 0...UInt32.max)
            browserSSRC = UInt32.random(in: 1...UInt32.max)
            calleeSSRC = UInt32.random(in: 1...UInt32.max)
        }
    }

    struct Counters {
        var sentToBrowserLeg = 0
        var sentToCalleeLeg = 0
        /// RTP that came back on the browsers' socket (relay: from the call centres) and authenticated.
        var receivedOnBrowserLeg = 0
        /// RTP that came back on the call centres' socket.
        var receivedOnCalleeLeg = 0
        var rtcp = 0
        var stun = 0
        var dtls = 0
        var authenticationFailures = 0
        var wrongPayload = 0
        var unknownSource = 0
        /// Datagrams the load generator's kernel refused to send (counted as sent above).
        var refused = 0
        /// Transcode run: PCMU packets on the call-centre socket that carry sound; Opus packets
        /// from the gateway decoded in the check, those that carry sound, those libopus refused.
        var voicedOnCalleeLeg = 0
        var opusDecoded = 0
        var opusVoiced = 0
        var opusDecodeFailures = 0

        var sent: Int { sentToBrowserLeg + sentToCalleeLeg }
        var received: Int { receivedOnBrowserLeg + receivedOnCalleeLeg }

        static func - (lhs: Counters, rhs: Counters) -> Counters {
            var result = Counters()
            result.sentToBrowserLeg = lhs.sentToBrowserLeg - rhs.sentToBrowserLeg
            result.sentToCalleeLeg = lhs.sentToCalleeLeg - rhs.sentToCalleeLeg
            result.receivedOnBrowserLeg = lhs.receivedOnBrowserLeg - rhs.receivedOnBrowserLeg
            result.receivedOnCalleeLeg = lhs.receivedOnCalleeLeg - rhs.receivedOnCalleeLeg
            result.rtcp = lhs.rtcp - rhs.rtcp
            result.stun = lhs.stun - rhs.stun
            result.dtls = lhs.dtls - rhs.dtls
            result.authenticationFailures = lhs.authenticationFailures - rhs.authenticationFailures
            result.wrongPayload = lhs.wrongPayload - rhs.wrongPayload
            result.unknownSource = lhs.unknownSource - rhs.unknownSource
            result.refused = lhs.refused - rhs.refused
            result.voicedOnCalleeLeg = lhs.voicedOnCalleeLeg - rhs.voicedOnCalleeLeg
            result.opusDecoded = lhs.opusDecoded - rhs.opusDecoded
            result.opusVoiced = lhs.opusVoiced - rhs.opusVoiced
            result.opusDecodeFailures = lhs.opusDecodeFailures - rhs.opusDecodeFailures
            return result
        }
    }

    /// `relay`: the real media plane (ICE, DTLS, SRTP); `echo`: the bare echo, where the same
    /// packets come back to the socket they were sent from.
    let relay: Bool
    /// The transcode run's media (relay and echo runs: nil, PCMU test packets).
    let speech: SpeechMedia?
    let browserSocket: (descriptor: CInt, port: UInt16)
    let calleeSocket: (descriptor: CInt, port: UInt16)
    let calleeRTCPSocket: (descriptor: CInt, port: UInt16)
    let certificate: DTLSCertificate
    private(set) var calls: [Call] = []
    private var byBrowserPort = [Int32](repeating: -1, count: 65536)
    private var byCalleePort = [Int32](repeating: -1, count: 65536)
    private var counted = Counters()
    var counters: Counters {
        var counters = counted
        counters.refused = sendBatch.refused
        return counters
    }
    var lastSendError: CInt { sendBatch.lastError }
    private(set) var profile: SRTPProfile?
    private let sendBatch: DatagramBatch
    private let receiveBatch = DatagramBatch(capacity: 64, slotSize: 2048)
    /// Decoded Opus of the check.
    private let decoded = UnsafeMutableBufferPointer<Int16>.allocate(capacity: OpusDecoder.maximumFrameSize)
    private var tick = 0
    private var nextTick: Int64 = 0
    static let slots = 20

    init(relay: Bool, certificate: DTLSCertificate, speech: SpeechMedia? = nil) {
        self.relay = relay
        self.certificate = certificate
        self.speech = speech
        // Opus packets of speech are larger than the relay's 172 bytes now and then.
        sendBatch = DatagramBatch(capacity: 64, slotSize: speech == nil ? 256 : 1536)
        browserSocket = bindLoopbackUDP(buffer: 64 << 20)
        calleeSocket = bindLoopbackUDP(buffer: 64 << 20)
        calleeRTCPSocket = bindLoopbackUDP()
    }

    deinit {
        close(browserSocket.descriptor)
        close(calleeSocket.descriptor)
        close(calleeRTCPSocket.descriptor)
        decoded.deallocate()
    }

    var fingerprintField: String {
        certificate.fingerprint.algorithm.rawValue + "/" + certificate.fingerprint.digest.map { GatewayProcess.hex($0) }.joined(separator: ":")
    }

    // MARK: Set-up

    /// Opens `count` more calls at the gateway (the signalling: offer, the call centre's answer).
    func open(_ count: Int, at gateway: ChildProcess) -> Range<Int> {
        let first = calls.count
        for index in first..<(first + count) {
            let call = Call(index: index)
            if let speech {
                // The calls start spread over the recording, so that together they play all of it.
                call.speechFrame = index * speech.frames / max(count, 1) % speech.frames
                if index % 4 == 0 {
                    do {
                        call.opusDecoder = try OpusDecoder()
                    } catch {
                        fail("OpusDecoder: \(error)")
                    }
                }
            }
            let answer = gateway.request(
                "CALL ufrag=\(call.ufrag) pwd=\(call.password) fingerprint=\(fingerprintField) rtp=\(calleeSocket.port) rtcp=\(calleeRTCPSocket.port)"
            )
            guard let browser = answer["browser"].flatMap({ UInt16($0) }), let callee = answer["callee"].flatMap({ UInt16($0) }) else {
                fail("bad CALL answer \(answer)")
            }
            call.gatewayBrowserPort = browser
            call.gatewayCalleePort = callee
            byBrowserPort[Int(browser)] = Int32(index)
            byCalleePort[Int(callee)] = Int32(index)
            if relay {
                guard let ufrag = answer["ufrag"], let password = answer["pwd"], let fingerprint = answer["fingerprint"] else {
                    fail("no ICE or DTLS parameters in \(answer)")
                }
                call.gatewayUfrag = ufrag
                call.gatewayKey = STUNIntegrityKey.shortTerm(password: password)
                let parts = fingerprint.split(separator: "/")
                guard parts.count == 2, let algorithm = DTLSFingerprint.Algorithm(sdpName: parts[0]),
                    let remote = DTLSFingerprint(algorithm: algorithm, hex: parts[1])
                else { fail("bad fingerprint \(fingerprint)") }
                do {
                    call.dtls = try DTLSEndpoint(configuration: .init(role: .server, certificate: certificate, remoteFingerprint: remote))
                } catch {
                    fail("DTLSEndpoint: \(error)")
                }
            } else {
                // The echo returns the browser's own packets: one key protects and unprotects.
                guard let key = try? SRTPMasterKey.random(profile: .aeadAES128GCM),
                    let session = try? SRTPSession(outbound: key, inbound: key)
                else { fail("cannot make an SRTP session") }
                call.srtp = session
            }
            calls.append(call)
        }
        return first..<calls.count
    }

    /// ICE and DTLS for the calls in `range` (relay only), a few dozen at a time.
    func connect(_ range: Range<Int>) {
        guard relay else { return }
        var start = range.lowerBound
        while start < range.upperBound {
            let batch = start..<min(start + 32, range.upperBound)
            connectBatch(batch)
            start = batch.upperBound
        }
    }

    private func connectBatch(_ range: Range<Int>) {
        let now = NIODeadline.now()
        for index in range {
            let call = calls[index]
            guard let dtls = call.dtls else { continue }
            _ = dtls.start(now: now)
            sendCheck(call)
        }
        sendBatch.send(on: browserSocket.descriptor)
        let limit = monotonicNanoseconds() + 30_000_000_000
        while range.contains(where: { calls[$0].srtp == nil }) {
            guard monotonicNanoseconds() < limit else { fail("ICE and DTLS did not complete within 30 s") }
            drain()
            let now = NIODeadline.now()
            let clock = monotonicNanoseconds()
            for index in range where calls[index].srtp == nil {
                let call = calls[index]
                if let timer = call.dtlsTimer, now >= timer, let dtls = call.dtls {
                    handle(dtls.timerFired(now: now), call: call)
                }
                // A browser repeats its checks until the pair works.
                if clock - call.lastCheck > 500_000_000 { sendCheck(call) }
            }
            sendBatch.send(on: browserSocket.descriptor)
            usleep(1000)
        }
    }

    private func sendCheck(_ call: Call) {
        call.lastCheck = monotonicNanoseconds()
        let username = "\(call.gatewayUfrag):\(call.ufrag)"
        let key = call.gatewayKey
        guard
            let request = try? STUNDatagram(type: .bindingRequest, transactionID: .random(), { writer throws(STUNEncodeError) in
                try writer.append(.username, text: username)
                try writer.appendPriority(2_122_260_223)
                try writer.appendICEControlling(tiebreaker: UInt64(call.index) &* 0x9E37_79B9_7F4A_7C15)
                try writer.appendUseCandidate()
                try writer.appendMessageIntegrity(key: key)
                try writer.appendFingerprint()
            })
        else { fail("cannot write a binding request") }
        queue(on: browserSocket.descriptor, to: call.gatewayBrowserPort) { slot in
            request.withUnsafeBytes { bytes in
                slot.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                return bytes.count
            }
        }
    }

    private func handle(_ output: DTLSOutput, call: Call) {
        for datagram in output.datagrams {
            // Flights go out at once, in order, not behind a batch of media.
            sendBatch.send(on: browserSocket.descriptor)
            var datagram = datagram
            datagram.withUnsafeMutableReadableBytes { bytes in
                var address = loopbackAddress(port: call.gatewayBrowserPort)
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(browserSocket.descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
        call.dtlsTimer = output.nextTimer
        switch output.event {
        case .connected(let keys)?:
            do {
                call.srtp = try SRTPSession(keys: keys)
                profile = keys.profile
            } catch {
                fail("SRTPSession: \(error)")
            }
        case .failed(let failure)?:
            fail("DTLS failed for call \(call.index): \(failure)")
        case .closed?:
            fail("DTLS closed for call \(call.index)")
        case nil:
            break
        }
    }

    /// Queues a datagram written by `write` (which returns its length) for the gateway port,
    /// sending the batch first when it is full.
    private func queue(on descriptor: CInt, to port: UInt16, _ write: (UnsafeMutableRawPointer) -> Int) {
        if sendBatch.nextSlot == nil { sendBatch.send(on: descriptor) }
        guard let slot = sendBatch.nextSlot else { return }
        sendBatch.queue(length: write(slot), to: port)
    }

    // MARK: Media

    /// Sends and receives media for `seconds`, at 50 packets/s each way per call.
    func stream(seconds: Double) {
        let now = monotonicNanoseconds()
        if nextTick == 0 || nextTick < now - 100_000_000 { nextTick = now }
        let end = now + Int64(seconds * 1e9)
        while true {
            var clock = monotonicNanoseconds()
            if clock >= end { break }
            while nextTick <= clock {
                sendTick(tick)
                tick += 1
                nextTick += 1_000_000
            }
            drain()
            clock = monotonicNanoseconds()
            if nextTick > clock {
                var pause = timespec(tv_sec: 0, tv_nsec: Int(nextTick - clock))
                nanosleep(&pause, nil)
            }
        }
        drain()
    }

    /// Per call, the lesser of what it received on its two legs: smallest, median, largest.
    var receivedPerCall: (least: Int, median: Int, most: Int) {
        let counts = calls.map { min($0.receivedOnBrowserLeg, $0.receivedOnCalleeLeg) }.sorted()
        return (counts.first ?? 0, counts[counts.count / 2], counts.last ?? 0)
    }

    /// Calls that received less than half the median on a leg.
    var starvedCalls: [Int] {
        let median = receivedPerCall.median
        return calls.filter { 2 * min($0.receivedOnBrowserLeg, $0.receivedOnCalleeLeg) < median }.map(\.index)
    }

    /// Lets what is in flight arrive (the last sends, the gateway's answers to them) and reads it,
    /// so that counts taken now on both sides cover the same packets.
    func settle() {
        for _ in 0..<20 {
            usleep(2000)
            drain()
        }
    }

    /// The packets due in millisecond `tick`: the calls of its slot send one packet on each leg.
    private func sendTick(_ tick: Int) {
        let slot = tick % Self.slots
        let round = tick / Self.slots
        var index = slot
        while index < calls.count {
            let call = calls[index]
            // Consent freshness (RFC 7675): a binding request every 5 s (250 packet intervals).
            if relay, round % 250 == (index / Self.slots) % 250 { sendCheck(call) }
            if let srtp = call.srtp, let speech {
                let payload = speech.opus[call.speechFrame]
                queue(on: browserSocket.descriptor, to: call.gatewayBrowserPort) { packet in
                    writeRTPHeader(
                        into: packet, marker: call.browserMarker, sequence: call.browserSequence, timestamp: call.browserTimestamp,
                        ssrc: call.browserSSRC, payloadType: 111
                    )
                    payload.withUnsafeBytes { (packet + 12).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    guard let length = try? srtp.protectRTP(packet, length: 12 + payload.count, capacity: 1536) else { fail("protect failed") }
                    return length
                }
                call.browserMarker = false
                call.browserSequence &+= 1
                call.browserTimestamp &+= UInt32(SpeechMedia.frame48)
                counted.sentToBrowserLeg += 1
            } else if let srtp = call.srtp {
                queue(on: browserSocket.descriptor, to: call.gatewayBrowserPort) { packet in
                    writeRTP(into: packet, sequence: call.browserSequence, timestamp: call.browserTimestamp, ssrc: call.browserSSRC, payloadType: 0)
                    guard let length = try? srtp.protectRTP(packet, length: SRTPCost.packetLength, capacity: 256) else { fail("protect failed") }
                    return length
                }
                call.browserSequence &+= 1
                call.browserTimestamp &+= 160
                counted.sentToBrowserLeg += 1
            }
            index += Self.slots
        }
        sendBatch.send(on: browserSocket.descriptor)
        index = slot
        while index < calls.count {
            let call = calls[index]
            if call.srtp != nil, let speech {
                let payload = speech.pcmu[call.speechFrame]
                queue(on: calleeSocket.descriptor, to: call.gatewayCalleePort) { packet in
                    writeRTPHeader(
                        into: packet, marker: call.calleeMarker, sequence: call.calleeSequence, timestamp: call.calleeTimestamp,
                        ssrc: call.calleeSSRC, payloadType: 0
                    )
                    payload.withUnsafeBytes { (packet + 12).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    return 12 + payload.count
                }
                call.calleeMarker = false
                call.calleeSequence &+= 1
                call.calleeTimestamp &+= UInt32(SpeechMedia.frame8)
                call.speechFrame = (call.speechFrame + 1) % speech.frames
                counted.sentToCalleeLeg += 1
            } else if call.srtp != nil {
                queue(on: calleeSocket.descriptor, to: call.gatewayCalleePort) { packet in
                    writeRTP(into: packet, sequence: call.calleeSequence, timestamp: call.calleeTimestamp, ssrc: call.calleeSSRC, payloadType: 0)
                    return SRTPCost.packetLength
                }
                call.calleeSequence &+= 1
                call.calleeTimestamp &+= 160
                counted.sentToCalleeLeg += 1
            }
            index += Self.slots
        }
        sendBatch.send(on: calleeSocket.descriptor)
    }

    /// Reads everything waiting on the three sockets.
    func drain() {
        while true {
            let count = receiveBatch.receive(from: browserSocket.descriptor)
            for message in 0..<count { receivedOnBrowserSocket(message) }
            if count < receiveBatch.capacity { break }
        }
        while true {
            let count = receiveBatch.receive(from: calleeSocket.descriptor)
            for message in 0..<count { receivedOnCalleeSocket(message) }
            if count < receiveBatch.capacity { break }
        }
        while true {
            let count = receiveBatch.receive(from: calleeRTCPSocket.descriptor)
            counted.rtcp += count
            if count < receiveBatch.capacity { break }
        }
    }

    private func receivedOnBrowserSocket(_ message: Int) {
        let port = Int(receiveBatch.sourcePort(message))
        let found = byBrowserPort[port]
        guard found >= 0 else {
            counted.unknownSource += 1
            return
        }
        let call = calls[Int(found)]
        let packet = receiveBatch.slot(message)
        let length = receiveBatch.length(message)
        switch DatagramKind(classifying: UnsafeRawBufferPointer(start: packet, count: length)) {
        case .stun:
            counted.stun += 1
        case .dtls:
            counted.dtls += 1
            guard let dtls = call.dtls else { return }
            handle(dtls.receive(UnsafeRawBufferPointer(start: packet, count: length), now: .now()), call: call)
        case .rtp:
            guard let srtp = call.srtp, let plain = try? srtp.unprotectRTP(packet, length: length) else {
                counted.authenticationFailures += 1
                return
            }
            if speech != nil {
                receivedOpus(UnsafeRawBufferPointer(start: packet, count: plain), call: call)
            } else if Self.payloadIsIntact(UnsafeRawBufferPointer(start: packet, count: plain)) {
                counted.receivedOnBrowserLeg += 1
                call.receivedOnBrowserLeg += 1
            } else {
                counted.wrongPayload += 1
            }
        case .rtcp:
            counted.rtcp += 1
        default:
            counted.unknownSource += 1
        }
    }

    private func receivedOnCalleeSocket(_ message: Int) {
        let found = byCalleePort[Int(receiveBatch.sourcePort(message))]
        guard found >= 0 else {
            counted.unknownSource += 1
            return
        }
        calls[Int(found)].receivedOnCalleeLeg += 1
        let bytes = UnsafeRawBufferPointer(start: receiveBatch.slot(message), count: receiveBatch.length(message))
        switch DatagramKind(classifying: bytes) {
        case .rtp:
            if !relay {
                // The echo returns the browser-leg packets it got on this port unchanged.
                counted.receivedOnCalleeLeg += 1
            } else if speech != nil {
                // Transcoded: PCMU, 160 bytes (20 ms), from the speech the browser sent.
                guard let header = try? RTPHeader(parsing: bytes), header.payloadType == 0, header.payloadLength == SpeechMedia.frame8 else {
                    counted.wrongPayload += 1
                    return
                }
                counted.receivedOnCalleeLeg += 1
                if SpeechMedia.isVoiced(pcmu: UnsafeRawBufferPointer(rebasing: bytes[header.payload])) { counted.voicedOnCalleeLeg += 1 }
            } else if Self.payloadIsIntact(bytes) {
                counted.receivedOnCalleeLeg += 1
            } else {
                counted.wrongPayload += 1
            }
        case .rtcp:
            counted.rtcp += 1
        default:
            counted.unknownSource += 1
        }
    }

    /// Transcoded Opus from the gateway (already authenticated): payload type 111, a valid TOC
    /// of 20 ms; for the calls that check it, decoded with the call's own decoder.
    private func receivedOpus(_ bytes: UnsafeRawBufferPointer, call: Call) {
        guard let header = try? RTPHeader(parsing: bytes), header.payloadType == 111, header.payloadLength > 0 else {
            counted.wrongPayload += 1
            return
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[header.payload])
        guard OpusDecoder.sampleCount(of: payload) == SpeechMedia.frame48 else {
            counted.wrongPayload += 1
            return
        }
        counted.receivedOnBrowserLeg += 1
        call.receivedOnBrowserLeg += 1
        guard let decoder = call.opusDecoder else { return }
        guard let samples = try? decoder.decode(payload, into: decoded), samples == SpeechMedia.frame48 else {
            counted.opusDecodeFailures += 1
            return
        }
        counted.opusDecoded += 1
        if SpeechMedia.isVoiced(UnsafeBufferPointer(rebasing: decoded[0..<samples])) { counted.opusVoiced += 1 }
    }

    /// PCMU, 160 bytes, the payload ``writeRTP(into:sequence:timestamp:ssrc:payloadType:)`` wrote
    /// for the packet's sequence number (relaying keeps sequence numbers and payload).
    static func payloadIsIntact(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let header = try? RTPHeader(parsing: bytes), header.payloadType == 0, header.payloadLength == 160 else { return false }
        let sequence = Int(header.sequenceNumber)
        let start = header.payloadOffset
        return bytes[start] == UInt8(0xF0 | UInt8(sequence & 0x0F)) && bytes[start + 159] == UInt8(0xF0 | UInt8((sequence + 159) & 0x0F))
    }
}
