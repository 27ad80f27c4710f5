public import SIP
import SRTP

/// The call centre's re-offer that adds video, waiting for the browser: the gateway's re-offer
/// to the browser and how its payload types map back.
struct PendingVideoUpgrade {
    var calleeOffer: SDPSessionDescription
    /// Index of the offered video `m=` line in the call centre's offer.
    var calleeVideoIndex: Int
    /// The gateway's re-offer to the browser, and the index of its new video `m=` line.
    var browserOffer: SDPSessionDescription
    var browserVideoIndex: Int
    /// Browser payload type → the call centre's format for the same codec.
    var formats: [UInt8: SDPPayloadFormat]
}

/// A video upgrade from the call centre (a re-INVITE that adds video to an audio call): the
/// browser is asked with a re-offer of the gateway's own that adds a video `m=` line bundled
/// with the audio (``browserVideoOffer(for:)``); the widget asks the shopper for the camera, and
/// the browser's answer gives the call centre's (``calleeAnswer(afterBrowser:)``).
extension BrowserCallMedia {
    /// The video codecs browsers decode, and so the ones offered to them.
    static let browserVideoCodecs = ["VP8", "VP9", "H264", "AV1"]

    /// Whether the call centre's re-offer adds video the gateway should ask the browser about:
    /// the widget allows video, no video is relayed yet, and the offer has an active video
    /// stream over RTP with a codec browsers decode.
    /// On an SRTP leg the video must come as RTP/SAVP with acceptable crypto; on a plain leg as
    /// plain RTP.
    public func calleeReofferAddsVideo(_ reoffer: SDPSessionDescription) -> Bool {
        guard allowsVideo, answered != nil, answered?.plan.video == nil, pendingVideoUpgrade == nil, let offered = Self.offeredVideo(in: reoffer)
        else { return false }
        let media = reoffer.media[offered.index]
        if let videoSDES { return videoSDES.answer(media) != nil }
        return !media.transportProtocol.isSecure
    }

    private static func offeredVideo(in offer: SDPSessionDescription) -> (index: Int, formats: [SDPPayloadFormat])? {
        guard let index = offer.media.firstIndex(where: { $0.media == .video && !$0.isDisabled && $0.transportProtocol.isRTP }) else { return nil }
        let formats = offer.media[index].payloadFormats.filter { format in
            !format.codec.isSupplementary && browserVideoCodecs.contains { format.codec.isNamed($0) }
        }
        return formats.isEmpty ? nil : (index, formats)
    }

    /// The gateway's re-offer to the browser for the call centre's `reoffer`: the description
    /// the browser has (as ``browserReoffer()`` repeats it), plus a video `m=` line on the same
    /// transport, in the BUNDLE group, with the call centre's codecs under payload types free on
    /// the browser leg and the call centre's direction. nil when the re-offer cannot be put to
    /// the browser.
    public func browserVideoOffer(for reoffer: SDPSessionDescription) -> SDPSessionDescription? {
        guard calleeReofferAddsVideo(reoffer), let answered, let offered = Self.offeredVideo(in: reoffer) else { return nil }
        let previous = answered.browser
        guard previous.media.indices.contains(offer.audioIndex), let audioMid = previous.media[offer.audioIndex].attributes.mid else { return nil }
        let calleeVideo = reoffer.media[offered.index]
        let direction = calleeVideo.effectiveDirection(in: reoffer)
        var description = MediaPlan.browserReoffer(
            after: previous, audioIndex: offer.audioIndex, direction: browserLegDirection, sessionVersion: browserSessionVersion + 1
        )
        // Payload types: the call centre's where they are free on the browser leg.
        var used = Set(description.media.flatMap(\.payloadTypes))
        var formats: [UInt8: SDPPayloadFormat] = [:]
        var browserFormats: [SDPPayloadFormat] = []
        var free = (UInt8(96)...UInt8(127)).makeIterator()
        for format in offered.formats {
            var payloadType = format.payloadType
            if used.contains(payloadType) || payloadType < 96 {
                guard let next = Self.nextFree(&free, used: used) else { break }
                payloadType = next
            }
            used.insert(payloadType)
            formats[payloadType] = format
            browserFormats.append(SDPPayloadFormat(payloadType: payloadType, codec: format.codec))
        }
        let mids = Set(description.media.compactMap(\.attributes.mid))
        var number = description.media.count
        while mids.contains(String(number)) { number += 1 }
        let mid = String(number)

        let audio = description.media[offer.audioIndex]
        var attributes = SDPAttributeList()
        attributes.append(name: "mid", value: mid)
        for name in ["ice-ufrag", "ice-pwd", "fingerprint", "setup", "candidate", "end-of-candidates"] {
            for value in audio.attributes.values(name) { attributes.append(name: name, value: value.isEmpty ? nil : value) }
        }
        if let id = answered.plan.midExtensionID {
            attributes.append(SDPExtensionMap(id: id, uri: MediaPlan.midExtensionURI))
        }
        attributes.append(name: "rtcp-mux")
        attributes.append(name: "rtcp-rsize")
        for format in browserFormats {
            attributes.append(format.codec.rtpMap(payloadType: format.payloadType))
            if let parameters = format.codec.formatParameters, !parameters.isEmpty {
                attributes.append(SDPFormatParameters(payloadType: format.payloadType, parameters: parameters))
            }
            for kind in MediaPlan.videoFeedback {
                let parts = kind.split(separator: " ", maxSplits: 1).map(String.init)
                attributes.append(SDPRTCPFeedback(payloadType: .payloadType(format.payloadType), type: parts[0], parameter: parts.count > 1 ? parts[1] : nil))
            }
        }
        attributes.append(name: direction.rawValue)
        attributes.append(name: "msid", value: "switchboard video")
        attributes.append(name: "ssrc", value: "\(browserVideoSSRC) cname:\(browserCNAME)")
        attributes.append(name: "ssrc", value: "\(browserVideoSSRC) msid:switchboard video")
        description.media.append(
            SDPMediaDescription(
                media: .video, port: audio.port, transportProtocol: audio.transportProtocol, formats: browserFormats.map { String($0.payloadType) },
                attributes: attributes
            )
        )
        let tags = (description.attributes.bundleGroup?.identificationTags ?? [audioMid]) + [mid]
        let group = SDPAttribute(name: "group", value: ([SDPGroup.bundle] + tags).joined(separator: " "))
        if let position = description.attributes.elements.firstIndex(where: { $0.name == "group" && $0.value?.hasPrefix(SDPGroup.bundle) == true }) {
            description.attributes.elements[position] = group
        } else {
            description.attributes.elements.insert(group, at: 0)
        }
        browserSessionVersion += 1
        pendingVideoUpgrade = PendingVideoUpgrade(
            calleeOffer: reoffer, calleeVideoIndex: offered.index, browserOffer: description, browserVideoIndex: description.media.count - 1,
            formats: formats
        )
        return description
    }

    private static func nextFree(_ free: inout ClosedRange<UInt8>.Iterator, used: Set<UInt8>) -> UInt8? {
        while let candidate = free.next() {
            if !used.contains(candidate) { return candidate }
        }
        return nil
    }

    /// The answer for the call centre once the browser answered ``browserVideoOffer(for:)``:
    /// the audio as the gateway answers any re-offer, and the video on the SIP leg's video port
    /// with the codec the browser chose, in the direction the browser agreed to (a shopper who
    /// keeps the camera off answers `inactive` or `recvonly`). The media session relays it from
    /// then on.
    ///
    /// - Throws: ``MediaPlanError/unusableAnswer(_:)`` when the answer does not keep the call's
    ///   transport or refuses the video; the caller then answers the call centre without video
    ///   (``abandonVideoUpgrade()``).
    public func calleeAnswer(afterBrowser answer: SDPSessionDescription) throws -> SDPSessionDescription {
        guard let pending = pendingVideoUpgrade, let answered else { throw MediaPlanError.unusableAnswer("no video offer pending") }
        pendingVideoUpgrade = nil
        _ = try MediaPlan.checkBrowserReofferAnswer(
            answer, offer: pending.browserOffer, audioIndex: offer.audioIndex, browser: offer, dtlsRole: answered.plan.dtlsRole
        )
        let browserVideo = answer.media[pending.browserVideoIndex]
        guard browserVideo.media == .video, !browserVideo.isDisabled,
            let format = browserVideo.payloadFormats.first(where: { !$0.codec.isSupplementary && pending.formats[$0.payloadType] != nil }),
            let calleeFormat = pending.formats[format.payloadType]
        else { throw MediaPlanError.unusableAnswer("the browser refuses the video") }
        // The browser's direction, from its point of view; the gateway's towards it is the reverse.
        let browserDirection = browserVideo.effectiveDirection(in: answer)
        let gatewayDirection = SDPDirection(sends: browserDirection.receives, receives: browserDirection.sends)

        guard var calleeAnswer = answerCalleeReoffer(pending.calleeOffer) else { throw MediaPlanError.unusableAnswer("the call centre's audio cannot be kept") }
        if videoPort == nil { videoPort = try plane.openVideo(for: self) }
        let offeredVideo = pending.calleeOffer.media[pending.calleeVideoIndex]
        guard let videoPort, let connection = offeredVideo.effectiveConnection(in: pending.calleeOffer) else {
            throw MediaPlanError.unusableAnswer("no address for the call centre's video")
        }
        var srtp: (crypto: SDPCrypto, keys: SRTPKeys)?
        if let videoSDES {
            guard let answered = videoSDES.answer(offeredVideo) else { throw MediaPlanError.unacceptableCrypto("no acceptable a=crypto for the video") }
            srtp = answered
        }
        let calleeDirection = offeredVideo.effectiveDirection(in: pending.calleeOffer).answer(local: browserDirection)
        let accepted = Self.calleeVideoAnswerMedia(
            offered: offeredVideo, format: calleeFormat, port: videoPort, direction: calleeDirection, crypto: srtp?.crypto
        )
        if calleeAnswer.media.indices.contains(pending.calleeVideoIndex) { calleeAnswer.media[pending.calleeVideoIndex] = accepted }

        let video = VideoBridgePlan(
            browserFormat: format, calleeFormat: calleeFormat, calleeHost: connection.address, calleePort: offeredVideo.port,
            calleeRTCPPort: MediaPlan.rtcpPort(of: offeredVideo), mid: browserVideo.attributes.mid,
            midExtensionID: answered.plan.midExtensionID, browserSSRC: browserVideoSSRC, browserDirection: gatewayDirection,
            calleeSRTP: srtp?.keys
        )
        var plan = self.answered?.plan ?? answered.plan
        plan.video = video
        // What later re-offers build on: the description the browser has now, and the call
        // centre's video as agreed.
        var callee = answered.callee
        var calleeVideo = offeredVideo
        calleeVideo.formats = [String(calleeFormat.payloadType)]
        calleeVideo.attributes.setDirection(offeredVideo.effectiveDirection(in: pending.calleeOffer))
        if let index = callee.media.firstIndex(where: { $0.media == .video }) { callee.media[index] = calleeVideo } else { callee.media.append(calleeVideo) }
        self.answered = (callee, pending.browserOffer, plan)
        offer.video = BrowserVideoOffer(
            index: pending.browserVideoIndex, mid: browserVideo.attributes.mid, formats: [format], direction: browserDirection,
            midExtensionID: answered.plan.midExtensionID
        )
        let session = self.session
        session.loop.execute { [plan] in session.update(plan: plan) }
        return calleeAnswer
    }

    /// The browser did not take the video (refused, failed, gone): nothing changes.
    public func abandonVideoUpgrade() {
        pendingVideoUpgrade = nil
    }

    /// Whether a video upgrade waits for the browser.
    public var hasPendingVideoUpgrade: Bool { pendingVideoUpgrade != nil }

    /// An accepted `m=video` for the call centre: `format` at `port`, with the feedback it offered
    /// that the gateway relays.
    /// `crypto` is the answer's `a=crypto` on an SRTP leg.
    static func calleeVideoAnswerMedia(
        offered: SDPMediaDescription, format: SDPPayloadFormat, port: UInt16, direction: SDPDirection, crypto: SDPCrypto? = nil
    ) -> SDPMediaDescription {
        var attributes = SDPAttributeList()
        if let mid = offered.attributes.mid { attributes.append(name: "mid", value: mid) }
        if let crypto { attributes.append(crypto) }
        attributes.append(format.codec.rtpMap(payloadType: format.payloadType))
        if let parameters = format.codec.formatParameters, !parameters.isEmpty {
            attributes.append(SDPFormatParameters(payloadType: format.payloadType, parameters: parameters))
        }
        for entry in offered.attributes.rtcpFeedback(for: format.payloadType) where MediaPlan.videoFeedback.contains(entry.feedback) {
            attributes.append(SDPRTCPFeedback(payloadType: .payloadType(format.payloadType), type: entry.type, parameter: entry.parameter))
        }
        attributes.append(name: direction.rawValue)
        return SDPMediaDescription(
            media: .video, port: port, transportProtocol: offered.transportProtocol, formats: [String(format.payloadType)], attributes: attributes
        )
    }
}
