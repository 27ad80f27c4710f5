import MediaPlane
import NIOCore
import SIP

/// Video from the browser of an anchored call: a re-INVITE that adds, drops or turns the
/// camera on or off is not answered at the gateway like a hold, because the call centre must
/// agree. The gateway re-offers to the call centre (the same audio, the browser's video on the
/// SIP leg's video port) and answers the browser from the call centre's answer. When the call
/// centre refuses, the browser is answered at the gateway without the change, and the call
/// goes on as it was.
extension SignallingCore {
    /// Starts the call centre's side of a browser re-INVITE that changes the video. Returns
    /// false when it does not (then it is answered as any other re-offer).
    func relayBrowserVideoReoffer(_ request: SIPMessage, serverKey: SIPTransactionKey, callId: String, sessionInterval: Int?) -> Bool {
        guard let media = bridges.calls[callId]?.media, request.method == .invite, request.body.readableBytes > 0,
            let offer = try? SDPSessionDescription(parsing: request.body.readableBytesView), media.browserReofferChangesVideo(offer)
        else { return false }
        let reoffer: SDPSessionDescription
        do {
            reoffer = try media.calleeReoffer(for: offer)
        } catch {
            logger.info("the browser's video cannot be offered to the call centre", metadata: ["call": "\(callId)", "reason": "\(error)"])
            return false
        }
        guard let key = sendInDialog(
            .invite, on: .callee, of: callId, body: ByteBuffer(string: reoffer.serialized()), contentType: "application/sdp",
            extraHeaders: [(.allow, Self.allowedMethods)]
        ) else {
            media.abandonCalleeReoffer()
            return false
        }
        bridges.relays[key] = RelayedRequest(
            callId: callId, serverKey: serverKey, towards: .callee, sessionInterval: sessionInterval, videoReoffer: true
        )
        logger.info(
            "re-INVITE to the call centre for the browser's video",
            metadata: ["call": "\(callId)", "video": "\(reoffer.media.contains { $0.media == .video && !$0.isDisabled })"]
        )
        return true
    }

    /// The call centre's final response to a re-offer of ``relayBrowserVideoReoffer``: the
    /// browser gets the answer made from it, or, after a refusal, the gateway's own answer.
    func browserVideoReofferAnswered(_ response: SIPMessage, status: Int, relay: RelayedRequest, original: SIPMessage) {
        guard let media = bridges.calls[relay.callId]?.media else { return }
        if (200...299).contains(status), response.body.readableBytes > 0,
            let description = try? SDPSessionDescription(parsing: response.body.readableBytesView)
        {
            do {
                let answer = try media.answerBrowserAfterCallee(description)
                guard let leg = bridges.calls[relay.callId]?.caller else { return }
                var ok = SIPMessage.response(to: original, statusCode: 200, toTag: leg.localTag)
                ok.headers.add(.contact, contact(towards: leg.peer))
                ok.headers.add(.allow, Self.allowedMethods)
                ok.headers.add(.contentType, "application/sdp")
                ok.body = ByteBuffer(string: answer.serialized())
                if let interval = relay.sessionInterval {
                    ok.headers.add(.require, "timer")
                    ok.headers.add(.sessionExpires, SIPSessionExpires(interval: interval, refresher: .uac).description)
                }
                respond(to: relay.serverKey, with: ok)
                logger.info(
                    "the call centre answered the browser's video",
                    metadata: ["call": "\(relay.callId)", "video": "\(media.plan?.video != nil)"]
                )
                return
            } catch {
                logger.warning("the call centre's answer for the video cannot be used", metadata: ["call": "\(relay.callId)", "reason": "\(error)"])
            }
        } else {
            logger.info("the call centre refused the browser's video", metadata: ["call": "\(relay.callId)", "status": "\(status)"])
        }
        media.abandonCalleeReoffer()
        if !answerReoffer(original, serverKey: relay.serverKey, side: .caller, callId: relay.callId, sessionInterval: relay.sessionInterval) {
            respond(to: relay.serverKey, with: SIPMessage.response(to: original, statusCode: 488))
        }
    }
}

/// Video from the call centre: a re-INVITE that adds video to an audio call is put to the
/// browser in a re-INVITE of the gateway's own (the widget asks the shopper for the camera
/// first), and the call centre's re-INVITE is answered once the browser has: with the video the
/// browser took, or without it when the shopper declines, the browser fails or is not there.
extension SignallingCore {
    /// Sends the browser the video the call centre's re-INVITE offers. Returns false when the
    /// re-INVITE adds no video for this call, or the browser cannot be asked now (then the
    /// gateway answers the call centre itself, without video).
    func offerCalleeVideoToBrowser(_ request: SIPMessage, serverKey: SIPTransactionKey, callId: String, sessionInterval: Int?) -> Bool {
        guard let bridge = bridges.calls[callId], let media = bridge.media, request.method == .invite, request.body.readableBytes > 0,
            bridge.record.answeredAt != nil, !bridge.record.status.isFinal, bridge.answer == nil,
            bridge.browserReoffer == nil, bridge.browserReofferRetry == nil,
            case .browser(let id) = bridge.caller.peer, browsers[id] != nil,
            let reoffer = try? SDPSessionDescription(parsing: request.body.readableBytesView), media.calleeReofferAddsVideo(reoffer),
            let offer = media.browserVideoOffer(for: reoffer)
        else { return false }
        guard let key = sendInDialog(
            .invite, on: .caller, of: callId, body: ByteBuffer(string: offer.serialized()), contentType: "application/sdp",
            extraHeaders: [(.allow, Self.allowedMethods)]
        ) else {
            media.abandonVideoUpgrade()
            return false
        }
        bridges.calls[callId]?.browserReoffer = PendingBrowserReoffer(
            key: key, offer: offer, peer: bridge.caller.peer,
            videoUpgrade: PendingCalleeVideoUpgrade(serverKey: serverKey, request: request, sessionInterval: sessionInterval)
        )
        bridges.browserReoffers[key] = callId
        logger.info("re-INVITE to the browser for the call centre's video", metadata: ["call": "\(callId)"])
        return true
    }

    /// The browser's final response to the video offer: the call centre gets its answer now.
    func browserAnsweredVideoUpgrade(_ response: SIPMessage, status: Int, upgrade: PendingCalleeVideoUpgrade, callId: String) {
        guard let media = bridges.calls[callId]?.media else { return }
        guard (200...299).contains(status) else {
            logger.info("the browser refused the call centre's video", metadata: ["call": "\(callId)", "status": "\(status)"])
            refuseVideoUpgrade(upgrade, callId: callId)
            return
        }
        do {
            guard response.body.readableBytes > 0 else { throw MediaPlanError.unusableAnswer("no SDP in the 2xx") }
            let answer: SDPSessionDescription
            do {
                answer = try SDPSessionDescription(parsing: response.body.readableBytesView)
            } catch {
                throw MediaPlanError.unusableAnswer("malformed SDP")
            }
            let calleeAnswer = try media.calleeAnswer(afterBrowser: answer)
            guard let leg = bridges.calls[callId]?.callee else { return }
            var ok = SIPMessage.response(to: upgrade.request, statusCode: 200, toTag: leg.localTag)
            ok.headers.add(.contact, contact(towards: leg.peer))
            ok.headers.add(.allow, Self.allowedMethods)
            if let interval = upgrade.sessionInterval {
                ok.headers.add(.require, "timer")
                ok.headers.add(.sessionExpires, SIPSessionExpires(interval: interval, refresher: .uac).description)
            }
            ok.headers.add(.contentType, "application/sdp")
            ok.body = ByteBuffer(string: calleeAnswer.serialized())
            respond(to: upgrade.serverKey, with: ok)
            logger.info(
                "the browser answered the call centre's video",
                metadata: ["call": "\(callId)", "direction": "\(media.plan?.video?.browserDirection.rawValue ?? "none")"]
            )
            relayHoldToBrowser(callId: callId)
        } catch {
            logger.info("the browser's answer for the video cannot be used", metadata: ["call": "\(callId)", "reason": "\(error)"])
            refuseVideoUpgrade(upgrade, callId: callId)
        }
    }

    /// Answers the call centre's video re-INVITE at the gateway, without the video.
    func refuseVideoUpgrade(_ upgrade: PendingCalleeVideoUpgrade, callId: String) {
        bridges.calls[callId]?.media?.abandonVideoUpgrade()
        if !answerReoffer(upgrade.request, serverKey: upgrade.serverKey, side: .callee, callId: callId, sessionInterval: upgrade.sessionInterval) {
            respond(to: upgrade.serverKey, with: SIPMessage.response(to: upgrade.request, statusCode: 488))
        }
        relayHoldToBrowser(callId: callId)
    }
}
