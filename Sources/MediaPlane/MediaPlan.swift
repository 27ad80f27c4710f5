public import SIP
public import SRTP

/// Why a call's media cannot be bridged. SIP answers the browser's INVITE with 488 for
/// ``noCodecInCommon`` and ``unsupportedOffer``, and fails the call for the others.
public enum MediaPlanError: Error, Hashable, Sendable {
    /// The browser's offer has no active audio stream over DTLS-SRTP with ICE.
    case unsupportedOffer(String)
    /// None of the offered codecs can be relayed or transcoded.
    case noCodecInCommon
    /// The call centre's answer cannot be used (no audio, a codec that was not offered, no address).
    case unusableAnswer(String)
    /// The call centre's SDES answer on an SRTP trunk cannot be used (plain RTP, no or several
    /// `a=crypto`, a suite or tag not offered, a key of the wrong length, MKI, session parameters).
    case unacceptableCrypto(String)
}

/// What the gateway learns from a browser's WebRTC offer: the audio stream's codecs and the
/// ICE and DTLS parameters of its transport.
public struct BrowserOffer: Hashable, Sendable {
    public var description: SDPSessionDescription
    /// Index of the audio `m=` line.
    public var audioIndex: Int
    public var audioMid: String?
    public var audioFormats: [SDPPayloadFormat]
    public var iceUsernameFragment: String
    public var icePassword: String
    public var fingerprint: SDPFingerprint
    public var setup: SDPSetupRole
    /// The RFC 8843 MID header extension id, when offered on the audio stream.
    public var midExtensionID: UInt16?
    /// The video stream bundled with the audio, if the browser offers one.
    public var video: BrowserVideoOffer?

    public init(_ offer: SDPSessionDescription) throws(MediaPlanError) {
        guard let index = offer.media.firstIndex(where: { $0.media == .audio && !$0.isDisabled }) else {
            throw .unsupportedOffer("no active audio stream")
        }
        let audio = offer.media[index]
        guard audio.transportProtocol.usesDTLS else {
            throw .unsupportedOffer("audio transport \(audio.transportProtocol) is not DTLS-SRTP")
        }
        guard let ufrag = audio.attributes.iceUsernameFragment ?? offer.attributes.iceUsernameFragment,
            let password = audio.attributes.icePassword ?? offer.attributes.icePassword
        else {
            throw .unsupportedOffer("no ICE credentials")
        }
        guard let fingerprint = audio.attributes.fingerprints.first ?? offer.attributes.fingerprints.first else {
            throw .unsupportedOffer("no DTLS fingerprint")
        }
        description = offer
        audioIndex = index
        audioMid = audio.attributes.mid
        audioFormats = audio.payloadFormats
        iceUsernameFragment = ufrag
        icePassword = password
        self.fingerprint = fingerprint
        setup = audio.attributes.setup ?? offer.attributes.setup ?? .actpass
        midExtensionID = audio.attributes.extensionMaps.first { $0.uri == MediaPlan.midExtensionURI }?.id
        video = BrowserVideoOffer(offer, audioMid: audioMid)
    }
}

/// The gateway's side of the browser leg's transport, written into the answer.
public struct WebRTCTransportParameters: Hashable, Sendable {
    public var host: String
    public var port: UInt16
    public var iceUsernameFragment: String
    public var icePassword: String
    /// `a=fingerprint` of the gateway's DTLS certificate.
    public var fingerprint: SDPFingerprint
    /// A second host candidate on IPv6, when the gateway binds one.
    public var host6: String?
    public var port6: UInt16?

    public init(
        host: String, port: UInt16, iceUsernameFragment: String, icePassword: String, fingerprint: SDPFingerprint, host6: String? = nil,
        port6: UInt16? = nil
    ) {
        self.host = host
        self.port = port
        self.host6 = host6
        self.port6 = port6
        self.iceUsernameFragment = iceUsernameFragment
        self.icePassword = icePassword
        self.fingerprint = fingerprint
    }
}

/// How audio crosses the bridge once both sides have agreed.
public struct MediaBridgePlan: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        /// Both legs use the same codec: packets are relayed with their payload untouched.
        case relay
        /// The legs use different codecs: decode, resample, encode.
        case transcode
    }

    public var mode: Mode
    /// The audio format on the browser leg, under the browser's payload type number.
    public var browserAudio: SDPPayloadFormat
    /// The audio format on the SIP leg, under the call centre's payload type number.
    public var calleeAudio: SDPPayloadFormat
    public var browserTelephoneEvent: SDPPayloadFormat?
    public var calleeTelephoneEvent: SDPPayloadFormat?
    /// Where the call centre receives RTP (symmetric RTP may move it to the latched source).
    public var calleeHost: String
    public var calleePort: UInt16
    /// Where it receives RTCP: the next port unless it accepted `rtcp-mux` or named one.
    public var calleeRTCPPort: UInt16
    /// The DTLS role the gateway takes on the browser leg.
    public var dtlsRole: SDPSetupRole
    public var remoteFingerprint: SDPFingerprint
    public var remoteICEUsernameFragment: String
    public var remoteICEPassword: String
    public var midExtensionID: UInt16?
    public var audioMid: String?
    /// What the browser sends and receives, as the answer says.
    public var browserDirection: SDPDirection
    /// What the call centre sends and receives, as its answer says.
    public var calleeDirection: SDPDirection
    /// Milliseconds of audio per packet the call centre asked for (20 if it did not say).
    public var calleePacketTime: UInt32
    /// The SSRC of what the gateway sends the browser, announced in the answer.
    public var browserSSRC: UInt32
    /// The gateway's CNAME on the browser leg, announced with `a=ssrc` and sent in its SDES.
    public var browserCNAME: String = MediaPlan.defaultBrowserCNAME
    /// The video relayed between the legs, when both accepted it.
    public var video: VideoBridgePlan?
    /// The SIP leg's SRTP keys (SDES), when the trunk requires SRTP; nil for plain RTP.
    public var calleeSRTP: SRTPKeys? = nil
}

/// The translation between the two legs' session descriptions: the browser's WebRTC offer
/// becomes a plain RTP offer to the call centre, and the call centre's answer becomes the
/// WebRTC answer to the browser plus the ``MediaBridgePlan`` the media session runs.
///
/// The offer to the call centre lists the codecs the trunk allows, those the browser also
/// offered first, so that the call centre's choice can usually be relayed without transcoding.
public enum MediaPlan {
    public static let midExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:mid"

    /// The codecs the gateway can decode and encode on either leg.
    public static let transcodable: [SDPCodec] = [.opus, .pcmu, .pcma, .g722]

    /// The trunk's codecs when it names none.
    public static let defaultCalleeCodecs: [SDPCodec] = [.pcmu, .pcma, .g722]

    /// The plain RTP/AVP offer sent to the call centre for a browser's offer.
    ///
    /// - Parameters:
    ///   - codecs: the codecs the trunk allows, in its order of preference; codecs the gateway
    ///     cannot transcode are left out unless the browser offered them (then they can be relayed).
    ///   - host, port: where the gateway receives RTP from the call centre.
    ///   - videoPort: where it receives the call centre's video; the browser's video is offered
    ///     only with one.
    ///   - sdes: the keys for SDES-SRTP on the SIP leg: the audio goes as `RTP/SAVP` with their
    ///     `a=crypto` lines. nil offers plain `RTP/AVP`.
    ///   - videoSDES: the video's own keys, with `sdes` (the video is not offered without them then).
    public static func calleeOffer(
        for browser: BrowserOffer, codecs: [SDPCodec], host: String, port: UInt16, sessionID: String, sessionVersion: UInt64 = 1,
        videoPort: UInt16? = nil, sdes: SDESOffer? = nil, videoSDES: SDESOffer? = nil
    ) throws(MediaPlanError) -> SDPSessionDescription {
        let offered = browser.audioFormats.map(\.codec).filter { !$0.isSupplementary }
        // Transcoding needs a browser codec the gateway can decode; without one, only relay is possible.
        let canTranscode = offered.contains { codec in transcodable.contains { $0.matches(codec) } }
        let usable = codecs.filter { codec in
            !codec.isSupplementary
                && (offered.contains { $0.matches(codec) } || (canTranscode && transcodable.contains { $0.matches(codec) }))
        }
        // Relay-friendly first: codecs the browser offered keep the trunk's relative order.
        let ordered = usable.filter { codec in offered.contains { $0.matches(codec) } }
            + usable.filter { codec in !offered.contains { $0.matches(codec) } }
        guard !ordered.isEmpty else { throw .noCodecInCommon }
        var capabilities = SDPLocalCapabilities.plainRTP
        capabilities.audioCodecs = ordered
        capabilities.transportProtocols = [sdes == nil ? .rtpAVP : .rtpSAVP]
        let media: SDPMediaDescription
        do {
            media = try capabilities.makeOfferMedia(.audio, port: port, transportAttributes: sdes?.attributes ?? [])
        } catch {
            throw .noCodecInCommon
        }
        var descriptions = [media]
        if let video = browser.video, let videoPort, sdes == nil || videoSDES != nil {
            descriptions.append(calleeVideoMedia(for: video, port: videoPort, sdes: sdes == nil ? nil : videoSDES))
        }
        let addressType: SDPAddressType = host.contains(":") ? .ip6 : .ip4
        return SDPSessionDescription(
            origin: SDPOrigin(sessionID: sessionID, sessionVersion: sessionVersion, addressType: addressType, unicastAddress: host),
            sessionName: "Switchboard",
            connection: SDPConnection(networkType: "IN", addressType: addressType, address: host),
            media: descriptions
        )
    }

    /// The WebRTC answer for the browser and the bridge plan, from the call centre's answer to
    /// ``calleeOffer(for:codecs:host:port:sessionID:)``.
    ///
    /// - Parameters:
    ///   - browserSSRC: the SSRC the gateway sends to the browser with, announced with `a=ssrc`
    ///     and `a=msid` so the browser can route the stream before any MID extension.
    ///   - browserCNAME: the CNAME announced for it and sent in the gateway's RTCP.
    ///   - direction: the direction the gateway wants on the browser leg; by default the call
    ///     centre's in its answer (a call on hold stays on hold when the browser re-offers).
    ///   - videoSSRC: the SSRC of the video the gateway sends the browser. The browser's video
    ///     is accepted when the call centre's answer accepted it too.
    ///   - sdes: the SDES keys offered to the call centre, when the offer was `RTP/SAVP`: the
    ///     answer must accept one of them (``SDESOffer/keys(fromAnswer:)``), and the plan carries
    ///     the session keys.
    ///   - videoSDES: the keys offered with the video, checked the same way when the call centre
    ///     accepts it.
    public static func browserAnswer(
        for browser: BrowserOffer, calleeAnswer: SDPSessionDescription, local: WebRTCTransportParameters,
        sessionID: String, sessionVersion: UInt64 = 1, browserSSRC: UInt32 = 0x5357_4244,
        browserCNAME: String = MediaPlan.defaultBrowserCNAME, direction: SDPDirection? = nil, videoSSRC: UInt32 = 0x5357_4256,
        sdes: SDESOffer? = nil, videoSDES: SDESOffer? = nil
    ) throws(MediaPlanError) -> (answer: SDPSessionDescription, plan: MediaBridgePlan) {
        guard let calleeMedia = calleeAnswer.media.first(where: { $0.media == .audio && !$0.isDisabled }) else {
            throw .unusableAnswer("no accepted audio stream")
        }
        let calleeSRTP: SRTPKeys?
        if let sdes {
            calleeSRTP = try sdes.keys(fromAnswer: calleeMedia)
        } else if calleeMedia.transportProtocol.isSecure {
            throw .unusableAnswer("the call centre answered \(calleeMedia.transportProtocol.rawValue) to an RTP/AVP offer")
        } else {
            calleeSRTP = nil
        }
        guard let connection = calleeMedia.effectiveConnection(in: calleeAnswer) else {
            throw .unusableAnswer("no connection address")
        }
        let calleeFormats = calleeMedia.payloadFormats
        guard let calleeAudio = calleeFormats.first(where: { format in
            !format.codec.isSupplementary && transcodableOrOffered(format.codec, browser: browser)
        }) else {
            throw .unusableAnswer("no usable codec in the answer")
        }
        let calleeEvent = calleeFormats.first { $0.codec.isTelephoneEvent && $0.codec.clockRate == calleeAudio.codec.clockRate }

        // Relay when the browser offered the call centre's codec; otherwise transcode from Opus
        // (or the browser's first codec the gateway can decode).
        let offeredPrimaries = browser.audioFormats.filter { !$0.codec.isSupplementary }
        let mode: MediaBridgePlan.Mode
        let browserAudio: SDPPayloadFormat
        if let same = offeredPrimaries.first(where: { $0.codec.matches(calleeAudio.codec) }) {
            mode = .relay
            browserAudio = same
        } else if let opus = offeredPrimaries.first(where: { $0.codec.matches(.opus) })
            ?? offeredPrimaries.first(where: { format in transcodable.contains { $0.matches(format.codec) } })
        {
            mode = .transcode
            browserAudio = opus
        } else {
            throw .noCodecInCommon
        }
        let browserEvent = browser.audioFormats.first {
            $0.codec.isTelephoneEvent && $0.codec.clockRate == browserAudio.codec.clockRate
        }

        var video: (offer: BrowserVideoOffer, answer: (media: SDPMediaDescription, callee: SDPPayloadFormat, browser: SDPPayloadFormat))?
        if let offered = browser.video, let accepted = calleeVideoAnswer(calleeAnswer, browser: offered) { video = (offered, accepted) }
        var videoSRTP: SRTPKeys?
        if let accepted = video?.answer.media {
            if sdes != nil {
                guard let videoSDES else { throw .unacceptableCrypto("the call centre accepted video that was not offered") }
                videoSRTP = try videoSDES.keys(fromAnswer: accepted)
            } else if accepted.transportProtocol.isSecure {
                throw .unusableAnswer("the call centre answered \(accepted.transportProtocol.rawValue) video to an RTP/AVP offer")
            }
        }
        var capabilities = SDPLocalCapabilities.webRTC
        capabilities.audioCodecs = [browserAudio.codec]
        capabilities.videoCodecs = video.map { [$0.answer.browser.codec] } ?? []
        if video != nil { capabilities.rtcpFeedback = videoFeedback }
        capabilities.telephoneEvents = browserEvent.map { [$0.codec] } ?? []
        capabilities.codecOrder = .local
        capabilities.maximumCodecsPerMedia = 1
        capabilities.direction = direction ?? calleeMedia.effectiveDirection(in: calleeAnswer)
        let negotiation: SDPNegotiation
        do {
            negotiation = try SDPNegotiation(offer: browser.description, capabilities: capabilities)
        } catch {
            throw .noCodecInCommon
        }
        let dtlsRole = browser.setup.answer
        let addressType: SDPAddressType = local.host.contains(":") ? .ip6 : .ip4
        var transport = SDPAttributeList()
        transport.append(name: "ice-ufrag", value: local.iceUsernameFragment)
        transport.append(name: "ice-pwd", value: local.icePassword)
        transport.append(local.fingerprint)
        transport.append(name: "setup", value: dtlsRole.rawValue)
        transport.append(
            SDPICECandidate(
                foundation: "1", component: 1, transport: "udp", priority: hostCandidatePriority,
                address: local.host, port: local.port, type: .host
            )
        )
        if let host6 = local.host6, let port6 = local.port6 {
            transport.append(
                SDPICECandidate(
                    foundation: "2", component: 1, transport: "udp", priority: hostCandidatePriority6,
                    address: host6, port: port6, type: .host
                )
            )
        }
        transport.append(name: "end-of-candidates")
        var audioTransport = transport
        audioTransport.append(name: "msid", value: "switchboard audio")
        audioTransport.append(name: "ssrc", value: "\(browserSSRC) cname:\(browserCNAME)")
        audioTransport.append(name: "ssrc", value: "\(browserSSRC) msid:switchboard audio")
        var videoTransport = transport
        videoTransport.append(name: "msid", value: "switchboard video")
        videoTransport.append(name: "ssrc", value: "\(videoSSRC) cname:\(browserCNAME)")
        videoTransport.append(name: "ssrc", value: "\(videoSSRC) msid:switchboard video")
        var answer = negotiation.makeAnswer(
            origin: SDPOrigin(sessionID: sessionID, sessionVersion: sessionVersion, addressType: addressType, unicastAddress: local.host),
            connection: SDPConnection(networkType: "IN", addressType: addressType, address: local.host),
            sessionName: "Switchboard",
            sessionAttributes: [SDPAttribute(name: "ice-lite"), SDPAttribute(name: "msid-semantic", value: " WMS switchboard")]
        ) { decision in SDPMediaTransport(port: local.port, attributes: decision.media == .video ? videoTransport : audioTransport) }
        // The video goes as the call centre's does: the gateway sends the browser what the call
        // centre sends, and receives what it receives.
        var videoPlan: VideoBridgePlan?
        if let video, let decision = negotiation.media.first(where: { $0.index == video.offer.index }), decision.isAccepted,
            let format = decision.primaryFormat
        {
            let calleeDirection = video.answer.media.effectiveDirection(in: calleeAnswer)
            let browserDirection = video.offer.direction.answer(local: calleeDirection)
            answer.media[video.offer.index].attributes.setDirection(browserDirection)
            let videoConnection = video.answer.media.effectiveConnection(in: calleeAnswer) ?? connection
            videoPlan = VideoBridgePlan(
                browserFormat: format, calleeFormat: video.answer.callee, calleeHost: videoConnection.address,
                calleePort: video.answer.media.port, calleeRTCPPort: rtcpPort(of: video.answer.media), mid: video.offer.mid,
                midExtensionID: decision.extensionMaps.first { $0.uri == midExtensionURI }?.id, browserSSRC: videoSSRC,
                browserDirection: browserDirection, calleeSRTP: videoSRTP
            )
        }
        // Only one video stream is relayed; any other the browser offers is refused.
        let relayedIndex = videoPlan != nil ? video?.offer.index : nil
        for index in answer.media.indices where answer.media[index].media == .video && !answer.media[index].isDisabled && index != relayedIndex {
            answer.refuseMedia(at: index)
        }

        guard let answeredAudio = negotiation.media.first(where: { $0.index == browser.audioIndex }), answeredAudio.isAccepted,
            let answeredFormat = answeredAudio.primaryFormat
        else {
            throw .noCodecInCommon
        }
        let calleeRTCPPort: UInt16 =
            if calleeMedia.attributes.isRTCPMultiplexed { calleeMedia.port }
            else if let rtcp = calleeMedia.attributes.rtcp { rtcp.port }
            else { calleeMedia.port &+ 1 }
        let plan = MediaBridgePlan(
            mode: mode,
            browserAudio: answeredFormat,
            calleeAudio: calleeAudio,
            browserTelephoneEvent: answeredAudio.telephoneEventFormat,
            calleeTelephoneEvent: calleeEvent,
            calleeHost: connection.address,
            calleePort: calleeMedia.port,
            calleeRTCPPort: calleeRTCPPort,
            dtlsRole: dtlsRole,
            remoteFingerprint: browser.fingerprint,
            remoteICEUsernameFragment: browser.iceUsernameFragment,
            remoteICEPassword: browser.icePassword,
            midExtensionID: answeredAudio.extensionMaps.first { $0.uri == midExtensionURI }?.id,
            audioMid: browser.audioMid,
            browserDirection: answeredAudio.direction,
            calleeDirection: calleeMedia.effectiveDirection(in: calleeAnswer),
            calleePacketTime: calleeMedia.attributes.packetTime ?? 20,
            browserSSRC: browserSSRC,
            browserCNAME: browserCNAME,
            video: videoPlan,
            calleeSRTP: calleeSRTP
        )
        return (answer, plan)
    }

    /// The browser leg's CNAME when none is given.
    public static let defaultBrowserCNAME = "switchboard"

    /// A CNAME for one leg of one call (RFC 7022 §4.2): 96 random bits in base64, 16
    /// characters, so nothing about the host or the other leg shows.
    public static func randomCNAME() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var generator = SystemRandomNumberGenerator()
        // 48 random bits for each half of the name.
        var halves: (UInt64, UInt64) = (generator.next(), generator.next())
        var characters: [UInt8] = []
        characters.reserveCapacity(16)
        for index in 0..<16 {
            let value: Int
            if index < 8 {
                value = Int(halves.0 & 0x3F)
                halves.0 >>= 6
            } else {
                value = Int(halves.1 & 0x3F)
                halves.1 >>= 6
            }
            characters.append(alphabet[value])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// RFC 8445 §5.1.2.1 with type preference 126 (host), local preference 65535, component 1.
    public static let hostCandidatePriority: UInt32 = (126 << 24) | (65535 << 8) | (256 - 1)
    /// The IPv6 host candidate's: the same type preference, local preference 65534, so the
    /// IPv4 address stays first where both work.
    public static let hostCandidatePriority6: UInt32 = (126 << 24) | (65534 << 8) | (256 - 1)

    private static func transcodableOrOffered(_ codec: SDPCodec, browser: BrowserOffer) -> Bool {
        transcodable.contains { $0.matches(codec) } || browser.audioFormats.contains { $0.codec.matches(codec) }
    }
}

extension SDPSessionDescription {
    /// Turns an accepted `m=` line of an answer into a refused one (port 0, only its `a=mid`),
    /// and takes it out of the BUNDLE group.
    mutating func refuseMedia(at index: Int) {
        let mid = media[index].attributes.mid
        var attributes = SDPAttributeList()
        if let mid { attributes.append(name: "mid", value: mid) }
        media[index].port = 0
        media[index].attributes = attributes
        media[index].connections = []
        guard let mid, var group = self.attributes.bundleGroup,
            let position = self.attributes.elements.firstIndex(where: { $0.name == "group" && $0.value?.hasPrefix(SDPGroup.bundle) == true })
        else { return }
        group.identificationTags.removeAll { $0 == mid }
        self.attributes.elements[position] = SDPAttribute(name: "group", value: ([group.semantics] + group.identificationTags).joined(separator: " "))
    }
}
