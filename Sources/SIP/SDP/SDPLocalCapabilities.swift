/// What one side of the B2BUA can do, used to answer offers and build offers: codecs in order
/// of preference, payload type numbering, DTMF, transport protocols and RTP extensions.
public struct SDPLocalCapabilities: Hashable, Sendable {
    /// How the answer orders the accepted codecs.
    public enum CodecOrder: Hashable, Sendable {
        /// The offerer's relative order, as RFC 3264 §6.1 recommends.
        case offer
        /// The order of ``SDPLocalCapabilities/audioCodecs`` and ``SDPLocalCapabilities/videoCodecs``,
        /// for example to favour a codec the other leg already uses, so media can be relayed
        /// without transcoding.
        case local
    }

    /// Audio codecs in order of preference. Supplementary formats (`CN`, `red`) may be listed
    /// too; telephone-event goes in ``telephoneEvents``.
    public var audioCodecs: [SDPCodec]
    /// Video codecs in order of preference, with `rtx`/`red`/`ulpfec` if supported. Empty
    /// rejects video.
    public var videoCodecs: [SDPCodec]
    /// The RFC 4733 event formats supported. Each is offered, and accepted, only next to an
    /// audio codec with the same clock rate.
    public var telephoneEvents: [SDPCodec]
    /// Payload type numbers to use in offers for specific codecs, such as `111 opus/48000/2`
    /// or `101 telephone-event/8000`. Other codecs take their RFC 3551 static payload type or
    /// the next free number in ``dynamicPayloadTypes``. Answers always use the offer's numbers.
    public var payloadTypeNumbering: [SDPPayloadFormat]
    public var dynamicPayloadTypes: ClosedRange<UInt8>
    /// Accepted transport protocols; media descriptions with another protocol are rejected.
    public var transportProtocols: [SDPTransportProtocol]
    /// The direction this side would like; `.sendonly` puts the other side on hold.
    public var direction: SDPDirection
    public var codecOrder: CodecOrder
    /// The most codecs (supplementary formats not counted) kept in an answer's media
    /// description; 1 locks a single codec (RFC 3264 §10.2). nil keeps every common codec.
    public var maximumCodecsPerMedia: Int?
    /// `a=ptime` to write in audio descriptions, in milliseconds.
    public var packetTime: UInt32?
    /// Whether offered BUNDLE groups are accepted (RFC 9143).
    public var supportsBundle: Bool
    /// Whether RTP and RTCP can share a port (RFC 5761).
    public var supportsRTCPMultiplexing: Bool
    /// Whether reduced-size RTCP is accepted (RFC 5506).
    public var supportsReducedSizeRTCP: Bool
    /// RTCP feedback kinds accepted and offered, as written after the payload type:
    /// `nack`, `nack pli`, `ccm fir`, `transport-cc`, `goog-remb`.
    public var rtcpFeedback: [String]
    /// RTP header extension URIs accepted and offered (RFC 8285).
    public var headerExtensions: [String]

    public init(
        audioCodecs: [SDPCodec] = [.pcmu, .pcma],
        videoCodecs: [SDPCodec] = [],
        telephoneEvents: [SDPCodec] = [.telephoneEvent8000],
        payloadTypeNumbering: [SDPPayloadFormat] = [],
        dynamicPayloadTypes: ClosedRange<UInt8> = 96...127,
        transportProtocols: [SDPTransportProtocol] = [.rtpAVP],
        direction: SDPDirection = .sendrecv,
        codecOrder: CodecOrder = .offer,
        maximumCodecsPerMedia: Int? = nil,
        packetTime: UInt32? = nil,
        supportsBundle: Bool = false,
        supportsRTCPMultiplexing: Bool = false,
        supportsReducedSizeRTCP: Bool = false,
        rtcpFeedback: [String] = [],
        headerExtensions: [String] = []
    ) {
        self.audioCodecs = audioCodecs
        self.videoCodecs = videoCodecs
        self.telephoneEvents = telephoneEvents
        self.payloadTypeNumbering = payloadTypeNumbering
        self.dynamicPayloadTypes = dynamicPayloadTypes
        self.transportProtocols = transportProtocols
        self.direction = direction
        self.codecOrder = codecOrder
        self.maximumCodecsPerMedia = maximumCodecsPerMedia
        self.packetTime = packetTime
        self.supportsBundle = supportsBundle
        self.supportsRTCPMultiplexing = supportsRTCPMultiplexing
        self.supportsReducedSizeRTCP = supportsReducedSizeRTCP
        self.rtcpFeedback = rtcpFeedback
        self.headerExtensions = headerExtensions
    }

    /// The browser leg: Opus and G.711/G.722 over DTLS-SRTP, BUNDLE, rtcp-mux, DTMF at both
    /// clock rates, the numbering browsers use.
    public static let webRTC = SDPLocalCapabilities(
        audioCodecs: [.opus, .g722, .pcmu, .pcma],
        telephoneEvents: [.telephoneEvent48000, .telephoneEvent8000],
        payloadTypeNumbering: [
            SDPPayloadFormat(payloadType: 111, codec: .opus),
            SDPPayloadFormat(payloadType: 110, codec: .telephoneEvent48000),
            SDPPayloadFormat(payloadType: 126, codec: .telephoneEvent8000),
        ],
        transportProtocols: [.udpTLSRTPSAVPF],
        supportsBundle: true,
        supportsRTCPMultiplexing: true,
        supportsReducedSizeRTCP: true,
        headerExtensions: ["urn:ietf:params:rtp-hdrext:sdes:mid"]
    )

    /// The SIP leg: G.711 and G.722 over RTP (or SDES-SRTP), DTMF as telephone-event/8000 on
    /// payload type 101, 20 ms packets.
    public static let plainRTP = SDPLocalCapabilities(
        audioCodecs: [.pcmu, .pcma, .g722],
        telephoneEvents: [.telephoneEvent8000],
        payloadTypeNumbering: [SDPPayloadFormat(payloadType: 101, codec: .telephoneEvent8000)],
        transportProtocols: [.rtpAVP, .rtpSAVP],
        packetTime: 20
    )

    /// The codecs for a media type, in order of preference (empty if unsupported).
    public func codecs(for media: SDPMediaType) -> [SDPCodec] {
        switch media {
        case .audio: audioCodecs
        case .video: videoCodecs
        default: []
        }
    }

    /// Whether `transportProtocol` is one of ``transportProtocols``.
    public func supports(_ transportProtocol: SDPTransportProtocol) -> Bool {
        transportProtocols.contains { $0.matches(transportProtocol) }
    }

    /// Numbers `codecs` for an offer: the configured number, else the static one, else the
    /// next free dynamic one.
    ///
    /// - Throws: ``SDPNegotiationError/payloadTypesExhausted`` when the dynamic range runs out.
    public func assignPayloadTypes(to codecs: [SDPCodec]) throws(SDPNegotiationError) -> [SDPPayloadFormat] {
        var assigned: [UInt8?] = Array(repeating: nil, count: codecs.count)
        var used: Set<UInt8> = []
        for (index, codec) in codecs.enumerated() {
            let preferred =
                payloadTypeNumbering.first { $0.codec.matches(codec) }?.payloadType ?? codec.staticPayloadType
            if let preferred, !used.contains(preferred) {
                assigned[index] = preferred
                used.insert(preferred)
            }
        }
        var candidates = dynamicPayloadTypes.makeIterator()
        var result: [SDPPayloadFormat] = []
        result.reserveCapacity(codecs.count)
        for (index, codec) in codecs.enumerated() {
            if let payloadType = assigned[index] {
                result.append(SDPPayloadFormat(payloadType: payloadType, codec: codec))
                continue
            }
            var next = candidates.next()
            while let candidate = next, used.contains(candidate) {
                next = candidates.next()
            }
            guard let payloadType = next else { throw .payloadTypesExhausted }
            used.insert(payloadType)
            result.append(SDPPayloadFormat(payloadType: payloadType, codec: codec))
        }
        return result
    }
}
