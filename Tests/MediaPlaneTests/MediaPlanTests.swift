import Testing
@testable import MediaPlane
import SIP

@Suite("MediaPlan")
struct MediaPlanTests {
    static func crlf(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }

    /// A Chrome offer: audio and video bundled, Opus first, G.722 and G.711 too, both DTMF clock rates.
    static let chromeOffer = crlf(
        """
        v=0
        o=- 4215775240449105457 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=msid-semantic: WMS stream
        m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
        c=IN IP4 127.0.0.1
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 127.0.0.1 54400 typ host generation 0
        a=ice-ufrag:Xq3v
        a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
        a=ice-options:trickle
        a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:0
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=sendrecv
        a=rtcp-mux
        a=rtpmap:111 opus/48000/2
        a=rtcp-fb:111 transport-cc
        a=fmtp:111 minptime=10;useinbandfec=1
        a=rtpmap:63 red/48000/2
        a=fmtp:63 111/111
        a=rtpmap:9 G722/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:13 CN/8000
        a=rtpmap:110 telephone-event/48000
        a=rtpmap:126 telephone-event/8000
        a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6
        m=video 54400 UDP/TLS/RTP/SAVPF 96
        c=IN IP4 127.0.0.1
        a=ice-ufrag:Xq3v
        a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
        a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:1
        a=sendrecv
        a=rtcp-mux
        a=rtpmap:96 VP8/90000
        
        """
    )

    /// An Opus-only offer (as aiortc can be told to make).
    static let opusOnlyOffer = chromeOffer
        .replacingOccurrences(of: "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", with: "m=audio 54400 UDP/TLS/RTP/SAVPF 111 110")

    static func answer(_ formats: String, rtpmaps: [String], extra: [String] = []) -> String {
        crlf(
            (["v=0", "o=cc 1 1 IN IP4 127.0.0.2", "s=-", "c=IN IP4 127.0.0.2", "t=0 0", "m=audio 6000 RTP/AVP \(formats)"]
                + rtpmaps.map { "a=rtpmap:\($0)" } + extra + ["a=sendrecv", ""]).joined(separator: "\n")
        )
    }

    static let local = WebRTCTransportParameters(
        host: "127.0.0.1", port: 20002, iceUsernameFragment: "gw12", icePassword: "abcdefghijklmnopqrstuv",
        fingerprint: SDPFingerprint(hashFunction: "sha-256", bytes: Array(repeating: 0xAB, count: 32))
    )

    static func browser(_ text: String = chromeOffer) throws -> BrowserOffer {
        try BrowserOffer(SDPSessionDescription(parsing: text))
    }

    @Test func readsTheBrowserOffer() throws {
        let offer = try Self.browser()
        #expect(offer.audioIndex == 0)
        #expect(offer.audioMid == "0")
        #expect(offer.iceUsernameFragment == "Xq3v")
        #expect(offer.icePassword == "Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd")
        #expect(offer.fingerprint.hashFunction == "sha-256")
        #expect(offer.setup == .actpass)
        #expect(offer.midExtensionID == 4)
        #expect(offer.audioFormats.map(\.payloadType) == [111, 63, 9, 0, 8, 13, 110, 126])
    }

    @Test func refusesOffersWithoutWebRTCTransport() throws {
        let plain = Self.crlf("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n")
        #expect(throws: MediaPlanError.self) { try BrowserOffer(SDPSessionDescription(parsing: plain)) }
        let noICE = Self.chromeOffer.replacingOccurrences(of: "a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd\r\n", with: "")
        #expect(throws: MediaPlanError.unsupportedOffer("no ICE credentials")) { try Self.browser(noICE) }
        let noFingerprint = Self.chromeOffer.split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\r\n")
        #expect(throws: MediaPlanError.unsupportedOffer("no DTLS fingerprint")) { try Self.browser(noFingerprint) }
    }

    @Test func offersTheTrunkCodecsTheBrowserSharesFirst() throws {
        let offer = try MediaPlan.calleeOffer(
            for: Self.browser(), codecs: [.pcma, .pcmu, SDPCodec(name: "G729", clockRate: 8000)], host: "127.0.0.1", port: 20000, sessionID: "42"
        )
        let audio = try #require(offer.media.first)
        #expect(offer.media.count == 1)
        #expect(audio.transportProtocol == .rtpAVP)
        #expect(audio.port == 20000)
        // G.729 is neither offered by the browser nor transcodable: left out.
        #expect(audio.payloadFormats.map(\.codec.name) == ["PCMA", "PCMU", "telephone-event"])
        #expect(audio.attributes.iceUsernameFragment == nil)
        #expect(audio.attributes.fingerprints.isEmpty)
        #expect(offer.connection?.address == "127.0.0.1")
        #expect(offer.serialized().contains("a=rtpmap:101 telephone-event/8000"))
    }

    @Test func transcodableCodecsFollowRelayableOnes() throws {
        let offer = try MediaPlan.calleeOffer(
            for: Self.browser(Self.opusOnlyOffer), codecs: [.pcmu, .pcma], host: "127.0.0.1", port: 20000, sessionID: "1"
        )
        #expect(offer.media[0].payloadFormats.map(\.codec.name) == ["PCMU", "PCMA", "telephone-event"])
        #expect(throws: MediaPlanError.noCodecInCommon) {
            try MediaPlan.calleeOffer(for: Self.browser(), codecs: [SDPCodec(name: "G729", clockRate: 8000)], host: "h", port: 1, sessionID: "1")
        }
    }

    @Test func relaysWhenTheBrowserOfferedTheCalleesCodec() throws {
        let calleeAnswer = try SDPSessionDescription(parsing: Self.answer("0 101", rtpmaps: ["0 PCMU/8000", "101 telephone-event/8000"]))
        let (answer, plan) = try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: calleeAnswer, local: Self.local, sessionID: "7")
        #expect(plan.mode == .relay)
        #expect(plan.browserAudio.payloadType == 0)
        #expect(plan.calleeAudio.payloadType == 0)
        #expect(plan.browserTelephoneEvent?.payloadType == 126)
        #expect(plan.calleeTelephoneEvent?.payloadType == 101)
        #expect(plan.calleeHost == "127.0.0.2")
        #expect(plan.calleePort == 6000)
        #expect(plan.calleeRTCPPort == 6001)
        #expect(plan.dtlsRole == .active)
        #expect(plan.remoteICEUsernameFragment == "Xq3v")
        #expect(plan.midExtensionID == 4)

        let audio = answer.media[0]
        #expect(audio.transportProtocol == .udpTLSRTPSAVPF)
        #expect(audio.port == 20002)
        #expect(audio.formats == ["0", "126"])
        #expect(audio.attributes.iceUsernameFragment == "gw12")
        #expect(audio.attributes.setup == .active)
        #expect(audio.attributes.fingerprints == [Self.local.fingerprint])
        #expect(audio.attributes.candidates.first?.port == 20002)
        #expect(audio.attributes.isRTCPMultiplexed)
        #expect(audio.attributes.mid == "0")
        #expect(answer.attributes.isICELite)
        // Video is rejected, and BUNDLE keeps only audio.
        #expect(answer.media[1].port == 0)
        #expect(answer.attributes.bundleGroup?.identificationTags == ["0"])
    }

    @Test func transcodesFromOpusWhenTheBrowserDidNotOfferTheCalleesCodec() throws {
        let calleeAnswer = try SDPSessionDescription(parsing: Self.answer("8 101", rtpmaps: ["8 PCMA/8000", "101 telephone-event/8000"], extra: ["a=ptime:30"]))
        let (answer, plan) = try MediaPlan.browserAnswer(for: Self.browser(Self.opusOnlyOffer), calleeAnswer: calleeAnswer, local: Self.local, sessionID: "7")
        #expect(plan.mode == .transcode)
        #expect(plan.browserAudio.payloadType == 111)
        #expect(plan.browserAudio.codec.matches(.opus))
        #expect(plan.calleeAudio.codec.matches(.pcma))
        #expect(plan.browserTelephoneEvent?.payloadType == 110)
        #expect(plan.calleePacketTime == 30)
        #expect(answer.media[0].formats == ["111", "110"])
    }

    @Test func honoursTheCalleesDirectionAndRTCPPort() throws {
        let calleeAnswer = try SDPSessionDescription(parsing: Self.answer("0", rtpmaps: ["0 PCMU/8000"], extra: ["a=rtcp:7000"]).replacingOccurrences(of: "a=sendrecv", with: "a=sendonly"))
        let (answer, plan) = try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: calleeAnswer, local: Self.local, sessionID: "7")
        #expect(plan.calleeRTCPPort == 7000)
        #expect(plan.calleeDirection == .sendonly)
        #expect(answer.media[0].attributes.direction == .sendonly)
    }

    @Test func announcesTheLegsCNAMEWithItsSSRC() throws {
        let calleeAnswer = try SDPSessionDescription(parsing: Self.answer("0", rtpmaps: ["0 PCMU/8000"]))
        let cname = MediaPlan.randomCNAME()
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: Self.browser(), calleeAnswer: calleeAnswer, local: Self.local, sessionID: "7", browserSSRC: 0x0102_0304, browserCNAME: cname
        )
        #expect(plan.browserCNAME == cname)
        let announced = answer.media[0].attributes.ssrcAttributes.filter { $0.attribute == "cname" }
        #expect(announced.map(\.ssrc) == [0x0102_0304])
        #expect(announced.map(\.value) == [cname])
    }

    @Test func randomCNAMEsAre96BitsOfBase64() {
        let names = (0..<50).map { _ in MediaPlan.randomCNAME() }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        for name in names {
            #expect(name.count == 16)
            #expect(name.allSatisfy { alphabet.contains($0) })
        }
        #expect(Set(names).count == names.count)
    }

    @Test func theCalleeLegSendsRTCPToTheNextPortUnlessMultiplexed() throws {
        // The gateway's offer does not multiplex: RTCP is on the RTP port + 1 on both sides.
        let offer = try MediaPlan.calleeOffer(for: Self.browser(), codecs: [.pcmu], host: "127.0.0.1", port: 20000, sessionID: "1")
        #expect(!offer.media[0].attributes.isRTCPMultiplexed)
        #expect(offer.media[0].attributes.rtcp == nil)
        let plain = try SDPSessionDescription(parsing: Self.answer("0", rtpmaps: ["0 PCMU/8000"]))
        #expect(try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: plain, local: Self.local, sessionID: "7").plan.calleeRTCPPort == 6001)
        let muxed = try SDPSessionDescription(parsing: Self.answer("0", rtpmaps: ["0 PCMU/8000"], extra: ["a=rtcp-mux"]))
        #expect(try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: muxed, local: Self.local, sessionID: "7").plan.calleeRTCPPort == 6000)
    }

    @Test func refusesUnusableAnswers() throws {
        let rejected = try SDPSessionDescription(parsing: Self.answer("0", rtpmaps: ["0 PCMU/8000"]).replacingOccurrences(of: "m=audio 6000", with: "m=audio 0"))
        #expect(throws: MediaPlanError.unusableAnswer("no accepted audio stream")) {
            try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: rejected, local: Self.local, sessionID: "1")
        }
        let unknownCodec = try SDPSessionDescription(parsing: Self.answer("18", rtpmaps: ["18 G729/8000"]))
        #expect(throws: MediaPlanError.unusableAnswer("no usable codec in the answer")) {
            try MediaPlan.browserAnswer(for: Self.browser(), calleeAnswer: unknownCodec, local: Self.local, sessionID: "1")
        }
    }

    @Test func hostCandidatePriorityFollowsRFC8445() {
        #expect(MediaPlan.hostCandidatePriority == 2_130_706_431)
    }
}

@Suite("MediaPlan offers")
struct MediaPlanOfferTests {
    @Test func aBrowserWithoutADecodableCodecCanOnlyBeRelayed() throws {
        let g729Only = MediaPlanTests.chromeOffer
            .replacingOccurrences(of: "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", with: "m=audio 54400 UDP/TLS/RTP/SAVPF 18")
            .replacingOccurrences(of: "a=rtpmap:111 opus/48000/2", with: "a=rtpmap:18 G729/8000")
        let browser = try MediaPlanTests.browser(g729Only)
        #expect(throws: MediaPlanError.noCodecInCommon) {
            try MediaPlan.calleeOffer(for: browser, codecs: [.pcmu, .g722], host: "127.0.0.1", port: 1, sessionID: "1")
        }
        let relayed = try MediaPlan.calleeOffer(
            for: browser, codecs: [SDPCodec(name: "G729", clockRate: 8000), .pcmu], host: "127.0.0.1", port: 1, sessionID: "1"
        )
        #expect(relayed.media[0].payloadFormats.map(\.codec.name) == ["G729", "telephone-event"])
    }
}

@Suite("MediaPlan re-offers to the browser")
struct MediaPlanReofferTests {
    static func established() throws -> (browser: BrowserOffer, answer: SDPSessionDescription, plan: MediaBridgePlan) {
        let calleeAnswer = try SDPSessionDescription(
            parsing: MediaPlanTests.answer("0 101", rtpmaps: ["0 PCMU/8000", "101 telephone-event/8000"])
        )
        let browser = try MediaPlanTests.browser()
        let (answer, plan) = try MediaPlan.browserAnswer(for: browser, calleeAnswer: calleeAnswer, local: MediaPlanTests.local, sessionID: "7")
        return (browser, answer, plan)
    }

    /// What Chrome answers to a re-offer: its own credentials and fingerprint, the DTLS role it
    /// has, the direction it was asked for (reversed), the rejected video still rejected.
    static func chromeAnswer(setup: String = "passive", direction: String = "recvonly", ufrag: String = "Xq3v", audioPort: Int = 9) -> SDPSessionDescription {
        let text = MediaPlanTests.crlf(
            """
            v=0
            o=- 4215775240449105457 3 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE 0
            a=msid-semantic: WMS stream
            m=audio \(audioPort) UDP/TLS/RTP/SAVPF 0 126
            c=IN IP4 0.0.0.0
            a=ice-ufrag:\(ufrag)
            a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
            a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
            a=setup:\(setup)
            a=mid:0
            a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
            a=\(direction)
            a=rtcp-mux
            a=rtpmap:0 PCMU/8000
            a=rtpmap:126 telephone-event/8000
            m=video 0 UDP/TLS/RTP/SAVPF 96
            c=IN IP4 0.0.0.0
            a=mid:1
            a=inactive
            a=rtpmap:96 VP8/90000

            """
        )
        return try! SDPSessionDescription(parsing: text)
    }

    @Test func keepsTheTransportAndSetsTheDirection() throws {
        let (_, answer, _) = try Self.established()
        let offer = MediaPlan.browserReoffer(after: answer, audioIndex: 0, direction: .sendonly, sessionVersion: 2)
        #expect(offer.origin.sessionID == answer.origin.sessionID)
        #expect(offer.origin.sessionVersion == 2)
        #expect(offer.attributes.isICELite)
        #expect(offer.attributes.bundleGroup?.identificationTags == ["0"])
        #expect(offer.media.count == 2)
        let audio = offer.media[0]
        #expect(audio.attributes.direction == .sendonly)
        #expect(audio.attributes.setup == .actpass)
        #expect(audio.port == answer.media[0].port)
        #expect(audio.formats == answer.media[0].formats)
        #expect(audio.attributes.iceUsernameFragment == answer.media[0].attributes.iceUsernameFragment)
        #expect(audio.attributes.icePassword == answer.media[0].attributes.icePassword)
        #expect(audio.attributes.fingerprints == answer.media[0].attributes.fingerprints)
        #expect(audio.attributes.candidates == answer.media[0].attributes.candidates)
        #expect(audio.attributes.isRTCPMultiplexed)
        #expect(audio.attributes.mid == "0")
        // One direction attribute only, and the rejected video stays rejected.
        #expect(audio.attributes.filter { SDPDirection(rawValue: $0.name) != nil }.count == 1)
        #expect(offer.media[1].port == 0)
        let resume = MediaPlan.browserReoffer(after: answer, audioIndex: 0, direction: .sendrecv, sessionVersion: 3)
        #expect(resume.media[0].attributes.direction == .sendrecv)
        #expect(try SDPSessionDescription(parsing: offer.serialized()).media[0].attributes.direction == .sendonly)
    }

    @Test func acceptsAnAnswerThatKeepsTheAssociation() throws {
        let (browser, answer, plan) = try Self.established()
        let offer = MediaPlan.browserReoffer(after: answer, audioIndex: 0, direction: .sendonly, sessionVersion: 2)
        let direction = try MediaPlan.checkBrowserReofferAnswer(Self.chromeAnswer(), offer: offer, audioIndex: 0, browser: browser, dtlsRole: plan.dtlsRole)
        #expect(direction == .recvonly)
    }

    @Test func refusesAnswersThatBreakTheTransport() throws {
        let (browser, answer, plan) = try Self.established()
        let offer = MediaPlan.browserReoffer(after: answer, audioIndex: 0, direction: .sendonly, sessionVersion: 2)
        func check(_ answer: SDPSessionDescription) throws {
            _ = try MediaPlan.checkBrowserReofferAnswer(answer, offer: offer, audioIndex: 0, browser: browser, dtlsRole: plan.dtlsRole)
        }
        #expect(throws: MediaPlanError.unusableAnswer("the answer changes the DTLS role to active")) { try check(Self.chromeAnswer(setup: "active")) }
        #expect(throws: MediaPlanError.unusableAnswer("the answer restarts ICE")) { try check(Self.chromeAnswer(ufrag: "Zz9y")) }
        #expect(throws: MediaPlanError.unusableAnswer("the answer rejects the audio")) { try check(Self.chromeAnswer(audioPort: 0)) }
        var oneLine = Self.chromeAnswer()
        oneLine.media.removeLast()
        #expect(throws: MediaPlanError.unusableAnswer("the answer's m= lines do not match the offer")) { try check(oneLine) }
        var otherCertificate = Self.chromeAnswer()
        otherCertificate.media[0].attributes.removeAll(named: "fingerprint")
        otherCertificate.media[0].attributes.append(SDPFingerprint(hashFunction: "sha-256", bytes: Array(repeating: 1, count: 32)))
        #expect(throws: MediaPlanError.unusableAnswer("the answer changes the DTLS certificate")) { try check(otherCertificate) }
    }

    @Test func theBrowserAnswerCanKeepAHold() throws {
        let (browser, _, _) = try Self.established()
        let calleeAnswer = try SDPSessionDescription(parsing: MediaPlanTests.answer("0", rtpmaps: ["0 PCMU/8000"]))
        let (answer, _) = try MediaPlan.browserAnswer(
            for: browser, calleeAnswer: calleeAnswer, local: MediaPlanTests.local, sessionID: "7", direction: .sendonly
        )
        #expect(answer.media[0].attributes.direction == .sendonly)
    }
}
