import Testing

@testable import SIP

@Suite("SDP session description parsing and serialization")
struct SDPSessionDescriptionTests {
    static let fixtures: [(name: String, text: String)] = [
        ("chrome", SDPFixtures.chromeOffer),
        ("firefox", SDPFixtures.firefoxOffer),
        ("sip phone", SDPFixtures.sipPhoneOffer),
        ("sdes", SDPFixtures.sdesOffer),
        ("rfc3264 10.1 offer", SDPFixtures.rfc3264BasicOffer),
        ("rfc3264 10.1 answer", SDPFixtures.rfc3264BasicAnswer),
        ("rfc3264 10.1 re-offer", SDPFixtures.rfc3264BasicReoffer),
        ("rfc3264 10.2 offer", SDPFixtures.rfc3264OneOfNOffer),
        ("rfc3264 10.2 lock offer", SDPFixtures.rfc3264OneOfNLockOffer),
        ("all fields", SDPFixtures.allFields),
    ]

    @Test("round trip is byte for byte", arguments: fixtures)
    func roundTrip(fixture: (name: String, text: String)) throws {
        let parsed = try SDPSessionDescription(parsing: fixture.text)
        #expect(parsed.serialized() == fixture.text)
        // Parsing the output again gives the same value.
        #expect(try SDPSessionDescription(parsing: parsed.serialized()) == parsed)
    }

    @Test("LF-only input parses the same and serializes with CRLF", arguments: fixtures)
    func lineFeedOnly(fixture: (name: String, text: String)) throws {
        let lf = fixture.text.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
        #expect(!lf.contains("\r"))
        let parsed = try SDPSessionDescription(parsing: lf)
        #expect(parsed == (try SDPSessionDescription(parsing: fixture.text)))
        #expect(parsed.serialized() == fixture.text)
    }

    @Test func parsesFromBytes() throws {
        let bytes = Array(SDPFixtures.sipPhoneOffer.utf8)
        let fromBytes = try SDPSessionDescription(parsing: bytes)
        let fromSlice = try SDPSessionDescription(parsing: bytes[...])
        #expect(fromBytes == (try SDPSessionDescription(parsing: SDPFixtures.sipPhoneOffer)))
        #expect(fromSlice == fromBytes)
    }

    @Test func missingFinalLineEndingIsAccepted() throws {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0"
        let parsed = try SDPSessionDescription(parsing: text)
        #expect(parsed.serialized() == text + "\r\n")
    }

    @Test func chromeOfferFields() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.chromeOffer)
        #expect(sdp.origin.sessionID == "4215775240449105457")
        #expect(sdp.origin.sessionVersion == 2)
        #expect(sdp.origin.addressType == .ip4)
        #expect(sdp.attributes.bundleGroup == SDPGroup(semantics: "BUNDLE", identificationTags: ["0", "1"]))
        #expect(sdp.attributes.firstValue("msid-semantic") == " WMS 7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b")
        #expect(sdp.attributes.contains("extmap-allow-mixed"))
        #expect(sdp.media.count == 2)

        let audio = sdp.media[0]
        #expect(audio.media == .audio)
        #expect(audio.port == 54400)
        #expect(audio.transportProtocol == .udpTLSRTPSAVPF)
        #expect(audio.transportProtocol.isSecure && audio.transportProtocol.usesDTLS && audio.transportProtocol.hasFeedback)
        #expect(audio.payloadTypes == [111, 63, 9, 0, 8, 13, 110, 126])
        #expect(audio.connection == .ip4("203.0.113.45"))
        #expect(audio.attributes.mid == "0")
        #expect(audio.attributes.direction == .sendrecv)
        #expect(audio.attributes.isRTCPMultiplexed)
        #expect(!audio.attributes.isReducedSizeRTCP)
        #expect(audio.attributes.rtcp == SDPRTCPAddress(port: 9, connection: .ip4("0.0.0.0")))
        #expect(audio.attributes.iceUsernameFragment == "Xq3v")
        #expect(audio.attributes.icePassword == "Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd")
        #expect(audio.attributes.iceOptions == ["trickle"])
        #expect(audio.attributes.setup == .actpass)
        #expect(audio.attributes.candidates.count == 3)
        #expect(audio.attributes.candidates[1].type == .serverReflexive)
        #expect(audio.attributes.candidates[2].extensionValue("tcptype") == "active")
        let fingerprint = try #require(audio.attributes.fingerprints.first)
        #expect(fingerprint.hashFunctionMatches("SHA-256"))
        #expect(fingerprint.bytes.count == 32)
        #expect(fingerprint.bytes.first == 0x7B && fingerprint.bytes.last == 0x08)
        #expect(audio.attributes.extensionMaps.map(\.id) == [1, 2, 3, 4])
        #expect(
            audio.attributes.rtpMap(for: 111)
                == SDPRTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, encodingParameters: "2")
        )
        #expect(audio.attributes.formatParameters(for: "111")?.value(forKey: "useinbandfec") == "1")
        #expect(audio.attributes.rtcpFeedback(for: 111).map(\.feedback) == ["transport-cc"])
        #expect(audio.attributes.mediaStreamIDs.first?.trackID == "0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d")
        #expect(audio.attributes.ssrcAttributes.map(\.ssrc) == [3_735_928_559, 3_735_928_559])
        #expect(audio.attributes.ssrcAttributes.first?.attribute == "cname")

        let formats = audio.payloadFormats
        #expect(formats.map(\.codec.name) == ["opus", "red", "G722", "PCMU", "PCMA", "CN", "telephone-event", "telephone-event"])
        #expect(formats[0].codec.channels == 2)
        #expect(formats[0].codec.formatParameters == "minptime=10;useinbandfec=1")
        #expect(formats[6].codec.clockRate == 48000)

        let video = sdp.media[1]
        #expect(video.attributes.isReducedSizeRTCP)
        #expect(video.attributes.ssrcGroups == [SDPSSRCGroup(semantics: "FID", ssrcs: [2_271_533_371, 4_016_735_372])])
        #expect(video.attributes.rtcpFeedback(for: 96).map(\.feedback) == ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
        #expect(video.attributes.formatParameters(for: "97")?.value(forKey: "apt") == "96")
        #expect(sdp.media(withMid: "1") == video)
    }

    @Test func firefoxOfferFields() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.firefoxOffer)
        #expect(sdp.origin.username == "mozilla...THIS_IS_SDPARTA-128.0")
        #expect(sdp.attributes.fingerprints.count == 1)
        #expect(sdp.attributes.iceOptions == ["trickle"])
        let audio = sdp.media[0]
        #expect(audio.attributes.fingerprints.isEmpty)
        #expect(audio.attributes.isEndOfCandidates)
        let host = try #require(audio.attributes.candidates.first)
        #expect(host.address == "2d3f4c0e-8f7a-4b6c-9d1e-0a2b3c4d5e6f.local")
        #expect(host.transport == "UDP")
        #expect(host.extensions.isEmpty)
        #expect(
            audio.attributes.extensionMaps[1]
                == SDPExtensionMap(id: 2, direction: .recvonly, uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level")
        )
        #expect(audio.attributes.mediaStreamIDs.first?.streamID == "{5a8c1b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d}")
        let g722 = try #require(audio.payloadFormats.first { $0.payloadType == 9 })
        #expect(g722.codec.matches(.g722))
        #expect(g722.codec.samplingRate == 16000)
    }

    @Test func sipPhoneOfferFields() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.sipPhoneOffer)
        #expect(sdp.sessionName == "SDP data")
        #expect(sdp.connection == .ip4("192.0.2.10"))
        let audio = sdp.media[0]
        #expect(audio.transportProtocol == .rtpAVP)
        #expect(!audio.transportProtocol.isSecure)
        #expect(audio.attributes.packetTime == 20)
        #expect(audio.attributes.maximumPacketTime == 150)
        #expect(audio.effectiveConnection(in: sdp) == .ip4("192.0.2.10"))
        #expect(audio.effectiveDirection(in: sdp) == .sendrecv)
        #expect(audio.payloadFormats.map(\.description) == ["0 PCMU/8000", "8 PCMA/8000", "18 G729/8000", "101 telephone-event/8000"])
        #expect(audio.payloadFormats[3].codec.formatParameters == "0-15")
    }

    @Test func sdesOfferFields() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.sdesOffer)
        #expect(sdp.bandwidths == [SDPBandwidth(type: "AS", value: 80)])
        let audio = sdp.media[0]
        #expect(audio.transportProtocol == .rtpSAVP)
        #expect(audio.transportProtocol.isSecure && !audio.transportProtocol.usesDTLS)
        let cryptos = audio.attributes.cryptos
        #expect(cryptos.map(\.tag) == [1, 2])
        #expect(cryptos.map(\.suite) == ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"])
        let key = try #require(cryptos[0].inlineKey)
        #expect(key.lifetime == "2^20")
        #expect(key.mki == "1:32")
        #expect(key.keySaltBytes?.count == 30)
    }

    @Test func staticPayloadTypesWithoutRTPMap() throws {
        let sdp = try SDPSessionDescription(
            parsing: "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0 8 9 96\n"
        )
        // 96 is dynamic and has no rtpmap, so it cannot be interpreted.
        #expect(sdp.media[0].payloadFormats.map(\.codec) == [.pcmu, .pcma, .g722])
    }

    @Test func allFieldsAreParsed() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.allFields)
        #expect(sdp.information == "SDP Offer #1")
        #expect(sdp.uri == "http://www.jdoe.example.com/home.html")
        #expect(sdp.emails == ["Jane Doe <jane@jdoe.example.com>"])
        #expect(sdp.phoneNumbers == ["+1 617 555-6011"])
        #expect(sdp.bandwidths == [SDPBandwidth(type: "CT", value: 128)])
        #expect(sdp.timing.count == 1)
        #expect(sdp.timing[0].start == 3_034_423_619)
        let repeats = sdp.timing[0].repeats
        #expect(repeats.count == 2)
        #expect(repeats[0].interval.seconds == 604_800)
        #expect(repeats[0].activeDuration.seconds == 3600)
        #expect(repeats[0].offsets.map(\.seconds) == [0, 90000])
        #expect(repeats[1].interval == SDPTypedTime(value: 604_800))
        #expect(sdp.timeZoneAdjustments.map(\.offset.seconds) == [-3600, 0])
        #expect(sdp.encryptionKey == "clear:secret")
        #expect(sdp.attributes.direction == .recvonly)

        let audio = sdp.media[0]
        #expect(audio.title == "Voice")
        #expect(audio.connection == SDPConnection(address: "224.2.1.1", ttl: 127, addressCount: 3))
        #expect(audio.encryptionKey == "prompt")
        #expect(audio.effectiveDirection(in: sdp) == .recvonly)
        let video = sdp.media[1]
        #expect(video.portCount == 2)
        #expect(video.connection == SDPConnection(addressType: .ip6, address: "FF15::101", addressCount: 3))
        let data = sdp.media[2]
        #expect(data.transportProtocol == .udpDTLSSCTP)
        #expect(!data.transportProtocol.isRTP)
        #expect(data.formats == ["webrtc-datachannel"])
        #expect(data.payloadTypes.isEmpty)
    }

    @Test func builtDescriptionSerializes() {
        var audio = SDPMediaDescription(media: .audio, port: 30000, transportProtocol: .rtpAVP, formats: ["0", "101"])
        audio.attributes.append(SDPCodec.pcmu.rtpMap(payloadType: 0))
        audio.attributes.append(SDPCodec.telephoneEvent8000.rtpMap(payloadType: 101))
        audio.attributes.append(SDPFormatParameters(payloadType: 101, parameters: "0-16"))
        audio.attributes.setDirection(.sendrecv)
        let sdp = SDPSessionDescription(
            origin: SDPOrigin(sessionID: "42", sessionVersion: 1, unicastAddress: "203.0.113.9"),
            connection: .ip4("203.0.113.9"),
            media: [audio]
        )
        #expect(
            sdp.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=- 42 1 IN IP4 203.0.113.9
                    s=-
                    c=IN IP4 203.0.113.9
                    t=0 0
                    m=audio 30000 RTP/AVP 0 101
                    a=rtpmap:0 PCMU/8000
                    a=rtpmap:101 telephone-event/8000
                    a=fmtp:101 0-16
                    a=sendrecv

                    """
                )
        )
    }

    @Test func setDirectionReplacesInPlace() {
        var attributes: SDPAttributeList = [
            SDPAttribute(name: "mid", value: "0"),
            SDPAttribute(name: "sendrecv"),
            SDPAttribute(name: "rtcp-mux"),
        ]
        attributes.setDirection(.sendonly)
        #expect(attributes.map(\.description) == ["mid:0", "sendonly", "rtcp-mux"])
        attributes.setDirection(nil)
        #expect(attributes.map(\.description) == ["mid:0", "rtcp-mux"])
        attributes.setDirection(.inactive)
        #expect(attributes.map(\.description) == ["mid:0", "rtcp-mux", "inactive"])
    }

    @Test func holdAddressDependsOnICE() throws {
        let plain = try SDPSessionDescription(
            parsing: "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
        )
        #expect(plain.media[0].effectiveDirection(in: plain) == .sendonly)
        #expect(plain.media[0].effectiveDirection(in: plain).isHold)

        // Browsers write c=IN IP4 0.0.0.0 with port 9 and ICE: that is not hold.
        let ice = try SDPSessionDescription(
            parsing: "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n"
                + "c=IN IP4 0.0.0.0\na=ice-ufrag:abcd\na=rtpmap:111 opus/48000/2\n"
        )
        #expect(ice.media[0].usesICE(in: ice))
        #expect(ice.media[0].effectiveDirection(in: ice) == .sendrecv)
    }
}
