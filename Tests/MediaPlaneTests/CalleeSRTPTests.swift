import Foundation
import Logging
import NIOCore
import NIOPosix
import SRTP
import Synchronization
import Testing

@testable import MediaPlane
@testable import SIP

/// SDES-SRTP on the SIP leg: the offer's `a=crypto`, the checks of the answer, and packets
/// protected with the exchanged keys.
@Suite("SIP leg SRTP")
struct CalleeSRTPTests {
    static let audioOnly = VideoUpgradeTests.audioOnly

    static func offer(_ sdes: SDESOffer?) throws -> SDPSessionDescription {
        try MediaPlan.calleeOffer(
            for: MediaPlanTests.browser(audioOnly), codecs: [.pcmu, .pcma], host: "127.0.0.1", port: 20000, sessionID: "1", sdes: sdes
        )
    }

    /// The call centre's answer: PCMU over `transport` with the given `a=crypto` lines.
    static func answer(transport: String = "RTP/SAVP", cryptos: [String]) throws -> SDPSessionDescription {
        try SDPSessionDescription(
            parsing: MediaPlanTests.crlf(
                (["v=0", "o=cc 1 1 IN IP4 127.0.0.2", "s=-", "c=IN IP4 127.0.0.2", "t=0 0", "m=audio 6000 \(transport) 0",
                    "a=rtpmap:0 PCMU/8000"] + cryptos.map { "a=crypto:\($0)" } + ["a=sendrecv", ""]).joined(separator: "\n")
            )
        )
    }

    static func inline(_ key: SRTPMasterKey) -> String {
        "inline:" + SDPBase64.encode(key.keyAndSalt)
    }

    static func plan(_ sdes: SDESOffer?, _ answer: SDPSessionDescription) throws(MediaPlanError) -> MediaBridgePlan {
        guard let browser = try? MediaPlanTests.browser(audioOnly) else { throw .unsupportedOffer("test offer") }
        return try MediaPlan.browserAnswer(for: browser, calleeAnswer: answer, local: MediaPlanTests.local, sessionID: "7", sdes: sdes).plan
    }

    @Test func theOfferIsSAVPWithAKeyPerSuite() throws {
        let sdes = try SDESOffer.random()
        let audio = try Self.offer(sdes).media[0]
        #expect(audio.transportProtocol == .rtpSAVP)
        let cryptos = audio.attributes.cryptos
        #expect(cryptos.map(\.tag) == [1, 2])
        #expect(cryptos.map(\.suite) == ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"])
        #expect(cryptos.map { $0.inlineKey?.keySaltBytes?.count } == [30, 28])
        #expect(cryptos.map { $0.inlineKey?.keySaltBytes } == sdes.entries.map(\.key.keyAndSalt))
        #expect(cryptos.allSatisfy { $0.sessionParameters.isEmpty && $0.inlineKey?.mki == nil })
        // Fresh keys each time, and never the same for two suites.
        let other = try SDESOffer.random()
        #expect(other.entries[0].key != sdes.entries[0].key)
        #expect(sdes.entries[0].key.keyAndSalt.prefix(16) != sdes.entries[1].key.keyAndSalt.prefix(16))
        // The key is not in its description (what logs would show).
        #expect(!"\(sdes)".contains(SDPBase64.encode(sdes.entries[0].key.keyAndSalt)))
    }

    @Test func aPlainOfferHasNoCrypto() throws {
        let audio = try Self.offer(nil).media[0]
        #expect(audio.transportProtocol == .rtpAVP)
        #expect(audio.attributes.values("crypto").isEmpty)
    }

    @Test(arguments: [(UInt32(1), SRTPProfile.aes128CMHMACSHA1_80), (2, .aeadAES128GCM)])
    func theAnswersKeyIsTaken(tag: UInt32, profile: SRTPProfile) throws {
        let sdes = try SDESOffer.random()
        let remote = try SRTPMasterKey.random(profile: profile)
        let plan = try Self.plan(sdes, Self.answer(cryptos: ["\(tag) \(profile.sdesSuiteName) \(Self.inline(remote))|2^31"]))
        let keys = try #require(plan.calleeSRTP)
        #expect(keys.profile == profile)
        #expect(keys.local == sdes.entries[Int(tag) - 1].key)
        #expect(keys.remote == remote)
    }

    @Test func unacceptableAnswersAreRefusedWithTheirReason() throws {
        let sdes = try SDESOffer.random()
        let key30 = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let key28 = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let cases: [(SDPSessionDescription, String)] = [
            (try Self.answer(transport: "RTP/AVP", cryptos: []), "the call centre answered RTP/AVP, SRTP (RTP/SAVP) is required"),
            (try Self.answer(cryptos: []), "no a=crypto in the answer"),
            (
                try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key30))", "2 AEAD_AES_128_GCM \(Self.inline(key28))"]),
                "2 a=crypto lines in the answer, one expected"
            ),
            (try Self.answer(cryptos: ["7 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key30))"]), "the answer's a=crypto tag 7 was not offered"),
            (
                try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_32 \(Self.inline(key30))"]),
                "the answer's suite AES_CM_128_HMAC_SHA1_32 is not the one offered with tag 1"
            ),
            (try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key28))"]), "the AES_CM_128_HMAC_SHA1_80 key must be 30 bytes"),
            (try Self.answer(cryptos: ["2 AEAD_AES_128_GCM \(Self.inline(key30))"]), "the AEAD_AES_128_GCM key must be 28 bytes"),
            (try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key30))|2^20|1:4"]), "keys with an MKI are not supported"),
            (
                try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key30)) UNENCRYPTED_SRTP"]),
                "unsupported session parameters UNENCRYPTED_SRTP"
            ),
            (
                try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key30));\(Self.inline(key30))"]),
                "one inline key expected in a=crypto"
            ),
        ]
        for (answer, reason) in cases {
            #expect(throws: MediaPlanError.unacceptableCrypto(reason)) { try Self.plan(sdes, answer) }
        }
    }

    @Test func malformedCryptoDoesNotParse() {
        #expect(throws: SDPParseError.self) { try Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 inline:not*base64"]) }
        #expect(throws: SDPParseError.self) { try Self.answer(cryptos: ["x AES_CM_128_HMAC_SHA1_80 inline:AAAA"]) }
    }

    @Test func aPlainOfferRefusesAnSRTPAnswer() throws {
        let key = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        #expect(throws: MediaPlanError.unusableAnswer("the call centre answered RTP/SAVP to an RTP/AVP offer")) {
            try Self.plan(nil, Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(key))"]))
        }
        #expect(try Self.plan(nil, Self.answer(transport: "RTP/AVP", cryptos: [])).calleeSRTP == nil)
    }

    /// The gateway and a call centre keyed from the SDP they exchanged: what each protects, the
    /// other unprotects; a changed byte fails authentication.
    @Test(arguments: SDESOffer.suites)
    func packetsRoundTripBetweenTheLegsKeys(profile: SRTPProfile) throws {
        let sdes = try SDESOffer.random()
        let offer = try Self.offer(sdes)
        // The call centre reads the gateway's key for the suite from the offer text, as a peer would.
        let parsed = try SDPSessionDescription(parsing: offer.serialized())
        let offered = try #require(parsed.media[0].attributes.cryptos.first { $0.suite == profile.sdesSuiteName })
        let gatewayKey = try SRTPMasterKey(profile: profile, keyAndSalt: #require(offered.inlineKey?.keySaltBytes))
        let calleeKey = try SRTPMasterKey.random(profile: profile)
        let callCentre = try SRTPSession(outbound: calleeKey, inbound: gatewayKey)
        let plan = try Self.plan(sdes, Self.answer(cryptos: ["\(offered.tag) \(profile.sdesSuiteName) \(Self.inline(calleeKey))"]))
        let gateway = try SRTPSession(keys: #require(plan.calleeSRTP))

        for sequence in UInt16(100)..<UInt16(110) {
            let rtp = Self.rtp(sequence: sequence, ssrc: 0x0101_0101)
            var toCallee = ByteBuffer(bytes: rtp)
            try gateway.protectRTP(&toCallee)
            #expect(toCallee.readableBytes == rtp.count + profile.rtpOverhead)
            #expect(Array(toCallee.readableBytesView.dropFirst(12).prefix(160)) != Array(rtp.dropFirst(12)), "the payload is encrypted")
            try callCentre.unprotectRTP(&toCallee)
            #expect(Array(toCallee.readableBytesView) == rtp)

            let back = Self.rtp(sequence: sequence, ssrc: 0x0202_0202)
            var toGateway = ByteBuffer(bytes: back)
            try callCentre.protectRTP(&toGateway)
            try gateway.unprotectRTP(&toGateway)
            #expect(Array(toGateway.readableBytesView) == back)
        }
        // SRTCP both ways.
        let report: [UInt8] = [0x80, 201, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01]
        var rtcp = ByteBuffer(bytes: report)
        try gateway.protectRTCP(&rtcp)
        try callCentre.unprotectRTCP(&rtcp)
        #expect(Array(rtcp.readableBytesView) == report)
        // Tampering is caught.
        var tampered = ByteBuffer(bytes: Self.rtp(sequence: 200, ssrc: 0x0202_0202))
        try callCentre.protectRTP(&tampered)
        tampered.setInteger(tampered.getInteger(at: 20, as: UInt8.self)! ^ 0x01, at: 20)
        #expect(throws: SRTPError.self) { try gateway.unprotectRTP(&tampered) }
    }

    static func rtp(sequence: UInt16, ssrc: UInt32) -> [UInt8] {
        var packet: [UInt8] = [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += [UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
        packet += (0..<160).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ Int(sequence)) }
        return packet
    }

    @Test func aReofferKeepsTheSuiteAndTheGatewaysKey() throws {
        let sdes = try SDESOffer.random()
        let first = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let current = try #require(try Self.plan(sdes, Self.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Self.inline(first))"])).calleeSRTP)
        let rekeyed = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let gcm = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        // The call centre offers GCM first and a new AES_CM key with tag 5: the suite in use wins.
        let reoffer = try Self.answer(cryptos: ["3 AEAD_AES_128_GCM \(Self.inline(gcm))", "5 AES_CM_128_HMAC_SHA1_80 \(Self.inline(rekeyed))"])
        let kept = try #require(SDESOffer.answerReoffer(reoffer.media[0], current: current))
        #expect(kept.crypto.tag == 5 && kept.crypto.suite == "AES_CM_128_HMAC_SHA1_80")
        #expect(kept.crypto.inlineKey?.keySaltBytes == current.local.keyAndSalt)
        #expect(kept.keys.local == current.local && kept.keys.remote == rekeyed)
        // Plain RTP, or only another suite: the re-offer is refused.
        #expect(SDESOffer.answerReoffer(try Self.answer(transport: "RTP/AVP", cryptos: []).media[0], current: current) == nil)
        #expect(SDESOffer.answerReoffer(try Self.answer(cryptos: ["3 AEAD_AES_128_GCM \(Self.inline(gcm))"]).media[0], current: current) == nil)
    }
}

/// The media plane with SDES: offers, re-offers and what the SIP leg's socket accepts.
@Suite("SIP leg SRTP in the media plane")
struct CalleeSRTPPlaneTests {
    static func plane() throws -> (MediaPlane, MultiThreadedEventLoopGroup, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let plane = try MediaPlane(
            // No browser does ICE here: the session must outlive the ICE timeout however slowly
            // a busy machine runs the test (the 10 s default ended it before the packets came).
            configuration: MediaPlaneConfiguration(
                bindHost: "127.0.0.1", advertisedHost: "127.0.0.1", ports: 42000...42999, mediaTimeout: .seconds(600),
                iceTimeout: .seconds(600), certificateDirectory: directory
            ),
            group: group, logger: Logger(label: "test")
        )
        return (plane, group, directory)
    }

    /// The gateway's key for AES_CM_128_HMAC_SHA1_80 as the offer carries it.
    static func offeredKey(_ media: BrowserCallMedia) throws -> SRTPMasterKey {
        let crypto = try #require(media.calleeOffer.media[0].attributes.cryptos.first { $0.tag == 1 })
        return try SRTPMasterKey(profile: .aes128CMHMACSHA1_80, keyAndSalt: #require(crypto.inlineKey?.keySaltBytes))
    }

    @Test func aHoldReofferIsAnsweredWithTheSameKeyAndNewOnesAreTaken() throws {
        let (plane, group, directory) = try Self.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let browser = try MediaPlanTests.browser(CalleeSRTPTests.audioOnly)
        let media = try plane.openBrowserCall(offer: browser, calleeCodecs: [.pcmu], callId: "s1", allowsVideo: true, calleeSecurity: .sdesSRTP) { _ in }
        defer { media.close() }
        #expect(media.calleeOffer.media[0].transportProtocol == .rtpSAVP)
        let gatewayKey = try Self.offeredKey(media)
        let calleeKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        _ = try media.answer(CalleeSRTPTests.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(CalleeSRTPTests.inline(calleeKey))"]))
        #expect(media.plan?.calleeSRTP?.remote == calleeKey)

        let newKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let hold = try SDPSessionDescription(
            parsing: CalleeSRTPTests.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(CalleeSRTPTests.inline(newKey))"]).serialized()
                .replacingOccurrences(of: "a=sendrecv", with: "a=sendonly")
        )
        let answer = try #require(media.answerCalleeReoffer(hold))
        #expect(answer.media[0].transportProtocol == .rtpSAVP)
        #expect(answer.media[0].attributes.direction == .recvonly)
        let crypto = try #require(answer.media[0].attributes.cryptos.first)
        #expect(answer.media[0].attributes.cryptos.count == 1 && crypto.tag == 1)
        #expect(crypto.inlineKey?.keySaltBytes == gatewayKey.keyAndSalt)
        #expect(media.plan?.calleeSRTP?.remote == newKey)
        // A plain re-offer on an SRTP leg is refused (488), and the keys stay.
        let plain = try CalleeSRTPTests.answer(transport: "RTP/AVP", cryptos: [])
        #expect(media.answerCalleeReoffer(plain) == nil)
        #expect(media.plan?.calleeSRTP?.remote == newKey)
    }

    @Test func aPlainLegRefusesAnSRTPReoffer() throws {
        let (plane, group, directory) = try Self.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let media = try plane.openBrowserCall(offer: MediaPlanTests.browser(CalleeSRTPTests.audioOnly), calleeCodecs: [.pcmu], callId: "s2") { _ in }
        defer { media.close() }
        #expect(media.calleeOffer.media[0].transportProtocol == .rtpAVP)
        _ = try media.answer(CalleeSRTPTests.answer(transport: "RTP/AVP", cryptos: []))
        let key = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        #expect(media.answerCalleeReoffer(try CalleeSRTPTests.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(CalleeSRTPTests.inline(key))"])) == nil)
    }

    /// Packets sent to the SIP leg's port: plain RTP and packets under a wrong key are dropped
    /// and counted as authentication failures; those under the call centre's key are taken.
    @Test
    func theSIPLegTakesOnlyAuthenticatedPackets() async throws {
        let (plane, group, directory) = try Self.plane()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome: Result<Void, any Error>
        do {
            try await Self.sendToTheSIPLeg(plane: plane, group: group)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try? await group.shutdownGracefully()
        try outcome.get()
    }

    static func sendToTheSIPLeg(plane: MediaPlane, group: MultiThreadedEventLoopGroup) async throws {
        let ended = Mutex<MediaEndCause?>(nil)
        let media = try plane.openBrowserCall(
            offer: MediaPlanTests.browser(CalleeSRTPTests.audioOnly), calleeCodecs: [.pcmu], callId: "s3", calleeSecurity: .sdesSRTP
        ) { cause in ended.withLock { $0 = cause } }
        defer { media.close() }
        let gatewayKey = try Self.offeredKey(media)
        let calleeKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        _ = try media.answer(CalleeSRTPTests.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(CalleeSRTPTests.inline(calleeKey))"]))
        let callCentre = try SRTPSession(outbound: calleeKey, inbound: gatewayKey)
        let stranger = try SRTPSession(outbound: SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80), inbound: gatewayKey)

        // The answer starts the session on its loop: send once it holds the SIP leg's keys.
        for _ in 0..<500 where await media.statistics().callee.srtpSuite == nil {
            try await Task.sleep(for: .milliseconds(20))
        }
        let client = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { client.close(promise: nil) }
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(media.calleeOffer.media[0].port))
        func send(_ bytes: ByteBuffer) async throws {
            try await client.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: bytes)).get()
        }
        try await send(ByteBuffer(bytes: CalleeSRTPTests.rtp(sequence: 1, ssrc: 7)))
        var wrong = ByteBuffer(bytes: CalleeSRTPTests.rtp(sequence: 2, ssrc: 7))
        try stranger.protectRTP(&wrong)
        try await send(wrong)
        for sequence in UInt16(3)...UInt16(5) {
            var good = ByteBuffer(bytes: CalleeSRTPTests.rtp(sequence: sequence, ssrc: 7))
            try callCentre.protectRTP(&good)
            try await send(good)
        }
        var statistics = await media.statistics()
        // Up to 10 s: the whole suite runs in parallel on two cores.
        for _ in 0..<500 where statistics.callee.packetsReceived < 5 {
            try await Task.sleep(for: .milliseconds(20))
            statistics = await media.statistics()
        }
        let cause = ended.withLock { $0 }
        #expect(cause == nil, "the session ended (\(String(describing: cause))) before the packets were counted")
        #expect(statistics.callee.packetsReceived == 5)
        #expect(statistics.callee.authenticationFailures == 2)
        #expect(statistics.callee.srtpSuite == "AES_CM_128_HMAC_SHA1_80")
        #expect(statistics.browser.srtpSuite == nil, "no DTLS with the browser in this test")
    }
}

/// Video on an SRTP leg: offered, answered and renegotiated with keys of its own.
@Suite("SIP leg SRTP for video")
struct CalleeVideoSRTPTests {
    typealias Audio = CalleeSRTPTests

    /// The call centre's answer: SRTP audio with `audioCrypto`, then `video` lines.
    static func answer(audioCrypto: String, video: [String]) throws -> SDPSessionDescription {
        try SDPSessionDescription(
            parsing: MediaPlanTests.crlf(
                (["v=0", "o=cc 1 1 IN IP4 127.0.0.2", "s=-", "c=IN IP4 127.0.0.2", "t=0 0", "m=audio 6000 RTP/SAVP 0", "a=rtpmap:0 PCMU/8000",
                    "a=crypto:\(audioCrypto)", "a=sendrecv"] + video + [""]).joined(separator: "\n")
            )
        )
    }

    static func vp8(_ transport: String = "RTP/SAVP", crypto: [String]) -> [String] {
        ["m=video 7000 \(transport) 100", "a=rtpmap:100 VP8/90000", "a=rtcp-fb:100 nack pli"] + crypto.map { "a=crypto:\($0)" } + ["a=sendrecv"]
    }

    @Test func theBrowsersVideoIsOfferedWithItsOwnKeys() throws {
        let sdes = try SDESOffer.random(), videoSDES = try SDESOffer.random()
        let offer = try MediaPlan.calleeOffer(
            for: MediaPlanTests.browser(), codecs: [.pcmu], host: "127.0.0.1", port: 20000, sessionID: "1", videoPort: 20004, sdes: sdes,
            videoSDES: videoSDES
        )
        #expect(offer.media.map(\.transportProtocol) == [.rtpSAVP, .rtpSAVP])
        #expect(offer.media[1].attributes.cryptos.map { $0.inlineKey?.keySaltBytes } == videoSDES.entries.map(\.key.keyAndSalt))
        #expect(offer.media[0].attributes.cryptos.map { $0.inlineKey?.keySaltBytes } == sdes.entries.map(\.key.keyAndSalt))
        // Without video keys an SRTP offer leaves the video out rather than send it in clear.
        let withoutKeys = try MediaPlan.calleeOffer(
            for: MediaPlanTests.browser(), codecs: [.pcmu], host: "127.0.0.1", port: 20000, sessionID: "1", videoPort: 20004, sdes: sdes
        )
        #expect(withoutKeys.media.map(\.media) == [.audio])
    }

    @Test func theAcceptedVideosKeysAreChecked() throws {
        let sdes = try SDESOffer.random(), videoSDES = try SDESOffer.random()
        let audioKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let videoKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let audioCrypto = "1 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))"
        let good = try Self.answer(audioCrypto: audioCrypto, video: Self.vp8(crypto: ["2 AEAD_AES_128_GCM \(Audio.inline(videoKey))"]))
        let plan = try MediaPlan.browserAnswer(
            for: MediaPlanTests.browser(), calleeAnswer: good, local: MediaPlanTests.local, sessionID: "7", sdes: sdes, videoSDES: videoSDES
        ).plan
        let keys = try #require(plan.video?.calleeSRTP)
        #expect(keys.profile == .aeadAES128GCM && keys.local == videoSDES.entries[1].key && keys.remote == videoKey)
        #expect(plan.calleeSRTP?.remote == audioKey)

        let plainVideo = try Self.answer(audioCrypto: audioCrypto, video: Self.vp8("RTP/AVP", crypto: []))
        #expect(throws: MediaPlanError.unacceptableCrypto("the call centre answered RTP/AVP, SRTP (RTP/SAVP) is required")) {
            try MediaPlan.browserAnswer(
                for: MediaPlanTests.browser(), calleeAnswer: plainVideo, local: MediaPlanTests.local, sessionID: "7", sdes: sdes, videoSDES: videoSDES
            )
        }
        let noCrypto = try Self.answer(audioCrypto: audioCrypto, video: Self.vp8(crypto: []))
        #expect(throws: MediaPlanError.unacceptableCrypto("no a=crypto in the answer")) {
            try MediaPlan.browserAnswer(
                for: MediaPlanTests.browser(), calleeAnswer: noCrypto, local: MediaPlanTests.local, sessionID: "7", sdes: sdes, videoSDES: videoSDES
            )
        }
    }

    @Test func aCameraTurnedOnIsOfferedWithTheAudiosKeyKept() throws {
        let (plane, group, directory) = try CalleeSRTPPlaneTests.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let media = try plane.openBrowserCall(
            offer: MediaPlanTests.browser(Audio.audioOnly), calleeCodecs: [.pcmu], callId: "v1", allowsVideo: true, calleeSecurity: .sdesSRTP
        ) { _ in }
        defer { media.close() }
        let audioKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        _ = try media.answer(Audio.answer(cryptos: ["1 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))"]))
        let local = try #require(media.plan?.calleeSRTP?.local)

        // The browser's re-offer with its camera: the gateway's re-offer to the call centre.
        let reoffer = try media.calleeReoffer(for: SDPSessionDescription(parsing: MediaPlanTests.chromeOffer))
        #expect(reoffer.media.map(\.transportProtocol) == [.rtpSAVP, .rtpSAVP])
        let audioCryptos = reoffer.media[0].attributes.cryptos
        #expect(audioCryptos.count == 1 && audioCryptos[0].tag == 1 && audioCryptos[0].inlineKey?.keySaltBytes == local.keyAndSalt)
        let videoCryptos = reoffer.media[1].attributes.cryptos
        #expect(videoCryptos.map(\.suite) == ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"])
        #expect(!videoCryptos.contains { $0.inlineKey?.keySaltBytes == local.keyAndSalt }, "the video has keys of its own")

        let videoKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        _ = try media.answerBrowserAfterCallee(
            Self.answer(
                audioCrypto: "1 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))",
                video: Self.vp8(crypto: ["1 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(videoKey))"])
            )
        )
        #expect(media.plan?.calleeSRTP?.local == local)
        #expect(media.plan?.video?.calleeSRTP?.remote == videoKey)
        let videoLocal = try #require(media.plan?.video?.calleeSRTP?.local)

        // A hold from the call centre keeps both streams' suites and the gateway's keys.
        let hold = try SDPSessionDescription(
            parsing: Self.answer(
                audioCrypto: "4 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))",
                video: Self.vp8(crypto: ["6 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(videoKey))"])
            ).serialized().replacingOccurrences(of: "a=sendrecv", with: "a=sendonly")
        )
        let answer = try #require(media.answerCalleeReoffer(hold))
        #expect(answer.media.map(\.transportProtocol) == [.rtpSAVP, .rtpSAVP])
        #expect(answer.media[0].attributes.cryptos.map(\.tag) == [4])
        #expect(answer.media[0].attributes.cryptos.first?.inlineKey?.keySaltBytes == local.keyAndSalt)
        #expect(answer.media[1].attributes.cryptos.map(\.tag) == [6])
        #expect(answer.media[1].attributes.cryptos.first?.inlineKey?.keySaltBytes == videoLocal.keyAndSalt)
        // A re-offer whose video is plain cannot be answered on an SRTP leg.
        let plainVideo = try Self.answer(
            audioCrypto: "4 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))", video: Self.vp8("RTP/AVP", crypto: [])
        )
        #expect(media.answerCalleeReoffer(plainVideo) == nil)
    }

    @Test func videoTheCallCentreAddsMustBeKeyed() throws {
        let (plane, group, directory) = try CalleeSRTPPlaneTests.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let media = try plane.openBrowserCall(
            offer: MediaPlanTests.browser(Audio.audioOnly), calleeCodecs: [.pcmu], callId: "v2", allowsVideo: true, calleeSecurity: .sdesSRTP
        ) { _ in }
        defer { media.close() }
        let audioKey = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        let audioCrypto = "1 AES_CM_128_HMAC_SHA1_80 \(Audio.inline(audioKey))"
        _ = try media.answer(Audio.answer(cryptos: [audioCrypto]))
        #expect(!media.calleeReofferAddsVideo(try Self.answer(audioCrypto: audioCrypto, video: Self.vp8("RTP/AVP", crypto: []))))
        #expect(!media.calleeReofferAddsVideo(try Self.answer(audioCrypto: audioCrypto, video: Self.vp8(crypto: []))))
        let videoKey = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        let keyed = try Self.answer(
            audioCrypto: audioCrypto, video: Self.vp8(crypto: ["9 AES_CM_128_HMAC_SHA1_32 \(Audio.inline(audioKey))", "3 AEAD_AES_128_GCM \(Audio.inline(videoKey))"])
        )
        #expect(media.calleeReofferAddsVideo(keyed))
        let offer = try #require(media.browserVideoOffer(for: keyed))
        let vp8 = try #require(offer.media[1].payloadFormats.first?.payloadType)
        let browserAnswer = try SDPSessionDescription(
            parsing: MediaPlanTests.crlf(
                """
                v=0
                o=- 42 3 IN IP4 127.0.0.1
                s=-
                t=0 0
                a=group:BUNDLE 0 1
                m=audio 9 UDP/TLS/RTP/SAVPF 0
                c=IN IP4 0.0.0.0
                a=ice-ufrag:Xq3v
                a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
                a=setup:passive
                a=mid:0
                a=sendrecv
                a=rtcp-mux
                a=rtpmap:0 PCMU/8000
                m=video 9 UDP/TLS/RTP/SAVPF \(vp8)
                c=IN IP4 0.0.0.0
                a=mid:1
                a=sendrecv
                a=rtcp-mux
                a=rtpmap:\(vp8) VP8/90000

                """
            )
        )
        let calleeAnswer = try media.calleeAnswer(afterBrowser: browserAnswer)
        let video = try #require(calleeAnswer.media.first { $0.media == .video })
        #expect(video.transportProtocol == .rtpSAVP)
        let crypto = try #require(video.attributes.cryptos.first)
        #expect(video.attributes.cryptos.count == 1 && crypto.tag == 3 && crypto.suite == "AEAD_AES_128_GCM")
        let keys = try #require(media.plan?.video?.calleeSRTP)
        #expect(keys.remote == videoKey && crypto.inlineKey?.keySaltBytes == keys.local.keyAndSalt)
        #expect(keys.local != media.plan?.calleeSRTP?.local)
        #expect(calleeAnswer.media[0].attributes.cryptos.first?.inlineKey?.keySaltBytes == media.plan?.calleeSRTP?.local.keyAndSalt)
    }
}
