import Testing

@testable import SIP

@Suite("SDP typed attributes")
struct SDPAttributeTests {
    /// Parses `value` as `Value`, checks it serializes back to the same text, and returns it.
    func roundTrip<Value: SDPAttributeValue & Equatable>(
        _ type: Value.Type,
        _ value: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Value {
        let parsed = try Value(attributeValue: value[...])
        #expect(parsed.attributeValue == value, sourceLocation: sourceLocation)
        #expect(try Value(attributeValue: parsed.attributeValue[...]) == parsed, sourceLocation: sourceLocation)
        return parsed
    }

    @Test func rtpMap() throws {
        let opus = try roundTrip(SDPRTPMap.self, "111 opus/48000/2")
        #expect(opus.payloadType == 111)
        #expect(opus.encodingName == "opus")
        #expect(opus.clockRate == 48000)
        #expect(opus.channels == 2)
        let pcmu = try roundTrip(SDPRTPMap.self, "0 PCMU/8000")
        #expect(pcmu.channels == 1)
        #expect(pcmu.encodingParameters == nil)
        let video = try roundTrip(SDPRTPMap.self, "96 VP8/90000")
        #expect(video.clockRate == 90000)
    }

    @Test("rtpmap rejects", arguments: [
        "", "111", "128 opus/48000", "x opus/48000", "111 opus", "111 opus/0", "111 opus/fast", "111 /8000",
        "111 opus/48000/2/1",
    ])
    func rtpMapRejects(value: String) {
        #expect(throws: SDPParseError(.invalidAttribute(name: "rtpmap"))) {
            try SDPRTPMap(attributeValue: value[...])
        }
    }

    @Test func formatParameters() throws {
        let opus = try roundTrip(SDPFormatParameters.self, "111 minptime=10;useinbandfec=1")
        #expect(opus.payloadType == 111)
        #expect(opus.parameterList.map(\.key) == ["minptime", "useinbandfec"])
        #expect(opus.value(forKey: "MinPTime") == "10")
        #expect(opus.value(forKey: "stereo") == nil)
        let events = try roundTrip(SDPFormatParameters.self, "101 0-16")
        #expect(events.parameterList.count == 1)
        #expect(events.parameterList[0].key == "0-16")
        #expect(events.parameterList[0].value == nil)
        let spaced = try SDPFormatParameters(attributeValue: "102 profile-level-id=42e01f; packetization-mode=1"[...])
        #expect(spaced.value(forKey: "packetization-mode") == "1")
    }

    @Test func rtcpFeedback() throws {
        let pli = try roundTrip(SDPRTCPFeedback.self, "96 nack pli")
        #expect(pli.payloadType == .payloadType(96))
        #expect(pli.type == "nack")
        #expect(pli.parameter == "pli")
        let wildcard = try roundTrip(SDPRTCPFeedback.self, "* ccm fir")
        #expect(wildcard.payloadType == .all)
        #expect(wildcard.feedback == "ccm fir")
        let trrInt = try roundTrip(SDPRTCPFeedback.self, "* trr-int 100")
        #expect(trrInt.parameter == "100")
        #expect(try roundTrip(SDPRTCPFeedback.self, "111 transport-cc").parameter == nil)
        #expect(throws: SDPParseError.self) { try SDPRTCPFeedback(attributeValue: "96"[...]) }
        #expect(throws: SDPParseError.self) { try SDPRTCPFeedback(attributeValue: "all nack"[...]) }
    }

    @Test func rtcpAddress() throws {
        let full = try roundTrip(SDPRTCPAddress.self, "53020 IN IP4 126.16.64.4")
        #expect(full.port == 53020)
        #expect(full.connection == .ip4("126.16.64.4"))
        #expect(try roundTrip(SDPRTCPAddress.self, "9").connection == nil)
        #expect(throws: SDPParseError(.invalidAttribute(name: "rtcp"))) {
            try SDPRTCPAddress(attributeValue: "9 IN"[...])
        }
    }

    @Test func candidateWithRelatedAddressAndExtensions() throws {
        let candidate = try roundTrip(
            SDPICECandidate.self,
            "2442220432 1 udp 1686052607 203.0.113.45 54400 typ srflx raddr 192.168.1.23 rport 54400 generation 0 network-id 1"
        )
        #expect(candidate.foundation == "2442220432")
        #expect(candidate.component == 1)
        #expect(candidate.transport == "udp")
        #expect(candidate.priority == 1_686_052_607)
        #expect(candidate.address == "203.0.113.45")
        #expect(candidate.port == 54400)
        #expect(candidate.type == .serverReflexive)
        #expect(candidate.relatedAddress == "192.168.1.23")
        #expect(candidate.relatedPort == 54400)
        #expect(candidate.extensions == [.init(name: "generation", value: "0"), .init(name: "network-id", value: "1")])
    }

    @Test func candidateVariants() throws {
        let ipv6 = try roundTrip(SDPICECandidate.self, "1 2 UDP 2122252542 2001:db8::1 9 typ host")
        #expect(ipv6.component == 2)
        #expect(ipv6.relatedAddress == nil)
        let relay = try roundTrip(SDPICECandidate.self, "a+/b 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.45 rport 60000")
        #expect(relay.type == .relayed)
        let tcp = try roundTrip(SDPICECandidate.self, "3 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active")
        #expect(tcp.extensionValue("tcptype") == "active")
        let unknownType = try roundTrip(SDPICECandidate.self, "4 1 udp 1 192.0.2.1 1 typ future")
        #expect(unknownType.type.rawValue == "future")
        let maximumPriority = try roundTrip(SDPICECandidate.self, "5 1 udp 4294967295 192.0.2.1 1 typ host")
        #expect(maximumPriority.priority == .max)
    }

    @Test("candidate rejects", arguments: [
        "",
        "1 1 udp 100 192.0.2.1 4000 host",  // missing "typ"
        "1 1 udp 100 192.0.2.1 4000 typ",  // missing type
        "1 0 udp 100 192.0.2.1 4000 typ host",  // component 0
        "1 257 udp 100 192.0.2.1 4000 typ host",  // component out of range
        "1 1 udp 4294967296 192.0.2.1 4000 typ host",  // priority overflow
        "1 1 udp -5 192.0.2.1 4000 typ host",
        "1 1 udp 100 192.0.2.1 70000 typ host",
        "bad!foundation 1 udp 100 192.0.2.1 4000 typ host",
        "\(String(repeating: "f", count: 33)) 1 udp 100 192.0.2.1 4000 typ host",  // foundation too long
        "1 1 udp 100 192.0.2.1 4000 typ srflx raddr 192.0.2.9 rport port",
        "1 1 udp 100 192.0.2.1 4000 typ host generation",  // extension without value
    ])
    func candidateRejects(value: String) {
        #expect(throws: SDPParseError(.invalidAttribute(name: "candidate"))) {
            try SDPICECandidate(attributeValue: value[...])
        }
    }

    @Test func fingerprint() throws {
        let sha256 = try roundTrip(
            SDPFingerprint.self,
            "sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"
        )
        #expect(sha256.bytes.count == 32)
        #expect(sha256.bytes[0...2] == [0x7B, 0x8B, 0xF0])
        // Lower-case input is accepted and normalised to upper case.
        let lower = try SDPFingerprint(attributeValue: "SHA-1 4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab"[...])
        #expect(lower.hashFunctionMatches("sha-1"))
        #expect(lower.attributeValue == "SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB")
        let built = SDPFingerprint(hashFunction: "sha-256", bytes: [0x00, 0x0F, 0xF0, 0xFF])
        #expect(built.attributeValue == "sha-256 00:0F:F0:FF")
    }

    @Test("fingerprint rejects", arguments: ["sha-256", "sha-256 7B:8", "sha-256 7B:8G", "sha-256 7B::8B", "sha-256 7B8B", "sha-256 :7B"])
    func fingerprintRejects(value: String) {
        #expect(throws: SDPParseError(.invalidAttribute(name: "fingerprint"))) {
            try SDPFingerprint(attributeValue: value[...])
        }
    }

    @Test func setupRoles() {
        #expect(SDPSetupRole(rawValue: "actpass")?.answer == .active)
        #expect(SDPSetupRole.active.answer == .passive)
        #expect(SDPSetupRole.passive.answer == .active)
        #expect(SDPSetupRole.holdconn.answer == .holdconn)
        #expect(SDPSetupRole(rawValue: "ACTIVE") == nil)
    }

    @Test func crypto() throws {
        let crypto = try roundTrip(
            SDPCrypto.self,
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"
        )
        #expect(crypto.tag == 1)
        #expect(crypto.suite == "AES_CM_128_HMAC_SHA1_80")
        #expect(crypto.keyParameters.count == 1)
        let key = try #require(crypto.inlineKey)
        #expect(key.keySalt == "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
        #expect(key.lifetime == "2^20")
        #expect(key.mki == "1:32")
        let bytes = try #require(key.keySaltBytes)
        #expect(bytes.count == 30)
        #expect(SDPCryptoInlineKey(keySaltBytes: bytes).keySalt == key.keySalt)

        let withSessionParameters = try roundTrip(
            SDPCrypto.self,
            "2 AES_256_CM_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:32 UNENCRYPTED_SRTCP KDR=1"
        )
        #expect(withSessionParameters.keyParameters.count == 2)
        #expect(withSessionParameters.sessionParameters == ["UNENCRYPTED_SRTCP", "KDR=1"])
        let noLifetime = try roundTrip(SDPCrypto.self, "3 AEAD_AES_128_GCM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4")
        #expect(noLifetime.inlineKey?.lifetime == nil)
        #expect(noLifetime.inlineKey?.mki == "1:4")
    }

    @Test("crypto rejects", arguments: [
        "1 AES_CM_128_HMAC_SHA1_80",
        "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        "1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64",
        "1 AES_CM_128_HMAC_SHA1_80 inline:",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^x",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:32|2^20",
    ])
    func cryptoRejects(value: String) {
        #expect(throws: SDPParseError(.invalidAttribute(name: "crypto"))) {
            try SDPCrypto(attributeValue: value[...])
        }
    }

    @Test("base64 round trips", arguments: 0..<8)
    func base64(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
        let encoded = SDPBase64.encode(bytes)
        #expect(encoded.utf8.count == (length + 2) / 3 * 4)
        if length == 0 {
            #expect(SDPBase64.decode(encoded) == nil)
        } else {
            #expect(SDPBase64.decode(encoded) == bytes)
            // Unpadded input decodes too.
            #expect(SDPBase64.decode(encoded.filter { $0 != "=" }) == bytes)
        }
    }

    @Test func base64RejectsBadInput() {
        #expect(SDPBase64.decode("QUJD=A") == nil)
        #expect(SDPBase64.decode("QUJDR") == nil)
        #expect(SDPBase64.decode("QU=") == nil)
        #expect(SDPBase64.decode("QUJD!") == nil)
        #expect(SDPBase64.decode("QUJD") == Array("ABC".utf8))
    }

    @Test func extensionMap() throws {
        let level = try roundTrip(SDPExtensionMap.self, "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level")
        #expect(level.id == 1)
        #expect(level.direction == nil)
        let directed = try roundTrip(SDPExtensionMap.self, "2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level")
        #expect(directed.direction == .recvonly)
        let withAttributes = try roundTrip(
            SDPExtensionMap.self,
            "5 urn:ietf:params:rtp-hdrext:encrypt urn:ietf:params:rtp-hdrext:smpte-tc 25@600/24"
        )
        #expect(withAttributes.extensionAttributes == "urn:ietf:params:rtp-hdrext:smpte-tc 25@600/24")
        #expect(throws: SDPParseError.self) { try SDPExtensionMap(attributeValue: "0 urn:x"[...]) }
        #expect(throws: SDPParseError.self) { try SDPExtensionMap(attributeValue: "1/sideways urn:x"[...]) }
        #expect(throws: SDPParseError.self) { try SDPExtensionMap(attributeValue: "1"[...]) }
    }

    @Test func ssrcAndGroups() throws {
        let cname = try roundTrip(SDPSSRCAttribute.self, "3735928559 cname:4TOk42mSjXCkVIa6")
        #expect(cname.ssrc == 3_735_928_559)
        #expect(cname.attribute == "cname")
        #expect(cname.value == "4TOk42mSjXCkVIa6")
        let msid = try roundTrip(SDPSSRCAttribute.self, "1 msid:stream track")
        #expect(msid.value == "stream track")
        #expect(try roundTrip(SDPSSRCAttribute.self, "2 x-flag").value == nil)
        #expect(throws: SDPParseError.self) { try SDPSSRCAttribute(attributeValue: "4294967296 cname:x"[...]) }
        #expect(throws: SDPParseError.self) { try SDPSSRCAttribute(attributeValue: "12"[...]) }

        let fid = try roundTrip(SDPSSRCGroup.self, "FID 2271533371 4016735372")
        #expect(fid.ssrcs == [2_271_533_371, 4_016_735_372])
        #expect(throws: SDPParseError.self) { try SDPSSRCGroup(attributeValue: "FID"[...]) }
        #expect(throws: SDPParseError.self) { try SDPSSRCGroup(attributeValue: "FID 1 two"[...]) }

        let bundle = try roundTrip(SDPGroup.self, "BUNDLE 0 1 data")
        #expect(bundle.semantics == SDPGroup.bundle)
        #expect(bundle.identificationTags == ["0", "1", "data"])
        #expect(try roundTrip(SDPGroup.self, "BUNDLE").identificationTags.isEmpty)

        let streamID = try roundTrip(SDPMediaStreamID.self, "- 0b1c2d3e")
        #expect(streamID.streamID == "-")
        #expect(streamID.trackID == "0b1c2d3e")
        #expect(throws: SDPParseError.self) { try SDPMediaStreamID(attributeValue: "a b c"[...]) }
    }

    @Test func iceAttributesAreValidatedWhileParsing() throws {
        let header = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
        let sdp = try SDPSessionDescription(
            parsing: header + "a=ice-lite\r\na=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\na=ice-options:trickle renomination\r\n"
        )
        #expect(sdp.attributes.isICELite)
        #expect(sdp.attributes.iceUsernameFragment == "F7gI")
        #expect(sdp.attributes.iceOptions == ["trickle", "renomination"])
        #expect(throws: SDPParseError(.invalidAttribute(name: "ice-ufrag"), line: 5)) {
            try SDPSessionDescription(parsing: header + "a=ice-ufrag:bad ufrag\r\n")
        }
        #expect(throws: SDPParseError(.invalidAttribute(name: "ice-pwd"), line: 5)) {
            try SDPSessionDescription(parsing: header + "a=ice-pwd\r\n")
        }
    }

    @Test func unknownAttributesPassThrough() throws {
        let header = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        let text =
            header
            + "m=video 9 RTP/AVPF 96\r\na=rid:hi send\r\na=rid:lo send max-width=320\r\n"
            + "a=simulcast:send hi;lo\r\na=x-empty:\r\na=rtpmap:96 VP8/90000\r\n"
        let sdp = try SDPSessionDescription(parsing: text)
        let attributes = sdp.media[0].attributes
        #expect(attributes.values("rid") == ["hi send", "lo send max-width=320"])
        #expect(attributes.firstValue("simulcast") == "send hi;lo")
        #expect(attributes.firstValue("x-empty") == "")
        #expect(sdp.serialized() == text)
    }

    @Test func typedValuesBecomeAttributes() {
        var attributes = SDPAttributeList()
        attributes.append(SDPSSRCGroup(semantics: "FID", ssrcs: [1, 2]))
        attributes.append(SDPRTCPFeedback(payloadType: .all, type: "nack"))
        attributes.append(name: "rtcp-mux")
        #expect(attributes.map(\.description) == ["ssrc-group:FID 1 2", "rtcp-fb:* nack", "rtcp-mux"])
        #expect(attributes.ssrcGroups.first?.ssrcs == [1, 2])
        // Programmatically added malformed values are skipped by typed accessors.
        attributes.append(name: "rtpmap", value: "nonsense")
        attributes.append(SDPRTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000))
        #expect(attributes.rtpMaps.map(\.payloadType) == [0])
        attributes.removeAll(named: "rtpmap")
        #expect(!attributes.contains("rtpmap"))
    }
}
