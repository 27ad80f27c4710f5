import Testing

@testable import SIP

@Suite("SDP offer/answer (RFC 3264)")
struct SDPNegotiationTests {
    static let gatewayOrigin = SDPOrigin(sessionID: "1700000000", sessionVersion: 1, unicastAddress: "198.51.100.20")

    /// The transport the gateway gives every accepted stream on the SIP side.
    static func rtpTransport(port: UInt16) -> (SDPNegotiation.Media) -> SDPMediaTransport {
        { _ in SDPMediaTransport(port: port) }
    }

    /// The gateway's answer when every accepted stream gets `port`.
    static func answer(_ negotiation: SDPNegotiation, port: UInt16) -> SDPSessionDescription {
        negotiation.makeAnswer(origin: gatewayOrigin, connection: .ip4("198.51.100.20"), transport: rtpTransport(port: port))
    }

    static func parse(_ text: String) throws -> SDPSessionDescription {
        try SDPSessionDescription(parsing: text)
    }

    /// Replaces `old` with `new` once, failing the test if `old` is absent.
    static func replacing(
        _ old: String,
        with new: String,
        in text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let parts = text.split(separator: old, maxSplits: 1, omittingEmptySubsequences: false)
        try #require(parts.count == 2, "fixture does not contain \(old)", sourceLocation: sourceLocation)
        return parts[0] + new + parts[1]
    }

    // MARK: - RFC 3264 §10 examples

    @Test func rfc3264BasicExchange() throws {
        let offer = try Self.parse(SDPFixtures.rfc3264BasicOffer)
        let bob = SDPLocalCapabilities(
            audioCodecs: [.pcmu],
            videoCodecs: [SDPCodec(name: "MPV", clockRate: 90000)],
            telephoneEvents: []
        )
        let negotiation = try SDPNegotiation(offer: offer, capabilities: bob)
        #expect(negotiation.media.map(\.rejection) == [nil, .noCodecInCommon, nil])
        #expect(negotiation.media.map(\.direction) == [.sendrecv, .inactive, .sendrecv])
        #expect(negotiation.media[0].remotePort == 49170)
        #expect(negotiation.media[0].remoteConnection?.address == "host.anywhere.com")

        let ports: [Int: UInt16] = [0: 49920, 2: 53000]
        var answer = negotiation.makeAnswer(
            origin: SDPOrigin(username: "bob", sessionID: "2890844730", sessionVersion: 2_890_844_730, unicastAddress: "host.example.com"),
            connection: .ip4("host.example.com"),
            sessionName: ""
        ) { media in
            SDPMediaTransport(port: ports[media.index] ?? 1)
        }
        // The RFC leaves sendrecv implicit; everything else matches its answer exactly.
        #expect(answer.media.map { $0.attributes.direction } == [.sendrecv, nil, .sendrecv])
        for index in answer.media.indices {
            answer.media[index].attributes.setDirection(nil)
        }
        #expect(answer.serialized() == SDPFixtures.rfc3264BasicAnswer)
    }

    @Test func rfc3264BasicReofferAddingAReceiveOnlyStream() throws {
        let reoffer = try Self.parse(SDPFixtures.rfc3264BasicReoffer)
        // RFC 3264 spells the event format "telephone-events"; Alice supports it as written.
        let alice = SDPLocalCapabilities(
            audioCodecs: [.pcmu, SDPCodec(name: "telephone-events", clockRate: 8000)],
            videoCodecs: [SDPCodec(name: "H261", clockRate: 90000), SDPCodec(name: "MPV", clockRate: 90000)],
            telephoneEvents: []
        )
        let negotiation = try SDPNegotiation(offer: reoffer, capabilities: alice)
        #expect(negotiation.media.count == 4)
        #expect(negotiation.media[1].rejection == .disabledByOfferer)
        #expect(negotiation.media[3].offeredDirection == .recvonly)
        #expect(negotiation.media[3].direction == .sendonly)
        #expect(negotiation.media[3].formats.map(\.payloadType) == [110])

        let ports: [Int: UInt16] = [0: 49170, 2: 53000, 3: 53122]
        let answer = negotiation.makeAnswer(
            origin: SDPOrigin(
                username: "alice",
                sessionID: "2890844526",
                sessionVersion: 2_890_844_527,
                unicastAddress: "host.anywhere.com"
            ),
            connection: .ip4("host.anywhere.com"),
            sessionName: ""
        ) { media in
            SDPMediaTransport(port: ports[media.index] ?? 1)
        }
        // RFC 3264 §10.1, Alice's answer to the re-offer.
        let expected = try Self.parse(
            SDPFixtures.crlf(
                """
                v=0
                o=alice 2890844526 2890844527 IN IP4 host.anywhere.com
                s=
                c=IN IP4 host.anywhere.com
                t=0 0
                m=audio 49170 RTP/AVP 0
                a=rtpmap:0 PCMU/8000
                m=video 0 RTP/AVP 31
                a=rtpmap:31 H261/90000
                m=video 53000 RTP/AVP 32
                a=rtpmap:32 MPV/90000
                m=audio 53122 RTP/AVP 110
                a=rtpmap:110 telephone-events/8000
                a=sendonly
                """
            )
        )
        #expect(answer.origin == expected.origin)
        #expect(answer.media.map(\.port) == expected.media.map(\.port))
        #expect(answer.media.map(\.formats) == expected.media.map(\.formats))
        #expect(answer.media.map(\.media) == expected.media.map(\.media))
        #expect(answer.media[3].attributes.rtpMaps == expected.media[3].attributes.rtpMaps)
        #expect(answer.media[3].attributes.direction == .sendonly)
    }

    @Test func rfc3264OneOfNCodecSelection() throws {
        let bob = SDPLocalCapabilities(
            audioCodecs: [.pcmu, SDPCodec(name: "G723", clockRate: 8000)],
            telephoneEvents: []
        )
        let bobOrigin = SDPOrigin(
            username: "bob",
            sessionID: "2890844730",
            sessionVersion: 2_890_844_731,
            unicastAddress: "host.example.com"
        )

        // Alice offers three codecs, inactive until one is locked down.
        let offer = try Self.parse(SDPFixtures.rfc3264OneOfNOffer)
        let first = try SDPNegotiation(offer: offer, capabilities: bob)
        #expect(first.media[0].offeredDirection == .inactive)
        let answer = first.makeAnswer(
            origin: bobOrigin,
            connection: .ip4("host.example.com"),
            sessionName: "",
            transport: Self.rtpTransport(port: 54344)
        )
        #expect(
            answer.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=bob 2890844730 2890844731 IN IP4 host.example.com
                    s=
                    c=IN IP4 host.example.com
                    t=0 0
                    m=audio 54344 RTP/AVP 0 4
                    a=rtpmap:0 PCMU/8000
                    a=rtpmap:4 G723/8000
                    a=inactive

                    """
                )
        )

        // Alice locks G.723 down and activates the stream; Bob accepts the single codec.
        let lock = try Self.parse(SDPFixtures.rfc3264OneOfNLockOffer)
        var origin = bobOrigin
        origin.sessionVersion += 1
        let second = try SDPNegotiation(offer: lock, capabilities: bob).makeAnswer(
            origin: origin,
            connection: .ip4("host.example.com"),
            sessionName: "",
            transport: Self.rtpTransport(port: 54344)
        )
        #expect(
            second.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=bob 2890844730 2890844732 IN IP4 host.example.com
                    s=
                    c=IN IP4 host.example.com
                    t=0 0
                    m=audio 54344 RTP/AVP 4
                    a=rtpmap:4 G723/8000
                    a=sendrecv

                    """
                )
        )
    }

    @Test func rfc3264OneOfNOffersCanBeBuilt() throws {
        let alice = SDPLocalCapabilities(
            audioCodecs: [.pcmu, SDPCodec(name: "G723", clockRate: 8000), SDPCodec(name: "G729", clockRate: 8000)],
            telephoneEvents: []
        )
        let offer = SDPSessionDescription(
            origin: SDPOrigin(
                username: "alice",
                sessionID: "2890844526",
                sessionVersion: 2_890_844_526,
                unicastAddress: "host.anywhere.com"
            ),
            sessionName: "",
            connection: .ip4("host.anywhere.com"),
            media: [try alice.makeOfferMedia(.audio, port: 62986, direction: .inactive)]
        )
        #expect(offer.serialized() == SDPFixtures.rfc3264OneOfNOffer)
    }

    // MARK: - Gateway legs

    @Test func answeringChromeFromTheGateway() throws {
        let offer = try Self.parse(SDPFixtures.chromeOffer)
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .webRTC)
        let audio = negotiation.media[0]
        #expect(audio.formats.map(\.description) == [
            "111 opus/48000/2", "9 G722/8000", "0 PCMU/8000", "8 PCMA/8000",
            "110 telephone-event/48000", "126 telephone-event/8000",
        ])
        #expect(audio.primaryFormat?.payloadType == 111)
        #expect(audio.telephoneEventFormat?.payloadType == 110)
        #expect(audio.isRTCPMultiplexed)
        #expect(!audio.isReducedSizeRTCP)
        #expect(audio.isBundled)
        #expect(audio.extensionMaps == [SDPExtensionMap(id: 4, uri: "urn:ietf:params:rtp-hdrext:sdes:mid")])
        #expect(negotiation.media[1].rejection == .unsupportedMediaType)
        #expect(negotiation.bundleGroup == SDPGroup(semantics: "BUNDLE", identificationTags: ["0"]))

        let fingerprint = SDPFingerprint(hashFunction: "sha-256", bytes: Array(0..<32))
        let answer = negotiation.makeAnswer(
            origin: Self.gatewayOrigin,
            connection: .ip4("198.51.100.20"),
            sessionAttributes: [SDPAttribute(name: "ice-lite")]
        ) { media in
            var attributes = SDPAttributeList()
            attributes.append(name: "ice-ufrag", value: "gw01")
            attributes.append(name: "ice-pwd", value: "gatewaypassword0123456789")
            attributes.append(fingerprint)
            attributes.append(name: "setup", value: SDPSetupRole.actpass.answer.rawValue)
            attributes.append(
                SDPICECandidate(
                    foundation: "1",
                    component: 1,
                    transport: "udp",
                    priority: 2_130_706_431,
                    address: "198.51.100.20",
                    port: 40000,
                    type: .host
                )
            )
            attributes.append(name: "end-of-candidates")
            return SDPMediaTransport(port: 40000, attributes: attributes)
        }
        #expect(
            answer.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=- 1700000000 1 IN IP4 198.51.100.20
                    s=-
                    c=IN IP4 198.51.100.20
                    t=0 0
                    a=group:BUNDLE 0
                    a=ice-lite
                    m=audio 40000 UDP/TLS/RTP/SAVPF 111 9 0 8 110 126
                    a=mid:0
                    a=ice-ufrag:gw01
                    a=ice-pwd:gatewaypassword0123456789
                    a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F
                    a=setup:active
                    a=candidate:1 1 udp 2130706431 198.51.100.20 40000 typ host
                    a=end-of-candidates
                    a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
                    a=rtcp-mux
                    a=rtpmap:111 opus/48000/2
                    a=fmtp:111 minptime=10;useinbandfec=1
                    a=rtpmap:9 G722/8000
                    a=rtpmap:0 PCMU/8000
                    a=rtpmap:8 PCMA/8000
                    a=rtpmap:110 telephone-event/48000
                    a=fmtp:110 0-16
                    a=rtpmap:126 telephone-event/8000
                    a=fmtp:126 0-16
                    a=sendrecv
                    m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103
                    a=mid:1

                    """
                )
        )
        // The answer is itself a valid description with the offer's m-line count and order.
        let reparsed = try Self.parse(answer.serialized())
        #expect(reparsed.media.map(\.media) == offer.media.map(\.media))
    }

    @Test func answeringFirefox() throws {
        let offer = try Self.parse(SDPFixtures.firefoxOffer)
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .webRTC)
        let audio = try #require(negotiation.acceptedMedia.first)
        #expect(audio.formats.map(\.payloadType) == [109, 9, 0, 8, 101])
        // Opus is answered with the gateway's own parameters.
        #expect(audio.formats[0].codec.formatParameters == SDPCodec.opus.formatParameters)
        #expect(audio.telephoneEventFormat?.codec.clockRate == 8000)
        #expect(audio.remoteConnection == .ip4("198.51.100.7"))
        #expect(negotiation.bundleGroup?.identificationTags == ["0"])
    }

    @Test func answeringASIPPhone() throws {
        let offer = try Self.parse(SDPFixtures.sipPhoneOffer)
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .plainRTP)
        let answer = Self.answer(negotiation, port: 30000)
        #expect(
            answer.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=- 1700000000 1 IN IP4 198.51.100.20
                    s=-
                    c=IN IP4 198.51.100.20
                    t=0 0
                    m=audio 30000 RTP/AVP 0 8 101
                    a=rtpmap:0 PCMU/8000
                    a=rtpmap:8 PCMA/8000
                    a=rtpmap:101 telephone-event/8000
                    a=fmtp:101 0-16
                    a=ptime:20
                    a=sendrecv

                    """
                )
        )
    }

    @Test func localCodecOrderAndSingleCodecLock() throws {
        let offer = try Self.parse(SDPFixtures.sipPhoneOffer)
        var capabilities = SDPLocalCapabilities.plainRTP
        capabilities.audioCodecs = [.pcma, .pcmu]
        capabilities.codecOrder = .local
        let reordered = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(reordered.media[0].formats.map(\.payloadType) == [8, 0, 101])

        capabilities.maximumCodecsPerMedia = 1
        let locked = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(locked.media[0].formats.map(\.payloadType) == [8, 101])

        capabilities.codecOrder = .offer
        let offerOrder = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(offerOrder.media[0].formats.map(\.payloadType) == [0, 101])
    }

    @Test func telephoneEventNeedsAMatchingClockRate() throws {
        let offer = try Self.parse(SDPFixtures.chromeOffer)
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.audioCodecs = [.opus]
        let opusOnly = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(opusOnly.media[0].formats.map(\.payloadType) == [111, 110])

        capabilities.audioCodecs = [.pcmu]
        let pcmuOnly = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(pcmuOnly.media[0].formats.map(\.payloadType) == [0, 126])

        capabilities.telephoneEvents = []
        let noEvents = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(noEvents.media[0].formats.map(\.payloadType) == [0])
        #expect(noEvents.media[0].telephoneEventFormat == nil)
    }

    @Test func answeringAnSDESOffer() throws {
        let offer = try Self.parse(SDPFixtures.sdesOffer)
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .plainRTP)
        let media = negotiation.media[0]
        #expect(media.transportProtocol == .rtpSAVP)
        #expect(media.formats.map(\.payloadType) == [8, 0, 101])

        let offeredCrypto = try #require(offer.media[0].attributes.cryptos.first)
        let localKey = SDPCryptoInlineKey(keySaltBytes: Array(repeating: 0x2A, count: 30), lifetime: "2^31")
        let answer = negotiation.makeAnswer(origin: Self.gatewayOrigin, connection: .ip4("198.51.100.20")) { _ in
            SDPMediaTransport(
                port: 30004,
                attributes: [
                    SDPAttribute(
                        SDPCrypto(tag: offeredCrypto.tag, suite: offeredCrypto.suite, keyParameters: [.init(inline: localKey)])
                    )
                ]
            )
        }
        let reparsed = try Self.parse(answer.serialized())
        #expect(reparsed.media[0].transportProtocol == .rtpSAVP)
        let answeredCrypto = try #require(reparsed.media[0].attributes.cryptos.first)
        #expect(answeredCrypto.tag == 1)
        #expect(answeredCrypto.suite == "AES_CM_128_HMAC_SHA1_80")
        #expect(answeredCrypto.inlineKey?.keySaltBytes == Array(repeating: 0x2A, count: 30))

        // A leg that only does plain RTP cannot take it.
        var plainOnly = SDPLocalCapabilities.plainRTP
        plainOnly.transportProtocols = [.rtpAVP]
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try SDPNegotiation(offer: offer, capabilities: plainOnly)
        }
    }

    @Test func noCodecInCommonIsReported() throws {
        let g729Only = try Self.parse(
            SDPFixtures.crlf(
                """
                v=0
                o=- 1 1 IN IP4 192.0.2.10
                s=-
                c=IN IP4 192.0.2.10
                t=0 0
                m=audio 11780 RTP/AVP 18 101
                a=rtpmap:18 G729/8000
                a=rtpmap:101 telephone-event/8000
                """
            )
        )
        // telephone-event is supported, but it is not a codec.
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try SDPNegotiation(offer: g729Only, capabilities: .plainRTP)
        }
        let browser = try Self.parse(SDPFixtures.chromeOffer)
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try SDPNegotiation(offer: browser, capabilities: .plainRTP)
        }
    }

    // MARK: - Rejection and m-line order

    @Test func portZeroStreamsAreRejectedInPlace() throws {
        let text = try Self.replacing("m=video 54400", with: "m=video 0", in: SDPFixtures.chromeOffer)
        let offer = try Self.parse(text)
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.videoCodecs = [SDPCodec(name: "VP8", clockRate: 90000)]
        let negotiation = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(negotiation.media.map(\.rejection) == [nil, .disabledByOfferer])
        #expect(negotiation.bundleGroup?.identificationTags == ["0"])
        let answer = Self.answer(negotiation, port: 40000)
        #expect(answer.media.count == 2)
        #expect(answer.media.map(\.port) == [40000, 0])
        #expect(answer.media[1].media == .video)
        #expect(answer.media[1].formats == offer.media[1].formats)
        #expect(answer.media[1].attributes.mid == "1")
    }

    @Test func unsupportedStreamsKeepOrderAndCount() throws {
        let offer = try Self.parse(
            SDPFixtures.crlf(
                """
                v=0
                o=- 1 1 IN IP4 192.0.2.10
                s=-
                c=IN IP4 192.0.2.10
                t=0 0
                m=video 5002 RTP/AVP 31
                m=audio 5000 RTP/AVP 0
                m=image 5004 udptl t38
                m=audio 0 RTP/AVP 8
                m=audio 5006 RTP/AVP 18
                """
            )
        )
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .plainRTP)
        #expect(
            negotiation.media.map(\.rejection) == [
                .unsupportedMediaType, nil, .unsupportedMediaType, .disabledByOfferer, .noCodecInCommon,
            ]
        )
        let answer = Self.answer(negotiation, port: 30000)
        #expect(answer.media.map(\.media) == [.video, .audio, .image, .audio, .audio])
        #expect(answer.media.map(\.port) == [0, 30000, 0, 0, 0])
        #expect(answer.media.map(\.formats) == [["31"], ["0"], ["t38"], ["8"], ["18"]])
        #expect(try Self.parse(answer.serialized()) == answer)
    }

    @Test func offerWithEveryStreamDisabledIsAnsweredNotFailed() throws {
        let offer = try Self.parse(
            SDPFixtures.crlf("v=0\no=- 1 2 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 0 RTP/AVP 0\n")
        )
        let negotiation = try SDPNegotiation(offer: offer, capabilities: .plainRTP)
        #expect(negotiation.acceptedMedia.isEmpty)
        let answer = Self.answer(negotiation, port: 30000)
        #expect(answer.media.map(\.port) == [0])
    }

    // MARK: - BUNDLE

    @Test func bundledMediaShareOneTransport() throws {
        let offer = try Self.parse(SDPFixtures.chromeOffer)
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.videoCodecs = [SDPCodec(name: "VP8", clockRate: 90000), SDPCodec(name: "rtx", clockRate: 90000)]
        capabilities.rtcpFeedback = ["nack", "nack pli"]
        let negotiation = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(negotiation.bundleGroup?.identificationTags == ["0", "1"])
        let video = negotiation.media[1]
        #expect(video.isBundled)
        // rtx for VP8 is kept; rtx for the rejected H.264 is not.
        #expect(video.formats.map(\.description) == ["96 VP8/90000", "97 rtx/90000"])
        #expect(video.formats[1].codec.formatParameters == "apt=96")
        #expect(video.rtcpFeedback.map(\.attributeValue) == ["96 nack", "96 nack pli"])
        #expect(video.isReducedSizeRTCP)

        var ports: [UInt16] = [40000, 40002]
        let answer = negotiation.makeAnswer(origin: Self.gatewayOrigin, connection: .ip4("198.51.100.20")) { _ in
            SDPMediaTransport(port: ports.removeFirst())
        }
        #expect(answer.media.map(\.port) == [40000, 40000])
        #expect(answer.attributes.bundleGroup?.identificationTags == ["0", "1"])
        #expect(answer.media[1].attributes.rtcpFeedback(for: 96).map(\.feedback) == ["nack", "nack pli"])
        #expect(answer.media[1].attributes.formatParameters(for: "97")?.parameters == "apt=96")
    }

    @Test func withoutBundleSupportTheGroupIsDropped() throws {
        let offer = try Self.parse(SDPFixtures.chromeOffer)
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.supportsBundle = false
        let negotiation = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(negotiation.bundleGroup == nil)
        #expect(!negotiation.media[0].isBundled)
        let answer = Self.answer(negotiation, port: 40000)
        #expect(answer.attributes.groups.isEmpty)
    }

    @Test func bundleOnlyStreamIsNotDisabled() throws {
        var text = try Self.replacing("m=video 54400", with: "m=video 0", in: SDPFixtures.chromeOffer)
        text = try Self.replacing("a=mid:1\r\n", with: "a=mid:1\r\na=bundle-only\r\n", in: text)
        let offer = try Self.parse(text)
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.videoCodecs = [SDPCodec(name: "VP8", clockRate: 90000)]
        let negotiation = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(negotiation.media[1].isAccepted)
        #expect(negotiation.media[1].isBundled)

        capabilities.supportsBundle = false
        let unbundled = try SDPNegotiation(offer: offer, capabilities: capabilities)
        #expect(unbundled.media[1].rejection == .disabledByOfferer)
    }

    // MARK: - Direction, hold and resume

    @Test("answer direction", arguments: [
        (SDPDirection.sendrecv, SDPDirection.sendrecv, SDPDirection.sendrecv),
        (.sendrecv, .sendonly, .sendonly),
        (.sendrecv, .recvonly, .recvonly),
        (.sendrecv, .inactive, .inactive),
        (.sendonly, .sendrecv, .recvonly),
        (.sendonly, .sendonly, .inactive),
        (.sendonly, .recvonly, .recvonly),
        (.sendonly, .inactive, .inactive),
        (.recvonly, .sendrecv, .sendonly),
        (.recvonly, .sendonly, .sendonly),
        (.recvonly, .recvonly, .inactive),
        (.recvonly, .inactive, .inactive),
        (.inactive, .sendrecv, .inactive),
        (.inactive, .sendonly, .inactive),
        (.inactive, .recvonly, .inactive),
        (.inactive, .inactive, .inactive),
    ])
    func answerDirection(offered: SDPDirection, local: SDPDirection, expected: SDPDirection) throws {
        #expect(offered.answer(local: local) == expected)
        let text = try Self.replacing("a=sendrecv", with: "a=\(offered.rawValue)", in: SDPFixtures.sipPhoneOffer)
        var capabilities = SDPLocalCapabilities.plainRTP
        capabilities.direction = local
        let negotiation = try SDPNegotiation(offer: try Self.parse(text), capabilities: capabilities)
        #expect(negotiation.media[0].direction == expected)
        let answer = Self.answer(negotiation, port: 30000)
        #expect(answer.media[0].attributes.direction == expected)
    }

    @Test func phoneHoldAndResume() throws {
        let initial = try Self.parse(SDPFixtures.sipPhoneOffer)
        #expect(try !SDPNegotiation(offer: initial, capabilities: .plainRTP).media[0].isHeldByOfferer)

        // RFC 3264 §8.4 hold: the phone re-offers with a=sendonly and a new version.
        var hold = initial.reoffer(direction: .sendonly)
        #expect(hold.origin.sessionVersion == initial.origin.sessionVersion + 1)
        #expect(hold.media[0].attributes.direction == .sendonly)
        hold = try Self.parse(hold.serialized())
        let held = try SDPNegotiation(offer: hold, capabilities: .plainRTP)
        #expect(held.media[0].isHeldByOfferer)
        #expect(held.media[0].direction == .recvonly)

        // Both sides on hold.
        let inactive = try SDPNegotiation(offer: initial.reoffer(direction: .inactive), capabilities: .plainRTP)
        #expect(inactive.media[0].isHeldByOfferer)
        #expect(inactive.media[0].direction == .inactive)

        // Resume.
        let resume = hold.reoffer(direction: .sendrecv)
        #expect(resume.origin.sessionVersion == initial.origin.sessionVersion + 2)
        let resumed = try SDPNegotiation(offer: resume, capabilities: .plainRTP)
        #expect(!resumed.media[0].isHeldByOfferer)
        #expect(resumed.media[0].direction == .sendrecv)
    }

    @Test func rfc2543HoldWithUnspecifiedAddress() throws {
        let text = try Self.replacing("c=IN IP4 192.0.2.10", with: "c=IN IP4 0.0.0.0", in: SDPFixtures.sipPhoneOffer)
        let negotiation = try SDPNegotiation(offer: try Self.parse(text), capabilities: .plainRTP)
        #expect(negotiation.media[0].offeredDirection == .sendonly)
        #expect(negotiation.media[0].isHeldByOfferer)
        #expect(negotiation.media[0].direction == .recvonly)
    }

    @Test func browserHoldKeepsICEPlaceholderAddress() throws {
        var text = try Self.replacing("c=IN IP4 203.0.113.45", with: "c=IN IP4 0.0.0.0", in: SDPFixtures.chromeOffer)
        text = try Self.replacing("a=sendrecv", with: "a=sendonly", in: text)
        let negotiation = try SDPNegotiation(offer: try Self.parse(text), capabilities: .webRTC)
        // ICE is in use, so 0.0.0.0 is a placeholder: the browser still receives.
        #expect(negotiation.media[0].offeredDirection == .sendonly)
        #expect(negotiation.media[0].direction == .recvonly)

        let resumed = try SDPNegotiation(offer: try Self.parse(SDPFixtures.chromeOffer), capabilities: .webRTC)
        #expect(resumed.media[0].direction == .sendrecv)
    }

    @Test func sessionLevelDirectionApplies() throws {
        let text = try Self.replacing("t=0 0\r\n", with: "t=0 0\r\na=sendonly\r\n", in: SDPFixtures.sipPhoneOffer)
        let withMediaLevel = try Self.parse(text)
        // The media-level a=sendrecv wins over the session-level a=sendonly.
        #expect(try SDPNegotiation(offer: withMediaLevel, capabilities: .plainRTP).media[0].direction == .sendrecv)

        var sessionOnly = withMediaLevel
        sessionOnly.media[0].attributes.setDirection(nil)
        #expect(try SDPNegotiation(offer: sessionOnly, capabilities: .plainRTP).media[0].direction == .recvonly)

        // A re-offer moves the direction to the media level.
        let reoffer = sessionOnly.reoffer(direction: .sendrecv)
        #expect(reoffer.attributes.direction == nil)
        #expect(reoffer.media[0].attributes.direction == .sendrecv)
    }

    @Test func reofferLeavesDisabledStreamsAlone() throws {
        let offer = try Self.parse(SDPFixtures.rfc3264BasicAnswer)
        let hold = offer.reoffer(direction: .sendonly)
        #expect(hold.media.map { $0.attributes.direction } == [.sendonly, nil, .sendonly])
        #expect(hold.origin.sessionVersion == 2_890_844_731)
    }
}
