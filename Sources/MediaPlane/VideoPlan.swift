public import SIP
public import SRTP

/// The video stream of a browser's offer: bundled with its audio on the one WebRTC transport
/// (RFC 9143), relayed to the call centre without transcoding.
public struct BrowserVideoOffer: Hashable, Sendable {
    /// Index of the video `m=` line.
    public var index: Int
    public var mid: String?
    /// The codecs it can relay (no `rtx`, `red` or FEC: repairs travel as NACKed originals).
    public var formats: [SDPPayloadFormat]
    /// The browser's direction for its video, from its own point of view.
    public var direction: SDPDirection
    /// The RFC 8843 MID header extension id on the video stream.
    public var midExtensionID: UInt16?

    /// The first video stream of `offer` that can share the audio's transport: in the same
    /// BUNDLE group as the audio (also `bundle-only` with port 0), DTLS-SRTP, with a codec. nil
    /// when there is none (then any video is answered with port 0).
    init?(_ offer: SDPSessionDescription, audioMid: String?) {
        guard let audioMid, let group = offer.attributes.bundleGroup, group.identificationTags.contains(audioMid) else { return nil }
        var candidates: [BrowserVideoOffer] = []
        for (index, media) in offer.media.enumerated() where media.media == .video {
            guard let mid = media.attributes.mid, group.identificationTags.contains(mid), media.transportProtocol.usesDTLS else { continue }
            guard !media.isDisabled || media.attributes.contains("bundle-only") else { continue }
            let formats = media.payloadFormats.filter { !$0.codec.isSupplementary }
            guard !formats.isEmpty else { continue }
            candidates.append(
                BrowserVideoOffer(
                    index: index, mid: mid, formats: formats, direction: media.effectiveDirection(in: offer),
                    midExtensionID: media.attributes.extensionMaps.first { $0.uri == MediaPlan.midExtensionURI }?.id
                )
            )
        }
        // A camera added after a refused one comes in a second video m= line: the live one counts.
        guard let chosen = candidates.first(where: { $0.direction != .inactive }) ?? candidates.first else { return nil }
        self = chosen
    }

    init(index: Int, mid: String?, formats: [SDPPayloadFormat], direction: SDPDirection, midExtensionID: UInt16?) {
        self.index = index
        self.mid = mid
        self.formats = formats
        self.direction = direction
        self.midExtensionID = midExtensionID
    }
}

/// How video crosses the bridge: relayed, the payload untouched, under each leg's payload type
/// and the gateway's SSRCs, with PLI, FIR and NACK passed between the legs.
public struct VideoBridgePlan: Hashable, Sendable {
    /// The codec on the browser leg, under the browser's payload type number.
    public var browserFormat: SDPPayloadFormat
    /// The same codec on the SIP leg, under the call centre's number.
    public var calleeFormat: SDPPayloadFormat
    public var calleeHost: String
    public var calleePort: UInt16
    /// The next port unless the call centre multiplexes RTCP or named one.
    public var calleeRTCPPort: UInt16
    public var mid: String?
    public var midExtensionID: UInt16?
    /// The SSRC of the video the gateway sends the browser, announced in the answer.
    public var browserSSRC: UInt32
    /// The direction of the video on the browser leg, as the gateway's answer or offer says.
    public var browserDirection: SDPDirection
    /// The SDES keys of the SIP leg's video, when the trunk requires SRTP (its own keys, not
    /// the audio's).
    public var calleeSRTP: SRTPKeys? = nil
}

extension MediaPlan {
    /// The RTCP feedback the gateway relays for video and writes for each video codec.
    public static let videoFeedback = ["nack", "nack pli", "ccm fir"]

    /// The `m=video` line offered to the call centre for the browser's video: its codecs under
    /// its payload type numbers over plain RTP/AVP (RTP/SAVP with `sdes`'s `a=crypto`), with the
    /// feedback the gateway relays.
    static func calleeVideoMedia(for video: BrowserVideoOffer, port: UInt16, sdes: SDESOffer? = nil) -> SDPMediaDescription {
        var attributes = sdes?.attributes ?? SDPAttributeList()
        for format in video.formats {
            attributes.append(format.codec.rtpMap(payloadType: format.payloadType))
            if let parameters = format.codec.formatParameters, !parameters.isEmpty {
                attributes.append(SDPFormatParameters(payloadType: format.payloadType, parameters: parameters))
            }
            for kind in videoFeedback {
                let parts = kind.split(separator: " ", maxSplits: 1).map(String.init)
                attributes.append(SDPRTCPFeedback(payloadType: .payloadType(format.payloadType), type: parts[0], parameter: parts.count > 1 ? parts[1] : nil))
            }
        }
        // The browser's own direction: what it sends, the call centre receives.
        attributes.append(name: video.direction.rawValue)
        return SDPMediaDescription(
            media: .video, port: port, transportProtocol: sdes == nil ? .rtpAVP : .rtpSAVP, formats: video.formats.map { String($0.payloadType) },
            attributes: attributes
        )
    }

    /// The call centre's accepted video and the browser format it relays to, from its answer
    /// to an offer made with ``calleeVideoMedia(for:port:)``; nil when it refused the video.
    static func calleeVideoAnswer(
        _ answer: SDPSessionDescription, browser video: BrowserVideoOffer
    ) -> (media: SDPMediaDescription, callee: SDPPayloadFormat, browser: SDPPayloadFormat)? {
        guard let media = answer.media.first(where: { $0.media == .video && !$0.isDisabled }) else { return nil }
        for format in media.payloadFormats where !format.codec.isSupplementary {
            if let browser = video.formats.first(where: { $0.codec.matches(format.codec) }) {
                return (media, format, browser)
            }
        }
        return nil
    }

    /// The RTCP port of a plain RTP stream: its own port with rtcp-mux, the `a=rtcp` port, or
    /// the next one (RFC 3550 §11).
    static func rtcpPort(of media: SDPMediaDescription) -> UInt16 {
        if media.attributes.isRTCPMultiplexed { return media.port }
        if let rtcp = media.attributes.rtcp { return rtcp.port }
        return media.port &+ 1
    }
}
