import Testing

@testable import SIP

@Suite("SDP codecs and payload types")
struct SDPCodecTests {
    @Test func wellKnownCodecs() {
        #expect(SDPCodec.opus.rtpMapEncoding == "opus/48000/2")
        #expect(SDPCodec.pcmu.rtpMapEncoding == "PCMU/8000")
        #expect(SDPCodec.pcma.rtpMapEncoding == "PCMA/8000")
        #expect(SDPCodec.g722.rtpMapEncoding == "G722/8000")
        #expect(SDPCodec.telephoneEvent8000.rtpMapEncoding == "telephone-event/8000")
        #expect(SDPCodec.telephoneEvent48000.rtpMapEncoding == "telephone-event/48000")
        #expect(SDPCodec.pcmu.staticPayloadType == 0)
        #expect(SDPCodec.pcma.staticPayloadType == 8)
        #expect(SDPCodec.g722.staticPayloadType == 9)
        #expect(SDPCodec.opus.staticPayloadType == nil)
        #expect(SDPCodec.telephoneEvent8000.staticPayloadType == nil)
    }

    @Test func g722SignalsEightKilohertzButSamplesAtSixteen() {
        #expect(SDPCodec.g722.clockRate == 8000)
        #expect(SDPCodec.g722.samplingRate == 16000)
        #expect(SDPCodec.pcmu.samplingRate == 8000)
        #expect(SDPCodec.opus.samplingRate == 48000)
    }

    @Test("static payload types follow RFC 3551", arguments: [
        (UInt8(0), "PCMU/8000"), (3, "GSM/8000"), (4, "G723/8000"), (8, "PCMA/8000"), (9, "G722/8000"),
        (10, "L16/44100/2"), (13, "CN/8000"), (18, "G729/8000"), (31, "H261/90000"), (34, "H263/90000"),
    ])
    func staticPayloadTypes(payloadType: UInt8, encoding: String) throws {
        let codec = try #require(SDPCodec(staticPayloadType: payloadType))
        #expect(codec.rtpMapEncoding == encoding)
        #expect(codec.staticPayloadType == payloadType)
    }

    @Test("unassigned and dynamic payload types have no static codec", arguments: [UInt8(1), 2, 19, 24, 35, 96, 127])
    func noStaticPayloadType(payloadType: UInt8) {
        #expect(SDPCodec(staticPayloadType: payloadType) == nil)
    }

    @Test func matching() {
        #expect(SDPCodec(name: "pcmu", clockRate: 8000).matches(.pcmu))
        #expect(!SDPCodec(name: "PCMU", clockRate: 16000).matches(.pcmu))
        #expect(!SDPCodec.telephoneEvent8000.matches(.telephoneEvent48000))
        #expect(!SDPCodec(name: "L16", clockRate: 8000, channels: 2).matches(SDPCodec(name: "L16", clockRate: 8000)))
        // Opus is always stereo in SDP, but some peers write it without the channel count.
        #expect(SDPCodec(name: "OPUS", clockRate: 48000).matches(.opus))
        // Format parameters do not matter, except H.264 packetization mode.
        #expect(SDPCodec(name: "opus", clockRate: 48000, channels: 2, formatParameters: "stereo=1").matches(.opus))
        let h264Mode1 = SDPCodec(name: "H264", clockRate: 90000, formatParameters: "profile-level-id=42e01f;packetization-mode=1")
        let h264Mode0 = SDPCodec(name: "H264", clockRate: 90000, formatParameters: "profile-level-id=42e01f")
        #expect(!h264Mode1.matches(h264Mode0))
        #expect(h264Mode0.matches(SDPCodec(name: "h264", clockRate: 90000, formatParameters: "packetization-mode=0")))
    }

    @Test func supplementaryFormats() {
        #expect(SDPCodec.telephoneEvent48000.isSupplementary)
        #expect(SDPCodec.comfortNoise.isSupplementary)
        #expect(SDPCodec(name: "rtx", clockRate: 90000).isSupplementary)
        #expect(!SDPCodec.opus.isSupplementary)
        #expect(!SDPCodec(name: "telephone-events", clockRate: 8000).isSupplementary)
    }

    @Test func firstCommonCodec() throws {
        #expect(try SDPCodec.firstCommon([.opus, .pcma, .pcmu], [.pcmu, .pcma]) == .pcma)
        #expect(try SDPCodec.firstCommon([.pcmu, .pcma], [.opus, .pcma, .pcmu]) == .pcmu)
        // telephone-event alone is not a codec in common.
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try SDPCodec.firstCommon([.telephoneEvent8000, .opus], [.telephoneEvent8000, .pcmu])
        }
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try SDPCodec.firstCommon([], [.pcmu])
        }
    }

    @Test func firstCommonFormatUsesTheOfferersPayloadType() throws {
        let sdp = try SDPSessionDescription(parsing: SDPFixtures.chromeOffer)
        let audio = sdp.media[0]
        #expect(try audio.firstCommonFormat(with: [.pcma, .pcmu]) == SDPPayloadFormat(payloadType: 0, codec: .pcmu))
        let opus = try audio.firstCommonFormat(with: [.opus])
        #expect(opus.payloadType == 111)
        #expect(opus.codec.formatParameters == "minptime=10;useinbandfec=1")
        #expect(throws: SDPNegotiationError.noCodecInCommon) {
            try audio.firstCommonFormat(with: [SDPCodec(name: "G729", clockRate: 8000), .telephoneEvent8000])
        }
    }

    @Test func payloadTypeNumbering() throws {
        let capabilities = SDPLocalCapabilities(
            payloadTypeNumbering: [
                SDPPayloadFormat(payloadType: 111, codec: .opus),
                SDPPayloadFormat(payloadType: 101, codec: .telephoneEvent8000),
            ],
            dynamicPayloadTypes: 96...98
        )
        let ilbc = SDPCodec(name: "iLBC", clockRate: 8000)
        let speex = SDPCodec(name: "speex", clockRate: 16000)
        let numbered = try capabilities.assignPayloadTypes(
            to: [.opus, .pcmu, ilbc, .g722, .telephoneEvent8000, speex, .telephoneEvent48000]
        )
        #expect(numbered.map(\.payloadType) == [111, 0, 96, 9, 101, 97, 98])
        #expect(throws: SDPNegotiationError.payloadTypesExhausted) {
            try capabilities.assignPayloadTypes(to: [ilbc, speex, .telephoneEvent48000, SDPCodec(name: "AMR", clockRate: 8000)])
        }
    }

    @Test func configuredNumbersAreNotReusedForOtherCodecs() throws {
        let capabilities = SDPLocalCapabilities(
            payloadTypeNumbering: [SDPPayloadFormat(payloadType: 96, codec: .telephoneEvent8000)],
            dynamicPayloadTypes: 96...100
        )
        let numbered = try capabilities.assignPayloadTypes(to: [SDPCodec(name: "iLBC", clockRate: 8000), .telephoneEvent8000])
        #expect(numbered.map(\.payloadType) == [97, 96])
    }

    @Test func plainRTPOffer() throws {
        let media = try SDPLocalCapabilities.plainRTP.makeOfferMedia(.audio, port: 30000)
        let sdp = SDPSessionDescription(
            origin: SDPOrigin(sessionID: "7", sessionVersion: 1, unicastAddress: "198.51.100.20"),
            connection: .ip4("198.51.100.20"),
            media: [media]
        )
        #expect(
            sdp.serialized()
                == SDPFixtures.crlf(
                    """
                    v=0
                    o=- 7 1 IN IP4 198.51.100.20
                    s=-
                    c=IN IP4 198.51.100.20
                    t=0 0
                    m=audio 30000 RTP/AVP 0 8 9 101
                    a=rtpmap:0 PCMU/8000
                    a=rtpmap:8 PCMA/8000
                    a=rtpmap:9 G722/8000
                    a=rtpmap:101 telephone-event/8000
                    a=fmtp:101 0-16
                    a=ptime:20
                    a=sendrecv

                    """
                )
        )
    }

    @Test func webRTCOfferOffersEventsAtBothClockRates() throws {
        let media = try SDPLocalCapabilities.webRTC.makeOfferMedia(
            .audio,
            port: 9,
            mid: "0",
            transportAttributes: [SDPAttribute(name: "setup", value: "actpass")]
        )
        #expect(media.transportProtocol == .udpTLSRTPSAVPF)
        #expect(media.formats == ["111", "9", "0", "8", "110", "126"])
        #expect(media.attributes.mid == "0")
        #expect(media.attributes.setup == .actpass)
        #expect(media.attributes.isRTCPMultiplexed)
        #expect(media.attributes.extensionMaps == [SDPExtensionMap(id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid")])
        #expect(media.attributes.rtpMap(for: 110)?.clockRate == 48000)
        #expect(media.attributes.rtpMap(for: 126)?.clockRate == 8000)
    }

    @Test func offerWithoutCodecsFails() {
        #expect(throws: SDPNegotiationError.noLocalCodecs(.video)) {
            try SDPLocalCapabilities.plainRTP.makeOfferMedia(.video, port: 30002)
        }
    }
}
