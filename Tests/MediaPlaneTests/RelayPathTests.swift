import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import RTP
import SRTP
import Testing
@testable import MediaPlane
import SIP

/// Relayed audio through the real sockets: the browser's SRTP to the call centre and back, as
/// the session rewrites and protects it in its scratch buffer and sends it with `sendto(2)`.
/// The browser's DTLS is skipped: the test installs the SRTP keys itself.
@Suite("Relayed audio through the sockets")
struct RelayPathTests {
    /// A blocking UDP socket of the test on 127.0.0.1 that gives up a receive after `timeout`.
    final class PeerSocket {
        let descriptor: CInt
        let port: UInt16

        init(timeout: Duration = .seconds(5)) throws {
            let descriptor = socket(AF_INET, CInt(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
            let (seconds, attoseconds) = timeout.components
            var interval = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
            self.descriptor = descriptor
            port = UInt16(bigEndian: address.sin_port)
            try #require(descriptor >= 0 && bound == 0)
        }

        deinit { close(descriptor) }

        func send(_ bytes: [UInt8], to port: UInt16) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = port.bigEndian
            _ = bytes.withUnsafeBytes { payload in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, payload.baseAddress, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// The next RTP datagram (RTCP reports are skipped, RFC 5761 §4), nil after the timeout.
        func receive() -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: 2048)
            while true {
                let count = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard count >= 0 else { return nil }
                if count >= 2, (192...223).contains(bytes[1]) { continue }
                return Array(bytes[..<count])
            }
        }
    }

    /// A relayed call: the browser's and the call centre's sockets, the media, the SRTP session
    /// the browser uses (mirroring the gateway's keys).
    struct Call {
        let plane: MediaPlane
        let group: MultiThreadedEventLoopGroup
        let directory: String
        let media: BrowserCallMedia
        let browser: PeerSocket
        let callee: PeerSocket
        let browserSRTP: SRTPSession
        var session: MediaSession { media.session }
        var browserPort: UInt16 { media.local.port }
        var calleePort: UInt16 { UInt16(media.calleeOffer.media[0].port) }

        func finish() {
            media.close()
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// The call centre re-offers `offer`; returns once the session has taken the answer.
        func reoffer(_ offer: SDPSessionDescription) async throws -> Bool {
            guard media.answerCalleeReoffer(offer) != nil else { return false }
            try await onLoop { _ in }
            return true
        }

        /// Runs `body` on the session's loop.
        func onLoop<T: Sendable>(_ body: @escaping @Sendable (MediaSession) throws -> T) async throws -> T {
            let session = self.session
            return try await session.loop.submit { try body(session) }.get()
        }
    }

    static func calleeAnswer(port: UInt16, direction: String = "sendrecv", version: Int = 1) throws -> SDPSessionDescription {
        try SDPSessionDescription(
            parsing: MediaPlanTests.crlf(
                [
                    "v=0", "o=cc 1 \(version) IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio \(port) RTP/AVP 0",
                    "a=rtpmap:0 PCMU/8000", "a=rtcp:\(port + 1)", "a=\(direction)", "",
                ].joined(separator: "\n")
            )
        )
    }

    /// Who reads the gateway's sockets.
    enum ReceivePath: CaseIterable, Sendable {
        /// The loop's ``MediaReceiver``, polling.
        case receiver
        /// NIO's channel reads (``MediaPlaneConfiguration/receiveInterval`` nil).
        case channelReads
    }

    static func open(ports: ClosedRange<Int>, reads: ReceivePath = .receiver) async throws -> Call {
        let (plane, group, directory) = try RealSocketCall.plane(
            ports: ports, name: "relay", receiveInterval: reads == .receiver ? .milliseconds(1) : nil
        )
        let browser = try PeerSocket()
        let callee = try PeerSocket()
        let media = try plane.openBrowserCall(offer: MediaPlanTests.browser(VideoUpgradeTests.audioOnly), calleeCodecs: [.pcmu], callId: "r1") { _ in }
        _ = try media.answer(Self.calleeAnswer(port: callee.port))
        #expect(media.plan?.mode == .relay)
        let gatewayKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let browserKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let keys = try SRTPKeys(profile: .aeadAES128GCM, local: gatewayKey, remote: browserKey)
        let browserSRTP = try SRTPSession(outbound: browserKey, inbound: gatewayKey)
        let call = Call(
            plane: plane, group: group, directory: directory, media: media, browser: browser, callee: callee, browserSRTP: browserSRTP
        )
        let browserAddress = try SocketAddress(ipAddress: "127.0.0.1", port: Int(browser.port))
        if try await RealSocketCall.installKeys(on: call.session, browserAddress: browserAddress, keys: keys) { return call }
        call.finish()
        throw SRTPError.malformedPacket
    }

    /// The browser's packet: PCMU with the audio-level extension, as Chrome sends it.
    static func browserPacket(sequence: UInt16, timestamp: UInt32, ssrc: UInt32 = 0xB0B0_0001) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 1500)
        let length = packet.withUnsafeMutableBytes { bytes -> Int in
            let fields = RTPHeaderFields(marker: sequence == 1, payloadType: 0, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
            guard var writer = try? RTPPacketWriter(into: bytes, fields: fields) else { return 0 }
            try? writer.appendExtensionElement(id: 1, bytes: [0x85])
            let payload = (0..<160).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) }
            return payload.withUnsafeBytes { (try? writer.finish(payload: $0)) ?? 0 }
        }
        return Array(packet[..<length])
    }

    static func calleePacket(sequence: UInt16, timestamp: UInt32, ssrc: UInt32 = 0xCA11_0001) -> [UInt8] {
        var packet: [UInt8] = [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += withUnsafeBytes(of: timestamp.bigEndian) { Array($0) } + withUnsafeBytes(of: ssrc.bigEndian) { Array($0) }
        return packet + (0..<160).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(sequence)) }
    }

    func protect(_ packet: [UInt8], with session: SRTPSession) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: packet)
        try session.protectRTP(&buffer)
        return Array(buffer.readableBytesView)
    }

    /// Sends the browser's packet `sequence` and returns what the call centre's socket `at` got.
    func relayToCallee(_ call: Call, sequence: UInt16, at callee: PeerSocket? = nil) throws -> RTPHeader? {
        let sent = Self.browserPacket(sequence: sequence, timestamp: UInt32(sequence) * 160)
        call.browser.send(try protect(sent, with: call.browserSRTP), to: call.browserPort)
        guard let received = (callee ?? call.callee).receive() else { return nil }
        let header = try received.withUnsafeBytes { try RTPHeader(parsing: $0) }
        let sentHeader = try sent.withUnsafeBytes { try RTPHeader(parsing: $0) }
        #expect(!header.hasExtension, "the browser's extensions are not relayed")
        #expect(header.payloadType == 0 && header.sequenceNumber == sequence && header.timestamp == UInt32(sequence) * 160)
        #expect(header.marker == (sequence == 1))
        #expect(Array(received[header.payload]) == Array(sent[sentHeader.payload]))
        return header
    }

    @Test(arguments: ReceivePath.allCases)
    func relayedAudioIsRewrittenBothWaysAndReleasesTheDTLSEndpoint(reads: ReceivePath) async throws {
        let call = try await Self.open(ports: reads == .receiver ? 43000...43199 : 43600...43799, reads: reads)
        defer { call.finish() }
        #expect(try await call.onLoop { $0.dtls != nil })
        let calleeSSRC = try await call.onLoop { $0.calleeSSRC }

        // The browser's SRTP to the call centre: unprotected, under the gateway's SSRC.
        let first = try #require(try relayToCallee(call, sequence: 1))
        #expect(first.ssrc == calleeSSRC)
        #expect(try await call.onLoop { $0.dtls == nil }, "the DTLS endpoint is released once the browser's SRTP authenticates")

        // The call centre's RTP to the browser: protected, under the announced SSRC, with the MID.
        let sent = Self.calleePacket(sequence: 700, timestamp: 56_000)
        call.callee.send(sent, to: call.calleePort)
        var received = ByteBuffer(bytes: try #require(call.browser.receive()))
        try call.browserSRTP.unprotectRTP(&received)
        let bytes = Array(received.readableBytesView)
        let header = try bytes.withUnsafeBytes { try RTPHeader(parsing: $0) }
        #expect(header.ssrc == call.media.browserSSRC)
        #expect(header.payloadType == 0 && header.sequenceNumber == 700 && header.timestamp == 56_000)
        let mid = bytes.withUnsafeBytes { raw in header.extensionElements(in: raw).first { $0.id == 4 }.map { Array(bytes[$0.data]) } }
        #expect(mid == Array("0".utf8))
        #expect(Array(bytes[header.payload]) == Array(sent[12...]))

        let statistics = await call.media.statistics()
        #expect(statistics.callee.packetsSent == 1 && statistics.browser.packetsSent == 1)
        #expect(statistics.browser.authenticationFailures == 0 && statistics.callee.sendBufferDrops == 0)
    }

    @Test func theCallCentresSSRCStaysAcrossAMoveAndAHold() async throws {
        let call = try await Self.open(ports: 43200...43399)
        defer { call.finish() }
        let calleeSSRC = try await call.onLoop { $0.calleeSSRC }
        #expect(try relayToCallee(call, sequence: 1)?.ssrc == calleeSSRC)

        // A re-INVITE moves the call centre to another port: the relay follows with the same SSRC.
        let moved = try PeerSocket()
        #expect(try await call.reoffer(Self.calleeAnswer(port: moved.port, version: 2)))
        #expect(try relayToCallee(call, sequence: 2, at: moved)?.ssrc == calleeSSRC)

        // On hold nothing is sent to it; resumed, the stream goes on under the same SSRC.
        #expect(try await call.reoffer(Self.calleeAnswer(port: moved.port, direction: "sendonly", version: 3)))
        let held = Self.browserPacket(sequence: 3, timestamp: 480)
        call.browser.send(try protect(held, with: call.browserSRTP), to: call.browserPort)
        for _ in 0..<200 where await call.media.statistics().browser.packetsReceived < 3 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await call.media.statistics().callee.packetsSent == 2)
        #expect(try await call.reoffer(Self.calleeAnswer(port: moved.port, version: 4)))
        #expect(try relayToCallee(call, sequence: 4, at: moved)?.ssrc == calleeSSRC)
    }

    /// A socket whose peer takes nothing more: the relayed packets are dropped and counted, and
    /// the loop goes on (nothing blocks or queues).
    @Test func aFullSendBufferDropsAndCounts() async throws {
        let call = try await Self.open(ports: 43400...43599)
        defer { call.finish() }
        // The SIP leg's packets go to a local datagram socket that is never read: its queue fills.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).sock").path
        let receiver = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue), 0)
        let sender = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue), 0)
        defer {
            close(receiver)
            close(sender)
            unlink(path)
        }
        // A small send buffer: the kernel refuses datagrams long before the 200th.
        var size: CInt = 4096
        setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<CInt>.size))
        let address = try SocketAddress(unixDomainSocketPath: path)
        let bound = address.withSockAddr { bind(receiver, $0, socklen_t($1)) }
        try #require(receiver >= 0 && sender >= 0 && bound == 0)
        try await call.onLoop { session in
            guard let channel = session.channels[.callee] else { throw SRTPError.malformedPacket }
            session.attach(channel, descriptor: sender, as: .callee)
            session.calleeAddress = address
        }
        let count = 200
        for sequence in 1...count {
            call.browser.send(try protect(Self.browserPacket(sequence: UInt16(sequence), timestamp: UInt32(sequence) * 160), with: call.browserSRTP), to: call.browserPort)
        }
        var statistics = await call.media.statistics()
        for _ in 0..<500 where statistics.browser.packetsReceived < count {
            try await Task.sleep(for: .milliseconds(10))
            statistics = await call.media.statistics()
        }
        #expect(statistics.browser.packetsReceived == count)
        #expect(statistics.callee.sendBufferDrops > 0)
        #expect(statistics.callee.packetsSent + statistics.callee.sendBufferDrops == count)
        #expect(statistics.callee.sendFailures == 0)
        try await call.onLoop { session in session.detach(.callee) }
    }
}
