/// One media description: an `m=` line and the `i=`, `c=`, `b=`, `k=` and `a=` lines after it
/// (RFC 8866 §5.14).
public struct SDPMediaDescription: Hashable, Sendable {
    public var media: SDPMediaType
    /// The transport port; 0 means the stream is disabled or rejected (RFC 3264 §5.1, §6).
    public var port: UInt16
    /// The `/<number of ports>` suffix of the port, when present.
    public var portCount: UInt16?
    public var transportProtocol: SDPTransportProtocol
    /// The media formats: RTP payload type numbers for RTP protocols.
    public var formats: [String]
    /// `i=`.
    public var title: String?
    /// `c=` lines; several only for multicast layered encodings.
    public var connections: [SDPConnection]
    public var bandwidths: [SDPBandwidth]
    /// `k=` (obsolete, passed through).
    public var encryptionKey: String?
    public var attributes: SDPAttributeList

    public init(
        media: SDPMediaType,
        port: UInt16,
        portCount: UInt16? = nil,
        transportProtocol: SDPTransportProtocol,
        formats: [String],
        title: String? = nil,
        connections: [SDPConnection] = [],
        bandwidths: [SDPBandwidth] = [],
        encryptionKey: String? = nil,
        attributes: SDPAttributeList = []
    ) {
        self.media = media
        self.port = port
        self.portCount = portCount
        self.transportProtocol = transportProtocol
        self.formats = formats
        self.title = title
        self.connections = connections
        self.bandwidths = bandwidths
        self.encryptionKey = encryptionKey
        self.attributes = attributes
    }

    /// The first `c=` line of this media description.
    public var connection: SDPConnection? {
        get { connections.first }
        set { connections = newValue.map { [$0] } ?? [] }
    }

    /// Whether the port is zero: rejected in an answer, disabled in an offer.
    public var isDisabled: Bool { port == 0 }

    /// The formats as RTP payload types, in order of preference. Empty for non-RTP protocols.
    public var payloadTypes: [UInt8] {
        guard transportProtocol.isRTP else { return [] }
        return formats.compactMap { SDPGrammar.decimal($0, as: UInt8.self) }
    }

    /// The RTP payload formats of this description, in order of preference, resolved through
    /// `a=rtpmap` or, for static payload types without one, the RFC 3551 table. Dynamic payload
    /// types without an `a=rtpmap` cannot be interpreted and are left out.
    public var payloadFormats: [SDPPayloadFormat] {
        // First entry wins, as with any duplicate attribute.
        let maps = Dictionary(attributes.rtpMaps.map { ($0.payloadType, $0) }, uniquingKeysWith: { first, _ in first })
        let parameters = Dictionary(
            attributes.formatParameters.compactMap { entry in entry.payloadType.map { ($0, entry.parameters) } },
            uniquingKeysWith: { first, _ in first }
        )
        return payloadTypes.compactMap { payloadType in
            var codec: SDPCodec
            if let map = maps[payloadType] {
                let channels = media == .audio ? (map.channels ?? 1) : 1
                codec = SDPCodec(name: map.encodingName, clockRate: map.clockRate, channels: channels)
            } else if let known = SDPCodec(staticPayloadType: payloadType) {
                codec = known
            } else {
                return nil
            }
            codec.formatParameters = parameters[payloadType]
            return SDPPayloadFormat(payloadType: payloadType, codec: codec)
        }
    }

    /// The connection this media is sent to: its own `c=`, else the session's.
    public func effectiveConnection(in session: SDPSessionDescription) -> SDPConnection? {
        connection ?? session.connection
    }

    /// Whether this media description uses ICE (its own or session-level ICE credentials, or
    /// candidates), in which case `c=IN IP4 0.0.0.0` is only a placeholder, not hold.
    public func usesICE(in session: SDPSessionDescription) -> Bool {
        attributes.iceUsernameFragment != nil || session.attributes.iceUsernameFragment != nil
            || attributes.contains(SDPICECandidate.attributeName)
    }

    /// The direction of this media as its author meant it: the media-level direction
    /// attribute, else the session-level one, else `sendrecv`; a stream sent to the
    /// unspecified address without ICE (RFC 2543 hold, RFC 3264 §8.4) does not receive.
    public func effectiveDirection(in session: SDPSessionDescription) -> SDPDirection {
        let written = attributes.direction ?? session.attributes.direction ?? .sendrecv
        if let connection = effectiveConnection(in: session), connection.isUnspecifiedAddress, !usesICE(in: session) {
            return SDPDirection(sends: written.sends, receives: false)
        }
        return written
    }
}

/// The media type of an `m=` line: `audio`, `video`, `text`, `application`, `message`,
/// `image`, or an extension token.
public struct SDPMediaType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let audio = SDPMediaType(rawValue: "audio")
    public static let video = SDPMediaType(rawValue: "video")
    public static let text = SDPMediaType(rawValue: "text")
    public static let application = SDPMediaType(rawValue: "application")
    public static let message = SDPMediaType(rawValue: "message")
    public static let image = SDPMediaType(rawValue: "image")

    public var description: String { rawValue }
}

/// The transport protocol of an `m=` line, such as `RTP/AVP` or `UDP/TLS/RTP/SAVPF`.
public struct SDPTransportProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Plain RTP (RFC 3551): SIP phones.
    public static let rtpAVP = SDPTransportProtocol(rawValue: "RTP/AVP")
    /// RTP with RTCP feedback (RFC 4585).
    public static let rtpAVPF = SDPTransportProtocol(rawValue: "RTP/AVPF")
    /// SRTP (RFC 3711), keyed with SDES `a=crypto` on SIP trunks.
    public static let rtpSAVP = SDPTransportProtocol(rawValue: "RTP/SAVP")
    /// SRTP with RTCP feedback.
    public static let rtpSAVPF = SDPTransportProtocol(rawValue: "RTP/SAVPF")
    /// DTLS-SRTP (RFC 5764) without feedback.
    public static let udpTLSRTPSAVP = SDPTransportProtocol(rawValue: "UDP/TLS/RTP/SAVP")
    /// DTLS-SRTP with feedback: what browsers offer (RFC 8829).
    public static let udpTLSRTPSAVPF = SDPTransportProtocol(rawValue: "UDP/TLS/RTP/SAVPF")
    /// WebRTC data channels (RFC 8841).
    public static let udpDTLSSCTP = SDPTransportProtocol(rawValue: "UDP/DTLS/SCTP")

    private var components: [Substring] {
        rawValue.split(separator: "/")
    }

    /// Whether the media is carried in RTP, so formats are payload types.
    public var isRTP: Bool {
        components.contains { SDPGrammar.equalsIgnoringCase($0, "RTP") }
    }

    /// Whether RTP is protected with SRTP (a SAVP or SAVPF profile).
    public var isSecure: Bool {
        components.contains { SDPGrammar.equalsIgnoringCase($0, "SAVP") || SDPGrammar.equalsIgnoringCase($0, "SAVPF") }
    }

    /// Whether keys come from a DTLS handshake (RFC 5764, RFC 8841).
    public var usesDTLS: Bool {
        components.contains { SDPGrammar.equalsIgnoringCase($0, "TLS") || SDPGrammar.equalsIgnoringCase($0, "DTLS") }
    }

    /// Whether the profile includes RTCP feedback (AVPF or SAVPF).
    public var hasFeedback: Bool {
        components.contains { SDPGrammar.equalsIgnoringCase($0, "AVPF") || SDPGrammar.equalsIgnoringCase($0, "SAVPF") }
    }

    /// Protocol names compare case-insensitively in practice (`RTP/AVP` vs `rtp/avp`).
    public func matches(_ other: SDPTransportProtocol) -> Bool {
        SDPGrammar.equalsIgnoringCase(rawValue, other.rawValue)
    }

    public var description: String { rawValue }
}
