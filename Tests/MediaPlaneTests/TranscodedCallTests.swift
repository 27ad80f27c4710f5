import Foundation
import Logging
import NIOCore
import NIOPosix
import RTP
import SIP
import SRTP
import Testing
@testable import Media
@testable import MediaPlane

/// A transcoded call (Opus ↔ PCMU) through the real sockets and the loop's shared playout tick:
/// what arrives is buffered, what is due goes out from the tick with `sendto(2)`, telephone
/// events at once; the session leaves the tick when it closes. The browser's DTLS is skipped:
/// the test installs the SRTP keys itself, as the relay's tests do.
@Suite("Transcoded audio through the sockets")
struct TranscodedCallTests {
    typealias PeerSocket = RelayPathTests.PeerSocket

    /// Opus only (and telephone-event/48000), audio only.
    static let opusOffer = MediaPlanTests.opusOnlyOffer
        .replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0")
        .components(separatedBy: "m=video")[0]

    static func calleeAnswer(port: UInt16) throws -> SDPSessionDescription {
        try SDPSessionDescription(
            parsing: MediaPlanTests.crlf(
                [
                    "v=0", "o=cc 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio \(port) RTP/AVP 0 101",
                    "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=rtcp:\(port + 1)", "a=ptime:20", "a=sendrecv", "",
                ].joined(separator: "\n")
            )
        )
    }

    struct Call {
        let group: MultiThreadedEventLoopGroup
        let directory: String
        let plane: MediaPlane
        let media: BrowserCallMedia
        let browser: PeerSocket
        let callee: PeerSocket
        let browserSRTP: SRTPSession
        var session: MediaSession { media.session }

        func onLoop<T: Sendable>(_ body: @escaping @Sendable (MediaSession) throws -> T) async throws -> T {
            let session = self.session
            return try await session.loop.submit { try body(session) }.get()
        }

        func finish() {
            media.close()
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func open(ports: ClosedRange<Int>) async throws -> Call {
        let (plane, group, directory) = try RealSocketCall.plane(ports: ports, name: "transcode")
        let browser = try PeerSocket(timeout: .seconds(2))
        let callee = try PeerSocket(timeout: .seconds(2))
        let media = try plane.openBrowserCall(offer: MediaPlanTests.browser(Self.opusOffer), calleeCodecs: [.pcmu], callId: "t1") { _ in }
        _ = try media.answer(Self.calleeAnswer(port: callee.port))
        let gatewayKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let browserKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let keys = try SRTPKeys(profile: .aeadAES128GCM, local: gatewayKey, remote: browserKey)
        let call = Call(
            group: group, directory: directory, plane: plane, media: media, browser: browser, callee: callee,
            browserSRTP: try SRTPSession(outbound: browserKey, inbound: gatewayKey)
        )
        let browserAddress = try SocketAddress(ipAddress: "127.0.0.1", port: Int(browser.port))
        if try await RealSocketCall.installKeys(on: call.session, browserAddress: browserAddress, keys: keys) { return call }
        call.finish()
        throw SRTPError.malformedPacket
    }

    static func rtp(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32, marker: Bool = false, payload: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [0x80, (marker ? 0x80 : 0) | payloadType, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += withUnsafeBytes(of: timestamp.bigEndian) { Array($0) } + withUnsafeBytes(of: ssrc.bigEndian) { Array($0) }
        return packet + payload
    }

    /// The next packet on the browser's socket, unprotected, with its header.
    static func receiveAtBrowser(_ call: Call) throws -> (header: RTPHeader, packet: [UInt8])? {
        guard let received = call.browser.receive() else { return nil }
        var buffer = ByteBuffer(bytes: received)
        try call.browserSRTP.unprotectRTP(&buffer)
        let bytes = Array(buffer.readableBytesView)
        return (try bytes.withUnsafeBytes { try RTPHeader(parsing: $0) }, bytes)
    }

    @Test func bothDirectionsPlayFromTheTickEventsPassAndClosingLeavesTheTick() async throws {
        let call = try await Self.open(ports: 44000...44199)
        defer { call.finish() }
        let setup = try await call.onLoop { session in
            (session.plan?.mode, session.tickRegistration != nil, session.ticker.count, session.ticker.nextTick != nil, session.calleeSSRC)
        }
        #expect(setup.0 == .transcode)
        #expect(setup.1 && setup.2 == 1 && setup.3, "the session is on its loop's tick, which runs")
        let browserSSRC = try #require(call.media.plan?.browserSSRC)

        // The call centre's PCMU, 20 ms apart, then digit 4 (start and the three ends).
        let frames = 10
        for index in 0..<frames {
            let payload = (0..<160).map { UInt8(truncatingIfNeeded: 0x20 + ($0 % 16)) }
            call.callee.send(
                Self.rtp(payloadType: 0, sequence: UInt16(100 + index), timestamp: UInt32(160 * index), ssrc: 0xCA11, marker: index == 0, payload: payload),
                to: UInt16(call.media.calleeOffer.media[0].port)
            )
            try await Task.sleep(for: .milliseconds(20))
        }
        var audio: [RTPHeader] = []
        while audio.count < frames, let received = try Self.receiveAtBrowser(call) {
            let header = received.header
            #expect(header.payloadType == 111 && header.ssrc == browserSSRC)
            audio.append(header)
        }
        #expect(audio.count == frames, "every frame transcoded, from the tick")
        #expect(zip(audio, audio.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 && $1.timestamp == $0.timestamp &+ 960 })
        for index in 0..<4 {
            let end = index > 0
            call.callee.send(
                Self.rtp(
                    payloadType: 101, sequence: UInt16(100 + frames + index), timestamp: UInt32(160 * frames), ssrc: 0xCA11, marker: index == 0,
                    payload: [4, end ? 0x8A : 0x0A, 0x01, end ? 0xE0 : 0x40]
                ),
                to: UInt16(call.media.calleeOffer.media[0].port)
            )
        }
        var events: [TelephoneEvent] = []
        while events.count < 4, let received = try Self.receiveAtBrowser(call) {
            let (header, packet) = received
            guard header.payloadType == 110 else { continue }
            events.append(try packet.withUnsafeBytes { try TelephoneEvent(parsing: UnsafeRawBufferPointer(rebasing: $0[header.payload])) })
        }
        #expect(events.map(\.event) == [4, 4, 4, 4])
        #expect(events.map(\.duration) == [1920, 2880, 2880, 2880], "on the browser's 48 kHz clock")

        // The browser's Opus to the call centre, as PCMU.
        let encoder = try OpusEncoder()
        var pcm = [Int16](repeating: 0, count: 960)
        for index in pcm.indices { pcm[index] = Int16(8000 * sin(Double(index) * 2 * .pi * 440 / 48000)) }
        var opus = [UInt8](repeating: 0, count: 1500)
        for index in 0..<frames {
            let length = try pcm.withUnsafeBufferPointer { samples in try opus.withUnsafeMutableBytes { try encoder.encode(samples, into: $0) } }
            var buffer = ByteBuffer(
                bytes: Self.rtp(payloadType: 111, sequence: UInt16(7 + index), timestamp: UInt32(960 * index), ssrc: 0xB0B0, payload: Array(opus[..<length]))
            )
            try call.browserSRTP.protectRTP(&buffer)
            call.browser.send(Array(buffer.readableBytesView), to: call.media.local.port)
            try await Task.sleep(for: .milliseconds(20))
        }
        var pcmu: [RTPHeader] = []
        while pcmu.count < frames, let received = call.callee.receive() {
            let header = try received.withUnsafeBytes { try RTPHeader(parsing: $0) }
            #expect(header.payloadType == 0 && header.ssrc == setup.4 && header.payloadLength == 160)
            pcmu.append(header)
        }
        #expect(pcmu.count == frames)
        let statistics = await call.media.statistics()
        #expect(statistics.browser.packetsSent >= frames + 4 && statistics.callee.packetsSent >= frames)
        #expect(statistics.browser.sendFailures + statistics.callee.sendFailures + statistics.browser.sendBufferDrops + statistics.callee.sendBufferDrops == 0)

        // Closing takes the session off the tick, and the tick stops with it; nothing more is sent.
        call.media.close()
        let after = try await call.onLoop { session in (session.tickRegistration == nil, session.ticker.count, session.ticker.nextTick == nil) }
        #expect(after.0 && after.1 == 0 && after.2)
        let ticks = try await call.onLoop { $0.ticker.ticks }
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await call.onLoop { $0.ticker.ticks } == ticks, "no tick after the last session closed")
    }
}
