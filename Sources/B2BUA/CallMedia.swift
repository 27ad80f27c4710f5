import Control
import Foundation
import MediaPlane
import NIOCore
import SIP

/// The B2BUA's side of the media plane: a browser call's WebRTC offer is anchored at the
/// gateway (the call centre gets a plain RTP offer for the gateway's ports), the call centre's
/// answers are turned into WebRTC answers for the browser, and re-INVITEs that only move or
/// hold media are answered here, on the leg they arrive on.
extension SignallingCore {
    /// What the INVITE to the callee carries.
    enum CalleeOffer {
        /// Not a WebRTC call (or no media plane): the caller's body goes through as it is.
        case passThrough
        /// Media anchored here: send this body.
        case anchored(BrowserCallMedia, ByteBuffer)
        /// The call cannot be set up: answer the caller with this status.
        case refused(Int, String)
    }

    /// The offer for the callee of a call from `peer`.
    func calleeOffer(for invite: SIPMessage, from peer: SIPPeer, callId: String, trunk: Trunk?) -> CalleeOffer {
        guard let mediaPlane, case .browser = peer, invite.body.readableBytes > 0 else { return .passThrough }
        guard let description = try? SDPSessionDescription(parsing: invite.body.readableBytesView) else {
            return .refused(400, "Malformed SDP")
        }
        // A WebSocket client that offers plain RTP (a softphone, not a browser) is passed through.
        guard description.media.contains(where: { $0.transportProtocol.usesDTLS }) else { return .passThrough }
        let offer: BrowserOffer
        do {
            offer = try BrowserOffer(description)
        } catch {
            logger.info("browser offer refused", metadata: ["call": "\(callId)", "reason": "\(error)"])
            return .refused(488, "Not Acceptable Here")
        }
        let codecs = (trunk?.codecs ?? []).compactMap(Self.sdpCodec(named:))
        do {
            var allowsVideo = false
            if case .browser(let id) = peer { allowsVideo = browsers[id]?.widget.video ?? false }
            let media = try mediaPlane.openBrowserCall(
                offer: offer, calleeCodecs: codecs.isEmpty ? MediaPlan.defaultCalleeCodecs : codecs, callId: callId, allowsVideo: allowsVideo,
                calleeSecurity: trunk?.srtp == .required ? .sdesSRTP : .plainRTP
            ) { [weak self] cause in
                guard let self, let loop = self.eventLoop else { return }
                loop.execute { self.mediaEnded(callId: callId, cause: cause) }
            }
            media.onClosed { [weak self] statistics in
                guard let self, let loop = self.eventLoop else { return }
                loop.execute { self.recordMedia(statistics, callId: callId) }
            }
            return .anchored(media, ByteBuffer(string: media.calleeOffer.serialized()))
        } catch let error as MediaPlanError {
            logger.info("no codec in common with the trunk", metadata: ["call": "\(callId)", "reason": "\(error)"])
            return .refused(488, "Not Acceptable Here")
        } catch {
            logger.warning("no media ports", metadata: ["call": "\(callId)", "error": "\(error)"])
            return .refused(503, "Service Unavailable")
        }
    }

    /// The body and content type of a callee response relayed to a browser whose media is
    /// anchored here: the WebRTC answer for the callee's SDP, or nothing when it has none.
    /// Throws when the callee's SDP cannot be bridged.
    func browserBody(for response: SIPMessage, media: BrowserCallMedia) throws(MediaPlanError) -> ByteBuffer {
        guard response.body.readableBytes > 0 else { return ByteBuffer() }
        guard let description = try? SDPSessionDescription(parsing: response.body.readableBytesView) else {
            throw .unusableAnswer("malformed SDP")
        }
        return ByteBuffer(string: try media.answer(description).serialized())
    }

    /// The media plane ended a call's media on its own (ICE consent, DTLS, media timeout).
    func mediaEnded(callId: String, cause: MediaEndCause) {
        guard let bridge = bridges.calls[callId], !bridge.record.status.isFinal else { return }
        logger.info("call ended by the media plane", metadata: ["call": "\(callId)", "cause": "\(cause.rawValue)"])
        hangup(callId: callId, by: .system, cause: cause.rawValue)
    }

    /// A re-INVITE or UPDATE with SDP on a leg of an anchored call, answered here: from the
    /// callee with the gateway's RTP description, from the browser with its WebRTC answer (a
    /// new one for an ICE restart). The other leg is not disturbed. Returns false when the
    /// request has no SDP (then it is relayed as usual).
    func answerReoffer(_ request: SIPMessage, serverKey: SIPTransactionKey, side: LegSide, callId: String, sessionInterval: Int?) -> Bool {
        guard let bridge = bridges.calls[callId], let media = bridge.media, request.body.readableBytes > 0 else { return false }
        let answer: SDPSessionDescription?
        if let offer = try? SDPSessionDescription(parsing: request.body.readableBytesView) {
            answer = side == .callee ? media.answerCalleeReoffer(offer) : media.answerBrowserReoffer(offer)
        } else {
            answer = nil
        }
        guard let answer else {
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 488))
            return true
        }
        let leg = bridge.leg(side)
        var response = SIPMessage.response(to: request, statusCode: 200, toTag: leg.localTag)
        response.headers.add(.contact, contact(towards: leg.peer))
        response.headers.add(.allow, Self.allowedMethods)
        if let sessionInterval {
            response.headers.add(.require, "timer")
            response.headers.add(.sessionExpires, SIPSessionExpires(interval: sessionInterval, refresher: .uac).description)
        }
        response.headers.add(.contentType, "application/sdp")
        response.body = ByteBuffer(string: answer.serialized())
        respond(to: serverKey, with: response)
        return true
    }

    static func sdpCodec(named name: String) -> SDPCodec? {
        switch name.lowercased() {
        case "pcmu": .pcmu
        case "pcma": .pcma
        case "g722": .g722
        case "opus": .opus
        default: nil
        }
    }
}

extension SignallingCore {
    /// The callee answered with SDP the media plane cannot bridge (no codec in common, or on
    /// an SRTP trunk no acceptable crypto): its leg gets a BYE, the caller a 488, and the call
    /// fails with the reason as its cause.
    func refuseUnbridgeableAnswer(callId: String, reason: MediaPlanError) {
        guard let bridge = bridges.calls[callId] else { return }
        logger.info("the call centre's answer cannot be bridged", metadata: ["call": "\(callId)", "reason": "\(reason)"])
        bridge.record.status = .failed
        bridge.record.sipCode = 488
        bridge.record.hangupBy = .system
        switch reason {
        case .unacceptableCrypto(let detail): bridge.record.hangupCause = "SRTP required: \(detail)"
        case .unusableAnswer(let detail): bridge.record.hangupCause = "the call centre's answer cannot be used: \(detail)"
        case .noCodecInCommon, .unsupportedOffer: bridge.record.hangupCause = "no codec in common with the call centre"
        }
        bridge.record.endedAt = Date()
        callLog.record(bridge.record)
        if let key = bridge.callerInvite {
            respond(to: key, with: SIPMessage.response(to: bridge.callerInviteRequest, statusCode: 488, toTag: bridge.caller.localTag))
            bridges.finishCallerInvite(of: bridge)
        }
        bridges.calls[callId] = bridge
        sendInDialog(.bye, on: .callee, of: callId)
        bridges.remove(callId)
    }
}

extension SignallingCore {
    /// Stores a call's media report once its media has closed (the call record is final by then).
    func recordMedia(_ statistics: MediaStatistics, callId: String) {
        guard let mode = statistics.mode else {
            callLog.noMediaReport(callId: callId)
            return
        }
        func leg(_ leg: MediaStatistics.Leg) -> CallMediaLeg {
            CallMediaLeg(
                packetsReceived: leg.packetsReceived, packetsSent: leg.packetsSent, packetsLost: leg.packetsLost,
                jitterMilliseconds: leg.jitterMilliseconds, roundTripMilliseconds: leg.roundTripMilliseconds,
                authenticationFailures: leg.authenticationFailures, srtp: leg.srtpSuite
            )
        }
        let report = CallMedia(
            mode: mode, browserCodec: statistics.browserCodec, calleeCodec: statistics.calleeCodec,
            browser: leg(statistics.browser), callee: leg(statistics.callee),
            meanOpinionScore: (statistics.meanOpinionScore * 100).rounded() / 100,
            video: statistics.video.codec.map { codec in
                CallMediaVideo(
                    codec: codec, packetsToCallee: statistics.video.packetsToCallee, packetsToBrowser: statistics.video.packetsToBrowser,
                    feedbackToCallee: statistics.video.feedbackToCallee, feedbackToBrowser: statistics.video.feedbackToBrowser
                )
            }
        )
        if var call = bridges.calls[callId]?.record ?? callLog.pending(id: callId) {
            call.media = report
            callLog.record(call)
            return
        }
        let callLog = self.callLog
        Task {
            guard var call = try? await callLog.storage.call(id: callId) else { return }
            call.media = report
            callLog.record(call)
        }
    }
}
